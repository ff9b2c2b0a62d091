"""Pellet densities: geometric, Archimedes, theoretical (XRD) and relative.

Units: masses in g, lengths in mm (pellets) or Angstrom (lattice), densities in g/cm^3.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from analysis.science._result import ResultMixin
from analysis.science._validation import array_1d, non_negative, positive
from analysis.science.composition import molar_mass
from analysis.science.elements import AVOGADRO_PER_MOL

__all__ = [
    "DensitySummary",
    "archimedes_density",
    "geometric_density",
    "relative_density",
    "summarize",
    "xrd_density",
]

_MM_TO_CM = 0.1
_ANGSTROM_TO_CM = 1e-8


def geometric_density(mass_g: float, diameter_mm: float, thickness_mm: float) -> float:
    """Geometric density of a cylindrical pellet, g/cm^3.

    rho = m / (pi (d/2)^2 h), with d and h converted from mm to cm.
    Example: 0.19 g, 7 mm x 1 mm -> 0.19 / 0.038485 = 4.937 g/cm^3.
    Reference: ASTM C373 / ISO 18754 (density of fine ceramics, geometric method).
    """
    mass = positive("mass_g", mass_g)
    radius_cm = positive("diameter_mm", diameter_mm) * _MM_TO_CM / 2.0
    height_cm = positive("thickness_mm", thickness_mm) * _MM_TO_CM
    return mass / (math.pi * radius_cm**2 * height_cm)


def archimedes_density(
    dry_mass_g: float,
    immersed_mass_g: float,
    liquid_density_g_cm3: float,
    air_density_g_cm3: float = 0.0,
) -> float:
    """Bulk density by Archimedes' principle, g/cm^3.

    rho = m_dry (rho_liquid - rho_air) / (m_dry - m_immersed) + rho_air, where m_immersed is
    the apparent mass of the sample weighed suspended in the liquid. ``air_density_g_cm3=0``
    (default) neglects air buoyancy; pass 0.0012 to correct for it.
    Reference: ISO 18754:2020 (fine ceramics: density and apparent porosity), ASTM C373.
    """
    dry = positive("dry_mass_g", dry_mass_g)
    immersed = non_negative("immersed_mass_g", immersed_mass_g)
    liquid = positive("liquid_density_g_cm3", liquid_density_g_cm3)
    air = non_negative("air_density_g_cm3", air_density_g_cm3)
    if immersed >= dry:
        raise ValueError(
            f"immersed_mass_g ({immersed}) must be smaller than dry_mass_g ({dry}): "
            "the sample floats or the masses are swapped"
        )
    if air >= liquid:
        raise ValueError("air_density_g_cm3 must be smaller than liquid_density_g_cm3")
    return dry * (liquid - air) / (dry - immersed) + air


def xrd_density(formula: str, a_angstrom: float, z: int = 8) -> float:
    """Theoretical (X-ray) density of a cubic cell, g/cm^3.

    rho = Z M / (N_A a^3), with M the molar mass of ``formula`` (g/mol), a the cubic lattice
    parameter converted from Angstrom to cm, and Z formula units per cell (8 for garnet
    Li7La3Zr2O12, space group Ia-3d). N_A = 6.02214076e23 1/mol.
    Reference: B. D. Cullity, S. R. Stock, Elements of X-Ray Diffraction, 3rd ed. (2001),
    sect. 10.3; LLZO: Murugan et al., Angew. Chem. Int. Ed. 46, 7778 (2007).
    """
    if isinstance(z, bool) or not isinstance(z, int | np.integer) or z <= 0:
        raise ValueError(f"z must be a positive integer, got {z!r}")
    a_cm = positive("a_angstrom", a_angstrom) * _ANGSTROM_TO_CM
    return int(z) * molar_mass(formula) / (AVOGADRO_PER_MOL * a_cm**3)


def relative_density(measured: float, theoretical: float) -> float:
    """Relative density in percent: 100 * rho_measured / rho_theoretical (same units)."""
    return 100.0 * positive("measured", measured) / positive("theoretical", theoretical)


@dataclass(frozen=True)
class DensitySummary(ResultMixin):
    """Mean +- sample standard deviation of densities over the pellets of a batch."""

    n: int
    mean_g_cm3: float
    std_g_cm3: float
    min_g_cm3: float
    max_g_cm3: float
    theoretical_g_cm3: float | None
    relative_mean_percent: float | None
    relative_std_percent: float | None


def summarize(
    values_g_cm3: Sequence[float], theoretical_g_cm3: float | None = None
) -> DensitySummary:
    """Summarise pellet densities: n, mean, sample standard deviation (ddof=1), min, max.

    With ``theoretical_g_cm3`` also the relative density mean and std in percent
    (100 * value / theoretical). A single pellet has std NaN (``None`` in ``to_dict``),
    because one value says nothing about the spread.
    """
    values = array_1d("values_g_cm3", values_g_cm3)
    if np.any(values <= 0.0):
        raise ValueError("values_g_cm3 must all be > 0")
    std = float(np.std(values, ddof=1)) if values.size > 1 else math.nan
    mean = float(np.mean(values))
    theoretical = (
        None if theoretical_g_cm3 is None else positive("theoretical_g_cm3", theoretical_g_cm3)
    )
    return DensitySummary(
        n=int(values.size),
        mean_g_cm3=mean,
        std_g_cm3=std,
        min_g_cm3=float(values.min()),
        max_g_cm3=float(values.max()),
        theoretical_g_cm3=theoretical,
        relative_mean_percent=None if theoretical is None else 100.0 * mean / theoretical,
        relative_std_percent=None if theoretical is None else 100.0 * std / theoretical,
    )
