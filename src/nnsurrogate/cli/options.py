"""The one vocabulary of the command line: shared options, setting → flag names, renamed flags.

Every command that trains spells its common options the same way (``--out``, ``--seed``,
``--batch-size``, ``--lr``, ``--epochs``, ``--time-limit``, ``--device``, ``--dtype``, ``--members``,
``--valid-fraction``, ``--test-fraction``, ``--threads``, ``--quiet``). The library names settings
(``learning_rate``, ``batch_size``) in its errors; :func:`flagged` turns them into the running
command's flags, through one table where the names differ (:data:`SETTING_TO_PARAM`). Old spellings still work for one more release and print a one-line hint
(:func:`apply_renames`).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import typer

from nnsurrogate.core.errors import UserInputError

__all__ = ["RENAMED", "SETTING_TO_PARAM", "apply_renames", "command_flags", "flag_for", "flagged"]

#: Library setting name → the command's parameter name, where the two differ.
SETTING_TO_PARAM: dict[str, str] = {
    "learning_rate": "lr", "min_learning_rate": "min_lr", "n_members": "members", "ensemble": "members",
    "committee": "members", "warm_learning_rate": "warm_lr",
    "max_epochs": "epochs", "n_threads": "threads", "test_size": "test_fraction", "random_state": "seed",
    "batch": "batch_size", "max_strain": "strain", "repeat": "supercell", "methods": "method", "n_classes": "classes",
}

#: (group, verb) → {old flag: new flag}. Verb ``*``: every verb of the group.
RENAMED: dict[tuple[str, str], dict[str, str]] = {
    ("table", "train"): {"--ensemble": "--members", "--test-size": "--test-fraction"},
    ("table", "cv"): {"--ensemble": "--members"},
    ("potential", "train"): {"--batch": "--batch-size", "--init": "--from"},
    ("potential", "committee"): {"--batch": "--batch-size"},
    ("potential", "active-learn"): {"--batch": "--batch-size", "--committee": "--members"},
    ("symbolic", "fit"): {"--test-size": "--test-fraction"},
    ("crystal", "train"): {"--learning-rate": "--lr", "--test-size": "--test-fraction"},
}


def flag_for(setting: str, flags: dict[str, str] | None = None) -> str | None:
    """The command-line flag of a library setting name (``learning_rate`` → ``--lr``), or ``None``.

    *flags* maps the running command's parameter names to their flags (see :func:`command_flags`).
    """
    param = SETTING_TO_PARAM.get(setting, setting)
    if flags and param in flags:
        return flags[param]
    if setting.endswith("_*"):
        return "--" + setting.replace("_", "-")
    return None


def command_flags(app, argv: list[str]) -> dict[str, str]:
    """``{parameter name: first flag}`` of the command *argv* runs in the typer *app* (empty if none)."""
    import typer.main

    command = typer.main.get_command(app)
    for word in [a for a in argv if not a.startswith("-")][:2]:
        sub = getattr(command, "commands", {}).get(word)
        if sub is None:
            break
        command = sub
    return {p.name: p.opts[0] for p in getattr(command, "params", []) if getattr(p, "opts", None)
            and p.opts[0].startswith("--")}


def flagged(exc: UserInputError, flags: dict[str, str] | None = None) -> UserInputError:
    """*exc* with its location turned into flags when it names settings (``batch_size`` → ``--batch-size``;
    a comma-separated list of settings maps each)."""
    names = [part.strip() for part in (exc.where or "").split(",")]
    found = [flag_for(n, flags) if _SETTING.fullmatch(n) else None for n in names]
    if not names or None in found:
        return exc
    return type(exc)(exc.what, ", ".join(dict.fromkeys(found)))


_SETTING = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*(_\*)?")


def _command(argv: list[str]) -> tuple[str, str]:
    words = [a for a in argv if not a.startswith("-")][:2]
    return (words + ["", ""])[0], (words + ["", ""])[1]


def apply_renames(argv: list[str]) -> list[str]:
    """*argv* with renamed flags replaced by their new names; prints ``hint: --old is now --new`` once each."""
    group, verb = _command(argv)
    table = {**RENAMED.get((group, "*"), {}), **RENAMED.get((group, verb), {})}
    if not table:
        return list(argv)
    out = []
    for arg in argv:
        name, eq, value = arg.partition("=")
        if name in table:
            print(f"hint: {name} is now {table[name]}", file=sys.stderr)
            arg = table[name] + eq + value
        out.append(arg)
    return out


# Shared options: ``param: int = options.batch_size(4)`` in a command's signature.

def out_dir(help_text: str = "Output folder: model/, metrics.json, config.yaml, plots/.") -> Path:
    return typer.Option(..., "--out", help=help_text)


def seed(help_text: str = "Seed for the split, initial weights and batch order.") -> int:
    return typer.Option(0, "--seed", help=help_text)


def batch_size(default: int, help_text: str = "Samples per mini-batch.") -> int:
    return typer.Option(default, "--batch-size", help=help_text)


def lr(default: float, help_text: str = "Initial learning rate.") -> float:
    return typer.Option(default, "--lr", help=help_text)


def epochs(default: int | None, help_text: str = "Maximum epochs.") -> int:
    return typer.Option(default, "--epochs", help=help_text)


def time_limit(help_text: str = "Stop training after this many seconds (the best weights so far are kept).") -> float:
    return typer.Option(None, "--time-limit", help=help_text)


def members(default: int, help_text: str = "Number of ensemble / committee members.") -> int:
    return typer.Option(default, "--members", help=help_text)


def valid_fraction(default: float, help_text: str = "Fraction of the training data held out for validation.") -> float:
    return typer.Option(default, "--valid-fraction", help=help_text)


def test_fraction(default: float, help_text: str = "Fraction of the rows held out as the test set.") -> float:
    return typer.Option(default, "--test-fraction", help=help_text)


def threads(default: int | None = 1, help_text: str = "PyTorch threads.") -> int:
    return typer.Option(default, "--threads", help=help_text)


def device(help_text: str = "cpu or cuda.") -> str:
    return typer.Option("cpu", "--device", help=help_text)


def dtype(default: str = "float32", help_text: str = "Training precision: float32 or float64.") -> str:
    return typer.Option(default, "--dtype", help=help_text)


def quiet() -> bool:
    return typer.Option(False, "--quiet", help="No progress bar.")


def resume() -> bool:
    return typer.Option(False, "--resume", help="Continue an interrupted run from OUT/.checkpoint.")


def embed_out() -> Path:
    return typer.Option(..., "--out", help="Output folder: embeddings.parquet, neighbors.csv, map.csv, map.png, map.html.")


def neighbors(what: str) -> int:
    return typer.Option(5, "--neighbors", help=f"Most similar {what} listed for each one.")


def map_method() -> str:
    return typer.Option("auto", "--map", help="auto (UMAP if installed, else t-SNE), umap, tsne or pca.")


class OptionGroup:
    """Options defined once and attached to several commands, passed to them as one dict.

    Parameters
    ----------
    name : str
        The keyword argument that receives ``{setting: value}`` of the group's options.
    options : dict
        ``{setting: (type, typer.Option(...))}``.

    Use as ``@GROUP.attach`` below ``@app.command()`` (and below ``@configurable``).
    """

    def __init__(self, name: str, options: dict[str, tuple[type, object]]) -> None:
        self.name = name
        self.options = options

    def attach(self, func):
        """*func* with the group's options added to its signature, collected into ``func(..., name=dict)``."""
        import functools
        import inspect
        import typing

        hints = {k: v for k, v in typing.get_type_hints(func).items() if k != self.name}
        signature = inspect.signature(func)
        kept = [p for n, p in signature.parameters.items() if n != self.name]
        added = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=info, annotation=kind)
                 for n, (kind, info) in self.options.items()]

        @functools.wraps(func)
        def wrapper(**kwargs):
            group = {n: kwargs.pop(n) for n in self.options}
            return func(**kwargs, **{self.name: group})

        wrapper.__signature__ = signature.replace(parameters=kept + added)
        wrapper.__annotations__ = {**hints, **{n: kind for n, (kind, _) in self.options.items()}}
        del wrapper.__wrapped__  # typer must see the new signature, not the wrapped one
        return wrapper

