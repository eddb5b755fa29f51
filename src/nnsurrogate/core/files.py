"""Atomic writes: an output either appears complete or not at all.

Each writer creates a temporary sibling and renames it over the target (``os.replace`` is atomic on
POSIX within one file system), so an interrupted or failed run leaves nothing half-written. Files
and folders get the permissions of the user's umask (0644 / 0755 by default), as ``open`` would
give them, not the private 0600 of a temporary file. :func:`output_lock` keeps a second run out of a
folder that a run is writing.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: Sub-folder of an output folder where a training run keeps its resumable checkpoint.
CHECKPOINT_DIR = ".checkpoint"


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary file path next to *target*; rename it onto *target* on success.

    Parameters
    ----------
    target : path-like
        Final file path. Its parent folder is created if needed.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():
            os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder next to *target*; swap it in for *target* on success.

    An existing *target* is replaced only after the new content is complete.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _umask() -> int:
    """The process's file-creation mask (read by setting and restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def output_lock(folder: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive lock on the output *folder* for the duration of a run.

    A second run into the same folder (resolved path) fails at once with a
    :class:`~nnsurrogate.core.errors.UserInputError` naming the process that holds it. The lock is
    an ``flock`` on a file in a per-user folder of the system's temporary directory, so the output
    folder itself is not touched (it may not exist yet) and a killed run releases it. It guards runs
    of one user on one machine; ranks other than 0 of a ``torchrun`` job (``RANK`` > 0) do not lock.
    """
    from nnsurrogate.core.errors import UserInputError

    if int(os.environ.get("RANK", "0") or 0) > 0:
        yield
        return
    where = Path(folder).expanduser().resolve()
    locks = Path(tempfile.gettempdir()) / f"nnsurrogate-locks-{os.getuid()}"
    locks.mkdir(mode=0o700, exist_ok=True)
    path = locks / (hashlib.sha1(str(where).encode()).hexdigest() + ".lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise UserInputError(f"another run (process {holder}) is writing to this folder; wait for it to "
                                 "finish or choose another output folder", str(folder)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def removed_on_failure(folder: str | os.PathLike, keep: tuple[type[BaseException], ...] = ()) -> Iterator[None]:
    """Remove what a failing run created in the output *folder*.

    On an exception the folder is deleted if the run created it; if it existed before, its
    ``.checkpoint/`` sub-folder is deleted if the run created that. An interrupt (Ctrl-C) and the
    exception types in *keep* remove nothing: the checkpoint stays for ``--resume``.
    """
    folder = Path(folder)
    existed, checkpoint = folder.exists(), folder / CHECKPOINT_DIR
    had_checkpoint = checkpoint.exists()
    try:
        yield
    except (KeyboardInterrupt, *keep):
        raise
    except Exception:
        if not existed:
            shutil.rmtree(folder, ignore_errors=True)
        elif not had_checkpoint:
            shutil.rmtree(checkpoint, ignore_errors=True)
        raise


def checkpoint_dir(out: str | os.PathLike, resume: bool) -> Path:
    """``OUT/.checkpoint/``, created; emptied first unless *resume* (a new run starts from scratch)."""
    path = Path(out) / CHECKPOINT_DIR
    if not resume and path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def refuse_overwriting(out: str | os.PathLike, *inputs: str | os.PathLike) -> None:
    """Raise :class:`~nnsurrogate.core.errors.UserInputError` when the output *out* is one of *inputs*."""
    from nnsurrogate.core.errors import UserInputError

    target = Path(out).expanduser().resolve()
    for source in inputs:
        if Path(source).expanduser().resolve() == target:
            raise UserInputError("the output would overwrite an input file; choose another output", str(out))


def write_json(path: str | os.PathLike, data: Any) -> None:
    """Write *data* as indented JSON, atomically; NaN is written as ``null``."""
    text = json.dumps(_finite_or_none(data), indent=2, sort_keys=False)
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")


def _finite_or_none(obj: Any) -> Any:
    """Recursively replace non-finite floats by ``None`` (strict JSON has no NaN)."""
    if isinstance(obj, float):
        return obj if obj == obj and abs(obj) != float("inf") else None
    if isinstance(obj, dict):
        return {k: _finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite_or_none(v) for v in obj]
    return obj
