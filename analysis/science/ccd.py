"""Critical current density from a stepped galvanostatic stripping/plating test.

Units: time in s, current density in mA/cm^2, voltage in V.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from analysis.science._result import ResultMixin
from analysis.science._segments import (
    current_segments,
    level_steps,
    polarization_sign,
    sudden_drops,
)
from analysis.science._validation import array_1d, positive, same_length

__all__ = ["CCDResult", "CCDStep", "detect"]


@dataclass(frozen=True)
class CCDStep(ResultMixin):
    """One current-density step: its level, time span and overpotential.

    ``overpotential_V`` is the largest |V| reached in the step (the polarization at the end of
    its half cycles); ``mean_abs_voltage_V`` the mean |V| over its current-carrying points.
    """

    index: int
    current_density_mA_cm2: float
    start_time_s: float
    end_time_s: float
    overpotential_V: float
    mean_abs_voltage_V: float
    n_points: int


@dataclass(frozen=True)
class CCDResult(ResultMixin):
    """Critical current density and how it was decided.

    ``criterion``: "cutoff" (|V| reached ``cutoff_V``: contact loss), "voltage_drop" (sudden
    loss of polarization at constant current: soft short) or "none" (no step failed; then
    ``is_lower_bound`` is True and ``ccd_mA_cm2`` is the highest current density applied,
    to be reported as "> value").
    """

    ccd_mA_cm2: float
    criterion: str
    is_lower_bound: bool
    failed_step_index: int | None
    failure_time_s: float | None
    steps: list[CCDStep]
    parameters: dict[str, float] = field(default_factory=dict)


def detect(
    time_s: ArrayLike,
    current_density_mA_cm2: ArrayLike,
    voltage_V: ArrayLike,
    cutoff_V: float = 1.0,
    drop_fraction: float = 0.5,
    drop_window_s: float = 60.0,
    min_polarization_V: float = 0.005,
    confirm_points: int = 2,
    level_tolerance: float = 0.005,
    zero_current_mA_cm2: float = 1e-6,
) -> CCDResult:
    """Split a stepped CCD test into current-density steps and find the critical step.

    Steps: consecutive current-carrying points whose |i| stays within ``level_tolerance``
    (0.5 %: above galvanostat noise, below the 1 % between 4.95 and 5.0 mA/cm^2 at the top of
    a 0.05-mA/cm^2-increment protocol) of the previous point's; rests (|i| <= ``zero_current_mA_cm2``) and sign reversals
    (plating <-> stripping) stay in the step. The test fails at the first point where
    either |V| >= ``cutoff_V`` (criterion "cutoff", default 1.0 V) or, within a half cycle
    of constant current, the polarization drops suddenly: by at least ``drop_fraction``
    (50 %) of its running maximum, no later than ``drop_window_s`` (60 s) after that maximum,
    with the maximum at least ``min_polarization_V`` (5 mV, above potentiostat noise) and
    the drop lasting ``confirm_points`` (2) samples (criterion "voltage_drop", a soft short).
    The CCD is the current density of the step holding that point. If nothing fails, the CCD
    is the highest current density applied with ``is_lower_bound=True``.
    Vectorised over points; the only Python loop runs over steps.
    Reference: Sharafi et al., J. Power Sources 302, 135 (2016); Kasemchainan et al.,
    Nat. Mater. 18, 1105 (2019) (CCD protocols and failure signatures on LLZO).
    """
    t = array_1d("time_s", time_s)
    i = array_1d("current_density_mA_cm2", current_density_mA_cm2)
    v = array_1d("voltage_V", voltage_V)
    same_length(time_s=t, current_density_mA_cm2=i, voltage_V=v)
    cutoff = positive("cutoff_V", abs(cutoff_V) if isinstance(cutoff_V, int | float) else cutoff_V)
    fraction = positive("drop_fraction", drop_fraction)
    if fraction >= 1.0:
        raise ValueError("drop_fraction must be < 1")
    window = positive("drop_window_s", drop_window_s)
    min_pol = positive("min_polarization_V", min_polarization_V)
    tolerance = positive("level_tolerance", level_tolerance)
    zero = positive("zero_current_mA_cm2", zero_current_mA_cm2)
    if (
        isinstance(confirm_points, bool)
        or not isinstance(confirm_points, int)
        or confirm_points < 1
    ):
        raise ValueError(f"confirm_points must be a positive integer, got {confirm_points!r}")
    if np.any(np.diff(t) < 0):
        raise ValueError("time_s must be non-decreasing")
    if not np.any(np.abs(i) > zero):
        raise ValueError("current_density_mA_cm2 is zero everywhere: no step to analyse")

    step = level_steps(i, zero, tolerance)
    segment = current_segments(i, zero, tolerance)
    polarization = v * np.sign(i) * polarization_sign(i, v)
    drops = sudden_drops(t, polarization, segment, fraction, window, min_pol, confirm_points)
    beyond = (np.abs(v) >= cutoff) & (step >= 0)

    first_cut = int(np.argmax(beyond)) if beyond.any() else None
    first_drop = int(np.argmax(drops)) if drops.any() else None
    steps = _summaries(t, i, v, step, zero)
    parameters = {
        "cutoff_V": cutoff,
        "drop_fraction": fraction,
        "drop_window_s": window,
        "min_polarization_V": min_pol,
        "confirm_points": float(confirm_points),
        "level_tolerance": tolerance,
    }
    candidates = [
        (k, name)
        for k, name in ((first_cut, "cutoff"), (first_drop, "voltage_drop"))
        if k is not None
    ]
    if not candidates:
        return CCDResult(
            ccd_mA_cm2=max(s.current_density_mA_cm2 for s in steps),
            criterion="none",
            is_lower_bound=True,
            failed_step_index=None,
            failure_time_s=None,
            steps=steps,
            parameters=parameters,
        )
    # Earliest failure wins; on a tie the cut-off, the harder criterion.
    point, criterion = min(candidates, key=lambda c: (c[0], c[1] != "cutoff"))
    failed = int(step[point])
    return CCDResult(
        ccd_mA_cm2=steps[failed].current_density_mA_cm2,
        criterion=criterion,
        is_lower_bound=False,
        failed_step_index=failed,
        failure_time_s=float(t[point]),
        steps=steps,
        parameters=parameters,
    )


def _summaries(
    t: np.ndarray, i: np.ndarray, v: np.ndarray, step: np.ndarray, zero: float
) -> list[CCDStep]:
    n_steps = int(step.max()) + 1
    # step ids never decrease, so each step is one contiguous slice
    starts = np.searchsorted(step, np.arange(n_steps), side="left")
    ends = np.searchsorted(step, np.arange(n_steps), side="right")
    summaries = []
    for k in range(n_steps):
        sl = slice(int(starts[k]), int(ends[k]))
        carrying = np.abs(i[sl]) > zero
        abs_v = np.abs(v[sl][carrying])
        summaries.append(
            CCDStep(
                index=k,
                current_density_mA_cm2=float(np.median(np.abs(i[sl][carrying]))),
                start_time_s=float(t[sl][0]),
                end_time_s=float(t[sl][-1]),
                overpotential_V=float(abs_v.max()),
                mean_abs_voltage_V=float(abs_v.mean()),
                n_points=int(ends[k] - starts[k]),
            )
        )
    return summaries
