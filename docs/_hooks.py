"""MkDocs hooks: the tutorials' shared helper on the kernels' path, and the command-line reference
generated from the typer application at build time."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

MARKER = "<!-- cli-reference -->"
TUTORIALS = Path(__file__).resolve().parent / "tutorials"


def on_config(config):
    """Put ``docs/tutorials`` on the path of the kernels that execute the notebooks (they start in the
    build's working directory), so ``from _shell import …`` works wherever ``mkdocs`` is run from."""
    paths = [str(TUTORIALS), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    _quiet_kernel()
    return config


def _quiet_kernel() -> None:
    """A ``python3`` kernel spec, first on ``JUPYTER_PATH``, whose kernel logs errors only.

    The build's kernels talk over local TCP, and ipykernel warns about that on every start ("running
    over TCP without encryption"): noise in a build that must show zero warnings, about a connection
    that never leaves the machine. The spec is otherwise the standard one, run by this interpreter.
    """
    root = Path(tempfile.mkdtemp(prefix="nnsurrogate_kernels_"))
    spec = root / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}", "--IPKernelApp.log_level=ERROR"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Python 3", "language": "python"}))
    paths = [str(root), *filter(None, os.environ.get("JUPYTER_PATH", "").split(os.pathsep))]
    os.environ["JUPYTER_PATH"] = os.pathsep.join(paths)


def _cell(text) -> str:
    return " ".join(str(text or "").split()).replace("|", "\\|")


def _kind(param, ctx) -> str:
    """The value type typer shows as ``<path>``, without the angle brackets."""
    return _cell(param.display_type(ctx)).strip("<>")


def _command(path: str, command, depth: int) -> list[str]:
    """Markdown for a command (typer vendors its own click, so the objects are read by their attributes)."""
    lines = [f"{'#' * depth} `{path}`", "", _cell(command.help or command.short_help), ""]
    if hasattr(command, "commands"):
        for name in sorted(command.commands):
            lines += _command(f"{path} {name}", command.commands[name], depth + 1)
        return lines
    ctx = type(command).context_class(command, info_name=path)
    lines += ["```text", command.get_usage(ctx).replace("Usage: ", ""), "```", ""]
    rows = []
    for param in command.params:
        if param.param_type_name == "argument":
            rows.append(f"| `{param.name.upper()}` (argument) | `{_kind(param, ctx)}` | {_cell(param.help)} | "
                        f"{'required' if param.required else ''} |")
        elif not getattr(param, "hidden", False):
            default = "" if param.default in (None, False, ()) or callable(param.default) else f"`{param.default}`"
            rows.append(f"| `{', '.join(param.opts)}` | `{_kind(param, ctx)}` | {_cell(param.help)} | {default} |")
    if rows:
        lines += ["| option | type | meaning | default |", "|---|---|---|---|", *rows, ""]
    return lines


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARKER not in markdown:
        return markdown
    import typer

    from nnsurrogate.cli.main import app

    root = typer.main.get_command(app)
    body = []
    for name in sorted(root.commands):
        body += _command(f"nnsurrogate {name}", root.commands[name], 2)
    return markdown.replace(MARKER, "\n".join(body))
