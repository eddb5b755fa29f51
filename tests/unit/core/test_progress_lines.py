"""Progress without a terminal: periodic plain lines instead of a bar nobody sees redrawn."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from nnsurrogate.core.engine.progress import format_metrics, log_lines


def test_log_lines_write_the_first_then_at_most_one_per_interval_then_the_last():
    stream = io.StringIO()
    with log_lines("training", format_metrics, stream=stream, every=3600.0) as update:
        for epoch in range(1, 51):
            update(epoch, 50, {"train_loss": 1.0 / epoch})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2  # the first call and the final state; nothing between within the hour
    assert lines[0].startswith("training: 1/50  0:00:00  train loss 1")
    assert lines[1].startswith("training: 50/50") and "train loss 0.02" in lines[1]


def test_every_call_is_a_line_when_the_interval_is_zero_and_open_ended_runs_show_the_count():
    stream = io.StringIO()
    with log_lines("MD", lambda m: "", stream=stream, every=0.0) as update:
        for step in (10, 20, 30):
            update(step, None, {})
    assert stream.getvalue().splitlines() == ["MD: 10  0:00:00", "MD: 20  0:00:00", "MD: 30  0:00:00"]


def test_a_cli_run_into_a_pipe_writes_log_lines_not_bar_redraws(tmp_path):
    cli = str(Path(sys.executable).with_name("nnsurrogate"))
    done = subprocess.run([cli, "gas2d", "generate", "--potential", "coulomb", "--density", "0.01", "--n-samples", "300", "--out", str(tmp_path / "gas")],
                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "NNSURROGATE_LOG_EVERY": "0"})
    assert done.returncode == 0, done.stderr
    assert "\x1b[" not in done.stderr and "━" not in done.stderr  # no escape codes, no bar glyphs
    assert any(line.startswith("generating samples: ") for line in done.stderr.splitlines())
