"""Critical current density: stepped stripping/plating until contact loss or a soft short."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analysis.analyses import _curves, _records
from analysis.registry import (
    Analysis,
    AnalysisError,
    FlagSpec,
    Outcome,
    Param,
    Quantity,
    Value,
    register,
)
from analysis.science import ccd

TITLE = "CCD"


def analyse(dataset: Any, params: Mapping[str, Any]) -> Outcome:
    data = dataset.data
    _curves.require_columns(TITLE, data, ("time_s", "voltage_V"), "a CCD test")
    i = _curves.current_density(TITLE, data, params)
    t = data["time_s"].to_numpy(dtype=float)
    v = data["voltage_V"].to_numpy(dtype=float)
    try:
        result = ccd.detect(
            t,
            i,
            v,
            cutoff_V=float(params["cutoff_V"]),
            drop_fraction=float(params["drop_fraction"]),
            drop_window_s=float(params["drop_window_s"]),
            min_polarization_V=float(params["min_polarization_V"]),
        )
    except ValueError as exc:
        if "zero everywhere" in str(exc):
            raise AnalysisError(f"{TITLE}: no current steps found; is this a CCD test?") from exc
        raise
    if len(result.steps) < 2:
        raise AnalysisError(
            f"{TITLE}: {len(result.steps)} current step found, but a CCD test raises the "
            "current step by step; is this a CCD test?"
        )
    values = [
        Value("ccd_mA_cm2", result.ccd_mA_cm2, is_lower_bound=result.is_lower_bound),
        Value("steps_count", float(len(result.steps))),
        Value("max_overpotential_V", max(s.overpotential_V for s in result.steps)),
    ]
    flags = []
    if result.is_lower_bound:
        flags.append(
            FlagSpec(
                "ccd_lower_bound",
                f"No step failed up to {result.ccd_mA_cm2:g} mA/cm²: report the CCD as "
                f"> {result.ccd_mA_cm2:g} mA/cm².",
                {"cutoff_V": float(params["cutoff_V"])},
            )
        )
    summary = {
        "criterion": result.criterion,
        "is_lower_bound": result.is_lower_bound,
        "failed_step_index": result.failed_step_index,
        "failure_time_s": result.failure_time_s,
        "temperature_C": params.get("temperature_C"),
        "steps": [s.to_dict() for s in result.steps],
        "curve": _curves.thinned(time_s=t, voltage_V=v, current_density_mA_cm2=i),
    }
    return Outcome(values=values, summary=summary, flags=flags)


register(
    Analysis(
        key="ccd",
        title="CCD",
        version=1,
        function=analyse,
        params=(
            Param("area_cm2", None, "Electrode area", _records.electrode_area_cm2),
            Param("cutoff_V", 1.0, "Polarization cut-off |V| (contact loss)"),
            Param("drop_fraction", 0.5, "Sudden polarization drop that marks a soft short"),
            Param("drop_window_s", 60.0, "The drop must come within this time of the maximum"),
            Param("min_polarization_V", 0.005, "Smallest polarization a drop is judged from"),
            Param(
                "temperature_C",
                None,
                "Test temperature",
                lambda m: m.temperature_C,
            ),
        ),
        quantities=(
            Quantity("ccd_mA_cm2", "mA/cm²", "critical current density (> value: lower bound)"),
            Quantity("steps_count", "", "current-density steps applied"),
            Quantity("max_overpotential_V", "V", "largest overpotential of any step"),
        ),
    )
)
