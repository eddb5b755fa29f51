"""Every command that trains writes OUT/config.yaml, and ``--config`` repeats the run exactly.

A run repeated from its settings file with a fixed epoch budget must reproduce metrics.json (timing
fields aside); options on the command line override the file; a broken, foreign or mistyped file is
one error line and nothing is written.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from nnsurrogate.cli.main import run

PEROV = Path(__file__).resolve().parents[1] / ".." / ".." / "shared" / "data" / "crystals" / "perov5" / "val.csv"


def _cli(*argv) -> int:
    return run([str(a) for a in argv])


def _untimed(obj):
    """*obj* without the keys that hold wall or CPU times (they differ between two runs)."""
    if isinstance(obj, dict):
        return {k: _untimed(v) for k, v in obj.items() if not _is_timing(k)}
    if isinstance(obj, list):
        return [_untimed(v) for v in obj]
    return obj


def _is_timing(key: str) -> bool:
    return key.endswith(("_s", "seconds")) or any(word in key for word in ("elapsed", "time", "cpu"))


def _repeat_and_compare(argv: list, out: Path, tmp_path: Path) -> dict:
    assert _cli(*argv, "--out", out) == 0
    settings = yaml.safe_load((out / "config.yaml").read_text())
    again = tmp_path / "again"
    assert _cli(*argv[:2], "--config", out / "config.yaml", "--out", again, "--quiet") == 0
    first = json.loads((out / "metrics.json").read_text())
    second = json.loads((again / "metrics.json").read_text())
    assert _untimed(first) == _untimed(second)
    assert yaml.safe_load((again / "config.yaml").read_text()) == settings
    return settings


@pytest.fixture(scope="module")
def copper(tmp_path_factory) -> Path:
    rng = np.random.default_rng(0)
    frames = []
    for _ in range(12):
        atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
        atoms.positions += rng.normal(0, 0.1, atoms.positions.shape)
        atoms.calc = EMT()
        labels = {"energy": atoms.get_potential_energy(), "forces": atoms.get_forces(), "stress": atoms.get_stress()}
        atoms.calc = SinglePointCalculator(atoms, **labels)
        frames.append(atoms)
    path = tmp_path_factory.mktemp("cu") / "cu.xyz"
    write(path, frames)
    return path


#: What a committee's report shows (of the test set, or of the training / labelled frames without one).
COMMITTEE_PLOTS = ("parity_energy", "parity_force", "force_error_by_element", "error_by_config_type", "calibration")
NEP_SMALL = ["--neurons", "4", "--n-max", "2,2", "--basis-size", "4,4", "--l-max", "4,0,0", "--cutoff", "4.0,3.5",
             "--quiet"]


def test_table_train_round_trip_and_override(films_csv, tmp_path):
    argv = ["table", "train", films_csv, "--target", "kappa_W_mK", "--members", "2", "--epochs", "15", "--quiet"]
    settings = _repeat_and_compare(argv, tmp_path / "run", tmp_path)
    assert settings["command"] == "table train" and settings["settings"]["members"] == 2
    assert "out" not in settings["settings"] and "quiet" not in settings["settings"]
    assert _cli("table", "train", "--config", tmp_path / "run" / "config.yaml", "--epochs", "3",
                "--out", tmp_path / "short", "--quiet") == 0
    assert json.loads((tmp_path / "short" / "metrics.json").read_text())["epochs_run"] <= 3
    assert yaml.safe_load((tmp_path / "short" / "config.yaml").read_text())["settings"]["epochs"] == 3


def test_table_cv_round_trip(films_csv, tmp_path, check_report):
    _repeat_and_compare(["table", "cv", films_csv, "--target", "kappa_W_mK", "--folds", "2", "--members", "1",
                         "--epochs", "5", "--quiet"], tmp_path / "run", tmp_path)
    check_report(tmp_path / "run", metrics=("mae_mean", "pooled.mae"), images=("plots/parity.png",))


def test_potential_train_round_trip(copper, tmp_path):
    settings = _repeat_and_compare(["potential", "train", copper, "--epochs", "2", "--batch-size", "4", *NEP_SMALL],
                                   tmp_path / "run", tmp_path)
    assert settings["settings"]["neurons"] == 4 and settings["settings"]["lambda_v"] == 0.1


def test_crystal_train_round_trip(tmp_path):
    if not PEROV.is_file():
        pytest.skip(f"shared data not found at {PEROV}")
    data = tmp_path / "perov.csv"
    pd.read_csv(PEROV, nrows=24).to_csv(data, index=False)
    _repeat_and_compare(["crystal", "train", data, "--target", "heat_all", "--model", "cgcnn", "--epochs", "2",
                         "--quiet"], tmp_path / "run", tmp_path)


def _error(capsys, *argv) -> str:
    code = _cli(*argv)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_bad_settings_files_are_one_line_and_write_nothing(films_csv, tmp_path, capsys):
    good = {"format": 1, "command": "table train", "settings": {"data": str(films_csv), "target": "kappa_W_mK"}}
    cases = {
        "foreign": ({**good, "command": "potential train"}, "not 'table train'"),
        "unknown": ({**good, "settings": {**good["settings"], "membrs": 3}}, "setting 'membrs': unknown setting"),
        "mistyped": ({**good, "settings": {**good["settings"], "members": "many"}}, "setting 'members'"),
        "no settings": ({"format": 1, "command": "table train"}, "not a settings file"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(content))
        line = _error(capsys, "table", "train", "--config", path, "--out", tmp_path / name)
        assert message in line and str(path) in line, line
        assert not (tmp_path / name).exists()
    assert "no such settings file" in _error(capsys, "table", "train", "--config", tmp_path / "absent.yaml",
                                             "--out", tmp_path / "x")
    assert "Missing option '--target'" in _error(capsys, "table", "train", films_csv, "--out", tmp_path / "x")


def test_old_spellings_still_work_with_a_hint(films_csv, tmp_path, capsys):
    assert _cli("table", "train", films_csv, "--target", "kappa_W_mK", "--ensemble", "1", "--test-size", "0.25",
                "--epochs", "2", "--quiet", "--out", tmp_path / "run") == 0
    err = capsys.readouterr().err
    assert "hint: --ensemble is now --members" in err and "hint: --test-size is now --test-fraction" in err
    settings = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["settings"]
    assert settings["members"] == 1 and settings["test_fraction"] == 0.25


def test_pde_heat1d_round_trip(tmp_path):
    _repeat_and_compare(["pde", "heat1d", "--method", "pinn,fd", "--nx", "10", "--iterations", "20",
                         "--lbfgs-iterations", "10", "--points", "100", "--hidden", "8", "--quiet"],
                        tmp_path / "run", tmp_path)


def test_pde_inverse_heat_round_trip(tmp_path):
    from nnsurrogate.pde.heat import HeatRod
    from nnsurrogate.pde.inverse import synthetic_measurements

    rod = HeatRod(alpha=0.05, length=2.0, t_end=10.0, t_left=1.0, t_right=0.0, t_initial=0.0)
    data = synthetic_measurements(rod, n=20, noise=0.01, seed=1)
    path = tmp_path / "measurements.csv"
    pd.DataFrame({"x": data.x, "t": data.t, "T": data.T}).to_csv(path, index=False)
    settings = _repeat_and_compare(["pde", "inverse-heat", path, "--length", "2", "--t-end", "10", "--t-left", "1",
                                    "--t-right", "0", "--members", "2", "--iterations", "10",
                                    "--lbfgs-iterations", "10", "--points", "100", "--quiet"], tmp_path / "run", tmp_path)
    assert settings["settings"]["length"] == 2.0 and settings["settings"]["members"] == 2


def test_pde_burgers_round_trip(tmp_path):
    _repeat_and_compare(["pde", "burgers", "--hidden", "6,6", "--points", "100", "--iterations", "5",
                         "--lbfgs-iterations", "5", "--no-rar", "--quiet"], tmp_path / "run", tmp_path)


def test_symbolic_fit_settings_round_trip(tmp_path):
    """A time-limited search is not repeatable to the digit; the settings are, and the rerun takes them."""
    rng = np.random.default_rng(0)
    x = rng.uniform(1, 2, (80, 2))
    path = tmp_path / "law.csv"
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": x[:, 0] * x[:, 1]}).to_csv(path, index=False)
    out, again = tmp_path / "run", tmp_path / "again"
    assert _cli("symbolic", "fit", path, "--target", "y", "--time-limit", "1", "--test-fraction", "0.25",
                "--quiet", "--out", out) == 0
    assert _cli("symbolic", "fit", "--config", out / "config.yaml", "--out", again, "--quiet") == 0
    assert (yaml.safe_load((out / "config.yaml").read_text()) == yaml.safe_load((again / "config.yaml").read_text()))
    assert json.loads((again / "metrics.json").read_text())["n_test"] == 20


def test_gas2d_train_round_trip(tmp_path):
    data = tmp_path / "data"
    assert _cli("gas2d", "generate", "--potential", "lj", "--density", "0.2", "--n-samples", "200",
                "--out", data, "--quiet") == 0
    _repeat_and_compare(["gas2d", "train", data, "--head", "regress", "--grid", "16", "--classes", "4",
                         "--epochs", "1", "--quiet"], tmp_path / "run", tmp_path)


def test_potential_committee_round_trip(copper, tmp_path, capsys, check_report):
    settings = _repeat_and_compare(["potential", "committee", copper, "--members", "2", "--epochs", "2",
                                    "--neurons", "4", "--cutoff", "4.0,3.5", "--n-max", "3,2", "--lambda-v", "0",
                                    "--batch", "4", "--quiet"], tmp_path / "run", tmp_path)
    assert "hint: --batch is now --batch-size" in capsys.readouterr().err
    assert settings["settings"]["members"] == 2 and settings["settings"]["batch_size"] == 4
    assert settings["settings"]["n_max"] == "3,2" and settings["settings"]["lambda_v"] == 0.0
    check_report(tmp_path / "run", metrics=("train.force_mae_meV_A", "train.force_rmse_meV_A_per_element.Cu"),
                 images=[f"plots/{name}.png" for name in COMMITTEE_PLOTS])


def test_potential_active_learn_round_trip(copper, tmp_path, capsys, check_report):
    settings = _repeat_and_compare(["potential", "active-learn", "--initial", copper, "--calculator", "emt",
                                    "--committee", "2", "--temperatures", "300", "--iterations", "1",
                                    "--per-iteration", "2", "--md-steps", "10", "--sample-every", "2",
                                    "--min-separation", "2", "--epochs", "2", "--neurons", "4",
                                    "--cutoff", "4.0,3.5", "--seed", "1", "--quiet"], tmp_path / "run", tmp_path)
    assert "hint: --committee is now --members" in capsys.readouterr().err
    assert settings["settings"]["members"] == 2 and settings["settings"]["calculator"] == "emt"
    final = json.loads((tmp_path / "run" / "metrics.json").read_text())["final_committee"]  # no --test: labelled frames
    assert final["frames"].startswith("labelled") and final["n_frames"] == 12 + 2
    assert set(final["by_config_type"]) == {"(none)", "al_md_300K"}  # the initial frames and those picked by MD
    check_report(tmp_path / "run", metrics=("n_labels", "final_committee.force_mae_meV_A_per_element.Cu"),
                 images=[f"plots/{name}.png" for name in COMMITTEE_PLOTS])
