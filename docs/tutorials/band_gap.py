# %% [markdown]
# # Formulas → band gap: composition features, leak-aware cross-validation, new compounds
#
# 400 experimental band gaps from Matbench's `matbench_expt_gap` (a random sample shipped with these
# docs, `docs/data/expt_gap_400.csv`; about half are metals with a gap of 0). A formula column turns
# on the composition features (Magpie-style element statistics, element fractions, valence-orbital
# and ionic-character features) and the default blend of a network ensemble with tree ensembles.
# Settings are cut down (2 members, 60 epochs, 3 folds) so the page builds in a minute.

# %%
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
from IPython.display import Image, display

CLI = str(Path(sys.executable).with_name("nnsurrogate"))
work = Path(tempfile.mkdtemp(prefix="gap_tutorial_"))
# the table lies in docs/data/ of the repository, wherever the notebook is run from
here = Path.cwd().resolve()
source = next(p / "data" / "expt_gap_400.csv" for p in (here, *here.parents, here / "docs", *(q / "docs" for q in here.parents))
              if (p / "data" / "expt_gap_400.csv").is_file())
shutil.copy(source, work / "gaps.csv")
ENV = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "CLICOLOR_FORCE")} | {"NO_COLOR": "1"}


def sh(*args, tail=8):
    """Run one nnsurrogate command in the work folder; print its last lines (progress bars left out)."""
    done = subprocess.run([CLI, *args], cwd=work, capture_output=True, text=True, env=ENV)
    assert done.returncode == 0, done.stderr
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", done.stdout + "\n" + done.stderr)
    print("\n".join([line for line in text.splitlines() if line.strip() and "━" not in line][-tail:]))


pd.read_csv(work / "gaps.csv").head()

# %% [markdown]
# ## Cross-validation that does not leak
#
# `--groups formula` keeps every compound's rows in one fold; the leak report says how many test
# rows have their compound (or their inputs) on the training side — with repeated compounds, random
# folds would score memory, not prediction.

# %%
sh("table", "cv", "gaps.csv", "--target", "target", "--formula-column", "formula", "--groups", "formula",
   "--folds", "3", "--members", "2", "--epochs", "60", "--out", "cv/", tail=20)
display(Image(filename=str(work / "cv" / "plots" / "parity.png"), width=420))

# %% [markdown]
# ## Train once, predict new compounds with their uncertainty and domain flag

# %%
sh("table", "train", "gaps.csv", "--target", "target", "--formula-column", "formula", "--members", "2",
   "--epochs", "60", "--out", "run/", "--quiet", tail=2)
pd.DataFrame({"formula": ["GaN", "ZnO", "NaCl", "Cu", "PuO2"]}).to_csv(work / "new.csv", index=False)
sh("table", "predict", "run/", "new.csv", "--out", "pred.csv", tail=2)
pd.read_csv(work / "pred.csv")
