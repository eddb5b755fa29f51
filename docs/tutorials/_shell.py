"""What the tutorials share: the command line run as a user would run it, and the example data.

The site build puts this folder on the kernels' ``PYTHONPATH`` (``docs/_hooks.py``), and Jupyter
started in this folder finds it too, so every tutorial can ``from _shell import …``; the module itself
is left out of the site (``exclude_docs`` in mkdocs.yml).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CLI = str(Path(sys.executable).with_name("nnsurrogate"))
#: Example files shipped in the repository (see examples/README.md).
DATA = Path(__file__).resolve().parents[2] / "examples"
#: The kernel's environment without the variables that force colour, so the output is plain text.
ENV = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "CLICOLOR_FORCE")} | {"NO_COLOR": "1"}
_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_PROGRESS = ("━", "⠋")
#: A progress line as the CLI writes it when stderr is not a terminal: ``training: 12/40  0:00:05  …``
_LOG_LINE = re.compile(r"^[^:]+: \d+(/\d+)?  \d+:\d\d:\d\d")


def workdir(prefix: str, *examples: str) -> Path:
    """A fresh temporary folder for one tutorial, with copies of the named example tables."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    for name in examples:
        shutil.copy(DATA / name, work / name)
    return work


def sh(work: Path, *args: str, ok: tuple[int, ...] = (0,), tail: int = 8) -> int | None:
    """Run ``nnsurrogate ARGS`` in *work* and print its last *tail* lines, progress bars left out.

    Fails unless the exit code is in *ok*; returns the exit code only where more than one is expected.
    """
    done = subprocess.run([CLI, *args], cwd=work, capture_output=True, text=True, env=ENV)
    assert done.returncode in ok, done.stderr
    text = _ESCAPE.sub("", done.stdout + "\n" + done.stderr)
    lines = [line for line in text.splitlines() if line.strip() and not any(mark in line for mark in _PROGRESS)
             and not _LOG_LINE.match(line)]
    print("\n".join(lines[-tail:]))
    return done.returncode if len(ok) > 1 else None
