"""Active learning: frame selection on hand-made candidates, settings checks, and one short loop with
EMT as the reference, end to end (committee training, MD, selection, Dask labeling, resume)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.calculators.emt import EMT
from ase.io import read, write

from nnsurrogate.atomistic._al_explore import Candidate, select
from nnsurrogate.atomistic.active_learning import ALConfig, labels_to_reach, round_config, run_active_learning
from nnsurrogate.atomistic.training import PotentialTrainConfig
from nnsurrogate.core.errors import UserInputError


def _candidates(values):
    """(run, step, u) triples → candidates with a dummy configuration."""
    return [Candidate(run, 300.0 * (run + 1), step, u, Atoms("Cu")) for run, step, u in values]


def test_uncertainty_selection_takes_largest_above_threshold_spread_in_time():
    cands = _candidates([(0, 10, 0.30), (0, 20, 0.29), (0, 90, 0.20), (1, 10, 0.25), (1, 40, 0.04), (0, 60, 0.01)])
    picked = select(cands, "uncertainty", 10, threshold=0.05, min_separation=50, rng=np.random.default_rng(0))
    # (0, 20) is within 50 steps of the better (0, 10); (1, 40) and (0, 60) are below the threshold
    assert [(c.run, c.step) for c in picked] == [(0, 10), (1, 10), (0, 90)]
    assert [(c.run, c.step) for c in select(cands, "uncertainty", 2, 0.05, 50, np.random.default_rng(0))] == \
        [(0, 10), (1, 10)]
    assert select(cands, "uncertainty", 10, threshold=0.5, min_separation=0, rng=np.random.default_rng(0)) == []


def test_fill_takes_the_most_uncertain_frames_below_the_threshold_too():
    cands = _candidates([(0, 10, 0.04), (0, 60, 0.01), (1, 10, 0.03)])
    picked = select(cands, "uncertainty", 2, threshold=0.5, min_separation=0, rng=np.random.default_rng(0), fill=True)
    assert [c.uncertainty for c in picked] == [0.04, 0.03]


def test_trust_window_puts_the_wildest_frames_last():
    cands = _candidates([(0, 10, 3.0), (0, 60, 0.4), (1, 10, 0.2), (1, 70, 1.5), (2, 10, 0.01)])
    rng = np.random.default_rng(0)
    picked = select(cands, "uncertainty", 3, threshold=0.05, min_separation=0, rng=rng, max_uncertainty=0.5)
    assert [c.uncertainty for c in picked] == [0.4, 0.2, 1.5]  # inside the window, then the mildest outside
    assert len(select(cands, "uncertainty", 10, 0.05, 0, rng, max_uncertainty=0.5)) == 4


def test_random_selection_ignores_uncertainty():
    cands = _candidates([(0, 10 * k, 0.0) for k in range(1, 21)])
    picked = select(cands, "random", 5, threshold=1.0, min_separation=0, rng=np.random.default_rng(1))
    assert len(picked) == 5 and len({c.step for c in picked}) == 5
    assert len(select(cands[:3], "random", 5, 1.0, 0, np.random.default_rng(1))) == 3


def _dimer(distance: float) -> Atoms:
    return Atoms("Cu2", positions=[[0, 0, 0], [distance, 0, 0]], cell=[20, 20, 20], pbc=False)


def test_fingerprint_is_invariant_and_separates_structures():
    from nnsurrogate.atomistic._al_explore import FINGERPRINT_BINS, fingerprint

    water = Atoms("OH2", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    moved = water[[2, 0, 1]]  # permuted and shifted
    moved.positions += [3.0, -1.0, 2.0]
    a, b = fingerprint(water, ("H", "O"), 4.0), fingerprint(moved, ("H", "O"), 4.0)
    assert a.shape == (3 * FINGERPRINT_BINS,)  # H–H, H–O, O–O
    np.testing.assert_allclose(a, b, atol=1e-12)
    assert a[2 * FINGERPRINT_BINS:].sum() == 0.0  # one O: no O–O pair
    near, far = fingerprint(_dimer(2.5), ("Cu",), 5.0), fingerprint(_dimer(3.5), ("Cu",), 5.0)
    assert np.linalg.norm(near - far) > 10 * np.linalg.norm(near - fingerprint(_dimer(2.51), ("Cu",), 5.0))


def test_diverse_selection_spreads_the_batch_over_structures():
    """Four near-copies of a compressed dimer are the most uncertain; a stretched one a little less:
    uncertainty takes two copies, the diverse batch one copy and the stretched dimer."""
    cands = [Candidate(k, 300.0, 10, u, _dimer(d)) for k, (u, d) in
             enumerate([(0.50, 2.40), (0.49, 2.41), (0.48, 2.42), (0.47, 2.43), (0.30, 3.60), (0.01, 3.0)])]
    rng = np.random.default_rng(0)
    plain = select(cands, "uncertainty", 2, threshold=0.05, min_separation=0, rng=rng)
    diverse = select(cands, "diverse", 2, threshold=0.05, min_separation=0, rng=rng, cutoff=5.0)
    assert [c.run for c in plain] == [0, 1]
    assert [c.run for c in diverse] == [0, 4]  # the most uncertain first, then the farthest structure
    assert all(c.uncertainty > 0.05 for c in select(cands, "diverse", 10, 0.05, 0, rng, cutoff=5.0))


@pytest.mark.parametrize("change, where", [({"strategy": "greedy"}, "strategy"), ({"committee": 1}, "committee"),
                                           ({"temperatures": (300.0, -5.0)}, "temperatures"),
                                           ({"threshold": 0.0}, "threshold"), ({"model": "schnet"}, "model"),
                                           ({"sample_every": 0}, "sample_every"), ({"warm_steps": 0}, "warm_steps"),
                                           ({"max_uncertainty": 0.01}, "max_uncertainty"),
                                           ({"calibration_frames": -1}, "calibration_frames")])
def test_bad_settings_are_user_errors(change, where):
    with pytest.raises(UserInputError) as info:
        ALConfig(**change).validate()
    assert info.value.where.startswith(where)


def test_round_config_turns_a_step_budget_into_epochs():
    train = PotentialTrainConfig(epochs=50, batch_size=4, learning_rate=4e-3)
    config = ALConfig(train_steps=800, warm_steps=90, warm_learning_rate=1e-3)
    fresh = round_config(train, config, 10, warm=False)  # 10 frames → 3 batches per epoch
    assert fresh.epochs == 267 and fresh.learning_rate == 4e-3
    warm = round_config(train, config, 41, warm=True)  # 11 batches per epoch
    assert warm.epochs == 9 and warm.learning_rate == 1e-3
    assert round_config(train, ALConfig(), 41, warm=True).epochs == 50


def test_labels_to_reach():
    curve = [{"n_labels": 10, "force_mae_meV_A": 90.0}, {"n_labels": 20, "force_mae_meV_A": 40.0},
             {"n_labels": 30, "force_mae_meV_A": 35.0}]
    assert labels_to_reach(curve, 50.0) == 20 and labels_to_reach(curve, 10.0) is None


CELL = (2, 1, 1)  # 8-atom copper cells


@pytest.fixture(scope="module")
def al_run(tmp_path_factory, emt_copper):
    """One labeling round (then a final training) with a 2-member NEP committee and EMT labels."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("al") / "run"
    config = ALConfig(calculator="emt", model="nep", committee=2, temperatures=(300.0, 1500.0), iterations=1,
                      per_iteration=3, threshold=0.005, md_steps=40, sample_every=5, min_separation=10,
                      timestep=2.0, seed=1,
                      hyper={"cutoff": (4.0, 3.5), "n_max": (3, 3), "basis_size": (4, 4), "l_max": (2, 0, 0),
                             "neurons": 8})
    train = PotentialTrainConfig(epochs=8, batch_size=5, lambda_v=0.0, seed=0)
    initial, test = emt_copper(10, 0.05, 0, CELL), emt_copper(4, 0.1, 100, CELL)
    summary = run_active_learning(initial, config, train, out, test)
    return out, config, train, initial, test, summary


