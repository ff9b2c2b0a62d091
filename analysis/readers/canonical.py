"""Canonical column names, their units, and how column headers and units are recognised.

Every reader renames the columns it understands to the names in :data:`CANONICAL_COLUMNS` and
converts the values to the unit given there, so a later feature never sees ``Ewe/V`` or
``Re(Z)/kOhm``. The table is the single definition of that vocabulary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Canonical:
    """One canonical column: its name, unit (``""`` for counts and indices) and meaning."""

    name: str
    unit: str
    integer: bool
    description: str


_TABLE: Final[tuple[Canonical, ...]] = (
    Canonical("time_s", "s", False, "time since the start of the experiment"),
    Canonical("voltage_V", "V", False, "working-electrode potential Ewe (or its average <Ewe>)"),
    Canonical("counter_voltage_V", "V", False, "counter-electrode potential Ece (or <Ece>)"),
    Canonical("current_mA", "mA", False, "current I (or its average <I>), + = oxidation"),
    Canonical(
        "current_density_mA_cm2",
        "mA/cm2",
        False,
        "current per electrode area, when the file gives a density instead of a current",
    ),
    Canonical("charge_mAh", "mAh", False, "charge passed since the start, (Q-Qo)"),
    Canonical("power_W", "W", False, "power P = Ewe * I"),
    Canonical("temperature_C", "degC", False, "temperature"),
    Canonical("cycle", "", True, "cycle number"),
    Canonical("half_cycle", "", True, "half-cycle number"),
    Canonical("step", "", True, "technique sequence / step index (EC-Lab Ns)"),
    Canonical("freq_Hz", "Hz", False, "impedance frequency"),
    Canonical("z_real_ohm", "Ohm", False, "Re(Z)"),
    Canonical(
        "z_imag_ohm",
        "Ohm",
        False,
        "Im(Z), NEGATIVE for a capacitive arc (EC-Lab's -Im(Z) is negated on reading)",
    ),
    Canonical("z_mod_ohm", "Ohm", False, "|Z|"),
    Canonical("phase_deg", "deg", False, "arg(Z) in degrees, negative for a capacitive arc"),
    Canonical("indent", "", True, "indent number within an indentation series"),
    Canonical("force_mN", "mN", False, "indentation force (in a table of indents: maximum force)"),
    Canonical(
        "depth_um",
        "um",
        False,
        "indentation depth (in a table of indents: depth at maximum force)",
    ),
)

CANONICAL_COLUMNS: Final[dict[str, Canonical]] = {c.name: c for c in _TABLE}


# Unit spellings → (dimension, factor to the canonical unit of that dimension).
# Keys are compared after normalisation (see _norm_unit).
_UNITS: Final[dict[str, tuple[str, float]]] = {
    "s": ("time", 1.0),
    "sec": ("time", 1.0),
    "ms": ("time", 1e-3),
    "min": ("time", 60.0),
    "h": ("time", 3600.0),
    "hr": ("time", 3600.0),
    "v": ("voltage", 1.0),
    "mv": ("voltage", 1e-3),
    "uv": ("voltage", 1e-6),
    "a": ("current", 1e3),
    "ma": ("current", 1.0),
    "ua": ("current", 1e-3),
    "na": ("current", 1e-6),
    "a/cm2": ("current_density", 1e3),
    "ma/cm2": ("current_density", 1.0),
    "ua/cm2": ("current_density", 1e-3),
    "a/m2": ("current_density", 0.1),
    "mah": ("charge", 1.0),
    "ah": ("charge", 1e3),
    "uah": ("charge", 1e-3),
    "c": ("charge", 1.0 / 3.6),
    "mc": ("charge", 1.0 / 3600.0),
    "w": ("power", 1.0),
    "mw": ("power", 1e-3),
    "degc": ("temperature", 1.0),
    "°c": ("temperature", 1.0),
    "hz": ("frequency", 1.0),
    "mhz_milli": ("frequency", 1e-3),
    "khz": ("frequency", 1e3),
    "mhz": ("frequency", 1e6),
    "ohm": ("impedance", 1.0),
    "mohm_milli": ("impedance", 1e-3),
    "kohm": ("impedance", 1e3),
    "mohm": ("impedance", 1e6),
    "deg": ("angle", 1.0),
    "°": ("angle", 1.0),
    "rad": ("angle", 57.29577951308232),
    "n": ("force", 1e3),
    "mn": ("force", 1.0),
    "un": ("force", 1e-3),
    "mm": ("length", 1e3),
    "um": ("length", 1.0),
    "nm": ("length", 1e-3),
    "": ("count", 1.0),
}

_DIMENSION: Final[dict[str, str]] = {
    "time_s": "time",
    "voltage_V": "voltage",
    "counter_voltage_V": "voltage",
    "current_mA": "current",
    "current_density_mA_cm2": "current_density",
    "charge_mAh": "charge",
    "power_W": "power",
    "temperature_C": "temperature",
    "cycle": "count",
    "half_cycle": "count",
    "step": "count",
    "indent": "count",
    "freq_Hz": "frequency",
    "z_real_ohm": "impedance",
    "z_imag_ohm": "impedance",
    "z_mod_ohm": "impedance",
    "phase_deg": "angle",
    "force_mN": "force",
    "depth_um": "length",
}


def _norm_unit(unit: str) -> str:
    u = unit.strip().replace("µ", "u").replace("μ", "u").replace("Ω", "ohm")
    u = u.replace("²", "2").replace("^2", "2").replace(".", "").replace("·", "")
    u = u.replace(" ", "").replace("cm-2", "/cm2").replace("//", "/")
    # mHz/MHz and mOhm/MOhm differ only in case: keep that distinction before lower-casing.
    if u == "mHz":
        return "mhz_milli"
    if u in {"mOhm", "mohm"}:
        return "mohm_milli"
    if u in {"MOhm", "Mohm"}:
        return "mohm"
    return u.lower()


def unit_factor(canonical: str, unit: str | None) -> float:
    """Factor that converts a value in ``unit`` to ``canonical``'s unit.

    Raises KeyError when the unit is unknown and ValueError when it measures another quantity
    (``mV`` for a current); callers turn both into a ReadError that names the file.
    """
    dim = _DIMENSION[canonical]
    if unit is None:
        unit = ""
    key = _norm_unit(unit)
    if key not in _UNITS:
        raise KeyError(unit)
    unit_dim, factor = _UNITS[key]
    if unit_dim != dim:
        raise ValueError(f"unit {unit!r} is a {unit_dim} unit, {canonical} needs a {dim} unit")
    return factor


# Header labels (normalised: lower case, no spaces/underscores) → (canonical, sign).
# One label can name several quantities ("P" is power or force, "F" frequency or force, "I" a
# current or a current density): the unit decides.
_LABELS: Final[dict[str, list[tuple[str, float]]]] = {}


def _label(canonical: str, *names: str, sign: float = 1.0) -> None:
    for n in names:
        _LABELS.setdefault(_norm_label(n), []).append((canonical, sign))


def _norm_label(label: str) -> str:
    return re.sub(r"[\s_]+", "", label.strip().lower()).replace("″", "''").replace('"', "''")


_label("time_s", "time", "t", "elapsed time", "test time", "time elapsed")
_label("voltage_V", "Ewe", "<Ewe>", "E", "U", "V", "voltage", "potential", "cell voltage", "Ecell")
_label("counter_voltage_V", "Ece", "<Ece>")
_label("current_mA", "I", "<I>", "current")
_label("current_density_mA_cm2", "j", "i", "current density", "I density")
_label("charge_mAh", "(Q-Qo)", "Q", "charge", "capacity")
_label("power_W", "P", "power")
_label("temperature_C", "T", "temperature", "temp")
_label("cycle", "cycle", "cycle number", "cycle index", "cycle no", "cycle no.")
_label("half_cycle", "half cycle")
_label("step", "Ns", "step", "step index", "step number", "sequence")
_label("freq_Hz", "freq", "frequency", "f")
_label("z_real_ohm", "Re(Z)", "Z'", "Zre", "Zreal", "Z real", "Z_re", "Real(Z)", "ReZ")
_label("z_imag_ohm", "Im(Z)", "Z''", "Zim", "Zimag", "Z imag", "Z_im", "Imag(Z)", "ImZ")
_label("z_imag_ohm", "-Im(Z)", "-Z''", "-Zim", "-Zimag", "-Z imag", "-ImZ", sign=-1.0)
_label("z_mod_ohm", "|Z|", "Zmod", "Z mod", "|Z| mod", "modulus", "Z")
_label("phase_deg", "Phase(Z)", "phase", "Zphase", "Z phase", "phase angle")
_label("indent", "indent", "indent number", "indent no", "indent no.", "indentation", "#")
_label(
    "force_mN",
    "force",
    "load",
    "F",
    "P",
    "Fmax",
    "F max",
    "max force",
    "maximum force",
    "force max",
    "Pmax",
    "max load",
    "maximum load",
)
_label(
    "depth_um",
    "depth",
    "displacement",
    "h",
    "hmax",
    "h max",
    "max depth",
    "maximum depth",
    "depth at max force",
    "depth at maximum force",
    "depth at fmax",
    "h at fmax",
    "depth at max load",
)

# A header is "label/unit", "label (unit)" or "label [unit]"; EC-Lab uses the first form and puts
# a slash inside labels too ("Q charge/discharge/mA.h"), so the unit is the part after the LAST
# slash.
_BRACKET = re.compile(r"^(?P<label>.*?)\s*[\(\[](?P<unit>[^\(\)\[\]]*)[\)\]]\s*$")


def split_header(header: str) -> tuple[str, str | None]:
    """Split a column header into its label and unit text (None when it has no unit)."""
    h = header.strip()
    m = _BRACKET.match(h)
    if m and m.group("label") and not m.group("label").endswith(("Re", "Im", "Phase", "Real")):
        return m.group("label"), m.group("unit").strip()
    if "/" in h:
        label, unit = h.rsplit("/", 1)
        if label:
            return label.strip(), unit.strip()
    return h, None


@dataclass(frozen=True)
class Recognised:
    """How a header was understood: target column, unit text and the factor (sign included)."""

    canonical: str
    unit: str | None
    factor: float


def recognise(header: str) -> Recognised | None:
    """Map a column header such as ``-Im(Z)/Ohm`` or ``Fmax [mN]`` to a canonical column.

    Returns None when the label is unknown, or when its unit is missing, unknown or of another
    kind than the label's quantity: such a column needs an explicit mapping.
    """
    label, unit = split_header(header)
    candidates = _LABELS.get(_norm_label(label), [])
    for canonical, sign in candidates:
        if unit is None and _DIMENSION[canonical] != "count":
            continue
        try:
            factor = unit_factor(canonical, unit)
        except (KeyError, ValueError):
            continue
        return Recognised(canonical, unit, sign * factor)
    return None


def canonical_table_markdown() -> str:
    """The canonical table as Markdown (used by the docs and ``--help``)."""
    lines = ["| column | unit | meaning |", "|---|---|---|"]
    for c in _TABLE:
        lines.append(f"| `{c.name}` | {c.unit or '-'} | {c.description} |")
    return "\n".join(lines)
