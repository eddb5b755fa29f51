"""Every potential GPUMD publishes (``../shared/data/atoms/gpumd/potentials/``): read and evaluated as
GPUMD's NEP_CPU does (calorine's CPUNEP), re-exported with the same numbers, or refused in one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ase import Atoms

from nnsurrogate.atomistic.nep import read_nep, write_nep
from nnsurrogate.core.errors import UserInputError

calorine = pytest.importorskip("calorine")

FOLDER = Path(__file__).resolve().parents[4] / ".." / "shared" / "data" / "atoms" / "gpumd" / "potentials"
FILES = sorted(p.name for p in FOLDER.glob("*.txt")) if FOLDER.is_dir() else []
READ = {"nep4", "nep4_zbl"}


def _header(name: str) -> list[str]:
    return (FOLDER / name).read_text().splitlines()[0].split()


def _structure(species: list[str], close: float | None) -> Atoms:
    """27 atoms on a rattled 2.4 Å grid, the elements in turn; *close*: atoms 0 and 1 that far apart."""
    grid = np.array([[i, j, k] for i in range(3) for j in range(3) for k in range(3)], dtype=float) * 2.4
    rng = np.random.default_rng(0)
    atoms = Atoms([species[k % len(species)] for k in range(27)], positions=grid + rng.normal(0, 0.1, grid.shape),
                  cell=np.eye(3) * 7.2, pbc=True)
    if close is not None:
        atoms.positions[1] = atoms.positions[0] + np.array([close, 0.1, 0.05])
    return atoms


@pytest.mark.skipif(not FILES, reason="shared GPUMD potentials not present")
@pytest.mark.parametrize("name", FILES)
def test_published_potential_matches_nep_cpu_or_is_refused(name, tmp_path):
    from calorine.calculators import CPUNEP

    from nnsurrogate.atomistic.calculator import PotentialCalculator

    head = _header(name)
    path = FOLDER / name
    if head[0] not in READ:
        with pytest.raises(UserInputError, match=f"found '{head[0]}'") as info:
            read_nep(path)
        assert "\n" not in str(info.value)
        return
    model = read_nep(path)
    zbl = model.spec.zbl
    for close in (None, 0.5 * (zbl[0] + zbl[1]) if zbl else None, 0.9 * zbl[0] if zbl else None):
        ours = _structure(head[2:], close)
        theirs = ours.copy()
        ours.calc = PotentialCalculator([model])
        theirs.calc = CPUNEP(str(path))
        n = len(ours)
        assert abs(ours.get_potential_energy() - theirs.get_potential_energy()) / n < 1e-10
        np.testing.assert_allclose(ours.get_forces(), theirs.get_forces(), atol=1e-9)
        np.testing.assert_allclose(ours.get_stress(), theirs.get_stress(), atol=1e-11)
    write_nep(model, tmp_path / "again.txt")
    original = path.read_text().split()
    again = (tmp_path / "again.txt").read_text().split()
    assert len(again) == len(original)
    assert [w if _word(w) else float(w) for w in again] == [w if _word(w) else float(w) for w in original]


def _word(text: str) -> bool:
    from nnsurrogate.core.tables import is_number

    return not is_number(text)


UNEP = "Song-2024-UNEP-v1-AgAlAuCrCuMgMoNiPbPdPtTaTiVWZr.txt"


@pytest.mark.skipif(UNEP not in FILES, reason="shared GPUMD potentials not present")
def test_slimming_unep_to_two_elements_is_exact_and_exports_exactly(tmp_path):
    from nnsurrogate.atomistic.calculator import PotentialCalculator

    full = read_nep(FOLDER / UNEP)
    slim = full.slimmed(["Au", "Cu"])
    assert slim.species == ("Au", "Cu") and slim.spec.zbl == full.spec.zbl
    atoms = _structure(["Cu", "Au"], close=1.4)
    other = atoms.copy()
    atoms.calc, other.calc = PotentialCalculator([full]), PotentialCalculator([slim])
    assert abs(atoms.get_potential_energy() - other.get_potential_energy()) < 1e-10
    np.testing.assert_allclose(atoms.get_forces(), other.get_forces(), atol=1e-12)
    write_nep(slim, tmp_path / "slim.txt")
    again = read_nep(tmp_path / "slim.txt")
    write_nep(again, tmp_path / "again.txt")
    assert (tmp_path / "slim.txt").read_text() == (tmp_path / "again.txt").read_text()
    with pytest.raises(UserInputError, match="element Xx is not in the model"):
        full.slimmed(["Cu", "Xx"])


@pytest.mark.skipif(UNEP not in FILES, reason="shared GPUMD potentials not present")
def test_fine_tuning_unep_with_frozen_descriptors_moves_only_the_networks(tmp_path):
    from ase.build import bulk
    from ase.calculators.emt import EMT
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.io import write

    from nnsurrogate.cli.main import run

    rng = np.random.default_rng(3)
    frames = []
    for _ in range(6):
        atoms = bulk("Cu", "fcc", a=3.61, cubic=True)
        atoms.positions += rng.normal(0, 0.05, atoms.positions.shape)
        atoms.calc = EMT()
        atoms.calc = SinglePointCalculator(atoms, energy=atoms.get_potential_energy(), forces=atoms.get_forces())
        frames.append(atoms)
    write(tmp_path / "cu.xyz", frames)
    assert run(["potential", "train", str(tmp_path / "cu.xyz"), "--from", str(FOLDER / UNEP), "--slim", "--freeze",
                "descriptors", "--epochs", "2", "--valid-fraction", "0", "--quiet", "--out", str(tmp_path / "ft")]) == 0
    tuned = read_nep(tmp_path / "ft" / "nep.txt")
    start = read_nep(FOLDER / UNEP).slimmed(["Cu"])
    assert tuned.species == ("Cu",) and tuned.spec.zbl == (1.0, 2.0)
    assert np.array_equal(tuned.c_radial.detach().numpy(), start.c_radial.detach().numpy())
    assert np.array_equal(tuned.c_angular.detach().numpy(), start.c_angular.detach().numpy())
    assert not np.array_equal(tuned.w0.detach().numpy(), start.w0.detach().numpy())
