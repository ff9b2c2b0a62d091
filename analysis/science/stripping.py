"""Total stripping: stripped thickness and the Sand's-equation effective diffusivity.

Units: capacity in mAh/cm^2, current density in mA/cm^2, thickness in um, time in s,
diffusivity in cm^2/s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from analysis.science._result import ResultMixin
from analysis.science._validation import array_1d, finite, positive, same_length
from analysis.science.elements import (
    ATOMIC_WEIGHTS_G_MOL,
    ELEMENT_DENSITIES_G_CM3,
    FARADAY_C_PER_MOL,
)

__all__ = [
    "METALS",
    "StrippingResult",
    "analyze",
    "sand_diffusivity",
    "stripped_thickness_um",
    "volumetric_capacity_mAh_cm3",
]


@dataclass(frozen=True)
class Metal:
    """Charge number z, molar mass M (g/mol) and density rho (g/cm^3) of an anode metal."""

    symbol: str
    z: int
    molar_mass_g_mol: float
    density_g_cm3: float


METALS: dict[str, Metal] = {
    symbol: Metal(symbol, 1, ATOMIC_WEIGHTS_G_MOL[symbol], ELEMENT_DENSITIES_G_CM3[symbol])
    for symbol in ("Li", "Na", "K")
}

_MAH_TO_C = 3.6  # 1 mAh = 3.6 C


def _metal(metal: str) -> Metal:
    if metal not in METALS:
        raise ValueError(f"metal must be one of {sorted(METALS)}, got {metal!r}")
    return METALS[metal]


def volumetric_capacity_mAh_cm3(metal: str = "Li") -> float:
    """Volumetric capacity of a metal anode, mAh/cm^3: z F rho / (3.6 M).

    Li: 96485.33 * 0.534 / (3.6 * 6.94) = 2062 mAh/cm^3 (3862 mAh/g x 0.534 g/cm^3).
    """
    m = _metal(metal)
    return m.z * FARADAY_C_PER_MOL * m.density_g_cm3 / (_MAH_TO_C * m.molar_mass_g_mol)


def stripped_thickness_um(capacity_mAh_cm2: float, metal: str = "Li") -> float:
    """Thickness of metal removed by stripping an areal capacity, um.

    h = Q / q_v with q_v = z F rho / M the volumetric capacity (about 2062 mAh/cm^3 for Li),
    converted from cm to um: 1 mAh/cm^2 of Li is 4.85 um.
    Reference: e.g. Kasemchainan et al., Nat. Mater. 18, 1105 (2019) (Li stripping from LLZO).
    """
    capacity = finite("capacity_mAh_cm2", capacity_mAh_cm2)
    if capacity < 0.0:
        raise ValueError(f"capacity_mAh_cm2 must be >= 0, got {capacity}")
    return capacity / volumetric_capacity_mAh_cm3(metal) * 1e4


def sand_diffusivity(
    current_density_mA_cm2: float,
    capacity_mAh_cm2: float | None = None,
    transition_time_s: float | None = None,
    metal: str = "Li",
) -> float:
    """Effective diffusivity of the metal from Sand's equation, cm^2/s.

    D_eff = 4 i^2 tau / (pi (z F c)^2), with i the current density in A/cm^2, tau the
    transition time in s (given, or tau = Q / i from the stripped capacity Q), z = 1,
    F = 96485.33 C/mol and c = rho / M the metal's molar concentration in mol/cm^3
    (Li: 0.534 / 6.94 = 0.0769 mol/cm^3). Give exactly one of ``capacity_mAh_cm2`` and
    ``transition_time_s``. Reference: H. J. S. Sand, Phil. Mag. 1, 45 (1901); applied to Li
    metal on LLZO by Kasemchainan et al., Nat. Mater. 18, 1105 (2019).
    """
    i_A_cm2 = (
        positive(
            "current_density_mA_cm2", abs(finite("current_density_mA_cm2", current_density_mA_cm2))
        )
        * 1e-3
    )
    if (capacity_mAh_cm2 is None) == (transition_time_s is None):
        raise ValueError("give exactly one of capacity_mAh_cm2 and transition_time_s")
    if transition_time_s is not None:
        tau_s = positive("transition_time_s", transition_time_s)
    else:
        assert capacity_mAh_cm2 is not None
        tau_s = positive("capacity_mAh_cm2", capacity_mAh_cm2) * _MAH_TO_C / i_A_cm2
    m = _metal(metal)
    concentration_mol_cm3 = m.density_g_cm3 / m.molar_mass_g_mol
    return (
        4.0
        * i_A_cm2**2
        * tau_s
        / (math.pi * (m.z * FARADAY_C_PER_MOL * concentration_mol_cm3) ** 2)
    )


@dataclass(frozen=True)
class StrippingResult(ResultMixin):
    """Result of one total-stripping curve.

    When the cut-off was never reached, ``cutoff_reached`` is False and capacity, thickness
    and diffusivity are lower bounds (``is_lower_bound``).
    """

    capacity_mAh_cm2: float
    stripped_thickness_um: float
    current_density_mA_cm2: float
    transition_time_s: float
    effective_diffusivity_cm2_s: float
    cutoff_V: float
    cutoff_reached: bool
    is_lower_bound: bool
    metal: str


def analyze(
    time_s: ArrayLike,
    current_mA: ArrayLike,
    voltage_V: ArrayLike,
    area_cm2: float,
    cutoff_V: float,
    metal: str = "Li",
    current_threshold_fraction: float = 0.05,
) -> StrippingResult:
    """Analyse a raw total-stripping curve (constant current until a voltage cut-off).

    Stripping starts at the first point where |I| exceeds ``current_threshold_fraction`` of
    max |I| (earlier rest points are ignored) and ends where |V| first reaches |cutoff_V|; the
    crossing time is interpolated linearly between the two samples around it. Capacity
    Q = integral |I| dt / (3600 A) in mAh/cm^2 (trapezoid rule), current density
    i = Q / tau with tau the stripping duration, thickness and D_eff as in
    :func:`stripped_thickness_um` and :func:`sand_diffusivity`.
    """
    t = array_1d("time_s", time_s, min_size=2)
    current = array_1d("current_mA", current_mA, min_size=2)
    voltage = array_1d("voltage_V", voltage_V, min_size=2)
    same_length(time_s=t, current_mA=current, voltage_V=voltage)
    area = positive("area_cm2", area_cm2)
    cutoff = abs(finite("cutoff_V", cutoff_V))
    if cutoff == 0.0:
        raise ValueError("cutoff_V must be non-zero")
    if np.any(np.diff(t) < 0.0):
        raise ValueError("time_s must be non-decreasing")
    _metal(metal)
    abs_current = np.abs(current)
    if abs_current.max() <= 0.0:
        raise ValueError("current_mA is zero everywhere: nothing was stripped")
    active = np.flatnonzero(abs_current > current_threshold_fraction * abs_current.max())
    start = int(active[0])
    beyond = np.flatnonzero(np.abs(voltage[start:]) >= cutoff)
    reached = beyond.size > 0
    if reached:
        end = start + int(beyond[0])
        if end == start:
            raise ValueError("|voltage_V| is already at the cut-off when stripping starts")
        v0, v1 = abs(voltage[end - 1]), abs(voltage[end])
        fraction = (cutoff - v0) / (v1 - v0) if v1 != v0 else 1.0
        t_end = t[end - 1] + fraction * (t[end] - t[end - 1])
        i_end = abs_current[end - 1] + fraction * (abs_current[end] - abs_current[end - 1])
        t_seg = np.append(t[start:end], t_end)
        i_seg = np.append(abs_current[start:end], i_end)
    else:
        t_seg = t[start:]
        i_seg = abs_current[start:]
    tau_s = float(t_seg[-1] - t_seg[0])
    if tau_s <= 0.0:
        raise ValueError("the stripping segment has zero duration")
    charge_mAs = float(np.sum((i_seg[1:] + i_seg[:-1]) * np.diff(t_seg)) / 2.0)
    capacity = charge_mAs / 3600.0 / area
    current_density = capacity * 3600.0 / tau_s
    return StrippingResult(
        capacity_mAh_cm2=capacity,
        stripped_thickness_um=stripped_thickness_um(capacity, metal),
        current_density_mA_cm2=current_density,
        transition_time_s=tau_s,
        effective_diffusivity_cm2_s=sand_diffusivity(
            current_density, transition_time_s=tau_s, metal=metal
        ),
        cutoff_V=cutoff,
        cutoff_reached=reached,
        is_lower_bound=not reached,
        metal=metal,
    )
