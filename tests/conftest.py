"""Shared test fixtures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def films_csv(tmp_path):
    """A small thin-film table written by the real generator (60 rows)."""
    from nnsurrogate.tabular.thin_film import sample_thin_film

    path = tmp_path / "films.csv"
    sample_thin_film(60, seed=3).to_csv(path, index=False)
    return path


@pytest.fixture
def smooth_csv(tmp_path):
    """y = x1² + sin(x2) on 120 rows, with an id column of text."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (120, 2))
    frame = pd.DataFrame({"sample": [f"s{i}" for i in range(120)], "x1": x[:, 0], "x2": x[:, 1],
                          "y": x[:, 0] ** 2 + np.sin(x[:, 1])})
    path = tmp_path / "smooth.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def killed_training():
    """``kill(argv, out)``: run ``nnsurrogate ARGV`` (a ``potential train`` writing to *out*) in its own
    process, SIGKILL it a little after its first checkpoint, and return the epoch that checkpoint holds
    (asserting that the run had not finished)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from nnsurrogate.core.engine.checkpoint import read_checkpoint

    def kill(argv, out, settle_s: float = 1.0) -> int:
        cmd = [sys.executable, "-c", "from nnsurrogate.cli.main import main; main()", *map(str, argv)]
        proc = subprocess.Popen(cmd, env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        checkpoint = out / ".checkpoint" / "train.pt"
        deadline = time.time() + 240
        while not checkpoint.exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.2)
        time.sleep(settle_s)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert checkpoint.exists() and not (out / "metrics.json").exists()
        return read_checkpoint(checkpoint)["state"]["budget"]["epoch"]

    return kill


def _check_report(out, metrics=(), images=()) -> str:
    """Assert that *out*/report.html is a self-contained page of the run in *out*; return its text.

    It embeds every PNG the run wrote (``plots/**/*.png``, ``*.png``; at least one) as base64 data that
    decodes to a PNG, fetches nothing (no ``src``/``href``/``url(`` outside ``data:``), and names every
    scalar of the final ``metrics.json`` (so it was written after the last change to it), the dotted
    metric names in *metrics* and the images in *images* (paths relative to *out*, as captioned).
    """
    import base64
    import html
    import json
    import re
    from pathlib import Path

    from nnsurrogate.core.report import metric_rows

    out = Path(out)
    page = (out / "report.html").read_text(encoding="utf-8")
    payloads = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert payloads and all(base64.b64decode(p)[:8] == b"\x89PNG\r\n\x1a\n" for p in payloads), len(payloads)
    assert not re.search(r'(src|href)="(?!data:)|url\(', page)  # nothing to fetch when the page is opened
    written = [p.relative_to(out).as_posix() for p in sorted(out.glob("plots/**/*.png")) + sorted(out.glob("*.png"))]
    assert written and len(payloads) >= len(written)
    captions = set(re.findall(r"<figcaption>([^<]*)</figcaption>", page))
    missing = [name for name in [*written, *images] if html.escape(name) not in captions]
    assert not missing, f"not in the report: {missing}"
    named = [k for k, _ in metric_rows(json.loads((out / "metrics.json").read_text(encoding="utf-8")))]
    absent = [name for name in [*named, *metrics] if f">{html.escape(name)}<" not in page]
    assert not absent, f"metrics not named in the report: {absent}"
    return page


@pytest.fixture
def check_report():
    """``check_report(out, metrics=(), images=())``: assert that a run's report.html embeds its plots
    and names its metrics (see :func:`_check_report`); returns the page."""
    return _check_report