def test_one_round_end_to_end(al_run):
    out, config, _, initial, _, summary = al_run
    state = json.loads((out / "state.json").read_text())
    first, last = state["iterations"]
    assert summary["status"] == state["status"] == "budget spent" and summary["n_rounds"] == 1
    picks = first["exploration"]["selected"]
    assert 1 <= len(picks) <= config.per_iteration and not first["failed"]
    # every pick is labelled; those where EMT's force on an atom exceeds max_label_force are not learnt
    forces = [np.linalg.norm(f.get_forces(), axis=1).max() for f in read(out / "iter_000" / "labelled.xyz", ":")]
    assert len(forces) == len(picks) and first["n_added"] + first["n_rejected"] == len(picks)
    assert first["n_rejected"] == sum(f > config.max_label_force for f in forces)
    u = [p["max_force_std_eV_A"] for p in picks]
    assert u == sorted(u, reverse=True) and min(u) > config.threshold
    for a in picks:
        for b in picks:
            if a is not b and a["run"] == b["run"]:
                assert abs(a["step"] - b["step"]) >= config.min_separation
    data = read(out / "data.xyz", ":")
    assert len(data) == len(initial) + first["n_added"] and last["n_labels"] == summary["n_labels"] == \
        len(initial) + len(picks)
    for frame in read(out / "iter_000" / "labelled.xyz", ":"):  # labels are EMT's (positions stored to 1e-8 Å)
        fresh = Atoms(frame.numbers, frame.positions, cell=frame.cell, pbc=True)
        fresh.calc = EMT()
        assert frame.get_potential_energy() == pytest.approx(fresh.get_potential_energy(), abs=1e-6)
        np.testing.assert_allclose(frame.get_forces(), fresh.get_forces(), atol=1e-6)
    assert all(np.isfinite(r["test"]["force_mae_meV_A"]) for r in (first, last))
    assert "calibration_rms_error_over_rms_std" in last["test"]
    assert (out / "committee" / "committee.json").is_file() and (out / "plots" / "learning_curve.png").is_file()


