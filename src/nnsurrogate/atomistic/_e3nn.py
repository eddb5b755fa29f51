"""Importing the equivariant libraries (mace-torch, sevenn) that sit on e3nn 0.4, cleanly.

e3nn 0.4 reads its packaged Wigner constants with ``torch.load``; they hold Python ``slice`` objects,
which PyTorch ≥ 2.6 refuses to unpickle unless allowed, so that one builtin is allowed. Importing
``mace`` also sets ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` for the whole process (every later
``torch.load`` would unpickle anything): :func:`quiet_import` puts the variable back as it was, and
silences the notes these packages print or warn on import.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import warnings

import torch

from nnsurrogate.core.errors import UserInputError

_FLAG = "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"


def quiet_import(module: str, hint: str, where: str):
    """Import *module* (e.g. ``"mace.modules"``); a missing package is a one-line :class:`UserInputError`
    saying *hint* (what to install), located at *where*."""
    torch.serialization.add_safe_globals([slice])
    before = os.environ.get(_FLAG)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return importlib.import_module(module)
    except ImportError:
        raise UserInputError(hint, where) from None
    finally:
        if before is None:
            os.environ.pop(_FLAG, None)
        else:
            os.environ[_FLAG] = before
