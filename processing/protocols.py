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
            # The glovebox atmosphere a step may run under (flagged above; analysis/flagging.py).
            "glovebox_o2_ppm": {"max": 0.1},
            "glovebox_h2o_ppm": {"max": 0.1},
            "glovebox_reading_age_h": {"max": 24},
        },
    ),
    # Test protocols: their defaults are the parameters of the measurement's analysis.
    "eis": (
        "EIS, symmetric LLZO cell",
        "eis",
        {
            "circuit": {"default": "R0-p(R1,CPE1)-p(R2,CPE2)"},
            "kk_max_rms_residual_pct": {"default": 1.0},
            "asr_rise_factor": {"default": 2.0},
        },
    ),
    "ccd": (
        "CCD, 0.05 mA/cm² steps",
        "ccd",
        {"cutoff_V": {"default": 1.0}, "drop_fraction": {"default": 0.5}},
    ),
    "density": (
        "Pellet density",
        "density",
        {"min_relative_density_pct": {"default": 95.0}},
    ),
}