def test_resume_reuses_finished_steps(al_run):
    out, config, train, initial, test, summary = al_run
    with pytest.raises(UserInputError, match="set resume"):
        run_active_learning(initial, config, train, out, test)
    state_path = out / "state.json"
    state = json.loads(state_path.read_text())
    state["iterations"].pop()  # as if killed while scoring the final committee
    state["status"] = "running"
    state_path.write_text(json.dumps(state))
    stamp = (out / "iter_001" / "committee" / "committee.json").stat().st_mtime_ns
    again = run_active_learning(initial, config, train, out, test, resume=True)
    assert (out / "iter_001" / "committee" / "committee.json").stat().st_mtime_ns == stamp  # not retrained
    assert again["learning_curve"] == summary["learning_curve"]
    finished = run_active_learning(initial, config, train, out, test, resume=True)  # a finished run is left alone
    assert finished["learning_curve"] == summary["learning_curve"] and not (out / "iter_002").exists()
    other = ALConfig(**{**config.__dict__, "strategy": "random"})
    with pytest.raises(UserInputError, match="other settings"):
        run_active_learning(initial, other, train, out, test, resume=True)


def test_calibrated_loop_stops_on_its_uncertainty_rule(tmp_path, emt_copper):
    """With calibration frames the spread is calibrated on fresh labelled MD frames each round; a
    threshold above every calibrated σ stops the loop on that rule (not the budget), says so, counts the
    calibration labels and leaves a calibrated committee."""
    from nnsurrogate.atomistic.committee import committee_calibration

    torch.set_num_threads(1)
    config = ALConfig(calculator="emt", model="nep", committee=2, temperatures=(300.0,), iterations=3,
                      per_iteration=2, threshold=5.0, calibration_frames=2, md_steps=20, sample_every=5,
                      min_separation=0, timestep=2.0, seed=2,
                      hyper={"cutoff": (4.0, 3.5), "n_max": (3, 3), "basis_size": (4, 4), "l_max": (2, 0, 0),
                             "neurons": 8})
    initial, test = emt_copper(6, 0.05, 0, CELL), emt_copper(2, 0.1, 100, CELL)
    summary = run_active_learning(initial, config, PotentialTrainConfig(epochs=5, batch_size=3, lambda_v=0.0), tmp_path,
                                  test)
    assert summary["status"] == "converged" and summary["n_rounds"] == 0
    assert summary["stop_reason"].startswith("converged: the largest calibrated force spread")
    record = json.loads((tmp_path / "state.json").read_text())["iterations"][0]
    assert record["n_calibration"] == 2 and record["n_labels"] == 6 + 2 == summary["n_labels"]
    calibration = record["exploration"]["calibration"]
    assert calibration["scale"] > 0 and record["exploration"]["n_candidates"] == 4 - 2  # the drawn two left out
    assert 0 <= record["test"]["coverage_1sigma"] <= record["test"]["coverage_2sigma"] <= 1
    assert committee_calibration(tmp_path / "committee").scale == pytest.approx(calibration["scale"])
    for frame in read(tmp_path / "iter_000" / "calibration" / "labelled.xyz", ":"):
        assert frame.info["config_type"].startswith("al_md_")


