"""Synthetic instrument files made with the science library: the demo lab's data where the
real files of ``../shared/data`` are absent, and test data. Each returns the file's bytes in a
format the readers recognise (EC-Lab-style CSV headers, an indentation table)."""

from __future__ import annotations

import io

import numpy as np

from analysis.science import eis

EIS_CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)"


def eis_spectrum_csv(
    *, r_series_ohm: float = 80.0, r_gb_ohm: float = 150.0, r_interface_ohm: float = 40.0
) -> bytes:
    """A LLZO symmetric-cell spectrum, 1 MHz to 0.1 Hz: series R, a grain-boundary arc
    (~2e-9 F, ~440 kHz) and an interface arc (~7e-7 F)."""
    freq = np.geomspace(1e6, 0.1, 61)
    z = eis.parse_circuit(EIS_CIRCUIT).impedance(
        freq,
        {
            "R0": r_series_ohm,
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


def ccd_curve_csv(
    *,
    area_cm2: float,
    asr_ohm_cm2: float = 60.0,
    short_at_mA_cm2: float | None = 1.2,
    step_mA_cm2: float = 0.05,
    last_mA_cm2: float = 2.0,
    half_cycle_s: float = 60.0,
) -> bytes:
    """A stepped stripping/plating CCD test: at each current density a plating and a stripping
    half cycle; the polarization follows i·ASR (rising a little within each half cycle). With
    ``short_at_mA_cm2`` the voltage collapses mid-way through that step's first half cycle (a
    soft short) and the test stops; without, it runs to ``last_mA_cm2``."""
    rows = []
    t = 0.0
    levels = np.arange(step_mA_cm2, last_mA_cm2 + step_mA_cm2 / 2, step_mA_cm2)
    for level in levels:
        for sign in (1.0, -1.0):
            for k in range(int(half_cycle_s)):
                growth = 1.0 + 0.2 * k / half_cycle_s
                voltage = sign * level * asr_ohm_cm2 * growth / 1000.0
                shorted = short_at_mA_cm2 is not None and level >= short_at_mA_cm2 - 1e-9
                if shorted and sign > 0 and k > half_cycle_s / 2:
                    voltage *= 0.05
                rows.append((t, sign * level * area_cm2, voltage))
                t += 1.0
            if short_at_mA_cm2 is not None and level >= short_at_mA_cm2 - 1e-9:
                break
        if short_at_mA_cm2 is not None and level >= short_at_mA_cm2 - 1e-9:
            break
    out = io.StringIO()
    out.write("time/s,I/mA,Ewe/V\n")
    for row in rows:
        out.write(f"{row[0]:.1f},{row[1]:.6g},{row[2]:.6g}\n")
    return out.getvalue().encode()


def hardness_table_csv(
    *, mean_N_mm2: float, sd_N_mm2: float, n: int = 130, force_mN: float = 15.0, seed: int = 0
) -> bytes:
    """A table of ``n`` Vickers indents at ``force_mN`` whose Martens hardness scatters around
    ``mean_N_mm2``: the depth at maximum force follows from HM = F / (26.43 h²)."""
    rng = np.random.default_rng(seed)
    hm = np.clip(rng.normal(mean_N_mm2, sd_N_mm2, n), mean_N_mm2 * 0.3, None)
    depth_um = np.sqrt((force_mN * 1e-3) / (26.43 * hm)) * 1000.0
    out = io.StringIO()
    out.write("Indent,Fmax [mN],hmax [um]\n")
    for i, h in enumerate(depth_um, start=1):
        out.write(f"{i},{force_mN:.3f},{h:.5f}\n")
    return out.getvalue().encode()
