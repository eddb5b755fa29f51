# %% [markdown]
# # Thin films: a surrogate that knows how far to trust itself
#
# The in-plane thermal conductivity κ of a silicon film depends on its thickness *d*, its surface
# roughness η and the temperature *T*. The package's physics model (a Callaway-type phonon model
# with Fuchs–Sondheimer boundary scattering and a Ziman specularity) costs milliseconds per film;
# here it plays the expensive calculation. We sample films, train the default ensemble, and look
# at three things a user needs: the accuracy, whether the error bars mean what they say, and what
# happens outside the training range.

# %%
import matplotlib.pyplot as plt
import numpy as np

from nnsurrogate.tabular import SurrogateRegressor
from nnsurrogate.tabular.thin_film import kappa_film, sample_thin_film

films = sample_thin_film(800, seed=0, thickness_range_nm=(10.0, 1.0e4))
X, y = films[["thickness_nm", "roughness_nm", "temperature_K"]].to_numpy(), films["kappa_W_mK"].to_numpy()
train, test = np.arange(600), np.arange(600, 800)
films.head()

# %% [markdown]
# ## Train
#
# `log_target=True` fits log κ (κ spans two decades); inputs spanning more than two decades
# (the thickness) are log-transformed automatically. An ensemble of five MLPs trains as one
# batched network; σ is the ensemble spread rescaled on validation rows.

# %%
model = SurrogateRegressor(log_target=True, max_epochs=300, random_state=0).fit(X[train], y[train])
pred = model.predict_full(X[test])
err = pred.mean - y[test]
print(f"test MAE {np.mean(np.abs(err)):.2f} W/(m·K), median relative error {np.median(np.abs(err) / y[test]):.1%}")
z = np.abs(err) / pred.std
print(f"share of test films within 1σ: {np.mean(z <= 1):.2f} (0.68 expected), within 2σ: {np.mean(z <= 2):.2f} (0.95)")

# %%
fig, ax = plt.subplots(figsize=(4.5, 4.5))
ax.errorbar(y[test], pred.mean, yerr=2 * pred.std, fmt="o", ms=3, alpha=0.6, elinewidth=0.8)
lims = [y.min() * 0.9, y.max() * 1.1]
ax.plot(lims, lims, "k--", lw=1)
ax.set(xscale="log", yscale="log", xlim=lims, ylim=lims, xlabel="κ physics model, W/(m·K)",
       ylabel="κ surrogate ± 2σ, W/(m·K)", title="held-out films")
plt.show()

# %% [markdown]
# ## Outside the training range
#
# The films were at least 10 nm thick. Below that the surrogate extrapolates: σ grows and the
# domain check flags the query — the physics model shows how far off the mean drifts.

# %%
d = np.geomspace(2.0, 1.0e4, 60)
query = np.column_stack([d, np.full_like(d, 0.5), np.full_like(d, 300.0)])
p = model.predict_full(query)
truth = kappa_film(d, 0.5, 300.0)
fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(d, truth, "k-", label="physics model")
ax.plot(d, p.mean, "C0-", label="surrogate")
ax.fill_between(d, p.mean - 2 * p.std, p.mean + 2 * p.std, color="C0", alpha=0.25, label="± 2σ")
ax.axvspan(d.min(), 10.0, color="0.85", label="outside the training range")
ax.set(xscale="log", xlabel="thickness d, nm", ylabel="κ, W/(m·K)", title="η = 0.5 nm, T = 300 K")
ax.legend(loc="lower right")
plt.show()
print("flagged out of domain:", int((~p.in_domain).sum()), "of", len(d), "queries; thinnest in domain:",
      f"{d[p.in_domain].min():.1f} nm")
