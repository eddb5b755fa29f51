"""The training engine: checkpoint format, best tracking, budgets, the epoch loop and its resume."""

from __future__ import annotations

import time

import pytest
import torch

from nnsurrogate.core.engine import BestTracker, Budget, Checkpoint, EpochTask, run_epochs, signature_of
from nnsurrogate.core.engine.optimizers import check_optimizer, make_optimizer
from nnsurrogate.core.engine.progress import fan_out, format_metrics
from nnsurrogate.core.errors import UserInputError


class _LineTask(EpochTask):
    """Least squares y = 2x − 1 by mini-batch Adam: shuffles, dropout noise and a plateau schedule,
    so a resume is exact only if every random generator and every optimizer state comes back."""

    def __init__(self, seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.module = torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.Dropout(0.1), torch.nn.Linear(8, 1))
        self.generators = (torch.Generator().manual_seed(seed),)
        self.x = torch.linspace(-1, 1, 40)[:, None]
        self.y = 2 * self.x - 1
        self.optimizer = make_optimizer("adam", self.module.parameters(), lr=1e-2)
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(self.optimizer.optimizer, patience=2)

    def train_epoch(self, deadline):
        self.module.train()
        order = torch.randperm(40, generator=self.generators[0])
        total = 0.0
        for start in range(0, 40, 8):
            idx = order[start:start + 8]

            def closure():
                self.optimizer.zero_grad()
                loss = ((self.module(self.x[idx]) - self.y[idx]) ** 2).mean()
                loss.backward()
                return loss

            total += float(self.optimizer.step(closure).detach())
        return {"train_loss": total / 5}

    def validate(self, train_metrics):
        self.module.eval()
        with torch.no_grad():
            loss = float(((self.module(self.x) - self.y) ** 2).mean())
        return loss, dict(train_metrics, valid_loss=loss)

    def after_epoch(self, score, budget, tracker):
        self.scheduler.step(score)

    def state_dict(self):
        return {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state):
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])


def test_run_reduces_loss_and_keeps_the_best_weights():
    task = _LineTask()
    result = run_epochs(task, Budget(epochs=30))
    losses = [row["valid_loss"] for row in result.history]
    assert result.epochs_run == 30 and len(losses) == 30
    assert losses[-1] < 0.1 * losses[0]
    assert result.best_score == pytest.approx(min(losses))
    assert result.best_epoch == 1 + losses.index(min(losses))
    _, metrics = task.validate({"train_loss": 0.0})
    assert metrics["valid_loss"] == pytest.approx(min(losses), rel=1e-6)  # the module holds the best weights


def test_killed_run_resumes_to_the_same_result(tmp_path):
    path = tmp_path / "ckpt.pt"
    full = _LineTask()
    reference = run_epochs(full, Budget(epochs=12))

    first = _LineTask()
    run_epochs(first, Budget(epochs=5), checkpoint=Checkpoint(path, "line"), restore_best=False)
    torch.manual_seed(123)  # a new process starts with another global generator state
    resumed = _LineTask(seed=7)  # other initial weights: everything must come from the checkpoint
    result = run_epochs(resumed, Budget(epochs=12), checkpoint=Checkpoint(path, "line"))
    assert result.epochs_run == 12 and len(result.history) == 12
    assert [r["valid_loss"] for r in result.history] == [r["valid_loss"] for r in reference.history]
    for a, b in zip(full.module.parameters(), resumed.module.parameters()):
        assert torch.equal(a, b)


def test_checkpoint_refuses_other_signature_kind_and_garbage(tmp_path):
    path = tmp_path / "c.pt"
    Checkpoint(path, "line", signature_of({"lr": 1e-2}, torch.arange(3))).save({"x": torch.ones(2)})
    assert torch.equal(Checkpoint(path, "line", signature_of({"lr": 1e-2}, torch.arange(3))).load()["x"],
                       torch.ones(2))
    with pytest.raises(UserInputError, match="other data or settings"):
        Checkpoint(path, "line", signature_of({"lr": 2e-2}, torch.arange(3))).load()
    with pytest.raises(UserInputError, match="not a checkpoint of this kind"):
        Checkpoint(path, "graph", signature_of({"lr": 1e-2}, torch.arange(3))).load()
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(UserInputError, match="unreadable checkpoint"):
        Checkpoint(path, "line").load()
    assert Checkpoint(tmp_path / "absent.pt", "line").load() is None


