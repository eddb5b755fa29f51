"""Worker side of distributed labeling: one reference calculator per worker thread, built on first use.

Imported only when labeling runs (it needs ``distributed``). The plugin travels to every worker of
the cluster (local or remote); a task looks it up by name and asks it for the thread's calculator,
so an expensive start-up (CHGNet loading its weights) happens once per thread, not once per frame.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from ase import Atoms
from ase.calculators.calculator import Calculator
from distributed import WorkerPlugin, get_worker


class CalculatorPlugin(WorkerPlugin):
    """Holds ``factory`` and, per worker thread, the calculator it built."""

    def __init__(self, factory: Callable[[], Calculator], name: str) -> None:
        self.factory = factory
        self.name = name
        self._local: threading.local | None = None

    def setup(self, worker) -> None:
        self._local = threading.local()

    def calculator(self) -> Calculator:
        if self._local is None:
            self._local = threading.local()
        calc = getattr(self._local, "calc", None)
        if calc is None:
            calc = self.factory()
            self._local.calc = calc
        return calc

    def discard(self) -> None:
        """Forget this thread's calculator (after a failure its internal state is suspect)."""
        if self._local is not None:
            self._local.calc = None

    def __getstate__(self) -> dict:
        return {"factory": self.factory, "name": self.name, "_local": None}


def label_task(index: int, atoms: Atoms, plugin_name: str) -> tuple[int, Atoms]:
    """Label one frame on a worker; returns ``(index, labelled atoms)`` or raises the calculator's error."""
    from nnsurrogate.atomistic.labelers import label_atoms

    plugin = get_worker().plugins[plugin_name]
    try:
        return index, label_atoms(atoms, plugin.calculator())
    except BaseException:
        plugin.discard()
        raise
