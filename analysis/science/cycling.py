"""Galvanostatic cycling: per half cycle current density, capacity, overpotential; shorts.

Units: time in s, current in mA, area in cm^2, voltage in V, capacity in mAh/cm^2.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from analysis.science._result import ResultMixin
from analysis.science._segments import current_segments, polarization_sign, sudden_drops
from analysis.science._validation import array_1d, positive, same_length

__all__ = ["CyclingResult", "HalfCycle", "analyze"]


@dataclass(frozen=True)
class HalfCycle(ResultMixin):
    """One half cycle (constant current of one sign).

    ``overpotential_V`` is the largest |V| in the half cycle, ``mean_abs_voltage_V`` the mean.
    ``short`` is "" or the criterion that flagged it ("voltage_drop" or "collapse").
    """

    index: int
    cycle: int
    direction: str
    current_density_mA_cm2: float
    capacity_mAh_cm2: float
    start_time_s: float
    end_time_s: float
    overpotential_V: float
    mean_abs_voltage_V: float
    short: str


@dataclass(frozen=True)
class CyclingResult(ResultMixin):
    """All half cycles; ``shorted`` and the first shorted half cycle, if any."""

    half_cycles: list[HalfCycle]
    shorted: bool
    first_short_half_cycle: int | None
    parameters: dict[str, float] = field(default_factory=dict)


def analyze(
    time_s: ArrayLike,
    current_mA: ArrayLike,
    voltage_V: ArrayLike,
    area_cm2: float,
    drop_fraction: float = 0.5,
    drop_window_s: float = 60.0,
    min_polarization_V: float = 0.005,
    confirm_points: int = 2,
    collapse_fraction: float = 0.2,
    reference_half_cycles: int = 10,
    level_tolerance: float = 0.005,
    zero_current_mA: float = 1e-9,
) -> CyclingResult:
    """Analyse a galvanostatic cycling record half cycle by half cycle.

    Half cycles are runs of constant current sign and level (within ``level_tolerance``);
    rests are skipped. Per half cycle: current density = mean |I| / A, areal capacity
    Q = integral |I| dt / (3600 A) (trapezoid rule), overpotential = max |V|. The half cycle
    index k gives cycle k // 2; "plating"/"stripping" follow the sign of the current
    (positive = stripping from the working electrode, EC-Lab's convention).

    A half cycle is flagged shorted when either
      * "voltage_drop": within it the polarization drops suddenly (same detector and defaults
        as :func:`analysis.science.ccd.detect`: >= 50 % of its running maximum within 60 s,
        maximum >= 5 mV, lasting 2 samples), or
      * "collapse": its overpotential is below ``collapse_fraction`` (20 %) of the median
        overpotential of the previous ``reference_half_cycles`` (10) half cycles at the same
        current density - an electronic path carries the current (hard short).
    Reference: e.g. Kasemchainan et al., Nat. Mater. 18, 1105 (2019); Albertus et al.,
    Nat. Energy 3, 16 (2018) (short-circuit signatures in Li metal cycling).
    """
    t = array_1d("time_s", time_s)
    current = array_1d("current_mA", current_mA)
    v = array_1d("voltage_V", voltage_V)
    same_length(time_s=t, current_mA=current, voltage_V=v)
    area = positive("area_cm2", area_cm2)
    fraction = positive("drop_fraction", drop_fraction)
    collapse = positive("collapse_fraction", collapse_fraction)
    if fraction >= 1.0 or collapse >= 1.0:
        raise ValueError("drop_fraction and collapse_fraction must be < 1")
    window = positive("drop_window_s", drop_window_s)
    min_pol = positive("min_polarization_V", min_polarization_V)
    tolerance = positive("level_tolerance", level_tolerance)
    zero = positive("zero_current_mA", zero_current_mA)
    if (
        isinstance(reference_half_cycles, bool)
        or not isinstance(reference_half_cycles, int)
        or reference_half_cycles < 1
    ):
        raise ValueError("reference_half_cycles must be a positive integer")
    if (
        isinstance(confirm_points, bool)
        or not isinstance(confirm_points, int)
        or confirm_points < 1
    ):
        raise ValueError("confirm_points must be a positive integer")
    if np.any(np.diff(t) < 0):
        raise ValueError("time_s must be non-decreasing")
    segment = current_segments(current, zero, tolerance)
    if not np.any(segment >= 0):
        raise ValueError("current_mA is zero everywhere: no half cycle to analyse")

    polarization = v * np.sign(current) * polarization_sign(current, v)
    drops = sudden_drops(t, polarization, segment, fraction, window, min_pol, confirm_points)

    index = np.flatnonzero(segment >= 0)
    seg = segment[index]
    n_seg = int(seg.max()) + 1
    starts = np.searchsorted(seg, np.arange(n_seg), side="left")
    abs_i = np.abs(current[index])
    ti = t[index]
    # Trapezoids between consecutive points of the same half cycle, summed per half cycle.
    same = seg[1:] == seg[:-1]
    pieces = np.where(same, (abs_i[1:] + abs_i[:-1]) * np.diff(ti) / 2.0, 0.0)
    charge_mAs = np.bincount(seg[:-1], weights=pieces, minlength=n_seg)
    counts = np.bincount(seg, minlength=n_seg)
    mean_i = np.bincount(seg, weights=abs_i, minlength=n_seg) / counts
    abs_v = np.abs(v[index])
    max_v = np.maximum.reduceat(abs_v, starts)
    mean_v = np.bincount(seg, weights=abs_v, minlength=n_seg) / counts
    dropped = np.bincount(seg, weights=drops[index].astype(np.float64), minlength=n_seg) > 0
    ends = np.append(starts[1:], index.size) - 1
    sign = np.sign(current[index][starts])
    density = mean_i / area

    half_cycles: list[HalfCycle] = []
    # Recent overpotentials per current-density level (few levels, so a linear key search).
    history: dict[float, deque[float]] = {}
    for k in range(n_seg):
        reason = "voltage_drop" if dropped[k] else ""
        level = next(
            (key for key in history if abs(key - density[k]) <= tolerance * density[k]), None
        )
        if level is None:
            level = float(density[k])
            history[level] = deque(maxlen=reference_half_cycles)
        recent = history[level]
        if not reason and recent and max_v[k] < collapse * float(np.median(recent)):
            reason = "collapse"
        recent.append(float(max_v[k]))
        half_cycles.append(
            HalfCycle(
                index=k,
                cycle=k // 2,
                direction="stripping" if sign[k] > 0 else "plating",
                current_density_mA_cm2=float(density[k]),
                capacity_mAh_cm2=float(charge_mAs[k] / 3600.0 / area),
                start_time_s=float(ti[starts[k]]),
                end_time_s=float(ti[ends[k]]),
                overpotential_V=float(max_v[k]),
                mean_abs_voltage_V=float(mean_v[k]),
                short=reason,
            )
        )
    first = next((h.index for h in half_cycles if h.short), None)
    return CyclingResult(
        half_cycles=half_cycles,
        shorted=first is not None,
        first_short_half_cycle=first,
        parameters={
            "area_cm2": area,
            "drop_fraction": fraction,
            "drop_window_s": window,
            "min_polarization_V": min_pol,
            "confirm_points": float(confirm_points),
            "collapse_fraction": collapse,
            "reference_half_cycles": float(reference_half_cycles),
            "level_tolerance": tolerance,
        },
    )