def test_run_to_budget_records_the_rule_continues_md_and_pools_calibrations(tmp_path, emt_copper, monkeypatch):
    """With stop_on_rule=False the rule that fires in round 0 is recorded and the loop labels on to its
    budget; with continue_md round 1's MD starts where round 0's ended; with calibration_history=2 round
    1's calibration is fitted on both rounds' fresh frames."""
    from nnsurrogate.atomistic import _al_explore as X

    torch.set_num_threads(1)
    starts_seen, guards = [], []
    explore = X.explore

    def spy(calculator, starts, *args, **kwargs):
        starts_seen.append([a.positions.copy() for a in starts])
        guards.append(kwargs["min_distance"])
        return explore(calculator, starts, *args, **kwargs)

    monkeypatch.setattr(X, "explore", spy)
    config = ALConfig(calculator="emt", model="nep", committee=2, temperatures=(300.0, 600.0), iterations=2,
                      per_iteration=2, threshold=5.0, calibration_frames=1, md_steps=20, sample_every=5,
                      min_separation=0, timestep=2.0, seed=4, stop_on_rule=False, continue_md=True,
                      calibration_history=2,
                      hyper={"cutoff": (4.0, 3.5), "n_max": (3, 3), "basis_size": (4, 4), "l_max": (2, 0, 0),
                             "neurons": 8})
    initial = emt_copper(4, 0.05, 0, CELL)
    summary = run_active_learning(initial, config, PotentialTrainConfig(epochs=3, batch_size=3, lambda_v=0.0),
                                  tmp_path, emt_copper(2, 0.1, 100, CELL))
    assert summary["status"] == "budget spent" and summary["n_rounds"] == 2
    assert summary["rule_fired_at"] == 4 + 1  # round 0: every calibrated σ under 5 eV/Å, after its calibration label
    assert summary["n_labels"] == 4 + 2 * (1 + 2) and [c["rule_fired"] for c in summary["learning_curve"]] == \
        [True, True, False]
    ends = read(tmp_path / "iter_000" / "last.xyz", ":")
    assert len(ends) == 2 and len(starts_seen) == 2
    np.testing.assert_allclose(starts_seen[0][1], initial[1].positions)  # round 0 from the initial frames
    from nnsurrogate.atomistic.workflow import shortest_training_distance

    assert guards[0] == pytest.approx(0.75 * shortest_training_distance(initial))  # the MD's distance guard
    for k in range(2):
        np.testing.assert_allclose(starts_seen[1][k], ends[k].positions, atol=1e-6)  # round 1 goes on from there
        assert np.abs(ends[k].positions - initial[k].positions).max() > 1e-3
    state = json.loads((tmp_path / "state.json").read_text())
    components = [r["exploration"]["calibration"]["n_components"] for r in state["iterations"][:2]]
    assert components == [8 * 3, 2 * 8 * 3]


