"""Verbs of ``nnsurrogate potential`` (see :mod:`nnsurrogate.cli.potential`)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``potential`` group."""
