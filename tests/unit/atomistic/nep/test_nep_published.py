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
#: Refused in one line (none of GPUMD's published files at present).
REFUSED: set[str] = set()


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


def _reference_file(model, path: Path, tmp_path: Path) -> Path:
    """The file CPUNEP evaluates: *path*, or for NEP3 (calorine reads only NEP4) the NEP4 file with the
    same numbers, its shared network written once per element."""
    from nnsurrogate.atomistic.nep.nepfile import as_nep4

    if model.spec.version == 4:
        return path
    write_nep(as_nep4(model), tmp_path / "as_nep4.txt")
    return tmp_path / "as_nep4.txt"


def assert_matches_cpunep(model, reference: Path, species, closes=(None,)) -> None:
    """Energy, forces and stress (a potential) or the dipole / polarizability (a tensorial NEP) of
    structures of *species* through our calculator equal CPUNEP's on *reference*, to round-off."""
    from calorine.calculators import CPUNEP

    from nnsurrogate.atomistic.calculator import PotentialCalculator

    for close in closes:
        ours = _structure(list(species), close)
        theirs = ours.copy()
        ours.calc = PotentialCalculator([model])
        theirs.calc = CPUNEP(str(reference))
        kind = model.spec.model_type
        if kind != "potential":
            np.testing.assert_allclose(ours.calc.get_property(kind, ours), theirs.calc.get_property(kind, theirs),
                                       rtol=1e-12, atol=1e-10)
            continue
        assert abs(ours.get_potential_energy() - theirs.get_potential_energy()) / len(ours) < 1e-10
        np.testing.assert_allclose(ours.get_forces(), theirs.get_forces(), atol=1e-9)
        np.testing.assert_allclose(ours.get_stress(), theirs.get_stress(), atol=1e-11)
        if model.spec.charge_mode:  # qNEP: the neutral charges too
            np.testing.assert_allclose(ours.get_charges(), theirs.calc.results["charges"], atol=1e-10)
            assert abs(ours.get_charges().sum()) < 1e-10 and np.abs(ours.get_charges()).max() > 0.05


def _word(text: str) -> bool:
    from nnsurrogate.core.tables import is_number

    return not is_number(text)


def assert_same_numbers(path: Path, again: Path) -> None:
    original, written = path.read_text().split(), again.read_text().split()
    assert len(written) == len(original)
    assert [w if _word(w) else float(w) for w in written] == [w if _word(w) else float(w) for w in original]


def _zbl_closes(spec) -> tuple:
    if spec.zbl is None:
        return (None,)
    inner, outer = (0.6, 1.6) if spec.zbl_flexible else spec.zbl
    return None, 0.5 * (inner + outer), 0.9 * inner


@pytest.mark.skipif(not FILES, reason="shared GPUMD potentials not present")
@pytest.mark.parametrize("name", FILES)
def test_published_potential_matches_nep_cpu_or_is_refused(name, tmp_path):
    head = _header(name)
    path = FOLDER / name
    if head[0] in REFUSED:
        with pytest.raises(UserInputError, match=f"found '{head[0]}'") as info:
            read_nep(path)
        assert "\n" not in str(info.value)
        return
    model = read_nep(path)
    assert model.spec.model_type == {"dipole": "dipole", "polarizability": "polarizability"}.get(
        head[0].split("_")[-1], "potential")
    assert_matches_cpunep(model, _reference_file(model, path, tmp_path), head[2:], _zbl_closes(model.spec))
    write_nep(model, tmp_path / "again.txt")
    assert_same_numbers(path, tmp_path / "again.txt")


def _edited(name: str, tmp_path: Path, line: int, text: str, extra: list[float] = ()) -> Path:
    """Published file *name* with line *line* (0-based) replaced by *text* and *extra* numbers appended."""
    lines = (FOLDER / name).read_text().splitlines()
    lines[line] = text
    path = tmp_path / f"edited_{name}"
    path.write_text("\n".join([*lines, *(f"{v:15.7e}" for v in extra)]) + "\n")
    return path


