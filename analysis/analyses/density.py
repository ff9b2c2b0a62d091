"""Pellet density: geometric (or a measured value) against the XRD density of the batch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analysis.analyses import _records
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
from analysis.science import density


def analyse(dataset: Any, params: Mapping[str, Any]) -> Outcome:
    measured = params.get("density_g_cm3")
    if measured is None:
        missing = [n for n in ("mass_g", "diameter_mm", "thickness_mm") if not params.get(n)]
        if missing:
            raise AnalysisError(
                f"Density: {', '.join(missing)} not recorded on the pellet; enter them, or "
                "give density_g_cm3 in the measurement's conditions."
            )
        measured = density.geometric_density(
            float(params["mass_g"]), float(params["diameter_mm"]), float(params["thickness_mm"])
        )
    values = [Value("density_g_cm3", float(measured))]
    summary: dict[str, Any] = {"method": "given" if params.get("density_g_cm3") else "geometric"}
    flags = []
    formula, a = params.get("formula"), params.get("lattice_parameter_A")
    if formula and a:
        theoretical = density.xrd_density(str(formula), float(a), int(params["z"]))
        relative = density.relative_density(float(measured), theoretical)
        values += [
            Value("theoretical_density_g_cm3", theoretical),
            Value("relative_density_pct", relative),
        ]
        minimum = float(params["min_relative_density_pct"])
        if relative < minimum:
            flags.append(
                FlagSpec(
                    "density_low",
                    f"Relative density {relative:.1f} % is below the minimum {minimum:g} %.",
                    {"min_relative_density_pct": minimum},
                )
            )
    else:
        summary["note"] = "No formula or lattice parameter: relative density not computed."
    return Outcome(values=values, summary=summary, flags=flags)


register(
    Analysis(
        key="density",
        title="Density",
        version=1,
        function=analyse,
        needs_file=False,
        params=(
            Param("density_g_cm3", None, "A measured density (e.g. Archimedes) instead of m/V"),
            Param("mass_g", None, "Pellet mass", _records.pellet_field("mass_g")),
            Param("diameter_mm", None, "Pellet diameter", _records.pellet_field("diameter_mm")),
            Param("thickness_mm", None, "Pellet thickness", _records.pellet_field("thickness_mm")),
            Param("formula", None, "Formula of the garnet", _records.batch_formula),
            Param(
                "lattice_parameter_A",
                12.96,
                "Cubic lattice parameter (the batch's XRD result when there is one)",
                _records.batch_lattice_parameter_A,
            ),
            Param("z", 8, "Formula units per cubic cell (8 for garnet)"),
            Param("min_relative_density_pct", 95.0, "Flag a pellet below this relative density"),
        ),
        quantities=(
            Quantity("density_g_cm3", "g/cm³", "measured density"),
            Quantity("theoretical_density_g_cm3", "g/cm³", "XRD density Z·M/(N_A·a³)"),
            Quantity("relative_density_pct", "%", "measured / theoretical"),
        ),
    )
)
