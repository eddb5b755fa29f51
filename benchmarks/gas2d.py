"""2D-gas CNN force model (issue 6, deliverable 2): the paper's protocol at three densities.

Zharikov, Zavyalov & Sivashova (2022) report at best 71 % both-components class accuracy with a
28 × 28 LeNet and K = 10 classes per component. Target (issue 6): ≥ 90 % at all three densities with
the same grid and class count; the regression head's force MAE relative to the force spread and R².

Protocol (the same data, split and seeds for every model, in one process):

* gas: identical Coulomb charges, U = k q²/r with k q² = 1 eV·Å (reduced units), uniform random
  positions in periodic boxes (side 2 W) with a hard core of 1 Å, densities 0.005, 0.01 and 0.02 Å⁻²
  (3.7, 7.4 and 15.4 neighbours in the window on average);
* descriptor: window W = 28 Å, 28 × 28 cells of h = 1 Å, counts per cell;
* classes: K = 10 bins over [−f_max, f_max] per component, f_max by the paper's rule, the pair force
  between neighbouring cells, k q²/h² = 1 eV/Å (with the 1 Å hard core it is the largest pair force
  that occurs); forces beyond ±f_max in the end classes;
* 50 000 targets per density (data seed 0), 40 000 train / 10 000 test split by box;
* models: majority class (from the training set); every neighbour at its cell centre (physics, no
  learning); scikit-learn ``Ridge`` on the 784 counts (a linear peer); the LeNet trained with the
  paper's recipe; the LeNet with our recipe, classification and regression heads (seed 0, 4 epochs
  each, one thread);
* the limit of the image: a Monte-Carlo Bayes classifier that knows the potential and draws the
  neighbours' positions inside their cells (64 draws per sample) on the first 2000 test samples, with
  our classifier scored on the same samples beside it.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sklearn.linear_model import Ridge

from _common import machine_info, machine_line, now_iso, timed_cpu, update_markdown_section, write_json
from nnsurrogate.gas2d.baselines import bayes_predictions, cell_centre_forces, posterior_forces
from nnsurrogate.gas2d.classes import class_centres, force_classes
from nnsurrogate.gas2d.dataset import GasSpec, generate
from nnsurrogate.gas2d.evaluation import majority_baseline, score
from nnsurrogate.gas2d.potentials import Coulomb
from nnsurrogate.gas2d.training import TrainSettings, fit
from nnsurrogate.gas2d.workflow import PAPER_ACCURACY_BOTH

NAME = "gas2d"
RESULTS_FILE = "bp_gas2d_al.json"  # shared with the BP and active-learning benchmarks: our key is "gas2d"
DENSITIES = (0.005, 0.01, 0.02)  # particles per Å²
WINDOW, GRID, MIN_DISTANCE, N_CLASSES, KQQ = 28.0, 28, 1.0, 10, 1.0
N_SAMPLES, TEST_FRACTION, DATA_SEED, MODEL_SEED, EPOCHS = 50_000, 0.2, 0, 0, 4
N_BAYES, BAYES_DRAWS = 2000, 64
QUICK = {"n_samples": 5000, "epochs": 1, "n_bayes": 300, "bayes_draws": 16}
TARGET_ACCURACY = 0.90
RIDGE_ALPHA = 1.0
#: (key, label, kind): kind "lenet" rows are trained networks.
MODELS = (("majority", "majority class", "ref"), ("cell_centre", "cell centres (physics, no learning)", "ref"),
          ("ridge", "Ridge on counts (scikit-learn)", "peer"), ("lenet_paper", "LeNet, paper's recipe", "lenet"),
          ("lenet_ours", "LeNet, our recipe (classify)", "lenet"), ("lenet_regress", "LeNet, our recipe (regress)",
                                                                    "lenet"))


def _sizes(quick: bool) -> dict:
    if quick:
        return dict(QUICK)
    return {"n_samples": N_SAMPLES, "epochs": EPOCHS, "n_bayes": N_BAYES, "bayes_draws": BAYES_DRAWS}


def make_data(density: float, n_samples: int):
    """Train and test parts for one density (split by box, 80 / 20)."""
    spec = GasSpec(Coulomb(KQQ), density, WINDOW, MIN_DISTANCE)
    data = generate(spec, n_samples, DATA_SEED)
    n_train = int(round((1 - TEST_FRACTION) * n_samples)) // spec.targets_per_box * spec.targets_per_box
    return data.subset(np.arange(n_train)), data.subset(np.arange(n_train, n_samples))


def _reference_rows(train, test, f_max: float) -> dict:
    """Majority class, cell-centre physics and the Ridge peer."""
    k = N_CLASSES
    rows = {"majority": {**majority_baseline(train.forces, test.forces, f_max, k)}}
    cc = cell_centre_forces(test, GRID)
    rows["cell_centre"] = score(force_classes(cc, f_max, k), cc, test.forces, f_max, k)
    ridge = Ridge(alpha=RIDGE_ALPHA)
    x_train = train.images(GRID).reshape(train.n_samples, -1)
    _, wall, cpu = timed_cpu(lambda: ridge.fit(x_train, train.forces))
    pred = ridge.predict(test.images(GRID).reshape(test.n_samples, -1))
    rows["ridge"] = {**score(force_classes(pred, f_max, k), pred, test.forces, f_max, k), "fit_s": wall,
                     "fit_cpu_s": cpu}
    return rows


def _lenet_row(train, test, settings: TrainSettings, console: Console) -> tuple[dict, dict]:
    """Train one LeNet; its scores on the test set and its predictions."""
    console.print(Text(f"    LeNet {settings.recipe}/{settings.head}, {settings.epochs} epochs …", style="dim"))
    (model, history), wall, cpu = timed_cpu(lambda: fit(train, settings))
    pred, pred_s, _ = timed_cpu(lambda: model.predict(test.images(GRID)))
    c = model.config
    row = {**score(pred["classes"], pred["forces"], test.forces, c.f_max, c.n_classes), "fit_s": wall,
           "fit_cpu_s": cpu, "predict_test_s": pred_s, "history": history, "symmetrized": c.symmetrize,
           "joint_softmax": c.joint}
    return row, pred


def _bayes(test, f_max: float, sizes: dict, ours_pred: dict) -> dict:
    """Monte-Carlo Bayes classifier and regression limit on the first test samples, ours beside it."""
    n = min(sizes["n_bayes"], test.n_samples)
    index = np.arange(n)
    draws, wall, cpu = timed_cpu(lambda: posterior_forces(test, GRID, sizes["bayes_draws"], seed=1, index=index))
    best = bayes_predictions(draws, f_max, N_CLASSES)
    true = test.forces[:n]
    median = score(best["joint"], best["force"], true, f_max, N_CLASSES)
    mean = score(best["joint"], best["force_mean"], true, f_max, N_CLASSES)
    ours = score(ours_pred["classes"][:n], ours_pred["forces"][:n], true, f_max, N_CLASSES)
    se = math.sqrt(max(median["accuracy_both"] * (1 - median["accuracy_both"]), 1e-12) / n)
    return {"n_samples": n, "draws": sizes["bayes_draws"], "accuracy_both": median["accuracy_both"],
            "accuracy_both_se": se, "accuracy_x": median["accuracy_x"], "accuracy_y": median["accuracy_y"],
            "force_mae_over_std": median["force_mae_over_std"], "force_r2": mean["force_r2"],
            "ours_accuracy_both_same_samples": ours["accuracy_both"], "seconds": wall, "cpu_seconds": cpu}


def _data_facts(train, test, f_max: float) -> dict:
    cls = force_classes(test.forces, f_max, N_CLASSES)
    central = np.isin(cls, (N_CLASSES // 2 - 1, N_CLASSES // 2)).all(axis=1)
    return {"n_train": train.n_samples, "n_test": test.n_samples,
            "mean_neighbours_in_window": float(np.diff(test.offsets).mean()),
            "force_std_eV_A": float(np.sqrt(np.mean(np.var(test.forces, axis=0)))),
            "f_max_eV_A": f_max, "fraction_beyond_fmax": float((np.abs(test.forces) > f_max).mean()),
            "fraction_both_in_central_classes": float(central.mean()),
            "class_width_eV_A": float(np.diff(class_centres(f_max, N_CLASSES))[0])}


def run_density(density: float, sizes: dict, console: Console) -> dict:
    """Every model at one density."""
    console.print(Text(f"  {NAME}: density {density:g} /Å², generating {sizes['n_samples']} samples …", style="dim"))
    (train, test), gen_s, _ = timed_cpu(lambda: make_data(density, sizes["n_samples"]))
    f_max = KQQ / (WINDOW / GRID) ** 2  # the paper's rule: the pair force at one cell side
    models = _reference_rows(train, test, f_max)
    preds = {}
    base = dict(grid=GRID, n_classes=N_CLASSES, fmax="cell", epochs=sizes["epochs"], seed=MODEL_SEED, threads=1)
    for key, head, recipe in (("lenet_paper", "classify", "paper"), ("lenet_ours", "classify", "ours"),
                              ("lenet_regress", "regress", "ours")):
        models[key], preds[key] = _lenet_row(train, test, TrainSettings(head=head, recipe=recipe, **base), console)
    console.print(Text("    Monte-Carlo Bayes limit …", style="dim"))
    bayes = _bayes(test, f_max, sizes, preds["lenet_ours"])
    return {"density_per_A2": density, "generate_s": gen_s, "data": _data_facts(train, test, f_max),
            "models": models, "bayes_limit": bayes}


def _targets(per_density: list[dict]) -> dict:
    accs = [d["models"]["lenet_ours"]["accuracy_both"] for d in per_density]
    reg = [d["models"]["lenet_regress"] for d in per_density]
    return {
        "accuracy_both_90": {"target": f"both-components accuracy ≥ {TARGET_ACCURACY:.0%} at all three densities "
                                       f"(28 × 28 grid, K = {N_CLASSES}; paper {PAPER_ACCURACY_BOTH:.0%})",
                             "value": accs, "bayes_limit": [d["bayes_limit"]["accuracy_both"] for d in per_density],
                             "met": all(a >= TARGET_ACCURACY for a in accs)},
        "regression_reported": {"target": "regression head: force MAE relative to the force spread, and R²",
                                "value": [[r["force_mae_over_std"], r["force_r2"]] for r in reg],
                                "met": all(math.isfinite(r["force_mae_over_std"]) and math.isfinite(r["force_r2"])
                                           for r in reg)},
    }


def _protocol(sizes: dict) -> dict:
    return {"potential": {"name": "coulomb", "kqq_eVA": KQQ}, "densities_per_A2": list(DENSITIES),
            "window_A": WINDOW, "grid": GRID, "cell_A": WINDOW / GRID, "min_distance_A": MIN_DISTANCE,
            "box_A": 2 * WINDOW, "targets_per_box": 4, "n_classes": N_CLASSES, "fmax_rule": "cell",
            "n_samples": sizes["n_samples"], "test_fraction": TEST_FRACTION, "data_seed": DATA_SEED,
            "model_seed": MODEL_SEED, "epochs": sizes["epochs"], "ridge_alpha": RIDGE_ALPHA,
            "bayes_samples": sizes["n_bayes"], "bayes_draws": sizes["bayes_draws"],
            "paper_accuracy_both": PAPER_ACCURACY_BOTH,
            "units": {"force": "eV/Å", "density": "1/Å²", "fit_s": "s wall clock", "fit_cpu_s": "s CPU"}}


def write_results(results_dir: Path, result: dict) -> Path:
    """Merge *result* into the shared results file under the key ``"gas2d"`` (read, update, atomic write)."""
    path = Path(results_dir) / RESULTS_FILE
    shared = {}
    if path.is_file():
        try:
            shared = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            shared = {}
    shared[NAME] = result
    write_json(path, shared)
    return path


def run(quick: bool, results_dir: Path, markdown_path: Path, console: Console) -> dict:
    """Run the benchmark; write the ``gas2d`` key of the results file and the Markdown section."""
    started, cpu_started = time.perf_counter(), time.process_time()
    sizes = _sizes(quick)
    machine = machine_info()
    per_density = [run_density(d, sizes, console) for d in DENSITIES]
    result = {"benchmark": NAME, "created": now_iso(), "quick": quick, "machine": machine,
              "protocol": _protocol(sizes), "densities": per_density, "targets": _targets(per_density),
              "runtime_s": time.perf_counter() - started, "runtime_cpu_s": time.process_time() - cpu_started}
    write_results(results_dir, result)
    update_markdown_section(markdown_path, NAME, markdown(result))
    print_table(result, console)
    return result


# ------------------------------------------------------------------------------------- reporting
HEADERS = ["model", "both", "x", "y", "MAE ÷ spread", "R²", "fit CPU, s"]


def _cell(value, digits: int) -> str:
    return "—" if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{value:.{digits}f}"


def table_rows(density: dict) -> list[list[str]]:
    rows = []
    for key, label, _ in MODELS:
        m = density["models"][key]
        rows.append([label, _cell(m["accuracy_both"], 3), _cell(m["accuracy_x"], 3), _cell(m["accuracy_y"], 3),
                     _cell(m.get("force_mae_over_std"), 3), _cell(m.get("force_r2"), 3),
                     _cell(m.get("fit_cpu_s"), 0)])
    b = density["bayes_limit"]
    rows.append([f"Bayes limit of the image ({b['n_samples']} test samples)", _cell(b["accuracy_both"], 3),
                 _cell(b["accuracy_x"], 3), _cell(b["accuracy_y"], 3), _cell(b["force_mae_over_std"], 3),
                 _cell(b["force_r2"], 3), "—"])
    rows.append(["paper (Zharikov et al. 2022, their data)", f"{PAPER_ACCURACY_BOTH:.2f}", "—", "—", "—", "—", "—"])
    return rows


def _density_caption(d: dict) -> str:
    f, b = d["data"], d["bayes_limit"]
    return (f"**ρ = {d['density_per_A2']:g} Å⁻²** — {f['mean_neighbours_in_window']:.1f} neighbours per window; "
            f"force spread {f['force_std_eV_A']:.3f} eV/Å, f_max {f['f_max_eV_A']:g} eV/Å (class width "
            f"{f['class_width_eV_A']:.2f} eV/Å), {f['fraction_both_in_central_classes']:.0%} of test samples have both "
            f"components in the two central classes. Bayes limit {b['accuracy_both']:.3f} ± {b['accuracy_both_se']:.3f} "
            f"vs our classifier {b['ours_accuracy_both_same_samples']:.3f} on the same {b['n_samples']} samples.")


def _target_lines(result: dict) -> list[tuple[bool, str]]:
    t = result["targets"]
    a, r = t["accuracy_both_90"], t["regression_reported"]
    mark = lambda ok: "met" if ok else "MISSED"  # noqa: E731
    accs = ", ".join(f"{v:.3f}" for v in a["value"])
    limits = ", ".join(f"{v:.3f}" for v in a["bayes_limit"])
    regs = "; ".join(f"MAE ÷ spread {m:.3f}, R² {q:.3f}" for m, q in r["value"])
    return [(a["met"], f"both-components accuracy ≥ 90 % at all three densities: {mark(a['met'])} — ours {accs} "
                       f"(ρ = {', '.join(f'{d:g}' for d in DENSITIES)} Å⁻²); Bayes limit of the 28 × 28 image {limits}; "
                       f"paper {PAPER_ACCURACY_BOTH:.2f}"),
            (r["met"], f"regression head reported: {mark(r['met'])} — {regs}")]


def markdown(result: dict) -> str:
    """The gas2d section of BENCHMARKS.md (between its markers)."""
    p = result["protocol"]
    lines = ["## 2D-gas CNN force model (`benchmarks/gas2d.py`)", "",
             "Zharikov, Zavyalov & Sivashova (2022) protocol: Coulomb charges (k q² = 1 eV·Å) scattered at random "
             f"in periodic boxes with a {p['min_distance_A']:g} Å hard core; window {p['window_A']:g} Å cut into "
             f"{p['grid']} × {p['grid']} cells of {p['cell_A']:g} Å (counts per cell); K = {p['n_classes']} classes per "
             "force component over [−f_max, f_max] with the paper's f_max (pair force at one cell side = 1 eV/Å); "
             f"{p['n_samples'] * (1 - p['test_fraction']):.0f} train / {p['n_samples'] * p['test_fraction']:.0f} test "
             f"targets per density, split by box; LeNet {p['epochs']} epochs, seed {p['model_seed']}. Columns: "
             "both-components / x / y class accuracy on the test set, force MAE ÷ force spread (std), R², fit CPU "
             "time. The classifier's forces are its class centres, so its MAE is coarse by design.", ""]
    for d in result["densities"]:
        lines += [_density_caption(d), "", "| " + " | ".join(HEADERS) + " |",
                  "|" + "|".join(["---"] + ["---:"] * (len(HEADERS) - 1)) + "|",
                  *("| " + " | ".join(row) + " |" for row in table_rows(d)), ""]
    lines += ["Targets:", "", *(f"- {line}" for _, line in _target_lines(result)), "",
              f"Machine: {machine_line(result['machine'])}; load average at start "
              f"{result['machine']['load_average_1_5_15_min']}. Run {result['created']}, "
              f"{result['runtime_s']:.0f} s wall, {result['runtime_cpu_s']:.0f} s CPU; every number in "
              f"`benchmarks/results/{RESULTS_FILE}` under `\"{NAME}\"`."]
    return "\n".join(lines)


def print_table(result: dict, console: Console) -> None:
    for d in result["densities"]:
        table = Table(title=f"2D gas, ρ = {d['density_per_A2']:g} Å⁻² (accuracy: both components / x / y)")
        for i, h in enumerate(HEADERS):
            table.add_column(h, justify="left" if i == 0 else "right")
        for row in table_rows(d):
            table.add_row(*(Text(cell) for cell in row))
        console.print(table)
    for met, line in _target_lines(result):
        console.print(Text(line, style="green" if met else "bold red"))
    console.print(Text(f"{machine_line(result['machine'])}; {result['runtime_s']:.0f} s", style="dim"))
