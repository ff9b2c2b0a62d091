"""Synthetic instrument files made with the science library, for the analysis tests."""

from __future__ import annotations

import io

import numpy as np

from analysis.science import eis

CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)"


def spectrum_csv(*, r_gb_ohm: float = 150.0, r_interface_ohm: float = 40.0) -> bytes:
    """A LLZO symmetric-cell spectrum: series R, a grain-boundary arc (~2e-9 F) and an
    interface arc (~1e-6 F), 1 MHz to 0.1 Hz, as a CSV with EC-Lab-style headers."""
    freq = np.geomspace(1e6, 0.1, 61)
    z = eis.parse_circuit(CIRCUIT).impedance(
        freq,
        {
            "R0": 80.0,
            "R1": r_gb_ohm,
            "CPE1_Q": 5e-9,
            "CPE1_n": 0.95,
            "R2": r_interface_ohm,
            "CPE2_Q": 2e-6,
            "CPE2_n": 0.9,
        },
    )
    out = io.StringIO()
    out.write("freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm\n")
    for f, value in zip(freq, z, strict=True):
        out.write(f"{f:.6g},{value.real:.8g},{-value.imag:.8g}\n")
    return out.getvalue().encode()
