# %% [markdown]
# # Crystal graphs: a property from structures, the features that matter, and a formula
#
# Binary fcc alloys of Cu, Ag, Au, Ni, Pd and Pt in 8-atom cells with random occupancy; their mixing
# energy per atom (energy minus the composition-weighted pure metals) from ASE's EMT stands in for
# DFT. A SA-GAT crystal graph network learns it from the structures; its attention over the 178
# per-atom features ranks them; symbolic regression on the top 8 distils a short formula.

# %%
import json

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Image, display

from _shell import sh, workdir

# examples/alloys.csv: 300 such cells (CIF text and the EMT mixing energy), made by examples/make_examples.py
work = workdir("crystal_tutorial_", "alloys.csv")
pd.read_csv(work / "alloys.csv")[["id", "formula", "e_mix_eV_atom"]].head()

# %% [markdown]
# ## Train SA-GAT on the structures

# %%
sh(work, "crystal", "train", "alloys.csv", "--target", "e_mix_eV_atom", "--model", "sagat", "--epochs", "40", "--out", "run/",
   "--quiet", tail=6)
display(Image(filename=str(work / "run" / "plots" / "parity.png"), width=420))

# %% [markdown]
# ## The features the attention picks
#
# The feature attention weighs each of the 178 per-atom inputs (element properties, neighbour
# statistics, bond strain, cell descriptors); averaged over the training atoms it ranks them.

# %%
importance = pd.read_csv(work / "run" / "feature_importance.csv")
top = importance.head(12)
fig, ax = plt.subplots(figsize=(6, 3.8), constrained_layout=True)
ax.barh(top["feature"][::-1], top["importance"][::-1])
ax.set(xlabel="attention weight (share of 1)", title="top 12 of 178 atom features")
plt.show()

# %% [markdown]
# ## Distil a formula from the top 8
#
# Operon symbolic regression fits the network's predictions on the 8 highest-attention features
# (and, for comparison, on all features), scores every formula of the accuracy–complexity front on
# held-out structures, and picks the simplest within noise of the best. The formula comes as sympy,
# LaTeX (`run/distill/formula_top_k.tex`) and a NumPy function (`run/distill/formula_top_k.py`).

# %%
sh(work, "crystal", "distill", "run/", "--top-k", "8", "--generations", "60", "--quiet", tail=2)
report = json.loads((work / "run" / "distill" / "metrics.json").read_text())
pick = report["top_k"]
print(f"complexity {pick['complexity']}, test R² {pick['r2_test']:.3f} (network {report['network']['r2_test']:.3f})")
print(f"{report['target']} ≈ {pick['formula']}")
print("LaTeX:", pick["latex"])
front = pd.read_csv(work / "run" / "distill" / "pareto_top_k.csv")
fig, ax = plt.subplots(figsize=(5.5, 3.6), constrained_layout=True)
ax.plot(front["complexity"], front["r2_test"], "o-", label="top 8 features")
ax.axhline(report["network"]["r2_test"], color="k", ls=":", label="the network")
ax.set(xlabel="complexity (nodes)", ylabel="test R²", title="accuracy–complexity front", ylim=(0, 1))
ax.legend()
plt.show()
