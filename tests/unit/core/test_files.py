"""Atomic writes keep the user's umask; the output lock keeps a second run out."""

from __future__ import annotations

import os
import stat

import pytest

from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.files import atomic_dir, atomic_path, output_lock, write_json


@pytest.fixture
def umask():
    def set_mask(mask: int) -> None:
        os.umask(mask)

    old = os.umask(0o022)
    yield set_mask
    os.umask(old)


@pytest.mark.parametrize(("mask", "file_mode", "dir_mode"), [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750),
                                                             (0o077, 0o600, 0o700)])
def test_outputs_get_the_permissions_of_the_umask(tmp_path, umask, mask, file_mode, dir_mode):
    umask(mask)
    write_json(tmp_path / "a.json", {"x": 1})
    with atomic_path(tmp_path / "b.txt") as tmp:
        tmp.write_text("b")
    with atomic_dir(tmp_path / "model") as tmp:
        (tmp / "c.txt").write_text("c")
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == file_mode
    assert stat.S_IMODE((tmp_path / "b.txt").stat().st_mode) == file_mode
    assert stat.S_IMODE((tmp_path / "model").stat().st_mode) == dir_mode


def test_a_second_run_into_a_locked_folder_fails_at_once(tmp_path):
    out = tmp_path / "run"
    with output_lock(out):
        with pytest.raises(UserInputError, match=f"process {os.getpid()}") as info:
            with output_lock(tmp_path / "x" / ".." / "run"):  # the same folder, spelled otherwise
                pass
        assert info.value.where.endswith("run")
        with output_lock(tmp_path / "other"):  # another folder is free
            pass
    with output_lock(out):  # released when the first run ends
        pass
    assert not out.exists()  # locking writes nothing into the output folder


def test_a_failed_run_removes_what_it_created_and_an_interrupt_keeps_the_checkpoint(tmp_path):
    from nnsurrogate.core.files import removed_on_failure

    fresh = tmp_path / "fresh"
    with pytest.raises(ValueError):
        with removed_on_failure(fresh):
            (fresh / ".checkpoint").mkdir(parents=True)
            raise ValueError("failed after starting")
    assert not fresh.exists()
    old = tmp_path / "old"
    old.mkdir()
    (old / "notes.txt").write_text("mine")
    with pytest.raises(ValueError):
        with removed_on_failure(old):
            (old / ".checkpoint").mkdir()
            raise ValueError("failed after starting")
    assert (old / "notes.txt").read_text() == "mine" and not (old / ".checkpoint").exists()
    with pytest.raises(KeyboardInterrupt):
        with removed_on_failure(fresh):
            (fresh / ".checkpoint").mkdir(parents=True)
            raise KeyboardInterrupt
    assert (fresh / ".checkpoint").is_dir()  # resumable with --resume
