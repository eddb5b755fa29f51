"""Output helpers shared by the command modules (rich tables on stdout)."""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table

console = Console()

_METRIC_LABELS = (
    ("mae", "MAE"), ("rmse", "RMSE"), ("r2", "R²"), ("max_error", "max error"), ("spearman", "Spearman ρ"),
    ("coverage_1sigma", "within 1σ (ideal 0.683)"), ("coverage_2sigma", "within 2σ (ideal 0.954)"),
    ("nll", "Gaussian NLL"),
    ("conformal_coverage_1sigma", "inside 68.3 % conformal interval"),
    ("conformal_coverage_2sigma", "inside 95.4 % conformal interval"),
)


def parse_int_list(text: str, option: str) -> tuple[int, ...]:
    """Parse ``"64,64"`` into ``(64, 64)``; a bad entry is a ``ValueError`` naming the option."""
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"{option} expects comma-separated integers, got '{text}'") from None
    if not values or min(values) < 1:
        raise ValueError(f"{option} expects positive integers, got '{text}'")
    return values


def parse_float_list(text: str, option: str) -> tuple[float, ...]:
    """Parse ``"300,600"`` into ``(300.0, 600.0)``; a bad or empty list is a UserInputError at *option*."""
    from nnsurrogate.core.errors import UserInputError

    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise UserInputError(f"expects comma-separated numbers, got '{text}'", option) from None
    if not values:
        raise UserInputError("expects at least one number", option)
    return values


def metrics_table(metrics: dict, title: str, unit: str | None = None) -> Table:
    """A two-column table of the standard regression metrics that are present and finite."""
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, label in _METRIC_LABELS:
        value = metrics.get(key)
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            continue
        suffix = f" {unit}" if unit and key in ("mae", "rmse", "max_error") else ""
        table.add_row(label, f"{value:.4g}{suffix}")
    return table
