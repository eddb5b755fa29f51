"""potential train → nep.txt → calorine CPUNEP, potential test, bad inputs, resume after a kill."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import read, write

from nnsurrogate.cli.main import run

SMALL = ["--neurons", "6", "--n-max", "3,3", "--basis-size", "5,5", "--l-max", "4,2,0", "--cutoff", "4.5,3.8",
         "--batch", "4", "--quiet"]


@pytest.fixture(autouse=True)
def _one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _cli(*argv) -> int:
    return run([str(a) for a in argv])


def _error_line(capsys, *argv) -> str:
    code = _cli(*argv)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _alloy_frames(n, seed):
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n):
        atoms = bulk("Cu", "fcc", a=3.7, cubic=True).repeat((2, 1, 1))
        atoms.set_cell(atoms.cell.array @ (np.eye(3) + rng.normal(0, 0.015, (3, 3))), scale_atoms=True)
        atoms.positions += rng.normal(0, 0.1, atoms.positions.shape)
        atoms.set_chemical_symbols(rng.choice(["Cu", "Au"], len(atoms)).tolist())
        atoms.calc = EMT()
        labels = {"energy": atoms.get_potential_energy(), "forces": atoms.get_forces(), "stress": atoms.get_stress()}
        atoms.calc = SinglePointCalculator(atoms, **labels)
        frames.append(atoms)
    return frames


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nepdata")
    write(folder / "train.xyz", _alloy_frames(24, 0))
    write(folder / "test.xyz", _alloy_frames(8, 1))
    return folder


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "run"
    assert _cli("potential", "train", data / "train.xyz", "--valid-fraction", "0.25", "--epochs", "4",
                "--reference", "fit", *SMALL, "--out", out) == 0
    return out


def test_train_writes_the_run_folder(trained, check_report):
    metrics = json.loads((trained / "metrics.json").read_text())
    for part in ("train", "valid"):
        for key in ("energy_rmse_meV_atom", "energy_mae_meV_atom", "force_rmse_meV_A",
                    "force_mae_meV_A", "virial_rmse_meV_atom"):
            assert np.isfinite(metrics[part][key]) and metrics[part][key] > 0
    assert metrics["train"]["n_frames"] == 18 and metrics["valid"]["n_frames"] == 6
    plots = ("parity_energy", "parity_force", "loss", "force_error_by_element", "error_by_config_type")
    for name in plots:
        assert (trained / "plots" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    assert (trained / "model" / "model.json").exists() and (trained / "model" / "weights.safetensors").exists()
    valid = metrics["valid"]  # the per-element errors add up to the error over all atoms
    rmse, count = valid["force_rmse_meV_A_per_element"], valid["n_atoms_per_element"]
    assert list(rmse) == ["Cu", "Au"] and sum(count.values()) == valid["n_atoms"]
    mean_square = sum(count[e] * rmse[e] ** 2 for e in rmse) / valid["n_atoms"]
    assert mean_square == pytest.approx(valid["force_rmse_meV_A"] ** 2)
    assert "by_config_type" not in valid  # the frames carry none: one "all frames" bar in the plot
    check_report(trained, metrics=("valid.force_rmse_meV_A", "valid.force_rmse_meV_A_per_element.Au"),
                 images=[f"plots/{name}.png" for name in plots])


def test_exported_nep_txt_runs_in_cpunep(trained, data):
    pytest.importorskip("calorine")
    from calorine.calculators import CPUNEP

    from nnsurrogate.atomistic.calculator import load_calculator
    from nnsurrogate.atomistic.nep import read_nep

    frames = read(data / "test.xyz", ":")
    ours = load_calculator(trained)
    assert len(set(ours.model.reference_energies)) == 2  # 'fit': one reference energy per element
    for frame in frames[:3]:  # the file carries them (one constant neuron per element): total energies agree
        a, b = frame.copy(), frame.copy()
        a.calc, b.calc = ours, CPUNEP(str(trained / "nep.txt"))
        assert abs(a.get_potential_energy() - b.get_potential_energy()) / len(a) < 1e-6
        assert np.abs(a.get_forces() - b.get_forces()).max() < 1e-5
    assert read_nep(trained / "nep.txt").spec.max_neighbors[0] > 0


def test_training_with_type_wise_cutoffs_and_zbl_exports_what_cpunep_runs(data, tmp_path):
    """--type-cutoffs and --zbl train a NEP whose nep.txt (type-wise cutoff line, zbl line with GPUMD's
    type-wise factor) CPUNEP evaluates as our model does, also on a pair inside the ZBL range."""
    pytest.importorskip("calorine")
    from calorine.calculators import CPUNEP

    from nnsurrogate.atomistic.calculator import load_calculator
    from nnsurrogate.atomistic.nep import read_nep

    out = tmp_path / "run"
    small = [a if a != "4.5,3.8" else "4.5,3.5" for a in SMALL]
    assert _cli("potential", "train", data / "train.xyz", "--epochs", "2", "--type-cutoffs", "Au=4.8,3.8",
                "--zbl", "1,2,0.7", *small, "--out", out) == 0
    lines = (out / "nep.txt").read_text().splitlines()
    assert lines[1] == "zbl 1 2 0.7" and lines[2].startswith("cutoff 4.5 3.5 4.8 3.8 ")  # Cu keeps --cutoff
    spec = read_nep(out / "nep.txt").spec
    assert spec.species == ("Cu", "Au") and spec.type_cutoffs == ((4.5, 3.5), (4.8, 3.8))
    ours = load_calculator(out)
    for k, frame in enumerate(read(data / "test.xyz", ":")[:2]):
        if k:
            frame.positions[1] = frame.positions[0] + np.array([1.3, 0.2, 0.1])
        a, b = frame.copy(), frame.copy()
        a.calc, b.calc = ours, CPUNEP(str(out / "nep.txt"))
        assert abs(a.get_potential_energy() - b.get_potential_energy()) / len(a) < 1e-6
        assert np.abs(a.get_forces() - b.get_forces()).max() < 1e-5


def test_potential_test_reports_the_same_errors_for_model_and_nep_txt(trained, data, tmp_path):
    assert _cli("potential", "test", trained, data / "test.xyz", "--out", tmp_path / "a") == 0
    assert _cli("potential", "test", trained / "nep.txt", data / "test.xyz", "--out", tmp_path / "b") == 0
    a = json.loads((tmp_path / "a" / "metrics.json").read_text())
    b = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert a["n_frames"] == 8
    assert a["force_rmse_meV_A"] == pytest.approx(b["force_rmse_meV_A"], rel=1e-6)
    assert (tmp_path / "a" / "plots" / "parity_force.png").exists()


def _write_bad(path, frames, mutate):
    text = []
    write(path, frames)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(mutate(lines)) + "\n")
    return text


@pytest.mark.parametrize("mutate, message", [
    (lambda lines: lines[:2] + [lines[2].rsplit(" ", 3)[0] + " nan 0.0 0.0"] + lines[3:], "NaN"),
    (lambda lines: [lines[0], lines[1].replace(":forces:R:3", "")] + [" ".join(x.split()[:4]) for x in lines[2:10]]
     + lines[10:], "frame has no forces"),
])
def test_bad_training_files_fail_in_one_line_and_write_nothing(data, tmp_path, capsys, mutate, message):
    bad = tmp_path / "bad.xyz"
    _write_bad(bad, read(data / "train.xyz", ":4"), mutate)
    out = tmp_path / "out"
    line = _error_line(capsys, "potential", "train", bad, "--epochs", "1", *SMALL, "--out", out)
    assert message in line and "frame 0" in line
    assert not (out / "model").exists() and not (out / "nep.txt").exists()


def test_unknown_element_and_bad_options(trained, data, tmp_path, capsys):
    other = tmp_path / "ni.xyz"
    frames = read(data / "test.xyz", ":2")
    frames[1].set_chemical_symbols(["Ni"] * len(frames[1]))
    write(other, frames)
    line = _error_line(capsys, "potential", "test", trained, other, "--out", tmp_path / "t")
    assert "element Ni is not in the model" in line and "frame 1" in line
    assert "--cutoff" in _error_line(capsys, "potential", "train", data / "train.xyz", "--cutoff", "5", "--out", tmp_path / "x")
    assert "unknown model" in _error_line(capsys, "potential", "train", data / "train.xyz", "--model", "gap", "--out", tmp_path / "x")
    assert "CUDA" in _error_line(capsys, "potential", "train", data / "train.xyz", "--device", "cuda", "--epochs", "1",
                                 *SMALL, "--out", tmp_path / "x") or torch.cuda.is_available()


@pytest.mark.timeout(600)
def test_resume_after_a_killed_training(data, tmp_path, killed_training):
    """Kill the process after its first checkpoint; --resume continues from it to the requested epochs."""
    out = tmp_path / "run"
    done = killed_training(["potential", "train", data / "train.xyz", "--epochs", "400", *SMALL, "--out", out], out)
    assert not (out / "nep.txt").exists()
    assert 1 <= done < 400
    assert _cli("potential", "train", data / "train.xyz", "--epochs", str(done + 2), *SMALL, "--resume",
                "--out", out) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    history = json.loads((out / "history.json").read_text())["rows"]
    assert metrics["epochs_run"] == done + 2 and [row[0] for row in history] == list(range(1, done + 3))


def test_files_with_their_own_key_names_train_and_test_per_config_type(tmp_path, capsys, check_report):
    """Labels under names of the user's choosing (--energy-key, --forces-key) and errors per config_type."""
    frames = _alloy_frames(8, 2)
    lines = []
    for k, a in enumerate(frames):
        cell = " ".join(f"{x:.10f}" for x in a.cell.ravel())
        lines.append(f"{len(a)}\nLattice=\"{cell}\" Properties=species:S:1:pos:R:3:dft_forces:R:3 "
                     f"dft_energy={a.get_potential_energy():.12f} config_type={'bulk' if k % 2 else 'hot'} pbc=\"T T T\"")
        lines += [f"{s} {p[0]:.10f} {p[1]:.10f} {p[2]:.10f} {f[0]:.10f} {f[1]:.10f} {f[2]:.10f}"
                  for s, p, f in zip(a.get_chemical_symbols(), a.positions, a.get_forces())]
    custom = tmp_path / "custom.xyz"
    custom.write_text("\n".join(lines) + "\n")
    assert "frame has no energy" in _error_line(capsys, "potential", "train", custom, "--out", tmp_path / "x")
    keys = ["--energy-key", "dft_energy", "--forces-key", "dft_forces"]
    assert _cli("potential", "train", custom, *keys, "--epochs", "2", "--valid-fraction", "0", *SMALL,
                "--out", tmp_path / "run") == 0
    trained = json.loads((tmp_path / "run" / "metrics.json").read_text())["train"]  # no validation: the training set
    assert set(trained["by_config_type"]) == {"bulk", "hot"}
    assert set(trained["force_mae_meV_A_per_element"]) == {"Cu", "Au"}
    check_report(tmp_path / "run", metrics=("train.force_mae_meV_A_per_element.Cu",),
                 images=("plots/error_by_config_type.png", "plots/force_error_by_element.png"))
    assert _cli("potential", "test", tmp_path / "run", custom, *keys, "--out", tmp_path / "t") == 0
    metrics = json.loads((tmp_path / "t" / "metrics.json").read_text())
    parts = metrics["by_config_type"]
    assert set(parts) == {"bulk", "hot"} and parts["bulk"]["n_frames"] == parts["hot"]["n_frames"] == 4
    total = (parts["bulk"]["force_mae_meV_A"] + parts["hot"]["force_mae_meV_A"]) / 2  # equal atom counts
    assert metrics["force_mae_meV_A"] == pytest.approx(total, rel=1e-12)
    assert (tmp_path / "t" / "plots" / "error_by_config_type.png").is_file()


