"""Galvanostatic cycling: overpotential per half cycle and whether (and when) the cell shorted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from analysis.analyses import _curves, _records
from analysis.registry import Analysis, AnalysisError, Outcome, Param, Quantity, Value, register
from analysis.science import cycling


def analyse(dataset: Any, params: Mapping[str, Any]) -> Outcome:
    data = dataset.data
    _curves.require_columns(
        "Cycling", data, ("time_s", "current_mA", "voltage_V"), "a cycling test"
    )
    area = params.get("area_cm2")
    if not area:
        raise AnalysisError("Cycling: no electrode area is known; re-run with area_cm2.")
    result = cycling.analyze(
        data["time_s"].to_numpy(dtype=float),
        data["current_mA"].to_numpy(dtype=float),
        data["voltage_V"].to_numpy(dtype=float),
        float(area),
    )
    if not result.half_cycles:
        raise AnalysisError("Cycling: no half cycle found; is this a cycling test?")
    overpotentials = np.array([h.overpotential_V for h in result.half_cycles])
    values = [
        Value("half_cycles_count", float(len(result.half_cycles))),
        Value("median_overpotential_V", float(np.median(overpotentials))),
        Value("shorted", 1.0 if result.shorted else 0.0),
    ]
    if result.first_short_half_cycle is not None:
        values.append(Value("first_short_half_cycle", float(result.first_short_half_cycle)))
    summary = {
        "shorted": result.shorted,
        "first_short_half_cycle": result.first_short_half_cycle,
        "half_cycles": [h.to_dict() for h in result.half_cycles[: _curves.PLOT_POINTS]],
    }
    return Outcome(values=values, summary=summary)


register(
    Analysis(
        key="cycling",
        title="Cycling",
        version=1,
        function=analyse,
        params=(Param("area_cm2", None, "Electrode area", _records.electrode_area_cm2),),
        quantities=(
            Quantity("half_cycles_count", "", "half cycles analysed"),
            Quantity("median_overpotential_V", "V", "median overpotential over half cycles"),
            Quantity("shorted", "", "1 when the cell shorted"),
            Quantity("first_short_half_cycle", "", "index of the first shorted half cycle"),
        ),
    )
)
