"""Run the benchmarks: ``python benchmarks/run.py [--only NAME] [--quick] [--strict]`` (``make bench``).

Each module listed in :data:`BENCHMARKS` exposes ``NAME`` and ``run(quick, results_dir, markdown_path,
console)``. A full run writes ``benchmarks/results/<name>.json`` and the module's section of
``BENCHMARKS.md`` at the repository root. ``--quick`` runs fewer seeds as a smoke test and writes to
``benchmarks/_work/`` (git-ignored) instead, so it never overwrites the published numbers.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.text import Text

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(HERE) not in sys.path:  # the modules import each other by plain name (_common, thin_film)
    sys.path.insert(0, str(HERE))

#: Benchmark modules in this folder, in the order they run.
BENCHMARKS = ("thin_film", "conformal", "symbolic", "gas2d", "crystal", "spectra", "multifidelity", "steels", "embedding", "cli", "nep", "nep_finetune", "nep_alloy", "nep_md", "matbench", "bp_al", "pde",
              "pretrained_finetune", "potential_kinds_md", "mace_mlearn", "mace_ethanol", "al_wide")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run nnsurrogate's benchmarks against peer libraries.")
    parser.add_argument("--only", action="append", choices=BENCHMARKS, metavar="NAME",
                        help=f"run only this benchmark (repeatable); one of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: fewer seeds; results go to benchmarks/_work/, not results/ or BENCHMARKS.md")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when a target is missed")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    if not console.is_terminal:  # a log file or pipe: wide enough that the table keeps one line per model
        console = Console(width=150)
    names = args.only or list(BENCHMARKS)
    out = HERE / "_work" if args.quick else ROOT
    results_dir = out / "results" if args.quick else HERE / "results"
    markdown_path = out / "BENCHMARKS.md"
    started = time.perf_counter()
    missed = []
    for name in names:
        console.rule(f"benchmark: {name}" + (" (quick)" if args.quick else ""))
        result = importlib.import_module(name).run(args.quick, results_dir, markdown_path, console)
        missed += [f"{name}.{key}" for key, target in result["targets"].items() if not target["met"]]
        console.print(Text(f"wrote {results_dir / (name + '.json')} and the '{name}' section of {markdown_path}"))
    total = time.perf_counter() - started
    console.print(Text(f"{len(names)} benchmark(s) in {total:.0f} s; targets missed: {', '.join(missed) or 'none'}",
                       style="bold red" if missed else "bold green"))
    return 1 if (missed and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