def test_checkpoint_write_is_atomic(tmp_path):
    path = tmp_path / "c.pt"
    Checkpoint(path, "k").save({"a": torch.zeros(1)})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt"]  # no temporary sibling left


def test_per_member_tracker_keeps_each_members_best_slice():
    module = torch.nn.Linear(1, 1)
    with torch.no_grad():
        module.weight.zero_()
    stacked = torch.nn.Module()
    stacked.w = torch.nn.Parameter(torch.zeros(3, 2))
    tracker = BestTracker(stacked, n_members=3)
    for epoch, (value, scores) in enumerate([(1.0, [3.0, 1.0, 2.0]), (2.0, [1.0, 5.0, float("nan")])], start=1):
        with torch.no_grad():
            stacked.w.fill_(value)
        tracker.update(stacked, torch.tensor(scores), epoch)
    tracker.restore(stacked)
    assert stacked.w[:, 0].tolist() == [2.0, 1.0, 1.0]  # member 0 improved at epoch 2; NaN never counts
    assert tracker.best_epoch.tolist() == [2, 1, 1]
    assert tracker.since_best.tolist() == [0, 1, 1]
    assert not tracker.stalled(2) and BestTracker(module).stalled(0)


def test_budget_limits_and_deadline():
    budget = Budget(epochs=4, time_limit=10.0)
    budget.spend(4.0)
    budget.epoch = 1
    assert not budget.exhausted() and budget.fraction_used() == pytest.approx(0.4)
    now = time.perf_counter()
    assert budget.deadline(now) == pytest.approx(now + 6.0)
    budget.spend(6.0)
    assert budget.exhausted()
    assert Budget(epochs=3).deadline() is None
    for bad in ({"epochs": 0}, {"epochs": 2.5}, {"epochs": 1, "time_limit": 0.0}):
        with pytest.raises(UserInputError):
            Budget(**bad)


def test_time_limit_stops_the_loop():
    class Slow(_LineTask):
        def train_epoch(self, deadline):
            time.sleep(0.02)
            return super().train_epoch(deadline)

    result = run_epochs(Slow(), Budget(epochs=10**6, time_limit=0.2))
    assert 2 <= result.epochs_run < 50 and result.elapsed_s >= 0.2


def test_progress_protocol_and_registry():
    calls = []
    both = fan_out(None, lambda s, t, m: calls.append((s, t)), lambda s, t, m: calls.append(m["epoch"]))
    run_epochs(_LineTask(), Budget(epochs=2), progress=both)
    assert calls == [(1, 2), 1, (2, 2), 2]
    assert fan_out(None, None) is None
    assert format_metrics({"train_loss": 0.5, "note": "x", "bad": float("nan")}) == "train loss 0.5"
    with pytest.raises(UserInputError, match="unknown optimizer 'sgdx'"):
        check_optimizer("sgdx")
    assert check_optimizer("snes") == "snes"


def test_checkpoint_state_round_trips_without_pickle(tmp_path):
    import random

    import numpy as np

    from nnsurrogate.core.engine.checkpoint import Checkpoint, read_checkpoint

    net = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    net(torch.ones(4, 3)).sum().backward()
    opt.step()
    state = {"optimizer": opt.state_dict(), "numpy_rng": np.random.default_rng(5).bit_generator.state,
             "python_rng": random.Random(3).getstate(), "best": np.float64(0.25), "nan": float("nan"),
             "history": np.arange(6.0).reshape(2, 3), "pair": (1, "a"), "$odd": {2: [None, True]}}
    ckpt = Checkpoint(tmp_path / "run.ckpt", "test", "sig")
    ckpt.save(state)
    assert (tmp_path / "run.ckpt").read_bytes()[:2] != b"PK"  # not a torch.save zip of pickles
    back = ckpt.load()
    assert back["optimizer"]["state"].keys() == opt.state_dict()["state"].keys()  # int keys stay ints
    for k, v in opt.state_dict()["state"][0].items():
        assert torch.equal(back["optimizer"]["state"][0][k], v)
    assert back["optimizer"]["param_groups"] == opt.state_dict()["param_groups"]
    assert back["numpy_rng"] == state["numpy_rng"] and back["python_rng"] == state["python_rng"]
    assert isinstance(back["best"], np.float64) and back["best"] == 0.25 and np.isnan(back["nan"])
    np.testing.assert_array_equal(back["history"], state["history"])
    assert back["pair"] == (1, "a") and back["$odd"] == {2: [None, True]}
    assert read_checkpoint(tmp_path / "run.ckpt")["kind"] == "test"
