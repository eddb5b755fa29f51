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
