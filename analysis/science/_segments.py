"""Vectorised splitting of galvanostatic records into constant-current segments, and the
sudden-voltage-drop (soft short) detector shared by :mod:`ccd` and :mod:`cycling`."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from analysis.science._validation import FloatArray

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


def current_segments(
    current: FloatArray, zero_tolerance: float, level_tolerance: float
) -> IntArray:
    """Segment id per point: runs of the same current sign and level; -1 for rest points.

    A new segment starts where the sign changes, after a rest, or where |I| changes by more
    than ``level_tolerance`` (relative) from the previous point.
    """
    magnitude = np.abs(current)
    sign = np.where(magnitude > zero_tolerance, np.sign(current), 0.0)
    new = np.ones(current.size, dtype=bool)
    if current.size > 1:
        previous = magnitude[:-1]
        level_change = np.abs(magnitude[1:] - previous) > level_tolerance * np.maximum(
            magnitude[1:], previous
        )
        new[1:] = (sign[1:] != sign[:-1]) | level_change
    active = sign != 0
    new &= active
    ids = np.cumsum(new) - 1
    return np.where(active, ids, -1).astype(np.int64)


def level_steps(current: FloatArray, zero_tolerance: float, level_tolerance: float) -> IntArray:
    """Step id per point by |I| level, ignoring sign and rests (rests join the step before).

    Points before the first non-zero current get -1.
    """
    magnitude = np.abs(current)
    active = magnitude > zero_tolerance
    index = np.flatnonzero(active)
    step = np.full(current.size, -1, dtype=np.int64)
    if index.size == 0:
        return step
    levels = magnitude[index]
    new = np.ones(index.size, dtype=bool)
    new[1:] = np.abs(levels[1:] - levels[:-1]) > level_tolerance * np.maximum(
        levels[1:], levels[:-1]
    )
    step[index] = np.cumsum(new) - 1
    # Rest points inherit the step of the last current-carrying point (ids only grow).
    return np.maximum.accumulate(step)


def sudden_drops(
    time: FloatArray,
    polarization: FloatArray,
    segment: IntArray,
    drop_fraction: float,
    drop_window_s: float,
    min_polarization_V: float,
    confirm_points: int,
) -> BoolArray:
    """Points where the polarization has fallen suddenly within a constant-current segment.

    With P_max the running maximum of the polarization since the segment started and t_max
    when it was reached, point k is a drop when P_max >= ``min_polarization_V``,
    P_k <= (1 - ``drop_fraction``) P_max and t_k - t_max <= ``drop_window_s`` (sudden, not a
    slow relaxation), and the condition holds for ``confirm_points`` consecutive points of the
    same segment (one glitching sample is not a short). Rest points (segment -1) never drop.
    """
    flags = np.zeros(time.size, dtype=bool)
    index = np.flatnonzero(segment >= 0)
    if index.size == 0:
        return flags
    seg = segment[index]
    p = polarization[index]
    t = time[index]
    shifted = p - p.min()
    # Offsetting each segment above all earlier ones lets one global running maximum act as
    # a per-segment running maximum.
    offset = (seg - seg[0]).astype(np.float64) * (float(shifted.max()) + 1.0)
    lifted = shifted + offset
    running = np.maximum.accumulate(lifted)
    running_max = running - offset + p.min()
    positions = np.arange(index.size)
    at_max = lifted >= running
    last_max = np.maximum.accumulate(np.where(at_max, positions, 0))
    dropped = (
        (running_max >= min_polarization_V)
        & (p <= (1.0 - drop_fraction) * running_max)
        & (t - t[last_max] <= drop_window_s)
    )
    confirmed = dropped.copy()
    for shift in range(1, confirm_points):
        later = np.zeros(index.size, dtype=bool)
        later[:-shift] = dropped[shift:] & (seg[shift:] == seg[:-shift])
        confirmed &= later
    flags[index] = confirmed
    return flags


def polarization_sign(current: FloatArray, voltage: FloatArray) -> float:
    """+1 when V follows the sign of I in this record (the usual convention), else -1."""
    product = voltage * np.sign(current)
    median = float(np.median(product[current != 0])) if np.any(current != 0) else 0.0
    return -1.0 if median < 0 else 1.0
