# %% [markdown]
# # A NEP potential: labelled frames → test → MD → audit → `nep.txt` for GPUMD, then active learning
#
# The whole interatomic-potential workflow on copper, with ASE's EMT as the reference calculator
# (it stands in for DFT: cheap, and real enough to have forces, stresses and a melting point). Every
# step is one command line, run here from Python; the same lines work in a terminal.

# %%
import json

from IPython.display import Image, display

from _shell import sh, workdir

work = workdir("nep_tutorial_")


# %% [markdown]
# ## 1. Frames and labels
#
# Rattled and strained copies of a 32-atom cell plus snapshots of short MD at 300 and 900 K, labelled
# with EMT (energies, forces, virials in extended XYZ); a second, independent set for testing.

# %%
sh(work, "potential", "sample", "Cu", "--cubic", "--supercell", "2,2,2", "--n-rattle", "8", "--calculator", "emt",
   "--temperatures", "300,900", "--md-steps", "100", "--md-every", "10", "--out", "configs.xyz")
sh(work, "potential", "label", "configs.xyz", "--calculator", "emt", "--out", "train.xyz")
sh(work, "potential", "sample", "Cu", "--cubic", "--supercell", "2,2,2", "--n-rattle", "6", "--calculator", "emt",
   "--temperatures", "600", "--md-steps", "60", "--md-every", "20", "--seed", "1", "--out", "test_configs.xyz")
sh(work, "potential", "label", "test_configs.xyz", "--calculator", "emt", "--out", "test.xyz")

# %% [markdown]
# ## 2. Train a NEP and test it on frames it never saw
#
# The neuroevolution potential as GPUMD defines it (Chebyshev radial basis, angular terms up to
# l = 4, one small network per element), trained with gradients in PyTorch; 40 epochs here.

# %%
sh(work, "potential", "train", "train.xyz", "--valid-fraction", "0.1", "--model", "nep", "--cutoff", "5,4", "--n-max", "4,4",
   "--basis-size", "8,8", "--l-max", "4,2,0", "--neurons", "20", "--epochs", "40", "--out", "run/", "--quiet")
sh(work, "potential", "test", "run/", "test.xyz", "--out", "eval/")
display(Image(filename=str(work / "eval" / "plots" / "parity_force.png"), width=420))

# %% [markdown]
# ## 3. Molecular dynamics through ASE
#
# The trained model is an ASE calculator; `potential md` runs NVT at 600 K on a 256-atom supercell.

# %%
sh(work, "potential", "md", "run/", "test.xyz", "--ensemble", "nvt", "--temperature", "600", "--steps", "300",
   "--supercell", "2,2,2", "--out", "md/", "--quiet")
display(Image(filename=str(work / "md" / "plots" / "thermo.png"), width=520))

# %% [markdown]
# ## 4. The audit: checks a potential must pass before anyone trusts it
#
# Accuracy on the test frames, symmetry (translation, rotation, permutation), forces as the exact
# negative gradient and stresses as the strain derivative (finite differences), energy drift in
# NVE, stability in heated MD — and over-fitting (test error over training error). With only 28
# training frames that last check is the one that can fail even when every error is well under
# 1 meV/atom; the output below says what this run gives. More frames, or active learning, is the cure.

# %%
code = sh(work, "potential", "audit", "run/", "test.xyz", "--out", "audit/", ok=(0, 1))
audit = json.loads((work / "audit" / "audit.json").read_text())
print(f"exit code {code}: {audit['n_failed']} of {audit['n_checks']} checks failed —",
      [f"{c['title']}: {c['value']:.3g} {c['unit']} (limit {c['limit']:g})" for c in audit["checks"]
       if c.get("passed") is False])

# %% [markdown]
# ## 5. `nep.txt` for GPUMD and LAMMPS
#
# The run folder already holds the potential in GPUMD's own text format, readable by GPUMD and by
# LAMMPS through its NEP pair style (and back: `potential test` and `md` read any published
# `nep.txt`).

# %%
print("\n".join((work / "run" / "nep.txt").read_text().splitlines()[:6]))

# %% [markdown]
# ## 6. A committee and active learning: let the models choose what to label
#
# Start from 6 labelled frames instead of 28. A committee of three NEPs runs MD at 300 and 900 K;
# where its members disagree most (the spread σ_F of their forces), frames are labelled with EMT and
# the committee is retrained — three rounds of five labels here. The test error falls as the
# spread does.

# %%
from ase.io import read, write  # noqa: E402

write(work / "init.xyz", read(work / "train.xyz", ":6"), format="extxyz")
sh(work, "potential", "active-learn", "--initial", "init.xyz", "--calculator", "emt", "--model", "nep", "--members", "3",
   "--temperatures", "300,900", "--iterations", "3", "--per-iteration", "5", "--md-steps", "100", "--epochs", "30",
   "--test", "test.xyz", "--out", "al/", "--quiet")
display(Image(filename=str(work / "al" / "plots" / "learning_curve.png"), width=520))
