"""Every command block of README.md runs as written, from the repository root's point of view.

The README's examples read only files the command before them made or files shipped in
``examples/``; this test copies ``examples/`` into a fresh folder and runs each ``bash`` block's
commands there in order, so the README cannot drift from the program. The ``make`` lines are how
this test itself runs and are not repeated here.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).with_name("nnsurrogate"))
_BLOCK = re.compile(r"^```bash\n(.*?)^```", re.S | re.M)


def readme_commands(text: str) -> list[list[str]]:
    """The commands of every ``bash`` block, continuation lines joined and comments dropped."""
    commands = []
    for block in _BLOCK.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words:
                commands.append(words)
    return commands


def test_readme_blocks_parse_into_commands():
    commands = readme_commands("```bash\nnnsurrogate a --x 1 \\\n    --y 2   # note\n\nmake demo\n```\n")
    assert commands == [["nnsurrogate", "a", "--x", "1", "--y", "2"], ["make", "demo"]]


def _out(words: list[str]) -> str | None:
    return words[words.index("--out") + 1] if "--out" in words else None


@pytest.mark.slow
def test_every_readme_command_runs_as_written(tmp_path):
    commands = [c for c in readme_commands((ROOT / "README.md").read_text(encoding="utf-8")) if c[0] != "make"]
    assert len(commands) >= 15 and all(c[0] == "nnsurrogate" for c in commands), commands
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    for words in commands:
        done = subprocess.run([CLI, *words[1:]], cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, f"{shlex.join(words)}\n{done.stderr[-2000:]}"
        out = _out(words)
        assert out is None or (tmp_path / out).exists(), f"{shlex.join(words)} wrote no {out}"
    inverse = tmp_path / "inv" / "metrics.json"
    alpha = json.loads(inverse.read_text())["alpha"]
    assert abs(alpha - 0.15) < 0.01  # the measurements were made with α = 0.15 (examples/make_examples.py)
