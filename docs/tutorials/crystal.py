# %% [markdown]
# # Crystal graphs: a property from structures, the features that matter, and a formula
#
# Binary fcc alloys of Cu, Ag, Au, Ni, Pd and Pt in 8-atom cells with random occupancy; their mixing
# energy per atom (energy minus the composition-weighted pure metals) from ASE's EMT stands in for
# DFT. A SA-GAT crystal graph network learns it from the structures; its attention over the 178
# per-atom features ranks them; symbolic regression on the top 8 distils a short formula.

# %%
import io
import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.io import write
from IPython.display import Image, display

from _shell import sh, workdir

work = workdir("crystal_tutorial_")


LATTICE = {"Cu": 3.61, "Ag": 4.09, "Au": 4.08, "Ni": 3.52, "Pd": 3.89, "Pt": 3.92}  # Å, fcc
pure = {}
for metal, a in LATTICE.items():
    cell = bulk(metal, "fcc", a=a, cubic=True)
    cell.calc = EMT()
    pure[metal] = cell.get_potential_energy() / len(cell)
rng = np.random.default_rng(0)
rows = []
for i in range(300):
    pair = rng.choice(list(LATTICE), 2, replace=False)
    atoms = bulk("Cu", "fcc", a=1.0, cubic=True).repeat((1, 1, 2))
    atoms.set_chemical_symbols([pair[0] if rng.random() < rng.uniform(0.1, 0.9) else pair[1] for _ in atoms])
    a = np.mean([LATTICE[s] for s in atoms.get_chemical_symbols()])  # Vegard's law
    atoms.set_cell(atoms.cell * a, scale_atoms=True)
    atoms.calc = EMT()
    e_mix = atoms.get_potential_energy() / len(atoms) - np.mean([pure[s] for s in atoms.get_chemical_symbols()])
    text = io.BytesIO()
    write(text, atoms, format="cif")
    rows.append({"id": f"alloy{i:03d}", "formula": atoms.get_chemical_formula(), "e_mix_eV_atom": e_mix,
                 "cif": text.getvalue().decode()})
pd.DataFrame(rows).to_csv(work / "alloys.csv", index=False)
pd.DataFrame(rows)[["id", "formula", "e_mix_eV_atom"]].head()

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
