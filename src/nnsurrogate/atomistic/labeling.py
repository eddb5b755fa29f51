"""Label many frames with a reference calculator: distributed through Dask, resumable, failures retried then reported.

How a run goes (:func:`label_frames`):

1. Every finished frame is written at once, atomically, as its own file in a sidecar folder
   ``OUT.parts/`` (with ``meta.json`` naming the input fingerprint and the labeler). A crash or an
   interruption loses only the frames being computed at that moment; rerunning the same command
   finds the sidecar and computes only the frames not yet in it.
2. Frames are sent to a Dask cluster: by default a light in-process ``LocalCluster`` (one worker,
   ``workers`` threads), or an existing cluster at ``scheduler`` (e.g. ``tcp://host:8786``, started by
   ``dask-jobqueue`` on an HPC system). Each worker thread builds its own calculator once.
3. A frame whose calculation raises is submitted again once (``retries``); if it fails again it is
   listed, with its error, in ``OUT.failed.json`` and left out of ``OUT`` — never dropped silently.
4. When every frame has been tried, ``OUT`` is assembled in input order, atomically. The sidecar is
   removed when nothing failed, and kept otherwise so that a rerun retries only the failed frames.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator

from nnsurrogate.core.engine.progress import Progress
from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.files import atomic_path, write_json

_PART = re.compile(r"^(\d{7,})\.xyz$")


@dataclass
class LabelReport:
    """What a labeling run did.

    ``failed`` holds one ``{"index", "error", "attempts"}`` per frame that failed every attempt;
    ``retried`` the indices that failed once and then succeeded.
    """

    n_frames: int
    n_computed: int
    n_resumed: int
    out: Path
    failed_path: Path
    retried: list[int] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def n_written(self) -> int:
        """Frames in the output file."""
        return self.n_frames - len(self.failed)


def label_frames(frames: Sequence[Atoms], factory: Callable[[], Calculator], out: str | Path, *,
                 scheduler: str | None = None, workers: int = 1, retries: int = 1,
                 progress: Progress | None = None) -> LabelReport:
    """Label *frames* with calculators built by *factory* and write them to *out* (extended XYZ).

    Parameters
    ----------
    frames : sequence of ase.Atoms
        Configurations; their ``info`` (e.g. ``config_type``) is kept, earlier labels are replaced.
    factory : callable
        Zero-argument, picklable callable returning an ASE calculator, e.g. a
        :class:`~nnsurrogate.atomistic.labelers.LabelerSpec`.
    out : path
        Output extended-XYZ file; ``OUT.parts/`` and ``OUT.failed.json`` sit beside it (see module notes).
    scheduler : str, optional
        Address of a running Dask scheduler; default: an in-process local cluster.
    workers : int
        Threads of the local cluster (ignored with *scheduler*).
    retries : int
        How many times a failed frame is submitted again before it is reported.
    progress : callable, optional
        The progress protocol ``progress(done, total, metrics)`` after each finished frame (frames
        found in the sidecar count as done); *metrics*: ``failed`` (frames given up so far).

    Returns
    -------
    LabelReport
    """
    if not frames:
        raise UserInputError("no frames to label", str(out))
    if workers < 1 or retries < 0:
        raise UserInputError(f"workers must be ≥ 1 and retries ≥ 0, got {workers} and {retries}",
                             "workers" if workers < 1 else "retries")
    out = Path(out)
    check = getattr(factory, "check_structure", None)
    for i, atoms in enumerate(frames):
        if check is not None:
            check(atoms, f"frame {i}")
    start = time.perf_counter()
    store = PartStore(out, frames, _factory_id(factory))
    done = store.done()
    pending = [i for i in range(len(frames)) if i not in done]
    report = LabelReport(n_frames=len(frames), n_computed=0, n_resumed=len(done), out=out,
                         failed_path=out.with_name(out.stem + ".failed.json"))
    if progress is not None:
        progress(len(done), len(frames), {"failed": 0})
    if pending:
        with dask_client(scheduler, workers) as client:
            _run(client, frames, pending, factory, store, report, retries, progress)
    _assemble(store, report)
    report.wall_s = time.perf_counter() - start
    return report


@contextlib.contextmanager
def dask_client(scheduler: str | None, workers: int = 1, timeout: float = 20.0) -> Iterator:
    """A ``distributed.Client``: connected to *scheduler* (waiting at most *timeout* s), or to a light
    in-process local cluster with one worker of *workers* threads."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise UserInputError("labeling runs through Dask; install it with pip install 'nnsurrogate[distributed]'",
                             "dask") from None
    if scheduler:
        try:
            client = Client(scheduler, timeout=f"{timeout}s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise UserInputError(f"cannot connect to the Dask scheduler: {exc}", scheduler) from None
        with client:
            yield client
        return
    with LocalCluster(n_workers=1, threads_per_worker=workers, processes=False, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        yield client


class PartStore:
    """The sidecar folder ``OUT.parts/``: one extended-XYZ file per finished frame, plus ``meta.json``."""

    def __init__(self, out: Path, frames: Sequence[Atoms], labeler: str) -> None:
        self.folder = out.with_name(out.name + ".parts")
        meta = {"format": 1, "n_frames": len(frames), "input_sha256": fingerprint(frames), "labeler": labeler}
        meta_path = self.folder / "meta.json"
        if meta_path.exists():
            try:
                found = json.loads(meta_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                found = None
            if found != meta:
                raise UserInputError(f"{self.folder} holds a labeling run of other frames or another calculator; "
                                     "delete it or choose another output file", str(self.folder))
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_json(meta_path, meta)

    def path(self, index: int) -> Path:
        return self.folder / f"{index:07d}.xyz"

    def done(self) -> set[int]:
        """Indices of frames already labelled."""
        return {int(m.group(1)) for p in self.folder.iterdir() if (m := _PART.match(p.name))}

    def save(self, index: int, atoms: Atoms) -> None:
        from ase.io import write

        with atomic_path(self.path(index)) as tmp:
            write(tmp, atoms, format="extxyz")

    def load(self, index: int) -> Atoms:
        from ase.io import read

        return read(self.path(index), format="extxyz")

    def remove(self) -> None:
        for item in self.folder.iterdir():
            item.unlink()
        self.folder.rmdir()


def fingerprint(frames: Sequence[Atoms]) -> str:
    """SHA-256 of the frames' numbers, positions, cells and periodicity (identifies the input of a run)."""
    digest = hashlib.sha256()
    for atoms in frames:
        for array in (atoms.numbers.astype(np.int64), np.asarray(atoms.positions, dtype=np.float64),
                      np.asarray(atoms.cell[:], dtype=np.float64), np.asarray(atoms.pbc, dtype=np.int8)):
            digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _factory_id(factory: Callable[[], Calculator]) -> str:
    if hasattr(factory, "__dataclass_fields__"):
        return repr(factory)
    return f"{getattr(factory, '__module__', '?')}.{getattr(factory, '__qualname__', type(factory).__qualname__)}"


def _run(client, frames, pending: list[int], factory, store: PartStore, report: LabelReport, retries: int,
         progress: Progress | None) -> None:
    """Submit the pending frames (a bounded window at a time), save each result, retry failures."""
    from distributed import as_completed

    from nnsurrogate.atomistic._dask_worker import CalculatorPlugin, label_task

    name = f"nnsurrogate-labeler-{uuid.uuid4().hex[:12]}"
    client.register_plugin(CalculatorPlugin(factory, name), name=name)
    window = max(4, 4 * sum(client.nthreads().values()))
    queue = list(reversed(pending))
    attempts: dict[int, int] = {}

    def submit(index: int):
        attempts[index] = attempts.get(index, 0) + 1
        clean = frames[index].copy()
        clean.calc = None
        return client.submit(label_task, index, clean, name, pure=False,
                             key=f"label-{index}-{attempts[index]}-{uuid.uuid4().hex[:8]}")

    futures = as_completed([submit(queue.pop()) for _ in range(min(window, len(queue)))])
    try:
        for future in futures:
            index = int(future.key.split("-")[1])
            if future.status == "finished":
                store.save(index, future.result()[1])
                report.n_computed += 1
                if attempts[index] > 1:
                    report.retried.append(index)
            elif attempts[index] <= retries:
                futures.add(submit(index))
                continue
            else:
                report.failed.append({"index": index, "error": _error_text(future),
                                      "attempts": attempts[index]})
            if queue:
                futures.add(submit(queue.pop()))
            if progress is not None:
                progress(report.n_resumed + report.n_computed + len(report.failed), report.n_frames,
                         {"failed": len(report.failed)})
    finally:
        with contextlib.suppress(Exception):
            client.unregister_worker_plugin(name)


def _error_text(future) -> str:
    """``"Type: message"`` of a failed (or cancelled) future's exception, on one line."""
    try:
        exc = future.exception()
    except BaseException as cancelled:  # noqa: BLE001 - a cancelled future raises instead of returning
        exc = cancelled
    if exc is None:
        return f"task ended with status '{future.status}'"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _assemble(store: PartStore, report: LabelReport) -> None:
    """Write OUT from the sidecar in input order; write or clear OUT.failed.json; drop the sidecar if complete."""
    from ase.io import write

    report.failed.sort(key=lambda item: item["index"])
    report.retried.sort()
    done = sorted(store.done())
    if done:
        frames = [store.load(i) for i in done]
        with atomic_path(report.out) as tmp:
            write(tmp, frames, format="extxyz")
    if report.failed:
        write_json(report.failed_path, {"n_frames": report.n_frames, "n_failed": len(report.failed),
                                        "failed": report.failed})
        return
    if report.failed_path.exists():
        report.failed_path.unlink()
    store.remove()
