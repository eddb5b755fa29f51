"""Every command block of README.md and of the site's getting-started page runs as written, from
the repository root's point of view; every command shown anywhere on the site parses.

The README's and getting-started's examples read only files the command before them made or files
shipped in ``examples/``; this test copies ``examples/`` into a fresh folder and runs each ``bash``
block's commands there in order, so those pages cannot drift from the program. The ``make`` lines are
how this test itself runs and are not repeated here. The guides' commands (many on the project's
``../shared/data`` sets, some hours long) are checked against the command line's own parser: the
command exists, every option exists and takes a value of the right type, nothing required is missing.
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


def _run_all(commands: list[list[str]], work: Path) -> None:
    shutil.copytree(ROOT / "examples", work / "examples")
    for words in commands:
        done = subprocess.run([CLI, *words[1:]], cwd=work, capture_output=True, text=True)
        assert done.returncode == 0, f"{shlex.join(words)}\n{done.stderr[-2000:]}"
        out = _out(words)
        assert out is None or (work / out).exists(), f"{shlex.join(words)} wrote no {out}"


@pytest.mark.slow
def test_every_readme_command_runs_as_written(tmp_path):
    commands = [c for c in readme_commands((ROOT / "README.md").read_text(encoding="utf-8")) if c[0] != "make"]
    assert len(commands) >= 15 and all(c[0] == "nnsurrogate" for c in commands), commands
    _run_all(commands, tmp_path)
    alpha = json.loads((tmp_path / "inv" / "metrics.json").read_text())["alpha"]
    assert abs(alpha - 0.15) < 0.01  # the measurements were made with α = 0.15 (examples/make_examples.py)


@pytest.mark.slow
def test_every_getting_started_command_runs_as_written(tmp_path):
    commands = readme_commands((ROOT / "docs" / "getting-started.md").read_text(encoding="utf-8"))
    assert len(commands) >= 4 and all(c[0] == "nnsurrogate" for c in commands), commands
    _run_all(commands, tmp_path)


def _parse(root, words: list[str]) -> None:
    """Parse *words* (``nnsurrogate GROUP COMMAND …``) with the command line's own parser, running nothing."""
    command, depth = root, 1
    while hasattr(command, "commands") and depth < len(words) and words[depth] in command.commands:
        command, depth = command.commands[words[depth]], depth + 1
    assert not hasattr(command, "commands"), f"no such command: {shlex.join(words[:depth + 1])}"
    command.make_context(" ".join(words[:depth]), list(words[depth:]))  # raises on an unknown or bad option


def test_every_command_on_the_site_parses():
    import typer

    from nnsurrogate.cli.main import app

    root = typer.main.get_command(app)
    pages = sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]
    checked = 0
    for page in pages:
        for words in readme_commands(page.read_text(encoding="utf-8")):
            if words[0] == "nnsurrogate":
                try:
                    _parse(root, words)
                except Exception as exc:  # click's usage errors: the page shows a command that cannot run
                    pytest.fail(f"{page.relative_to(ROOT)}: {shlex.join(words)}\n{exc}")
                checked += 1
    assert checked >= 60, checked
