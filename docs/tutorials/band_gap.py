# %% [markdown]
# # Formulas → band gap: composition features, leak-aware cross-validation, new compounds
#
# 400 experimental band gaps from Matbench's `matbench_expt_gap` (a random sample shipped in the
# repository, `examples/expt_gap_400.csv`; about half are metals with a gap of 0). A formula column turns
# on the composition features (Magpie-style element statistics, element fractions, valence-orbital
# and ionic-character features) and the default blend of a network ensemble with tree ensembles.
# Settings are cut down (2 members, 60 epochs, 3 folds) so the page builds in a minute.

# %%
import pandas as pd
from IPython.display import Image, display

from _shell import sh, workdir

work = workdir("gap_tutorial_", "expt_gap_400.csv")
pd.read_csv(work / "expt_gap_400.csv").head()

# %% [markdown]
# ## Cross-validation that does not leak
#
# `--groups formula` keeps every compound's rows in one fold; the leak report says how many test
# rows have their compound (or their inputs) on the training side — with repeated compounds, random
# folds would score memory, not prediction.

# %%
sh(work, "table", "cv", "expt_gap_400.csv", "--target", "target", "--formula-column", "formula", "--groups", "formula",
   "--folds", "3", "--members", "2", "--epochs", "60", "--out", "cv/", tail=20)
display(Image(filename=str(work / "cv" / "plots" / "parity.png"), width=420))

# %% [markdown]
# ## Train once, predict new compounds with their uncertainty and domain flag

# %%
sh(work, "table", "train", "expt_gap_400.csv", "--target", "target", "--formula-column", "formula", "--members", "2",
   "--epochs", "60", "--out", "run/", "--quiet", tail=2)
pd.DataFrame({"formula": ["GaN", "ZnO", "NaCl", "Cu", "PuO2"]}).to_csv(work / "new.csv", index=False)
sh(work, "table", "predict", "run/", "new.csv", "--out", "pred.csv", tail=2)
pd.read_csv(work / "pred.csv")