def test_element_only_in_validation_frames(data, tmp_path, capsys):
    """An element the training frames lack: a validation file with it is refused in one line (naming
    the file and frame); a held-out split keeps such a frame on the training side and says so."""
    frames = read(data / "train.xyz", ":8")
    frames[6].set_chemical_symbols(["Ni"] * len(frames[6]))
    write(tmp_path / "train.xyz", frames[:6])
    write(tmp_path / "valid.xyz", frames[6:])
    out = tmp_path / "out"
    line = _error_line(capsys, "potential", "train", tmp_path / "train.xyz", "--valid", tmp_path / "valid.xyz",
                       "--epochs", "1", *SMALL, "--out", out)
    assert "element Ni is not in the model" in line and "valid.xyz" in line and "frame 0" in line
    assert not (out / "model").exists() and not (out / "nep.txt").exists()
    write(tmp_path / "all.xyz", frames)
    for seed in range(20):  # find a split that draws the Ni frame for validation
        run_out = tmp_path / f"split{seed}"
        code = _cli("potential", "train", tmp_path / "all.xyz", "--valid-fraction", "0.5", "--seed", seed,
                    "--epochs", "1", *SMALL, "--out", run_out)
        err = capsys.readouterr().err
        assert code == 0, err
        if "moved from the validation to the training side" in err:
            break
    else:
        raise AssertionError("no split drew the Ni frame for validation")
    assert "Ni" in json.loads((run_out / "model" / "model.json").read_text())["spec"]["species"]
