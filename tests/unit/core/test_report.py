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
