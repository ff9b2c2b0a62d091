"""The unit a name carries, as people read it: ``thickness_um`` → ``µm``, ``setpoint_C`` → ``°C``.

Every numeric name in the project ends in its unit (STYLE.md), so forms and pages print the unit
beside a value from the name alone. Longer suffixes are tried first (``_mA_cm2`` before
``_cm2``, ``_C_min`` before ``_min``).
"""

from __future__ import annotations

#: Name suffix → unit as printed. Order does not matter: the longest matching suffix wins.
SUFFIX_UNITS: dict[str, str] = {
    "mA_cm2": "mA/cm²",
    "mAh_cm2": "mAh/cm²",
    "ohm_cm2": "Ω·cm²",
    "g_cm3": "g/cm³",
    "cm2_s": "cm²/s",
    "S_cm": "S/cm",
    "N_mm2": "N/mm²",
    "C_min": "°C/min",
    "mol_percent": "mol %",
    "wt_percent": "wt %",
    "vol_percent": "vol %",
    "percent": "%",
    "pct": "%",
    "ppm": "ppm",
    "cm2": "cm²",
    "nm": "nm",
    "um": "µm",
    "mm": "mm",
    "cm": "cm",
    "mg": "mg",
    "g": "g",
    "C": "°C",
    "K": "K",
    "h": "h",
    "min": "min",
    "s": "s",
    "MPa": "MPa",
    "GPa": "GPa",
    "kPa": "kPa",
    "mV": "mV",
    "V": "V",
    "mA": "mA",
    "mAh": "mAh",
    "Hz": "Hz",
    "ohm": "Ω",
    "A": "Å",  # lattice parameters (lattice_parameter_A); currents here are always mA
}

_BY_LENGTH = sorted(SUFFIX_UNITS.items(), key=lambda item: -len(item[0]))


def _suffix(name: str) -> str:
    """The unit suffix ``name`` ends in (``mm`` of ``diameter_mm``), or ``""``."""
    for suffix, _ in _BY_LENGTH:
        if name.endswith("_" + suffix) and len(name) > len(suffix) + 1:
            return suffix
    return ""


def label_of(name: str) -> str:
    """A stored name in words, without the unit shown beside it: ``diameter_mm`` → "Diameter",
    ``hold_time_s`` → "Hold time"."""
    suffix = _suffix(name)
    words = name[: -len(suffix) - 1] if suffix else name
    return words.replace("_", " ").capitalize()


def unit_of(name: str) -> str:
    """The unit ``name`` ends in, or ``""`` when it names none (``pass_number``, ``code``)."""
    suffix = _suffix(name)
    return SUFFIX_UNITS[suffix] if suffix else ""
