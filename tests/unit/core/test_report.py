"""report.html: one self-contained page from a run's metrics, plots and settings."""

from __future__ import annotations

import json
import re

import numpy as np

from nnsurrogate.core.plots import parity_plot
from nnsurrogate.core.report import metric_rows, write_report


def test_report_embeds_every_plot_and_names_every_scalar_metric(tmp_path):
    metrics = {"mae": 0.125, "r2": 0.97, "n_test": 40, "units": {"kappa": "W/(m·K)"},
               "history": [{"epoch": e, "loss": 1.0 / e, "val_loss": 1.2 / e} for e in range(1, 21)],
               "per_fold": list(range(50))}
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    rng = np.random.default_rng(0)
    y = rng.uniform(1, 100, 30)
    parity_plot(tmp_path / "plots" / "parity.png", y, y * 1.05, log=True)
    path = write_report(tmp_path, "table train", {"epochs": 20, "log_target": True})
    page = path.read_text(encoding="utf-8")
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 2 and all(len(i) > 1000 for i in images)  # the loss curve drawn here and parity.png
    assert not re.search(r'(src|href)="(?!data:)', page)  # nothing to fetch: the page is self-contained
    for name in ("mae", "r2", "n_test", "units.kappa", "epochs", "log_target", "nnsurrogate", "python"):
        assert f">{name}<" in page, name
    assert ">per_fold<" not in page  # long lists stay in metrics.json


def test_no_metrics_no_report(tmp_path):
    assert write_report(tmp_path, "table train") is None and not (tmp_path / "report.html").exists()


def test_metric_rows_flatten_nested_scalars_only():
    rows = dict(metric_rows({"a": 1.0, "b": {"c": 2, "d": {"e": "x"}}, "f": [1, 2], "g": [{"h": 1}], "i": None}))
    assert rows == {"a": "1", "b.c": "2", "b.d.e": "x", "f": "1, 2", "i": "—"}


def test_log_axes_read_at_a_glance(tmp_path):
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    from nnsurrogate.core.plots import new_figure, save_figure

    fig, (narrow, wide) = new_figure(nrows=1, ncols=2)
    narrow.plot([6, 10, 13, 15], [34.3, 21.2, 13.1, 12.5])
    narrow.set_yscale("log")
    wide.plot([1, 2, 3], [1e-8, 1e-4, 1.0])
    wide.set_yscale("log")
    save_figure(fig, tmp_path / "curves.png")
    assert isinstance(narrow.yaxis.get_major_formatter(), ScalarFormatter)  # 20, 50 — not 2×10¹, 5×10¹
    assert isinstance(narrow.yaxis.get_minor_formatter(), NullFormatter)
    assert not isinstance(wide.yaxis.get_major_formatter(), ScalarFormatter)  # ten decades keep 10⁻⁸ … 10⁰
    labels = [t.get_text() for t in narrow.yaxis.get_ticklabels() if t.get_text()]
    assert labels and all("10" not in label or label == "10" for label in labels), labels


def test_crowded_linear_tick_labels_are_thinned_until_they_stand_apart(tmp_path):
    from nnsurrogate.core.plots import _crowded, _renderer, new_figure, save_figure

    from matplotlib.ticker import MaxNLocator

    fig, ax = new_figure(figsize=(3.6, 3.4))
    values = np.array([0.01893, 0.02781, 0.03605])  # three per-atom energies, eV: long labels on a narrow axis
    ax.plot(values, values, "o")
    ax.plot(values, values, "k--")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(MaxNLocator(nbins=14))  # as dense as matplotlib gets with these fonts
    renderer = _renderer(fig)
    assert _crowded(ax.xaxis, renderer, vertical=False)  # 0.0180 0.0195 0.0210 … run into each other
    save_figure(fig, tmp_path / "parity.png")
    renderer = _renderer(fig)
    assert not _crowded(ax.xaxis, renderer, vertical=False) and not _crowded(ax.yaxis, renderer, vertical=True)
    assert len([t for t in ax.get_xticklabels() if t.get_text()]) >= 3
