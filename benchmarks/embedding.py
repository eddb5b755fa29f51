"""Material embeddings (issue 17, §3): what the learned vectors know, against a random network and composition.

Protocol. The SA-GAT trained on fold 0 of the K_VRH benchmark (``benchmarks/crystal.py --part kvrh``:
944 training structures, seed 0; refitted by ``--part distill`` when the cache is gone) gives the
vectors ``CrystalRegressor.embed`` returns (the mean atom vector its head reads). Compared on the 237
structures of that fold's test part, which the network never saw:

* ``trained`` — those vectors;
* ``untrained`` — the same architecture and features with random weights (one epoch at learning
  rate 10⁻¹²): what the graph and the binned atom features alone give;
* ``composition`` — the Magpie-style composition features (:class:`CompositionFeaturizer`, 505
  numbers), the usual embedding of a formula.

Scores: (1) linear probe — 5-fold cross-validated R² of a ridge regression (α chosen by inner
cross-validation; inputs standardised and clipped at ±10) from the vectors to log₁₀ K_VRH, and the accuracy of a logistic regression that
tells soft from hard (split at the median); (2) retrieval — every test structure is searched, as a
2 × 1 × 1 supercell and as a copy under 1 % isotropic strain, among the 1181 structures of the set by
cosine distance (``nnsurrogate.core.embedding.nearest_neighbors``): the share whose nearest neighbour
is the structure itself (the composition of a supercell is the same formula, so composition vectors
tie it with every polymorph). Three of SA-GAT's 178 atom features describe the cell as given (log of
its atom count, lattice-length ratios, angle deviation from 90°), so a supercell's vector is close to,
not equal to, the crystal's.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np
from rich.console import Console
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.model_selection import KFold, cross_val_predict, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from _common import machine_info, now_iso, publish, section_markdown, standalone_outputs
from crystal import ELASTIC, KFOLD_SEED, N_FOLDS, _formula, _keep_path, load_keep, rebuild_kvrh_keep
from nnsurrogate.core import metrics as M
from nnsurrogate.core.embedding import nearest_neighbors
from nnsurrogate.crystal.io import read_crystals
from nnsurrogate.crystal.regressor import CrystalRegressor
from nnsurrogate.crystal.structures import Crystal
from nnsurrogate.tabular.composition import CompositionFeaturizer

NAME = "embedding"
STRAIN = 0.01
#: Standardised inputs of the probes are clipped at ±10: a composition column that is almost constant on
#: the training rows (an element in one of them) otherwise explodes on the test rows.
CLIP_Z = 10.0
ARMS = {"trained": "SA-GAT vectors, trained on K_VRH (nnsurrogate)", "untrained": "SA-GAT vectors, random weights",
        "composition": "composition features (Magpie-style, 505)"}


def _supercell(c: Crystal) -> Crystal:
    shifted = c.positions + c.cell[0]
    return Crystal(f"{c.id}-2x1x1", np.concatenate([c.numbers, c.numbers]), np.concatenate([c.positions, shifted]),
                   c.cell * np.array([[2.0], [1.0], [1.0]]), c.pbc)


def _strained(c: Crystal) -> Crystal:
    return Crystal(f"{c.id}-strained", c.numbers.copy(), c.positions * (1 + STRAIN), c.cell * (1 + STRAIN), c.pbc)


def _clip(z: np.ndarray) -> np.ndarray:
    return np.clip(z, -CLIP_Z, CLIP_Z)


def _probe(vectors: np.ndarray, y: np.ndarray) -> dict:
    cv = KFold(5, shuffle=True, random_state=0)
    scaled = (StandardScaler(), FunctionTransformer(_clip))
    ridge = make_pipeline(*scaled, RidgeCV(alphas=np.logspace(-3, 3, 13)))
    pred = cross_val_predict(ridge, vectors, y, cv=cv)
    clf = make_pipeline(*scaled, LogisticRegression(max_iter=5000, C=0.1))
    acc = cross_val_score(clf, vectors, (y > np.median(y)).astype(int), cv=cv)
    return {"probe_r2": M.r2(y, pred), "probe_mae": M.mae(y, pred), "soft_hard_accuracy": float(np.mean(acc))}


def _retrieval(embed, reference: np.ndarray, everything: list[Crystal], test_index: np.ndarray) -> dict:
    """Top-1 self-retrieval of each test structure's supercell and strained copy among *reference* (n, d)."""
    out = {}
    for name, make in (("supercell", _supercell), ("strained", _strained)):
        query = embed([make(everything[i]) for i in test_index])
        idx, dist = nearest_neighbors(reference, query, 2)
        first = idx[:, 0] == test_index
        tie = np.isclose(dist[:, 0], dist[:, 1], atol=1e-9)  # an exact tie: the answer is a coin toss
        out[name] = {"top1": float(np.mean(first & ~tie)), "ties": float(np.mean(tie))}
    return out


