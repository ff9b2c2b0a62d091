"""XRD: the phase and lattice parameter refined elsewhere (Rietveld), stored as results.

The refinement itself runs in the diffractometer's software; its numbers arrive in the
measurement's conditions. The lattice parameter feeds the batch's density analysis.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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


def analyse(dataset: Any, params: Mapping[str, Any]) -> Outcome:
    a = params.get("lattice_parameter_A")
    phase = str(params.get("phase") or "")
    if a is None and not phase:
        raise AnalysisError(
            "XRD: give lattice_parameter_A and phase in the measurement's conditions."
        )
    values = [] if a is None else [Value("lattice_parameter_A", float(a))]
    flags = []
    if phase and phase.lower() != "cubic":
        flags.append(
            FlagSpec(
                "phase",
                f"Phase '{phase}': cubic garnet is wanted (tetragonal or La2Zr2O7 is a failure).",
                {"phase": "cubic"},
            )
        )
    return Outcome(values=values, summary={"phase": phase}, flags=flags)


register(
    Analysis(
        key="xrd",
        title="XRD",
        version=1,
        function=analyse,
        needs_file=False,
        params=(
            Param("lattice_parameter_A", None, "Cubic lattice parameter from Rietveld"),
            Param("phase", None, "Main phase (cubic, tetragonal ...)"),
        ),
        quantities=(Quantity("lattice_parameter_A", "Å", "cubic lattice parameter"),),
    )
)
