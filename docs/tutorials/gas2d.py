# %% [markdown]
# # The 2D gas: what a count image can tell, and a network that recovers the pair force
#
# Zharikov, Zavyalov & Sivashova (2022) ask whether a convolutional network can learn the force on
# a particle from an image of its neighbourhood: the window around the particle cut into 28 × 28
# cells, each pixel the number of neighbours in its cell. Identical Coulomb charges
# (U = k q²/r, reduced units) scattered at random with a 1 Å hard core; forces binned into K = 10
# classes per component as in the paper.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from nnsurrogate.gas2d.baselines import cell_centre_forces, centroid_forces
from nnsurrogate.gas2d.classes import force_classes
from nnsurrogate.gas2d.dataset import GasSpec, generate
from nnsurrogate.gas2d.evaluation import score
from nnsurrogate.gas2d.potentials import Coulomb
from nnsurrogate.gas2d.training import TrainSettings, fit

spec = GasSpec(Coulomb(1.0), density=0.01, window=28.0, min_distance=1.0)
data = generate(spec, 12_000, seed=0)
train, test = data.subset(np.arange(10_000)), data.subset(np.arange(10_000, 12_000))
f_max, k = 1.0, 10  # the paper's rule: the pair force between neighbouring cells


def accuracy(forces):
    return score(force_classes(forces, f_max, k), forces, test.forces, f_max, k)["accuracy_both"]


print(f"{np.diff(test.offsets).mean():.1f} neighbours per window on average")

# %% [markdown]
# ## The count image and its limit
#
# Placing every neighbour at its cell centre and summing the exact pair forces (physics, no
# learning) already classifies most samples; a LeNet trained on the images does not beat it,
# because the image does not say where in its cell a neighbour is — a nearby neighbour anywhere
# in a 1 Å cell moves the force across several classes.

# %%
lenet, _ = fit(train, TrainSettings(head="classify", epochs=2, threads=1))
pred = lenet.predict(test.images(28))
both = score(pred["classes"], pred["forces"], test.forces, f_max, k)["accuracy_both"]
print(f"cell-centre physics {accuracy(cell_centre_forces(test, 28)):.3f}, LeNet on counts {both:.3f}")

# %% [markdown]
# ## Keep the positions: the sub-cell descriptor
#
# Two more channels hold the sums of the neighbours' offsets from their cell centres, so a cell
# with one neighbour gives its position exactly. The pair-sum network reads it as a learned
# pair potential: one radial function φ(r) summed over the occupied cells — trained on forces
# alone, with no knowledge of the Coulomb law.

# %%
pair, _ = fit(train, TrainSettings(head="regress", descriptor="subcell", network="pairsum", epochs=15, threads=1))
pred = pair.predict(test.descriptor(28, "subcell"))
print(f"centroid physics {accuracy(centroid_forces(test, 28)):.3f}, pair-sum network {accuracy(pred['forces']):.3f}")

r = np.linspace(1.0, 12.0, 200)
with torch.no_grad():
    phi = pair.net.radial(torch.tensor(r, dtype=torch.float32)).numpy() * pair.config.force_scale
fig, ax = plt.subplots(figsize=(5.5, 3.8))
ax.plot(r, 1.0 / r**2, "k-", label="Coulomb: k q² / r²")
ax.plot(r, phi, "C1--", label="learned φ(r)")
ax.set(xscale="log", yscale="log", xlabel="r, Å", ylabel="pair force, eV/Å", title="the recovered pair force")
ax.legend()
plt.show()
