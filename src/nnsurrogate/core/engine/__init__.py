"""The one training engine every trainer uses.

A trainer keeps only its own epoch body (an :class:`~nnsurrogate.core.engine.loop.EpochTask`); the
engine owns everything around it:

* :class:`~nnsurrogate.core.engine.checkpoint.Checkpoint` — one on-disk format (atomic writes, a
  signature check, random-generator state, safetensors + JSON: nothing unpickled) over anything with
  ``state_dict()``;
* :class:`~nnsurrogate.core.engine.tracking.BestTracker` — the weights best on validation, for one
  model or for every member of a stacked ensemble;
* :class:`~nnsurrogate.core.engine.budget.Budget` — epoch and wall-time limits, the deadline;
* :mod:`~nnsurrogate.core.engine.progress` — one progress protocol ``progress(step, total, metrics)``
  that drives the rich bar, the log and the loss trace;
* :mod:`~nnsurrogate.core.engine.optimizers` — optimizer strategies chosen from a registry.
"""

import importlib

#: Public names and the submodule that defines each: loaded on first use, so that importing the
#: engine for its progress protocol (as the command line does) does not import torch.
_EXPORTS = {"Budget": "budget", "Checkpoint": "checkpoint", "signature_of": "checkpoint", "EpochTask": "loop",
            "RunResult": "loop", "run_epochs": "loop", "Progress": "progress", "fan_out": "progress",
            "progress_bar": "progress", "BestTracker": "tracking"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