def run(quick: bool, results_dir: Path, markdown_path: Path, console: Console) -> dict:
    started = time.perf_counter()
    keep = load_keep("kvrh", quick) if _keep_path("kvrh", quick).is_file() else rebuild_kvrh_keep(quick, console)
    data = read_crystals(ELASTIC, "K_VRH")
    crystals = data.crystals[:300] if quick else data.crystals
    y_all = np.log10(np.maximum(np.asarray(data.targets[: len(crystals)], dtype=float), 1.0))
    _, test_index = next(iter(KFold(N_FOLDS, shuffle=True, random_state=KFOLD_SEED).split(np.arange(len(crystals)))))
    if not np.allclose(y_all[test_index], keep["y_test"]):
        raise SystemExit("the kept model's test rows are not fold 0 of the elastic set")
    trained = keep["model"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        untrained = CrystalRegressor(**{**trained.get_params(), "max_epochs": 1, "learning_rate": 1e-12}).fit(
            keep["train"], keep["y_train"])
        featurizer = CompositionFeaturizer().fit([_formula(c) for c in crystals])
        embeds = {"trained": trained.embed, "untrained": untrained.embed,
                  "composition": lambda cs: featurizer.transform([_formula(c) for c in cs])}
        rows = {}
        for arm, embed in embeds.items():
            console.print(f"  {NAME}: {arm} …", style="dim")
            reference = embed(crystals)  # every structure once; the test rows' vectors are among them
            vectors = reference[test_index]
            rows[arm] = {"label": ARMS[arm], "dim": int(vectors.shape[1]), **_probe(vectors, y_all[test_index]),
                         "retrieval": _retrieval(embed, reference, crystals, test_index)}
    t, u = rows["trained"], rows["untrained"]
    targets = {"probe_beats_random": {"target": "linear probe of the trained vectors beats a random network's",
                                      "value": t["probe_r2"], "untrained": u["probe_r2"],
                                      "met": bool(t["probe_r2"] > u["probe_r2"])},
               "supercell_and_strain_first": {"target": "a supercell and a 1 % strained copy find the structure itself "
                                                        "first (trained vectors, every test structure)",
                                              "value": [t["retrieval"]["supercell"]["top1"],
                                                        t["retrieval"]["strained"]["top1"]],
                                              "met": bool(t["retrieval"]["supercell"]["top1"] == 1.0
                                                          and t["retrieval"]["strained"]["top1"] == 1.0)}}
    result = {"name": NAME, "created": now_iso(), "quick": quick, "machine": machine_info(),
              "n_reference": len(crystals), "n_test": int(len(test_index)), "strain": STRAIN,
              "network_test_mae": float(M.mae(keep["y_test"], keep["pred_test"])), "arms": rows, "targets": targets,
              "runtime_s": round(time.perf_counter() - started, 1)}
    return publish(NAME, result, results_dir, markdown_path, console, "material embeddings, K_VRH fold 0", _table,
                   markdown)


def _table(result: dict):
    headers = ["vectors", "dim", "probe R² (log₁₀K)", "soft/hard accuracy", "supercell → itself first",
               "1 % strain → itself first"]
    rows = []
    for r in result["arms"].values():
        ret = r["retrieval"]
        cell = lambda k: f"{ret[k]['top1']:.3f}" + (f" ({ret[k]['ties']:.0%} ties)" if ret[k]["ties"] else "")  # noqa: E731
        rows.append([r["label"], str(r["dim"]), f"{r['probe_r2']:.3f}", f"{r['soft_hard_accuracy']:.3f}",
                     cell("supercell"), cell("strained")])
    return headers, rows


def markdown(result: dict) -> str:
    lines = []
    for t in result["targets"].values():
        value = t["value"] if not isinstance(t["value"], list) else ", ".join(f"{v:.3f}" for v in t["value"])
        value = f"{value:.3f}" if isinstance(value, float) else value
        extra = f" (random network {t['untrained']:.3f})" if "untrained" in t else ""
        lines.append(f"{t['target']}: {'met' if t['met'] else 'MISSED'} — {value}{extra}")
    return section_markdown(f"## Material embeddings (`benchmarks/{NAME}.py`)", __doc__.split("\n\n", 1)[1].strip(),
                            _table(result), lines, result, NAME)


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    run(quick, *standalone_outputs(quick), Console(width=150))
