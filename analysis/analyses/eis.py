"""Impedance: Kramers–Kronig check, equivalent-circuit fit, arcs labelled by capacitance.

Resistances are summed per arc class (bulk, grain boundary, interface) from the capacitance
assignment; the interface ASR is per interface (÷ ``interfaces``, 2 for a symmetric cell); the
conductivity uses everything but the interface arcs as the electrolyte resistance.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from analysis.analyses import _records
from analysis.registry import (
    Analysis,
    AnalysisError,
    FlagSpec,
    Outcome,
    Param,
    Quantity,
    Value,
    finite_or_none,
    register,
)
from analysis.science import eis

IMPEDANCE_COLUMNS = ("freq_Hz", "z_real_ohm", "z_imag_ohm")
ARC_CLASSES = ("bulk", "grain_boundary", "interface")


def spectrum(data: Any, params: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """The frequencies and impedances to fit: one sweep (``sweep``, default the last; EC-Lab
    numbers the sweeps of a file in its ``cycle`` column) within ``f_min_Hz``..``f_max_Hz``,
    zero-frequency rows dropped."""
    data = data[data["freq_Hz"] > 0]
    chosen: dict[str, Any] = {}
    if "cycle" in data.columns and data["cycle"].nunique() > 1:
        sweeps = sorted(int(c) for c in data["cycle"].unique())
        sweep = params.get("sweep")
        sweep = sweeps[-1] if sweep is None else int(sweep)
        if sweep not in sweeps:
            raise AnalysisError(f"EIS: the file has sweeps {sweeps}; there is no sweep {sweep}.")
        data = data[data["cycle"] == sweep]
        chosen["sweep"] = sweep
    if params.get("f_max_Hz") is not None:
        data = data[data["freq_Hz"] <= float(params["f_max_Hz"])]
    if params.get("f_min_Hz") is not None:
        data = data[data["freq_Hz"] >= float(params["f_min_Hz"])]
    freq = data["freq_Hz"].to_numpy(dtype=float)
    z = data["z_real_ohm"].to_numpy(dtype=float) + 1j * data["z_imag_ohm"].to_numpy(dtype=float)
    return freq, z, chosen


def analyse(dataset: Any, params: Mapping[str, Any]) -> Outcome:
    data = dataset.data
    missing = [c for c in IMPEDANCE_COLUMNS if c not in data.columns]
    if missing:
        technique = dataset.meta.get("technique") or dataset.meta.get("format", "this file")
        raise AnalysisError(
            f"EIS: {dataset.meta.get('filename', 'the file')} has no impedance columns "
            f"({', '.join(missing)} missing; it is a {technique} file). Is this an impedance "
            "measurement?"
        )
    freq, z, chosen = spectrum(data, params)
    circuit = str(params["circuit"])
    n_params = len(eis.parse_circuit(circuit).parameter_names)
    if freq.size < max(5, n_params):
        raise AnalysisError(
            f"EIS: {freq.size} frequencies to fit; {circuit} needs at least "
            f"{max(5, n_params)}. Widen f_min_Hz/f_max_Hz or pick another sweep."
        )
    kk = eis.kramers_kronig(
        freq, z, max_rms_residual_percent=float(params["kk_max_rms_residual_pct"])
    )
    result = eis.fit(
        freq, z, circuit, undetermined_relative_error=float(params["max_relative_error"])
    )

    # Resistances the spectrum does not determine (an arc outside the window, a degenerate fit)
    # are left out: a sum that needs one is not stored rather than stored wrong.
    undetermined = set(result.undetermined)
    totals: dict[str, list[float]] = {label: [0.0, 0.0] for label in ARC_CLASSES}
    found: set[str] = set()
    for arc in result.arcs:
        label = arc.assignment.label
        if label in totals and arc.determined:
            found.add(label)
            totals[label][0] += arc.resistance_ohm
            totals[label][1] += arc.resistance_std_error_ohm**2
    arc_resistances = {a.resistance_name for a in result.arcs}
    series = [n for n in result.parameters if n.startswith("R") and n not in arc_resistances]
    resistances = series + sorted(arc_resistances)

    values = [
        Value("kk_rms_residual_pct", kk.rms_residual_percent),
        Value("fit_rms_residual_pct", 100.0 * result.relative_rms_residual),
    ]
    if series and not undetermined & set(series):
        r_series_se = math.sqrt(sum(result.std_errors.get(n, 0.0) ** 2 for n in series))
        values.append(
            Value(
                "r_series_ohm",
                sum(result.parameters[n] for n in series),
                finite_or_none(r_series_se),
            )
        )
    r_total = None
    if not undetermined & set(resistances):
        r_total = sum(result.parameters[n] for n in resistances)
        values.append(Value("r_total_ohm", r_total))
    for label in ARC_CLASSES:
        if label in found:
            r, var = totals[label]
            values.append(Value(f"r_{label}_ohm", r, finite_or_none(math.sqrt(var))))
    area = params.get("area_cm2")
    interfaces = int(params["interfaces"])
    if "interface" in found and area:
        r_if, var = totals["interface"]
        values.append(
            Value(
                "asr_interface_ohm_cm2",
                eis.asr(r_if, float(area), interfaces),
                finite_or_none(math.sqrt(var) * float(area) / interfaces),
            )
        )
    thickness_um = params.get("thickness_um")
    if r_total is not None and area and thickness_um:
        r_electrolyte = r_total - (totals["interface"][0] if "interface" in found else 0.0)
        if r_electrolyte > 0:
            values.append(
                Value(
                    "conductivity_S_cm",
                    eis.conductivity(r_electrolyte, float(thickness_um) / 1000.0, float(area)),
                )
            )

    flags = []
    if not kk.valid:
        flags.append(
            FlagSpec(
                "kk_failed",
                f"Kramers–Kronig residual {kk.rms_residual_percent:.2f} % RMS exceeds "
                f"{kk.max_rms_residual_percent:g} %: the spectrum drifted, is non-linear or noisy.",
                {"kk_max_rms_residual_pct": kk.max_rms_residual_percent},
            )
        )
    if result.undetermined:
        flags.append(
            FlagSpec(
                "not_identifiable",
                f"{', '.join(result.undetermined)} not determined by the spectrum (relative "
                f"standard error above {result.undetermined_relative_error:.0%}).",
                {"max_relative_error": result.undetermined_relative_error},
            )
        )
    order = np.argsort(-freq, kind="stable")  # the fit's order: highest frequency first
    summary = {
        **chosen,
        "circuit": circuit,
        "n_points": int(freq.size),
        "parameters": result.parameters,
        "std_errors": result.std_errors,
        "units": result.units,
        "undetermined": result.undetermined,
        "correlations": result.correlations,
        "weighting": result.weighting,
        "chi_square": result.chi_square,
        "reduced_chi_square": result.reduced_chi_square,
        "aic": result.aic,
        "bic": result.bic,
        "arcs": [
            {
                "resistance_name": a.resistance_name,
                "resistance_ohm": a.resistance_ohm,
                "resistance_std_error_ohm": finite_or_none(a.resistance_std_error_ohm),
                "capacitance_F": a.capacitance_F,
                "characteristic_freq_Hz": a.characteristic_freq_Hz,
                "label": a.assignment.label,
                "reason": a.assignment.reason,
            }
            for a in result.arcs
        ],
        "kk": {
            "valid": kk.valid,
            "rms_residual_pct": kk.rms_residual_percent,
            "n_rc": kk.n_rc,
        },
        "notes": list(result.notes),
        "freq_Hz": result.freq_Hz.tolist(),
        "z_real_ohm": z.real[order].tolist(),
        "z_imag_ohm": z.imag[order].tolist(),
        "z_fit_real_ohm": result.z_fit_ohm.real.tolist(),
        "z_fit_imag_ohm": result.z_fit_ohm.imag.tolist(),
    }
    return Outcome(values=values, summary=summary, flags=flags)


register(
    Analysis(
        key="eis",
        title="EIS fit",
        version=1,
        function=analyse,
        require=IMPEDANCE_COLUMNS,
        params=(
            Param(
                "circuit",
                "R0-p(R1,CPE1)-p(R2,CPE2)",
                "Equivalent circuit (impedance.py notation); arcs are labelled by capacitance",
            ),
            Param("sweep", None, "Sweep to fit when the file holds several (default: the last)"),
            Param("f_min_Hz", None, "Ignore points below this frequency"),
            Param("f_max_Hz", None, "Ignore points above this frequency (cable artefacts)"),
            Param(
                "area_cm2",
                None,
                "Electrode area for ASR and conductivity (the cell's mask or separator face)",
                _records.electrode_area_cm2,
            ),
            Param("thickness_um", None, "Electrolyte thickness", _records.separator_thickness_um),
            Param("interfaces", 2, "Interfaces in series (2 for a symmetric cell)"),
            Param("kk_max_rms_residual_pct", 1.0, "Kramers–Kronig acceptance: RMS residual, %"),
            Param(
                "asr_rise_factor",
                2.0,
                "Flag the cell when its interface ASR rises by more than this factor",
            ),
            Param(
                "max_relative_error",
                0.5,
                "A parameter whose relative standard error exceeds this is not identifiable",
            ),
        ),
        quantities=(
            Quantity("r_series_ohm", "Ω", "series resistance (high-frequency intercept)"),
            Quantity("r_bulk_ohm", "Ω", "LLZO bulk arc resistance"),
            Quantity("r_grain_boundary_ohm", "Ω", "grain-boundary arc resistance"),
            Quantity("r_interface_ohm", "Ω", "electrode interface arc resistance (both)"),
            Quantity("r_total_ohm", "Ω", "low-frequency intercept: all resistances"),
            Quantity("asr_interface_ohm_cm2", "Ω·cm²", "interface ASR per interface"),
            Quantity("conductivity_S_cm", "S/cm", "electrolyte conductivity L/(R·A)"),
            Quantity("kk_rms_residual_pct", "%", "Kramers–Kronig RMS residual"),
            Quantity("fit_rms_residual_pct", "%", "fit RMS residual relative to |Z|"),
        ),
    )
)
