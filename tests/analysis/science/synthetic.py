"""Synthetic galvanostatic records with a known failure, shared by the CCD/cycling tests and
bench/ccd.py."""

from __future__ import annotations

import numpy as np

ASR_OHM_CM2 = 20.0


def ccd_test(
    n_steps: int = 100,
    points_per_half: int = 60,
    half_s: float = 60.0,
    fail_step: int | None = None,
    failure: str = "cutoff",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stepped test 0.05 ... 5.0 mA/cm^2 (+i then -i per step), ohmic-plus-growth polarization.

    ``failure="cutoff"``: from ``fail_step`` on the polarization jumps to 1.2 V (contact loss).
    ``failure="voltage_drop"``: in ``fail_step``'s first half cycle the voltage falls to 10 %
    two thirds of the way through (soft short).
    """
    levels = np.linspace(0.05, 5.0, n_steps)
    per_step = 2 * points_per_half
    k = np.arange(n_steps * per_step)
    step = k // per_step
    within = k % per_step
    half_position = within % points_per_half
    sign = np.where(within < points_per_half, 1.0, -1.0)
    t = k * (half_s / points_per_half)
    i = levels[step] * sign
    # ohmic drop plus a slow rise within the half cycle (concentration polarization)
    v = i * 1e-3 * ASR_OHM_CM2 * (1.0 + 0.2 * half_position / points_per_half)
    if fail_step is not None:
        in_step = step == fail_step
        if failure == "cutoff":
            v = np.where(step >= fail_step, np.sign(i) * 1.2, v)
        else:
            shorted = (
                in_step & (within < points_per_half) & (half_position >= 2 * points_per_half // 3)
            )
            v = np.where(shorted, 0.1 * v, v)
    return t, i, v