def _flexible_zbl_numbers(n_types: int) -> list[float]:
    """Ten numbers per type pair: r_1, r_2 and the four (c, b) of φ, the universal ones perturbed."""
    rng = np.random.default_rng(1)
    universal = np.array([0.18175, 3.1998, 0.50986, 0.94229, 0.28022, 0.4029, 0.02817, 0.20162])
    return [v for p in range(n_types * (n_types + 1) // 2)
            for v in [0.6 + 0.1 * p, 1.6 + 0.1 * p, *(universal * (1 + 0.1 * rng.normal(size=8)))]]


VARIANTS = {  # GPUMD writes these from nep.in keywords; no published file uses them, so edited copies
    "type-wise cutoffs": ("nep_BaZrO3.txt", 1, "cutoff 8 4 6 4 7 3.5 232 26", False),
    "type-wise ZBL cutoffs": ("nep_BaTiO3.txt", 1, "zbl 0.75 1.5 0.6", False),
    "flexible ZBL": ("nep_BaTiO3.txt", 1, "zbl 0 0", True),
    "type-wise cutoffs and ZBL": ("nep_BaTiO3.txt", 2, "cutoff 6 4 5 3.5 5.5 4 86 26", False),
    "qNEP mode 3 (damped shifted force)": ("qnep_mode1_water.txt", 0, "nep4_charge3 2 H O ", False),
}


@pytest.mark.skipif(not FILES, reason="shared GPUMD potentials not present")
@pytest.mark.parametrize("variant", VARIANTS)
def test_gpumd_variants_match_nep_cpu_and_re_export(variant, tmp_path):
    name, line, text, flexible = VARIANTS[variant]
    path = _edited(name, tmp_path, line, text, _flexible_zbl_numbers(3) if flexible else [])
    if variant == "type-wise cutoffs and ZBL":
        lines = path.read_text().splitlines()
        lines[1] = "zbl 0.75 1.5 0.6"
        path.write_text("\n".join(lines) + "\n")
    model = read_nep(path)
    spec = model.spec
    assert (spec.type_cutoffs is not None) == ("cutoffs" in variant and variant != "type-wise ZBL cutoffs")
    assert spec.charge_mode == (3 if "qNEP" in variant else 0)
    assert spec.zbl_flexible == flexible
    assert_matches_cpunep(model, path, _header(name)[2:], _zbl_closes(spec) + ((0.7,) if spec.zbl else ()))
    write_nep(model, tmp_path / "again.txt")
    assert_same_numbers(path, tmp_path / "again.txt")
    assert (tmp_path / "again.txt").read_text().splitlines()[:3] == path.read_text().splitlines()[:3]


@pytest.mark.skipif(not FILES, reason="shared GPUMD potentials not present")
def test_each_variant_changes_the_potential(tmp_path):
    """The variants are not no-ops: type-wise cutoffs, type-wise and flexible ZBL each change the energy
    of a structure with a close pair (so the agreement above is a check of each)."""
    from nnsurrogate.atomistic.calculator import PotentialCalculator

    def energy(path: Path) -> float:
        atoms = _structure(["Ba", "Ti", "O"], 0.7)
        atoms.calc = PotentialCalculator([read_nep(path)])
        return atoms.get_potential_energy()

    plain = energy(FOLDER / "nep_BaTiO3.txt")
    for variant in ("type-wise ZBL cutoffs", "flexible ZBL", "type-wise cutoffs and ZBL"):
        name, line, text, flexible = VARIANTS[variant]
        edited = _edited(name, tmp_path, line, text, _flexible_zbl_numbers(3) if flexible else [])
        assert abs(energy(edited) - plain) > 1e-3, variant


@pytest.mark.skipif(not FILES, reason="shared GPUMD potentials not present")
def test_nep3_shares_one_network_and_matches_its_nep4_twin(tmp_path, make_model):
    """NEP3 differs from NEP4 only in its one network for every element: a random two-element NEP3 is
    evaluated as CPUNEP evaluates the NEP4 file with that network written twice, and writes back as NEP3."""
    from nnsurrogate.atomistic.nep import NEPModel

    model = make_model(("Ba", "O"), seed=3, version=3)
    assert model.w0.shape[0] == 1
    write_nep(model, tmp_path / "nep3.txt")
    assert (tmp_path / "nep3.txt").read_text().startswith("nep3 2 Ba O ")
    loaded = read_nep(tmp_path / "nep3.txt")
    assert isinstance(loaded, NEPModel) and loaded.spec.version == 3
    assert_matches_cpunep(loaded, _reference_file(loaded, tmp_path / "nep3.txt", tmp_path), ["Ba", "O"])
    write_nep(loaded, tmp_path / "again.txt")
    assert (tmp_path / "again.txt").read_bytes() == (tmp_path / "nep3.txt").read_bytes()


UNEP = "Song-2024-UNEP-v1-AgAlAuCrCuMgMoNiPbPdPtTaTiVWZr.txt"


@pytest.mark.skipif(UNEP not in FILES, reason="shared GPUMD potentials not present")
def test_slimming_unep_to_two_elements_is_exact_and_exports_exactly(tmp_path):
    from nnsurrogate.atomistic.calculator import PotentialCalculator

    full = read_nep(FOLDER / UNEP)
    slim = full.slimmed(["Au", "Cu"])
    assert slim.species == ("Au", "Cu") and slim.spec.zbl == full.spec.zbl
    from calorine.calculators import CPUNEP

    atoms = _structure(["Cu", "Au"], close=1.4)
    other = atoms.copy()
    atoms.calc, other.calc = CPUNEP(str(FOLDER / UNEP)), PotentialCalculator([slim])  # the full file, as GPUMD
    assert abs(atoms.get_potential_energy() - other.get_potential_energy()) < 1e-9
    np.testing.assert_allclose(atoms.get_forces(), other.get_forces(), atol=1e-9)
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


@pytest.mark.skipif("tnep-water-polarization.txt" not in FILES, reason="shared GPUMD potentials not present")
def test_tensorial_nep_gives_its_tensor_and_refuses_energy_commands(tmp_path, capsys):
    """A dipole NEP through ASE gives the dipole (a free molecule too, as CPUNEP does) and no energy; the
    energy-and-force commands refuse it in one line and write nothing."""
    from ase.build import molecule
    from ase.calculators.calculator import PropertyNotImplementedError
    from ase.io import write
    from calorine.calculators import CPUNEP

    from nnsurrogate.atomistic.calculator import load_calculator
    from nnsurrogate.cli.main import run

    path = FOLDER / "tnep-water-polarization.txt"
    water = molecule("H2O")
    water.rotate(30, "x")
    water.center(vacuum=4.0)
    other = water.copy()
    water.calc, other.calc = load_calculator(path), CPUNEP(str(path))
    np.testing.assert_allclose(water.get_dipole_moment(), other.get_dipole_moment(), atol=1e-12)
    assert np.linalg.norm(water.get_dipole_moment()) > 0.1
    with pytest.raises(PropertyNotImplementedError):
        water.get_potential_energy()
    water.calc = None
    write(tmp_path / "w.xyz", [water])
    capsys.readouterr()
    assert run(["potential", "test", str(path), str(tmp_path / "w.xyz"), "--out", str(tmp_path / "t")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "tensorial NEP: it predicts the dipole" in err[0]
    assert not (tmp_path / "t").exists()
    assert run(["potential", "md", str(path), str(tmp_path / "w.xyz"), "--steps", "2", "--out", str(tmp_path / "md")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "tensorial NEP: it predicts the dipole" in err[0]
    assert not (tmp_path / "md").exists()


@pytest.mark.skipif("qnep_mode1_water.txt" not in FILES, reason="shared GPUMD potentials not present")
def test_qnep_ewald_needs_a_cell_and_its_charges_follow_the_structure(tmp_path):
    """An Ewald-summed qNEP refuses a structure without a periodic cell in one line; its charges move
    with the geometry and stay neutral."""
    from nnsurrogate.atomistic.calculator import PotentialCalculator

    model = read_nep(FOLDER / "qnep_mode1_water.txt")
    atoms = _structure(["H", "O"], None)
    atoms.calc = PotentialCalculator([model])
    first = atoms.get_charges().copy()
    atoms.positions[3] += [0.2, -0.1, 0.1]
    assert np.abs(atoms.get_charges() - first).max() > 1e-4 and abs(atoms.get_charges().sum()) < 1e-10
    free = atoms.copy()
    free.pbc = False
    free.calc = PotentialCalculator([model])
    with pytest.raises(UserInputError, match="needs a periodic cell"):
        free.get_potential_energy()


@pytest.mark.skipif(UNEP not in FILES, reason="shared GPUMD potentials not present")
@pytest.mark.parametrize("elements", [["Mo"], ["Mo", "W"], ["Ag", "Al", "Au", "Cr", "Cu", "Mg", "Mo", "Ni", "Pb",
                                                             "Pd", "Pt", "Ta", "Ti", "V", "W", "Zr"]])
def test_calculator_slims_a_many_element_nep_to_the_structure_exactly(elements):
    """The calculator evaluates 16-element UNEP-v1 on a structure of fewer elements through the model
    slimmed to them (its type-blocked tensors shrink): energies, forces and stress still equal CPUNEP's."""
    from calorine.calculators import CPUNEP

    from nnsurrogate.atomistic.calculator import load_calculator

    atoms = _structure(elements, close=1.5)
    reference = atoms.copy()
    reference.calc = CPUNEP(str(FOLDER / UNEP))
    atoms.calc = load_calculator(FOLDER / UNEP)
    assert abs(atoms.get_potential_energy() - reference.get_potential_energy()) < 1e-9
    np.testing.assert_allclose(atoms.get_forces(), reference.get_forces(), atol=1e-9)
    np.testing.assert_allclose(atoms.get_stress(), reference.get_stress(), atol=1e-10)
    slimmed = list(atoms.calc._slimmed)
    assert slimmed == ([] if len(elements) == 16 else [frozenset(elements)])
