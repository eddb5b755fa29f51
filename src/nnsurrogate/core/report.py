"""``OUT/report.html``: one self-contained page per training run — settings, metrics, plots, versions.

The page is built from what the run wrote (``metrics.json``, ``plots/*.png``) and the settings it ran
with, so every training command gets the same report without code of its own: images are embedded
as base64 data, the style is inline, and nothing is fetched when the file is opened. A run whose
metrics hold a per-epoch history gets a loss-curve plot drawn here.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nnsurrogate.core.files import atomic_path
from nnsurrogate.core.plots import tidy_axes

__all__ = ["REPORT_FILE", "metric_rows", "write_report"]

REPORT_FILE = "report.html"
#: Libraries whose versions the report names when the run had them loaded.
LIBRARIES = ("numpy", "torch", "sklearn", "pandas", "scipy", "ase", "pymatgen", "e3nn", "mace", "pyoperon")
#: Longest list shown in the metrics table (longer ones, such as histories, are left to metrics.json).
LIST_LIMIT = 8
_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#1d2330;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #dde;padding-bottom:.2em}
table{border-collapse:collapse;font-size:.92em;margin:.5em 0}td,th{border:1px solid #dde;padding:.25em .6em;text-align:left;
vertical-align:top}th{background:#f3f4f8}td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{display:inline-block;margin:.5em 1em .5em 0;vertical-align:top;max-width:100%}
figure img{max-width:100%;max-height:440px;height:auto;border:1px solid #eee}
figcaption{font-size:.85em;color:#555}.meta{color:#555;font-size:.9em}
"""


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "—" if not math.isfinite(value) else f"{value:.6g}"
    if isinstance(value, list):
        return ", ".join(_format(v) for v in value)
    return str(value)


def metric_rows(metrics: dict, prefix: str = "", depth: int = 0) -> list[tuple[str, str]]:
    """(key, shown value) of every scalar, short list and nested scalar in *metrics* (dotted keys)."""
    rows = []
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and depth < 2:
            rows += metric_rows(value, f"{name}.", depth + 1)
        elif isinstance(value, (int, float, str, bool)) or value is None:
            rows.append((name, _format(value) if value is not None else "—"))
        elif isinstance(value, list) and len(value) <= LIST_LIMIT and all(
                isinstance(v, (int, float, str, bool)) for v in value):
            rows.append((name, _format(value)))
    return rows


def _history(metrics: dict) -> list[dict] | None:
    """The per-epoch history (a list of dicts with an epoch and at least one loss), if the run kept one."""
    for key in ("history", "loss_history", "training_history"):
        rows = metrics.get(key)
        if isinstance(rows, list) and rows and all(isinstance(r, dict) for r in rows):
            if any(k for k in rows[0] if "loss" in k):
                return rows
    return None


def _loss_png(history: list[dict]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k in history[0] if "loss" in k and isinstance(history[0][k], (int, float))]
    x = [r.get("epoch", i + 1) for i, r in enumerate(history)]
    fig, ax = plt.subplots(figsize=(5.5, 3.6), constrained_layout=True)
    for key in keys:
        y = [r.get(key) for r in history]
        ax.plot(x, y, label=key.replace("_", " "))
    if all(r.get(k, 0) > 0 for r in history for k in keys):
        ax.set_yscale("log")
    ax.set(xlabel="epoch", ylabel="loss", title="training history")
    ax.legend(frameon=False)
    tidy_axes(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def _figure(png: bytes, caption: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _table(rows: list[tuple[str, str]], headers: tuple[str, str]) -> str:
    body = "".join(f"<tr><td>{html.escape(k)}</td><td class='num'>{html.escape(v)}</td></tr>" for k, v in rows)
    return f"<table><tr><th>{headers[0]}</th><th>{headers[1]}</th></tr>{body}</table>"


def _versions() -> list[tuple[str, str]]:
    from nnsurrogate import __version__

    rows = [("nnsurrogate", __version__), ("python", platform.python_version()), ("platform", platform.platform())]
    for name in LIBRARIES:
        module = sys.modules.get(name)
        if module is not None:
            rows.append((name, str(getattr(module, "__version__", "?"))))
    return rows


def write_report(folder: str | Path, command: str, settings: dict | None = None) -> Path | None:
    """Write ``folder/report.html`` from ``folder/metrics.json`` and the PNGs under ``folder/plots``.

    Parameters
    ----------
    folder : path-like
        The run's output folder.
    command : str
        ``"group verb"`` of the command that made it (the page's title).
    settings : dict, optional
        The resolved settings of the run (as written to ``config.yaml``).

    Returns
    -------
    pathlib.Path or None
        The report, or ``None`` when the folder holds no ``metrics.json`` (nothing to report).
    """
    folder = Path(folder)
    metrics_file = folder / "metrics.json"
    if not metrics_file.is_file():
        return None
    metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
    figures = []
    history = _history(metrics)
    if history is not None:
        figures.append(_figure(_loss_png(history), "loss per epoch (from metrics.json)"))
    for png in sorted(folder.glob("plots/**/*.png")) + sorted(folder.glob("*.png")):
        figures.append(_figure(png.read_bytes(), str(png.relative_to(folder))))
    created = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>nnsurrogate {html.escape(command)}"
             f" — {html.escape(folder.name)}</title><style>{_STYLE}</style></head><body>",
             f"<h1>nnsurrogate {html.escape(command)}</h1>",
             f"<p class='meta'>{html.escape(str(folder.resolve()))} · written {created}</p>",
             "<h2>Metrics</h2>", _table(metric_rows(metrics), ("metric", "value")),
             "<h2>Plots</h2>", "".join(figures) or "<p>This run wrote no plots.</p>"]
    if settings:
        parts += ["<h2>Settings</h2>", _table([(k, _format(v) if v is not None else "—") for k, v in settings.items()],
                                              ("setting", "value"))]
    parts += ["<h2>Software</h2>", _table(_versions(), ("package", "version")), "</body></html>"]
    path = folder / REPORT_FILE
    with atomic_path(path) as tmp:
        Path(tmp).write_text("".join(parts), encoding="utf-8")
    return path
