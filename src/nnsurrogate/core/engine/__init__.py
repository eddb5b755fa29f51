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

from nnsurrogate.core.engine.budget import Budget
from nnsurrogate.core.engine.checkpoint import Checkpoint, signature_of
from nnsurrogate.core.engine.loop import EpochTask, RunResult, run_epochs
from nnsurrogate.core.engine.progress import Progress, fan_out, progress_bar
from nnsurrogate.core.engine.tracking import BestTracker

__all__ = ["BestTracker", "Budget", "Checkpoint", "EpochTask", "Progress", "RunResult", "fan_out",
           "progress_bar", "run_epochs", "signature_of"]
