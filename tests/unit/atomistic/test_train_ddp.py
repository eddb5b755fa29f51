"""Data-parallel training: ``torchrun --nproc_per_node 2`` (gloo, CPU) ends with the same model as one process."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
import textwrap

import pytest
import torch

SCRIPT = textwrap.dedent('''
    import sys
    import numpy as np, torch
    from ase.build import bulk
    from ase.calculators.emt import EMT
    from ase.calculators.singlepoint import SinglePointCalculator
    from nnsurrogate.atomistic import distributed
    from nnsurrogate.atomistic.nep import NEPModel, NEPSpec
    from nnsurrogate.atomistic.training import PotentialTrainConfig, make_batch, prepare_frames, train_potential

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    frames = []
    for _ in range(8):
        atoms = bulk("Cu", "fcc", a=3.61, cubic=True)
        atoms.positions += rng.normal(0, 0.1, atoms.positions.shape)
        atoms.calc = EMT()
        labels = dict(energy=atoms.get_potential_energy(), forces=atoms.get_forces(), stress=atoms.get_stress())
        atoms.calc = SinglePointCalculator(atoms, **labels)
        frames.append(atoms)
    model = NEPModel(NEPSpec(species=("Cu",), neurons=6, n_max=(3, 3), basis_size=(4, 4), l_max=(2, 2, 0),
                             cutoff=(4.5, 3.6)), [-3.0])
    model.reset_parameters(torch.Generator().manual_seed(0))
    data = prepare_frames(model, frames, dtype=torch.float64)
    batch, _ = make_batch(model, data, range(8), torch.device("cpu"), torch.float64)
    model.initialize(batch, float((data.energy / data.n_atoms).mean()))
    config = PotentialTrainConfig(epochs=2, batch_size=4, dtype="float64", learning_rate=5e-3)
    train_potential(model, data, None, config)
    ctx = distributed.context(torch.device("cpu"))
    if ctx.is_main:
        torch.save(model.state_dict(), sys.argv[1])
    distributed.shutdown(ctx)
''')


def _run(args, env):
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.timeout(300)
def test_two_gloo_processes_match_one(tmp_path, monkeypatch):
    script = tmp_path / "ddp_train.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
          str(script), str(tmp_path / "ddp.pt")], env)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.setattr(sys, "argv", [str(script), str(tmp_path / "single.pt")])
    before = torch.get_num_threads()
    try:
        runpy.run_path(str(script), run_name="__main__")  # the same script in this process
    finally:
        torch.set_num_threads(before)
    single = torch.load(tmp_path / "single.pt", weights_only=True)
    ddp = torch.load(tmp_path / "ddp.pt", weights_only=True)
    moved = 0.0
    for name, value in single.items():
        torch.testing.assert_close(ddp[name], value, rtol=1e-7, atol=1e-9)
        moved = max(moved, float((value - ddp[name]).abs().max()))
    assert moved < 1e-8
