"""What ended a run: the engine's ``stopped_by`` in each of its four cases, and the command-wide clock."""

from __future__ import annotations

import time

import pytest
import torch

from nnsurrogate.core.engine import Budget, EpochTask, run_epochs
from nnsurrogate.core.engine.budget import (STOP_REASONS, budget_for, current_deadline, overall_stop,
                                            time_limit_scope, time_share)
from nnsurrogate.core.errors import UserInputError


class _Fit(EpochTask):
    """A line fit by full-batch gradient descent; *patience* epochs without a better loss stop it,
    *poison* makes the score NaN from that epoch on, *sleep* slows every epoch down (s)."""

    def __init__(self, patience: int | None = None, poison: int | None = None, sleep: float = 0.0) -> None:
        torch.manual_seed(0)
        self.module = torch.nn.Linear(1, 1)
        self.x = torch.linspace(-1, 1, 16)[:, None]
        self.y = 3 * self.x + 0.5
        self.opt = torch.optim.SGD(self.module.parameters(), lr=0.1)
        self.patience, self.poison, self.sleep, self.epoch = patience, poison, sleep, 0

    def train_epoch(self, deadline):
        time.sleep(self.sleep)
        self.epoch += 1
        self.opt.zero_grad()
        loss = ((self.module(self.x) - self.y) ** 2).mean()
        loss.backward()
        self.opt.step()
        return {"train_loss": float("nan") if self.poison and self.epoch >= self.poison else float(loss.detach())}

    def should_stop(self, tracker):
        return self.patience is not None and tracker.stalled(self.patience)


def test_the_epoch_budget_is_the_default_reason():
    result = run_epochs(_Fit(), Budget(epochs=5))
    assert (result.epochs_run, result.stopped_by) == (5, "epochs")


def test_a_time_limit_that_runs_out_says_so():
    result = run_epochs(_Fit(sleep=0.01), Budget(epochs=10**6, time_limit=0.05))
    assert result.stopped_by == "time limit" and 1 <= result.epochs_run < 10**6


def test_early_stopping_says_so():
    result = run_epochs(_Fit(patience=2, poison=4), Budget(epochs=100))  # NaN never improves: stalls after 2 more
    assert (result.epochs_run, result.stopped_by) == (5, "early stopping")


def test_a_non_finite_score_says_so():
    result = run_epochs(_Fit(poison=3), Budget(epochs=100), stop_on_nonfinite=True)
    assert (result.epochs_run, result.stopped_by, result.stopped_nonfinite) == (3, "non-finite loss", True)
    assert {"epochs", "time limit", "early stopping", "non-finite loss"} == set(STOP_REASONS)


def test_set_up_counts_and_a_fresh_run_still_trains_one_epoch():
    budget = Budget(epochs=50, time_limit=1.0)
    budget.spend(2.0)  # the set-up alone spent the limit
    result = run_epochs(_Fit(), budget)
    assert (result.epochs_run, result.stopped_by) == (1, "time limit") and result.elapsed_s >= 2.0


def test_a_scope_charges_what_happened_before_the_run_and_shares_the_rest():
    assert current_deadline() is None and budget_for(7).time_limit is None
    with time_limit_scope(10.0) as deadline:
        time.sleep(0.02)  # "reading the data"
        budget = budget_for(3)
        assert budget.time_limit == 10.0 and budget.elapsed >= 0.02
        with time_share(4) as part:
            assert part.time_limit == pytest.approx(deadline.remaining() / 4, rel=0.05)
            assert current_deadline() is part
        assert current_deadline() is deadline
    assert current_deadline() is None
    with time_limit_scope(None) as none:
        assert none is None and budget_for(3, 5.0, time.perf_counter() - 1.0).elapsed >= 1.0
    for bad in (0, -1, float("nan"), "3"):
        with pytest.raises(UserInputError, match="time limit must be positive") as err:
            with time_limit_scope(bad):
                pass
        assert err.value.where == "time_limit"


def test_the_overall_reason_of_several_runs():
    assert overall_stop(["epochs", "epochs"]) == "epochs"
    assert overall_stop(["early stopping", "time limit", None]) == "time limit"
    assert overall_stop(["early stopping", "epochs"]) == "early stopping"
    assert overall_stop([None]) is None
