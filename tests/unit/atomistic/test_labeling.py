"""Distributed labeling through Dask: results equal direct labels, a crash resumes, failures retried then reported."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.calculator import all_changes
from ase.calculators.emt import EMT
from ase.io import read

from nnsurrogate.atomistic.labelers import labeler
from nnsurrogate.atomistic.labeling import dask_client, label_frames
from nnsurrogate.core.errors import UserInputError


class _LoggingEMT(EMT):
    """EMT that leaves one file per calculation in *log* (so tests can count them across threads) and
    fails on frames tagged ``poison``, or on the first try of frames tagged ``flaky``."""

    def __init__(self, log: Path) -> None:
        super().__init__()
        self.log = log

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        tag = atoms.info.get("tag")
        if atoms.info.get("poison"):
            raise RuntimeError(f"SCF exploded on frame {tag}")
        marker = self.log / f"flaky-{tag}"
        if atoms.info.get("flaky") and not marker.exists():
            marker.touch()
            raise RuntimeError("node went away")
        (self.log / f"calc-{tag}-{uuid.uuid4().hex}").touch()
        super().calculate(atoms, properties, system_changes)


@dataclass(frozen=True)
class LoggingFactory:
    """Picklable factory of :class:`_LoggingEMT`."""

    log: str

    def __call__(self):
        return _LoggingEMT(Path(self.log))


def _calculations(log: Path) -> list[int]:
    return sorted(int(p.name.split("-")[1]) for p in log.glob("calc-*"))


@pytest.fixture
def frames():
    out = []
    for tag in range(6):
        atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
        atoms.rattle(0.05, seed=tag)
        atoms.info.update({"tag": tag, "config_type": "rattle"})
        out.append(atoms)
    return out


def _direct(frames):
    energies, forces = [], []
    for atoms in frames:
        work = atoms.copy()
        work.calc = EMT()
        energies.append(work.get_potential_energy())
        forces.append(work.get_forces())
    return energies, forces


def _assert_matches(path, frames):
    labelled = read(path, ":")
    energies, forces = _direct(frames)
    assert [a.info["tag"] for a in labelled] == [a.info["tag"] for a in frames]
    np.testing.assert_allclose([a.get_potential_energy() for a in labelled], energies, atol=1e-9)
    for a, f in zip(labelled, forces):
        np.testing.assert_allclose(a.get_forces(), f, atol=1e-7)
        assert a.info["config_type"] == "rattle" and a.get_stress().shape == (6,)


def test_labels_through_a_local_cluster_equal_direct_labels(frames, tmp_path):
    out = tmp_path / "labelled.xyz"
    seen = []
    report = label_frames(frames, labeler("emt"), out, workers=2, progress=lambda d, t, metrics: seen.append((d, t, metrics['failed'])))
    _assert_matches(out, frames)
    assert report.n_computed == 6 and report.n_resumed == 0 and not report.failed and not report.retried
    assert seen[-1] == (6, 6, 0)
    assert not (tmp_path / "labelled.xyz.parts").exists() and not (tmp_path / "labelled.failed.json").exists()


def test_a_failed_frame_is_retried_once(frames, tmp_path):
    frames[3].info["flaky"] = True
    log = tmp_path / "log"
    log.mkdir()
    report = label_frames(frames, LoggingFactory(str(log)), tmp_path / "out.xyz")
    assert report.retried == [3] and not report.failed
    assert _calculations(log).count(3) >= 1 and (log / "flaky-3").exists()
    assert len(read(tmp_path / "out.xyz", ":")) == 6


def test_a_frame_failing_twice_is_reported_and_a_rerun_retries_only_it(frames, tmp_path):
    log = tmp_path / "log"
    log.mkdir()
    out = tmp_path / "out.xyz"
    frames[2].info["poison"] = True
    report = label_frames(frames, LoggingFactory(str(log)), out, retries=1)
    assert [f["index"] for f in report.failed] == [2] and report.failed[0]["attempts"] == 2
    assert "RuntimeError: SCF exploded on frame 2" in report.failed[0]["error"]
    saved = json.loads((tmp_path / "out.failed.json").read_text())
    assert saved["failed"][0]["index"] == 2 and saved["n_frames"] == 6
    assert [a.info["tag"] for a in read(out, ":")] == [0, 1, 3, 4, 5]
    assert (tmp_path / "out.xyz.parts").is_dir()
    before = Counter(_calculations(log))
    del frames[2].info["poison"]  # the "node" is fixed; same positions, same run
    rerun = label_frames(frames, LoggingFactory(str(log)), out)
    assert Counter(_calculations(log)) - before == Counter({2: 1})
    assert rerun.n_resumed == 5 and rerun.n_computed == 1
    assert not rerun.failed and not (tmp_path / "out.failed.json").exists()
    _assert_matches(out, frames)


def test_an_interrupted_run_resumes_without_recomputing(frames, tmp_path):
    log = tmp_path / "log"
    log.mkdir()
    out = tmp_path / "out.xyz"

    def crash(done, total, metrics):
        if done >= 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        label_frames(frames, LoggingFactory(str(log)), out, progress=crash)
    assert not out.exists()
    kept = sorted(int(p.stem) for p in (tmp_path / "out.xyz.parts").glob("*.xyz"))
    assert len(kept) >= 3
    first = _calculations(log)
    report = label_frames(frames, LoggingFactory(str(log)), out)
    recomputed = _calculations(log)
    for tag in kept:  # nothing finished before the crash is computed again
        assert recomputed.count(tag) == first.count(tag)
    assert report.n_resumed == len(kept) and report.n_computed == 6 - len(kept)
    _assert_matches(out, frames)


def test_a_sidecar_of_another_run_is_not_mixed_in(frames, tmp_path):
    out = tmp_path / "out.xyz"
    (tmp_path / "out.xyz.parts").mkdir()
    (tmp_path / "out.xyz.parts" / "meta.json").write_text(json.dumps({"format": 1, "n_frames": 2}))
    with pytest.raises(UserInputError, match="other frames or another calculator"):
        label_frames(frames, labeler("emt"), out)


def test_structures_the_labeler_cannot_treat_fail_before_any_work(tmp_path):
    with pytest.raises(UserInputError, match="EMT has no parameters for Si.*frame 1"):
        label_frames([bulk("Cu"), bulk("Si")], labeler("emt"), tmp_path / "out.xyz")
    assert not (tmp_path / "out.xyz.parts").exists()


def test_an_unreachable_scheduler_is_a_user_error():
    with pytest.raises(UserInputError, match="cannot connect to the Dask scheduler"):
        with dask_client("tcp://127.0.0.1:9", timeout=1.0):
            pass
