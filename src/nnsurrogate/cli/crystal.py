"""``nnsurrogate crystal …``: crystal graph networks (CGCNN, SA-GAT) and symbolic distillation.

Each verb parses its options, calls one workflow (:mod:`nnsurrogate.crystal.workflow` for
``train | predict | evaluate``, the recipe :mod:`nnsurrogate.recipes.distill`, where the ``crystal``
and ``symbolic`` pillars meet, for ``distill``) and prints its results.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from nnsurrogate.cli import options
from nnsurrogate.cli.common import console, metrics_table
from nnsurrogate.cli.settings_file import configurable

app = typer.Typer(help="Crystal structures → properties: graph networks and distilled formulas.", no_args_is_help=True)

_DATA_HELP = ("Structures: a .csv/.parquet with a 'cif' column, a .json(.gz) of pymatgen structures, a CGCNN "
              "folder with id_prop.csv, or a .cif / POSCAR / .extxyz file.")


def _print_skipped(skipped) -> None:
    if not skipped:
        return
    items = [(s["id"], s["reason"]) if isinstance(s, dict) else s for s in skipped]
    console.print(f"[yellow]skipped {len(items)} bad entries:[/yellow]", highlight=False)
    for entry_id, reason in items[:20]:
        console.print(f"  {entry_id}: {reason}", highlight=False, markup=False)
    if len(items) > 20:
        console.print(f"  … and {len(items) - 20} more (all listed in metrics.json)", highlight=False)


@app.command()
@configurable("crystal train")
def train(
    data: Path = typer.Argument(..., help=_DATA_HELP),
    target: str = typer.Option(..., "--target", help="Property to predict (column, JSON field or extxyz info key)."),
    model: str = typer.Option("sagat", "--model", help="cgcnn or sagat."),
    epochs: int = options.epochs(None, "Epochs of the cosine learning-rate schedule (default 100); the best is kept."),
    split: str = typer.Option("random", "--split", help="random or kfold:K."),
    test_fraction: float = options.test_fraction(0.2, "Held-out test fraction for the random split."),
    test_data: Path = typer.Option(None, "--test-data", help="Separate labelled structures to test on (then DATA is all training)."),
    cutoff: float = typer.Option(8.0, "--cutoff", help="Neighbour cutoff, Å."),
    max_neighbors: int = typer.Option(12, "--max-neighbors", help="Nearest neighbours kept per atom (plus ties)."),
    batch_size: int = options.batch_size(64, "Crystals per mini-batch."),
    lr: float = options.lr(2e-3, "Peak AdamW step."),
    loss: str = typer.Option("l1", "--loss", help="l1, mse or huber."),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Leave out unreadable or unphysical entries and list them."),
    seed: int = options.seed("Random seed for split, initialisation and shuffling."),
    out: Path = options.out_dir("Output folder: model/, metrics.json, config.yaml, plots/parity.png, predictions.csv."),
    resume: bool = options.resume(),
    time_limit: float = options.time_limit("Wall-clock limit of the run, s, reading the structures and building "
                                           "their graphs included; the best epoch so far is kept. With kfold:K each "
                                           "of the K+1 fits gets an equal part of the time left when it starts."),
    quiet: bool = options.quiet(),
) -> None:
    """Train a crystal graph network and report metrics on held-out structures."""
    from nnsurrogate.crystal.workflow import CrystalTrainOptions, train_crystal

    settings = CrystalTrainOptions(target=target, model=model, epochs=epochs, seed=seed, split=split,
                                  test_size=test_fraction, test_data=str(test_data) if test_data else None,
                                  skip_bad=skip_bad, resume=resume, cutoff=cutoff, max_neighbors=max_neighbors,
                                  batch_size=batch_size, learning_rate=lr, loss=loss,
                                  time_limit=time_limit, verbose=0 if quiet else 1)
    metrics = train_crystal(str(data), str(out), settings)
    _print_skipped(metrics["skipped"])
    title = f"{target} ({model}): {metrics['n_test']} test structures, {metrics['n_train']} training structures"
    console.print(metrics_table(metrics, title, metrics.get("unit")))
    extra = ", feature_importance.csv" if model == "sagat" else ""
    console.print(f"model, metrics and predictions{extra} written to {out}/ ({metrics['fit_seconds']:.1f} s, "
                  f"{metrics['epochs_run']} epochs, {metrics['stopped_by']})")


@app.command()
def predict(
    model_dir: Path = typer.Argument(..., help="Folder written by 'crystal train'."),
    data: Path = typer.Argument(..., help=_DATA_HELP),
    out: Path = typer.Option(..., "--out", help="Output table (.csv or .parquet): id, <target>_pred."),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Leave out bad entries and list them."),
) -> None:
    """Predict the property of every structure."""
    from nnsurrogate.crystal.workflow import predict_crystal

    result = predict_crystal(str(model_dir), str(data), str(out), skip_bad=skip_bad)
    _print_skipped(result.attrs.get("skipped"))
    console.print(f"wrote {len(result)} predictions to {out}")


@app.command()
def evaluate(
    model_dir: Path = typer.Argument(..., help="Folder written by 'crystal train'."),
    data: Path = typer.Argument(..., help="Labelled structures (same formats as train)."),
    out: Path = typer.Option(..., "--out", help="Output folder: metrics.json, plots/parity.png, predictions.csv."),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Leave out bad entries and list them."),
) -> None:
    """Score a trained model on labelled structures."""
    from nnsurrogate.crystal.workflow import evaluate_crystal

    metrics = evaluate_crystal(str(model_dir), str(data), str(out), skip_bad=skip_bad)
    _print_skipped(metrics["skipped"])
    console.print(metrics_table(metrics, f"{metrics['target']}: {metrics['n_test']} structures", metrics.get("unit")))
    console.print(f"metrics written to {out}/")


@app.command()
def embed(
    model_dir: Path = typer.Argument(..., help="Folder written by 'crystal train'."),
    data: Path = typer.Argument(..., help=_DATA_HELP),
    out: Path = options.embed_out(),
    neighbors: int = options.neighbors("structures"),
    map_method: str = options.map_method(),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Leave out bad entries and list them."),
) -> None:
    """Material vectors learnt by the model: nearest neighbours ("materials most like this one") and a 2D map."""
    from nnsurrogate.crystal.workflow import embed_crystal

    report = embed_crystal(str(model_dir), str(data), str(out), neighbors, map_method, skip_bad)
    _print_skipped(report["skipped"])
    console.print(f"{report['n_structures']} material vectors of {report['dim']} numbers, {report['neighbors']} "
                  f"neighbours each and a {report['map']} map written to {out}/")


@app.command()
def distill(
    run_dir: Path = typer.Argument(..., help="Output folder of 'crystal train --model sagat'."),
    top_k: int = typer.Option(8, "--top-k", help="Number of highest-attention features given to symbolic regression."),
    generations: int = typer.Option(None, "--generations", help="Generations of formula search per run "
                                    "(default: the back end's); the same seed gives the same formula on any machine."),
    time_limit: float = typer.Option(None, "--time-limit", help="Also stop each search after this many seconds."),
    max_length: int = typer.Option(15, "--max-length", help="Most nodes of a searched expression tree."),
    fit_to: str = typer.Option("network", "--fit-to", help="network (distil the network's predictions) or target."),
    compare_all: bool = typer.Option(True, "--compare-all/--no-compare-all", help="Also search on all features, for time and accuracy."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the search."),
    out: Path = typer.Option(None, "--out", help="Output folder (default RUN_DIR/distill): metrics.json, pareto_*.csv, "
                             "formula_*.py (a NumPy function) and formula_*.tex."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Distil the top-k screened features into a short formula (symbolic regression)."""
    from nnsurrogate.recipes.distill import distill_run

    outcome = distill_run(run_dir, top_k=top_k, time_limit=time_limit, max_length=max_length, fit_to=fit_to,
                          compare_all=compare_all, seed=seed, out=out, verbose=0 if quiet else 1,
                          generations=generations)
    _distill_table(outcome.report)
    from nnsurrogate.core.report import write_report

    write_report(outcome.folder, "crystal distill", {"run_dir": str(run_dir), "top_k": top_k, "max_length": max_length,
                                                     "fit_to": fit_to, "seed": seed})
    console.print(f"written to {outcome.folder}/ (metrics.json, Pareto fronts with test scores, formula_*.py and "
                  "formula_*.tex)")


def _distill_table(report: dict) -> None:
    table = Table(show_header=True, header_style="bold", title=f"distillation of {report['target']} (test structures)")
    for column in ("inputs", "formula", "complexity", "R²", "MAE", "fit, s"):
        table.add_column(column, justify="left" if column in ("inputs", "formula") else "right")
    net = report["network"]
    table.add_row("network", "—", "—", f"{net['r2_test']:.4f}", f"{net['mae_test']:.4g}", "")
    for key, label in (("top_k", f"top {len(report['top_k']['columns'])}"), ("all_features", "all features")):
        if key in report:
            r = report[key]
            r2 = "n/a" if r["r2_test"] is None else f"{r['r2_test']:.4f}"
            mae = "n/a" if r["mae_test"] is None else f"{r['mae_test']:.4g}"
            table.add_row(label, r["formula"], str(r["complexity"]), r2, mae, f"{r['fit_seconds']:.1f}")
    console.print(table)
