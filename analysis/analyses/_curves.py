"""Shared handling of time series: current density from a file, thinned curves for plots."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from analysis.registry import AnalysisError

#: Curves kept in a revision's summary for its plots, at most this many points.
PLOT_POINTS = 4000


def current_density(title: str, data: Any, params: Mapping[str, Any]) -> np.ndarray:
    """mA/cm² from the file's density column, or its current divided by ``area_cm2``."""
    if "current_density_mA_cm2" in data.columns:
        return data["current_density_mA_cm2"].to_numpy(dtype=float)
    if "current_mA" not in data.columns:
        raise AnalysisError(f"{title}: the file has no current column (I/mA or a density).")
    area = params.get("area_cm2")
    if not area:
        raise AnalysisError(
            f"{title}: the file gives current in mA and no electrode area is known; "
            "record the cell's separator diameter or mask area, or re-run with area_cm2."
        )
    return data["current_mA"].to_numpy(dtype=float) / float(area)


def require_columns(title: str, data: Any, names: tuple[str, ...], what: str) -> None:
    missing = [c for c in names if c not in data.columns]
    if missing:
        raise AnalysisError(
            f"{title}: the file has no {', '.join(missing)} column; is this {what}?"
        )


def thinned(**columns: np.ndarray) -> dict[str, list[float]]:
    """Every column sampled at the same at most :data:`PLOT_POINTS` evenly spaced rows."""
    n = len(next(iter(columns.values())))
    index = np.unique(np.linspace(0, n - 1, min(n, PLOT_POINTS)).astype(int))
    return {name: np.asarray(values)[index].tolist() for name, values in columns.items()}
