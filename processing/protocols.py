"""The lab's default protocol templates: typical values and ranges from DOMAIN.md.

Defaults, not constants: every record keeps the values actually used, and a lab edits its
templates. Demo data and the benchmark start from these.
"""

from __future__ import annotations

from typing import Any

#: key → (name, step type, {parameter: {"default", "min", "max"}})
DEFAULT_PROTOCOLS: dict[str, tuple[str, str, dict[str, dict[str, Any]]]] = {
    "calcine1": (
        "Calcination #1 (850 °C)",
        "calcine",
        {
            "setpoint_C": {"default": 850, "min": 800, "max": 900},
            "dwell_h": {"default": 20, "min": 15, "max": 25},
        },
    ),
    "calcine2": (
        "Calcination #2 (1000 °C)",
        "calcine",
        {
            "setpoint_C": {"default": 1000, "min": 950, "max": 1050},
            "dwell_h": {"default": 20, "min": 15, "max": 25},
        },
    ),
    "sinter": (
        "Sintering (1175 °C, air)",
        "sinter",
        {
            "setpoint_C": {"default": 1175, "min": 1150, "max": 1200},
            "dwell_h": {"default": 10, "min": 8, "max": 12},
        },
    ),
    # At least 20 cut/fold/calender passes for a fine Na dispersion.
    "fold": ("LiNa folding, 20 passes", "fold", {"passes": {"default": 20, "min": 20}}),
    "melt": (
        "Melt-quench 300 °C",
        "melt_quench",
        {
            "setpoint_C": {"default": 300, "min": 280, "max": 320},
            "hold_time_s": {"default": 300, "min": 240, "max": 360},
        },
    ),
}
