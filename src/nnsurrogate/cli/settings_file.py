"""Run settings files: every command that trains writes ``OUT/config.yaml`` and accepts ``--config FILE``.

``config.yaml`` holds the command and every one of its settings after the command line and the
defaults are resolved, so ``nnsurrogate potential train --config run/config.yaml --out run2``
repeats a run; options given on the command line override the file. The file's values are
validated as a whole against a typed schema made from the command's own signature (pydantic), with
errors naming the setting and the file; the command then checks ranges and combinations as usual.
Where a run goes (``out``) and how it runs (``resume``, ``quiet``) are not settings and are not
stored.
"""

from __future__ import annotations

import copy
import functools
import inspect
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from typer.models import ArgumentInfo, OptionInfo

from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.files import output_lock, removed_on_failure

__all__ = ["CONFIG_FILE", "NOT_SETTINGS", "configurable", "read_config", "write_config"]

CONFIG_FILE = "config.yaml"
#: Parameters that say where and how a run goes, not what it computes: never stored, never read.
NOT_SETTINGS = frozenset({"out", "resume", "quiet", "config"})
_FORMAT = 1


def write_config(path: Path, command: str, settings: dict[str, Any]) -> None:
    """Write *settings* of *command* as YAML to *path* (atomically)."""
    import yaml

    from nnsurrogate import __version__
    from nnsurrogate.core.files import atomic_path

    plain = {k: (str(v) if isinstance(v, Path) else v) for k, v in settings.items()}
    head = (f"# nnsurrogate {__version__}: repeat this run with\n"
            f"#   nnsurrogate {command} --config {path.name} --out NEW_FOLDER\n")
    body = yaml.safe_dump({"format": _FORMAT, "command": command, "settings": plain}, sort_keys=False,
                          allow_unicode=True)
    with atomic_path(path) as tmp:
        tmp.write_text(head + body, encoding="utf-8")
        tmp.chmod(0o644)


def read_config(path: Path, command: str) -> dict[str, Any]:
    """The settings stored in *path* for *command* (a one-line error for anything else)."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserInputError("no such settings file", str(path)) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UserInputError(f"unreadable settings file ({type(exc).__name__})", str(path)) from None
    if not isinstance(data, dict) or not isinstance(data.get("settings"), dict):
        raise UserInputError("not a settings file (no 'settings' mapping)", str(path))
    if data.get("command") != command:
        raise UserInputError(f"the settings are for 'nnsurrogate {data.get('command')}', not '{command}'", str(path))
    return dict(data["settings"])


def _schema(func: Callable, names: list[str]):
    """A pydantic model of the command's settings, typed from its annotations (``None`` allowed)."""
    from pydantic import ConfigDict, create_model

    hints = typing.get_type_hints(func)
    fields = {name: (typing.Optional[hints.get(name, Any)], None) for name in names}
    return create_model(f"{func.__name__}_settings", __config__=ConfigDict(extra="forbid"), **fields)


def _validated(schema, values: dict[str, Any], source: str) -> dict[str, Any]:
    from pydantic import ValidationError

    try:
        return dict(schema(**values))
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(part) for part in first["loc"])
        what = "unknown setting" if first["type"] == "extra_forbidden" else first["msg"].lower()
        raise UserInputError(f"setting '{name}': {what}", source) from None


def _optional(info):
    """A copy of a required typer parameter that the command line may leave out (the file can give it)."""
    info = copy.copy(info)
    info.default = None
    return info


def configurable(command: str, out: str = "out") -> Callable[[Callable], Callable]:
    """Decorate a typer command so that it accepts ``--config FILE`` and writes ``OUT/config.yaml``.

    Parameters
    ----------
    command : str
        ``"group verb"`` as typed after ``nnsurrogate`` (stored in and checked against the file).
    out : str
        The parameter naming the output folder.
    """

    def decorate(func: Callable) -> Callable:
        signature = inspect.signature(func)
        settings = [n for n in signature.parameters if n not in NOT_SETTINGS]
        required = [n for n, p in signature.parameters.items() if n in settings
                    and isinstance(p.default, (ArgumentInfo, OptionInfo)) and p.default.default is ...]
        schema = _schema(func, settings)

        @functools.wraps(func)
        def wrapper(**kwargs: Any) -> Any:
            config, context = kwargs.pop("config", None), kwargs.pop("typer_context")
            values = {n: kwargs[n] for n in settings}
            if config is not None:
                given = _given(context, settings)
                stored = _validated(schema, read_config(config, command), str(config))
                values.update({n: v for n, v in stored.items() if n not in given and n in settings})
            values = _validated(schema, values, f"nnsurrogate {command}")
            missing = [n for n in required if values[n] is None]
            if missing:
                raise UserInputError(f"{_describe(signature.parameters[missing[0]])} (give it, or --config FILE)",
                                     f"nnsurrogate {command}")
            with output_lock(kwargs[out]), removed_on_failure(kwargs[out], keep=(typer.Exit,)):
                result = func(**{**kwargs, **values})
                write_config(Path(kwargs[out]) / CONFIG_FILE, command, values)
                _report(Path(kwargs[out]), command, values)
            return result

        params = [p.replace(default=_optional(p.default)) if n in required else p
                  for n, p in signature.parameters.items()]
        params.append(inspect.Parameter("config", inspect.Parameter.KEYWORD_ONLY, annotation=typing.Optional[Path],
                                        default=typer.Option(None, "--config", help="Settings of an earlier run "
                                                             "(its OUT/config.yaml); options given here override it.")))
        params.append(inspect.Parameter("typer_context", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context))
        wrapper.__signature__ = signature.replace(parameters=params)
        wrapper.__annotations__ = {**typing.get_type_hints(func), "config": typing.Optional[Path],
                                   "typer_context": typer.Context}
        del wrapper.__wrapped__  # typer must see the new signature, not the wrapped one
        return wrapper

    return decorate


def _report(folder: Path, command: str, values: dict) -> None:
    """``OUT/report.html`` for a run that wrote ``metrics.json`` (see :mod:`nnsurrogate.core.report`)."""
    from nnsurrogate.core.report import write_report

    if folder.is_dir():
        write_report(folder, command, {k: v for k, v in values.items() if isinstance(v, (int, float, str, bool,
                                                                                           type(None)))})


def _describe(param: inspect.Parameter) -> str:
    """``Missing option '--target'`` / ``Missing argument 'DATA'``, as the command line says it."""
    info = param.default
    if isinstance(info, OptionInfo) and info.param_decls:
        return f"Missing option '{info.param_decls[0]}'"
    return f"Missing argument '{param.name.upper()}'"


def _given(context: typer.Context, names: list[str]) -> set[str]:
    """The parameters the user typed on the command line (or set through the environment)."""
    typed = ("COMMANDLINE", "ENVIRONMENT", "PROMPT")
    return {n for n in names if getattr(context.get_parameter_source(n), "name", None) in typed}
