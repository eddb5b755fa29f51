"""Entry point ``nnsurrogate``: command groups, and the one place where errors become one line.

User errors (a bad file, a missing column, NaN, a tampered model) print ``error: <what> (<where>)``
to stderr and exit with code 2, without a traceback. Warnings print as ``warning: …``.
"""

from __future__ import annotations

import os
import sys
import warnings

import typer

from nnsurrogate import __version__
from nnsurrogate.cli import data, demo, potential, table
from nnsurrogate.cli import crystal as crystal_cli
from nnsurrogate.cli import pde as pde_cli
from nnsurrogate.cli import symbolic as symbolic_cli
from nnsurrogate.cli import gas2d as gas2d_cli
from nnsurrogate.cli import spectra as spectra_cli

def _no_flag_metavar() -> None:
    """Show no ``<bool>`` value type beside an on/off flag in ``--help`` (typer ≥ 0.25 prints one for
    ``--quiet`` as if it took a value)."""
    original = typer.core.TyperOption.display_type
    if getattr(original, "_flags_bare", False):
        return

    def display_type(self, ctx):
        return "" if self.is_flag else original(self, ctx)

    display_type._flags_bare = True
    typer.core.TyperOption.display_type = display_type


_no_flag_metavar()

app = typer.Typer(help="Neural-network surrogates for expensive physics.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)
app.add_typer(data.app, name="data")
app.add_typer(table.app, name="table")
app.add_typer(potential.app, name="potential")
app.add_typer(crystal_cli.app, name="crystal")
app.add_typer(pde_cli.app, name="pde")
app.add_typer(symbolic_cli.app, name="symbolic")
app.add_typer(gas2d_cli.app, name="gas2d")
app.add_typer(spectra_cli.app, name="spectra")
app.command("demo")(demo.demo)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"nnsurrogate {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                       help="Print the version and exit."),
          threads: int = typer.Option(None, "--threads", min=1,
                                      help="Threads of every pool in the process together (PyTorch, OpenMP, BLAS); "
                                           "default: the cores this process may use (affinity mask and cgroup "
                                           "quota), or OMP_NUM_THREADS when set. Goes before the command: "
                                           "nnsurrogate --threads 2 table cv …")) -> None:
    """Neural-network surrogates for expensive physics."""
    from nnsurrogate.core.threads import set_process_threads

    set_process_threads(threads)


_SHOWN: set[str] = set()


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """One line per distinct warning (numpy repeats overflow warnings once per call site)."""
    text = " ".join(str(message).split())
    if text not in _SHOWN:
        _SHOWN.add(text)
        print(f"warning: {text}", file=sys.stderr)


def _error(text: str) -> int:
    print("error: " + " ".join(str(text).split()), file=sys.stderr)
    return 2


def run(argv: list[str] | None = None) -> int:
    """Run the command line with *argv* (default ``sys.argv[1:]``); returns the exit code."""
    from nnsurrogate.cli.options import apply_renames, command_flags, flagged
    from nnsurrogate.core.errors import UserInputError

    argv = apply_renames(sys.argv[1:] if argv is None else list(argv))
    _SHOWN.clear()
    command = typer.main.get_command(app)
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            code = command.main(args=argv, prog_name="nnsurrogate", standalone_mode=False)
        except typer.Exit as exc:
            code = exc.exit_code
        except typer.TyperException as exc:  # usage errors: missing option, bad value, unknown option
            ctx = getattr(exc, "ctx", None)
            return _error(f"{exc.format_message()} ({ctx.command_path if ctx is not None else 'nnsurrogate'})")
        except typer.Abort:
            code = 130
        except UserInputError as exc:
            return _error(flagged(exc, command_flags(app, argv)).one_line())
        except ValueError as exc:
            return _error(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        except OSError as exc:
            return _error(f"{exc.strerror or exc} ({exc.filename})" if exc.filename else str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug: one line, not a traceback, unless asked for
            if os.environ.get("NNSURROGATE_DEBUG"):
                raise
            _error(f"unexpected {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} (a bug in "
                   "nnsurrogate: NNSURROGATE_DEBUG=1 shows the traceback; please report it)")
            return 1
    if code == 130:
        print("error: interrupted (training resumes with --resume)", file=sys.stderr)
    return code if isinstance(code, int) else 0


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())
