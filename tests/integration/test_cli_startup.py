"""The command line starts without the heavy libraries: they load inside the commands that need them."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "sklearn", "pymatgen", "pandas", "scipy", "matplotlib", "ase", "sympy")


def _loaded_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_importing_the_command_line_loads_no_heavy_library():
    assert _loaded_after("import nnsurrogate.cli.main") == []


def test_help_of_every_group_loads_no_heavy_library():
    code = ("from nnsurrogate.cli.main import run\n"
            "import contextlib, io\n"
            "for group in ('table', 'potential', 'crystal', 'pde', 'symbolic', 'gas2d', 'spectra', 'data'):\n"
            "    with contextlib.redirect_stdout(io.StringIO()):\n"
            "        assert run([group, '--help']) == 0\n")
    assert _loaded_after(code) == []


def test_the_engine_still_exports_its_names_on_first_use():
    assert _loaded_after("from nnsurrogate.core.engine import progress_bar") == []
    assert "torch" in _loaded_after("from nnsurrogate.core.engine import Checkpoint")


def _leaf_commands():
    import typer

    from nnsurrogate.cli.main import app

    def walk(path, command):
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                yield from walk([*path, name], sub)
        else:
            yield path

    return list(walk([], typer.main.get_command(app)))


def test_no_help_page_shows_a_value_type_beside_a_flag(capsys):
    from nnsurrogate.cli.main import run

    commands = _leaf_commands()
    assert len(commands) > 30
    for path in commands:
        assert run([*path, "--help"]) == 0
        out = capsys.readouterr().out
        assert "<bool>" not in out and "Usage" in out, path


def test_version_prints_the_package_version(capsys):
    from nnsurrogate import __version__
    from nnsurrogate.cli.main import run

    assert run(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"nnsurrogate {__version__}"


def test_predicting_with_a_numeric_table_model_loads_no_tree_plot_or_chemistry_library(tmp_path, films_csv):
    from nnsurrogate.cli.main import run

    out = tmp_path / "run"
    assert run(["table", "train", str(films_csv), "--target", "kappa_W_mK", "--members", "2", "--epochs", "5",
                "--out", str(out), "--quiet"]) == 0
    code = (f"from nnsurrogate.cli.main import run\n"
            f"assert run(['table', 'predict', {str(out)!r}, {str(films_csv)!r}, '--out', "
            f"{str(tmp_path / 'pred.csv')!r}]) == 0\n")
    probe = f"import sys\n{code}\nprint('LOADED:' + ' '.join(m for m in {PREDICT_NEEDS_NOT!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = [line for line in result.stdout.splitlines() if line.startswith("LOADED:")]
    assert loaded == ["LOADED:"], result.stdout


PREDICT_NEEDS_NOT = ("sklearn.ensemble", "matplotlib", "pymatgen", "ase", "sympy", "nnsurrogate.tabular.tree_models",
                     "nnsurrogate.tabular.classifier", "nnsurrogate.tabular.fidelity")
