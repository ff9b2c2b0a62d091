"""Total stripping: capacity to the voltage cut-off, thickness removed, Sand diffusivity."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analysis.analyses import _curves, _records
from analysis.registry import Analysis, AnalysisError, Outcome, Param, Quantity, Value, register
from analysis.science import stripping


def analyse(dataset: Any, params: Mapping[str, Any]) -> Outcome:
    data = dataset.data
    _curves.require_columns(
        "Stripping", data, ("time_s", "current_mA", "voltage_V"), "a stripping test"
    )
    area = params.get("area_cm2")
    if not area:
        raise AnalysisError("Stripping: no electrode area is known; re-run with area_cm2.")
    t = data["time_s"].to_numpy(dtype=float)
    i = data["current_mA"].to_numpy(dtype=float)
    v = data["voltage_V"].to_numpy(dtype=float)
    result = stripping.analyze(
        t, i, v, float(area), float(params["cutoff_V"]), metal=str(params["metal"])
    )
    bound = result.is_lower_bound
    values = [
        Value("capacity_mAh_cm2", result.capacity_mAh_cm2, is_lower_bound=bound),
        Value("stripped_thickness_um", result.stripped_thickness_um, is_lower_bound=bound),
        Value("current_density_mA_cm2", result.current_density_mA_cm2),
        Value("transition_time_s", result.transition_time_s, is_lower_bound=bound),
        Value(
            "effective_diffusivity_cm2_s", result.effective_diffusivity_cm2_s, is_lower_bound=bound
        ),
    ]
    summary = {**result.to_dict(), "curve": _curves.thinned(time_s=t, voltage_V=v, current_mA=i)}
    return Outcome(values=values, summary=summary)


register(
    Analysis(
        key="stripping",
        title="Stripping",
        version=1,
        function=analyse,
        params=(
            Param("area_cm2", None, "Electrode area", _records.electrode_area_cm2),
            Param("cutoff_V", 1.0, "Voltage cut-off that ends the stripping"),
            Param("metal", "Li", "Stripped metal (Li or Na)"),
        ),
        quantities=(
            Quantity("capacity_mAh_cm2", "mAh/cm²", "stripped capacity"),
            Quantity("stripped_thickness_um", "µm", "metal thickness removed"),
            Quantity("current_density_mA_cm2", "mA/cm²", "stripping current density"),
            Quantity("transition_time_s", "s", "time to the cut-off (Sand's τ)"),
            Quantity("effective_diffusivity_cm2_s", "cm²/s", "D_eff from Sand's equation"),
        ),
    )
)