def test_frames_with_unphysical_reference_forces_count_as_labels_but_are_not_learnt(tmp_path, emt_copper):
    """A labelled frame with a reference force above max_label_force (here every frame: 1e-6 eV/Å) is left
    out of the training and calibration frames, but counted among the labels spent."""
    torch.set_num_threads(1)
    config = ALConfig(calculator="emt", model="nep", committee=2, temperatures=(600.0,), iterations=1,
                      per_iteration=2, threshold=1e-4, calibration_frames=1, md_steps=20, sample_every=5,
                      min_separation=0, timestep=2.0, seed=5, max_label_force=1e-6,
                      hyper={"cutoff": (4.0, 3.5), "n_max": (3, 3), "basis_size": (4, 4), "l_max": (2, 0, 0),
                             "neurons": 8})
    initial = emt_copper(3, 0.05, 0, CELL)
    summary = run_active_learning(initial, config, PotentialTrainConfig(epochs=2, batch_size=3, lambda_v=0.0), tmp_path)
    first = json.loads((tmp_path / "state.json").read_text())["iterations"][0]
    assert first["n_selected"] == 2 and first["n_added"] == 0 and first["n_rejected"] == 2 + 1
    assert first["n_labels"] == 3 + 1 and "calibration" not in first["exploration"]  # nothing left to calibrate on
    assert len(read(tmp_path / "data.xyz", ":")) == 3 and summary["n_labels"] == 3 + 3
    assert len(read(tmp_path / "iter_000" / "labelled.xyz", ":")) == 2  # the reference calculations were made


def test_pool_based_selection_takes_the_most_uncertain_pool_frames_once(tmp_path, emt_copper):
    """With a pool the loop selects from it (no MD): each round the most uncertain frames not yet taken,
    by the committee of that round; labels come from the reference, not from the pool file."""
    from nnsurrogate.atomistic.committee import load_committee_calculator
    from nnsurrogate.atomistic._al_explore import frame_uncertainty

    torch.set_num_threads(1)
    config = ALConfig(calculator="emt", model="nep", committee=2, iterations=2, per_iteration=2, threshold=1e-4,
                      min_separation=0, seed=3,
                      hyper={"cutoff": (4.0, 3.5), "n_max": (3, 3), "basis_size": (4, 4), "l_max": (2, 0, 0),
                             "neurons": 8})
    pool = emt_copper(8, 0.2, 50, CELL)
    for frame in pool:
        frame.calc = None  # unlabelled
    summary = run_active_learning(emt_copper(4, 0.05, 0, CELL), config,
                                  PotentialTrainConfig(epochs=5, batch_size=2, lambda_v=0.0), tmp_path, pool=pool)
    state = json.loads((tmp_path / "state.json").read_text())
    first, second = (r["exploration"] for r in state["iterations"][:2])
    assert first["n_candidates"] == 8 and second["n_candidates"] == 6 and not first["md_runs"]
    assert not set(first["pool_taken"]) & set(second["pool_taken"]) and len(second["pool_taken"]) == 2
    committee = load_committee_calculator(tmp_path / "iter_000" / "committee")
    u = [frame_uncertainty(committee, f) for f in pool]
    assert sorted(first["pool_taken"]) == sorted(np.argsort(u)[-2:].tolist())  # the two most uncertain
    assert summary["n_labels"] == 4 + 2 + 2
    for frame in read(tmp_path / "iter_000" / "labelled.xyz", ":"):
        index = frame.info["al_pool_index"]
        np.testing.assert_allclose(frame.positions, pool[index].positions, atol=1e-6)
        assert frame.get_forces().shape == (8, 3)  # EMT's labels


def test_cli_bad_strategy_is_one_line_error(tmp_path, capsys, emt_copper):
    from nnsurrogate.cli.main import run

    write(tmp_path / "init.xyz", emt_copper(2, 0.05, 0, CELL))
    code = run(["potential", "active-learn", "--initial", str(tmp_path / "init.xyz"), "--out", str(tmp_path / "o"),
                "--strategy", "greedy", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "strategy" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()
