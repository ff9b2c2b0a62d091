"""Martens hardness of a foil from a table of indents (ISO 14577, Vickers tip)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from analysis.analyses import _curves
from analysis.registry import Analysis, Outcome, Param, Quantity, Value, finite_or_none, register
from analysis.science import hardness


def analyse(dataset: Any, params: Mapping[str, Any]) -> Outcome:
    data = dataset.data
    _curves.require_columns(
        "Hardness", data, ("force_mN", "depth_um"), "an indentation table (Fmax, hmax)"
    )
    hm = np.asarray(
        hardness.martens_hardness(
            data["force_mN"].to_numpy(dtype=float),
            data["depth_um"].to_numpy(dtype=float),
            str(params["indenter"]),
        ),
        dtype=float,
    )
    stats = hardness.summarize(hm)
    values = [
        Value(
            "martens_hardness_N_mm2",
            stats.mean_N_mm2,
            std_error=finite_or_none(stats.std_error_N_mm2),
            sd=finite_or_none(stats.std_N_mm2),
            n=stats.n,
        ),
        Value("martens_hardness_median_N_mm2", stats.median_N_mm2),
    ]
    return Outcome(values=values, summary={"hm_N_mm2": hm.tolist(), "indenter": params["indenter"]})


register(
    Analysis(
        key="hardness",
        title="Hardness",
        version=1,
        function=analyse,
        require=("force_mN", "depth_um"),
        formats=("text", "xlsx"),  # indentation tables (CSV/TSV/XLSX)
        params=(Param("indenter", "vickers", "Indenter geometry (vickers or berkovich)"),),
        quantities=(
            Quantity("martens_hardness_N_mm2", "N/mm²", "Martens hardness: mean, sd, n"),
            Quantity("martens_hardness_median_N_mm2", "N/mm²", "median over the indents"),
        ),
    )
)
