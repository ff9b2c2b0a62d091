"""Results for roll-ups and plots, made through the real services and analyses.

Instrument files are synthesised with the science library and numpy (impedance spectra of a
known circuit, stepped CCD tests, indentation tables) and uploaded like an instrument's, so
every value comes from a real analysis run; the real-file tests use ``../shared/data``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from analysis.models import Measurement
from analysis.science import eis, hardness
from analysis.services import measurement_create
from cells.models import Cell
from cells.services import cell_assemble
from processing import services as proc
from processing.models import MetalFoil, Pellet

THREE_ARCS = "R0-p(R1,CPE1)-p(R2,CPE2)-p(R3,CPE3)"
#: Bulk, grain boundary and interface resistances (Ω) and effective capacitances (F) that the
#: arc assignment tells apart (DOMAIN.md: bulk ~1e-12, GB ~1e-9, interface ~1e-6 F).
BULK_OHM, GB_OHM = 1500.0, 500.0


def _cpe_q(capacitance_F: float, r_ohm: float, n: float) -> float:
    """Q of an R‖CPE arc with this effective capacitance (Hsu–Mansfeld, inverted)."""
    return float((capacitance_F * r_ohm ** ((n - 1) / n)) ** n)


def eis_csv(r_interface_ohm: float, seed: int) -> bytes:
    """A three-arc spectrum, 7 MHz to 0.1 Hz, with 0.3 % noise, as an impedance CSV."""
    parameters = {
        "R0": 5.0,
        "R1": BULK_OHM,
        "CPE1_Q": _cpe_q(5e-12, BULK_OHM, 0.95),
        "CPE1_n": 0.95,
        "R2": GB_OHM,
        "CPE2_Q": _cpe_q(2e-9, GB_OHM, 0.9),
        "CPE2_n": 0.9,
        "R3": r_interface_ohm,
        "CPE3_Q": _cpe_q(1e-6, r_interface_ohm, 0.85),
        "CPE3_n": 0.85,
    }
    freq = np.logspace(np.log10(7e6), -1, 61)
    z = eis.parse_circuit(THREE_ARCS).impedance(freq, parameters)
    rng = np.random.default_rng(seed)
    z = z * (1 + 0.003 * rng.standard_normal(freq.size))
    lines = ["freq (Hz),Re(Z) (Ohm),-Im(Z) (Ohm)"]
    lines += [f"{f:.6g},{zz.real:.6g},{-zz.imag:.6g}" for f, zz in zip(freq, z, strict=True)]
    return ("\n".join(lines) + "\n").encode()


def ccd_csv(fails_at_mA_cm2: float | None, step_mA_cm2: float = 0.1, steps: int = 12) -> bytes:
    """A stepped CCD test: each step plates then strips for 60 s at 1 point/s. The polarization
    is ``i × ASR``, with the ASR set so that |V| reaches the 1 V cut-off at ``fails_at`` (or
    never: a lower bound at the last step)."""
    asr = 0.08 if fails_at_mA_cm2 is None else 1.02 / fails_at_mA_cm2
    rows = ["time (s),voltage (V),current density (mA/cm2)"]
    t = 0
    for k in range(1, steps + 1):
        i = round(k * step_mA_cm2, 6)
        for sign in (1, -1):
            for _ in range(60):
                rows.append(f"{t},{sign * i * asr:.5f},{sign * i}")
                t += 1
    return ("\n".join(rows) + "\n").encode()


def hardness_csv(mean_N_mm2: float, sd_N_mm2: float, n: int, seed: int) -> bytes:
    """An indentation table at 15 mN whose depths give HM ~ N(mean, sd) (Vickers)."""
    rng = np.random.default_rng(seed)
    hm = np.clip(rng.normal(mean_N_mm2, sd_N_mm2, n), 0.2 * mean_N_mm2, None)
    k = hardness.INDENTER_GEOMETRY_FACTORS["vickers"]
    depth_um = np.sqrt(15e-3 / (k * hm)) * 1e3
    rows = ["indent,Fmax (mN),hmax (um)"]
    rows += [f"{j + 1},15,{d:.6f}" for j, d in enumerate(depth_um)]
    return ("\n".join(rows) + "\n").encode()


def measure(
    user: Any, subject: Any, kind: str, content: bytes | None = None, **fields: Any
) -> Measurement:
    if content is not None:
        name = f"{kind}-{subject.code}.csv"
        fields.update(raw_stream=SimpleUploadedFile(name, content), raw_name=name)
    return measurement_create(user=user, subject=subject, measurement_type=kind, **fields)


@dataclass
class Results:
    pellets: list[Pellet]
    reference_foil: MetalFoil
    spectra: list[Measurement]
    cells: dict[str, Cell]


def new_cell(lab: Any, user: Any, cell_type: str) -> Cell:
    separator = proc.separator_create(user=user, pellet=lab.pellet, thickness_um=700)
    pieces = [proc.electrode_cut(user=user, foil=lab.foil, diameter_mm=6) for _ in range(2)]
    return cell_assemble(
        user=user,
        separator=separator,
        electrode_1=pieces[0],
        electrode_2=pieces[1],
        cell_type=cell_type,
    )


def build_results(lab: Any, users: dict[str, Any], capture: Any, *, ccd: bool = True) -> Results:
    """Pellets with densities, a reference foil, a cell with three spectra after 0, 10 and 20
    cycles, and CCD tests on LiNa and Li cells at 25 and 60 °C. Runs execute on commit."""
    user, operator = users["scientist"], users["operator"]
    start = timezone.now() - dt.timedelta(days=3)
    with capture(execute=True):
        pellets = [lab.pellet] + [
            proc.pellet_create(
                user=user, batch=lab.batch, diameter_mm=7.0, thickness_mm=1.2, mass_g=mass
            )
            for mass in (0.236, 0.241)
        ]
        for pellet in pellets:
            measure(operator, pellet, "density")
        reference = proc.foil_create(user=user, li_lot=lab.lots["Li"], target_na_mol_percent=0)
        measure(operator, reference, "hardness", hardness_csv(4.0, 0.4, 60, seed=1))
        measure(operator, lab.foil, "hardness", hardness_csv(4.8, 0.5, 60, seed=2))
        spectra = [
            measure(
                operator,
                lab.cell,
                "eis",
                eis_csv(r_if, seed=cycle),
                conditions={"circuit": THREE_ARCS, "cycle_number": cycle},
                measured_at=start + dt.timedelta(hours=cycle),
            )
            for cycle, r_if in ((0, 200.0), (10, 400.0), (20, 800.0))
        ]
        cells = {"LiNa-25": lab.cell}
        if ccd:
            cells |= {
                "LiNa-25b": new_cell(lab, user, "LiNa|LLZO|LiNa"),
                "LiNa-60": new_cell(lab, user, "LiNa|LLZO|LiNa"),
                "Li-25": new_cell(lab, user, "Li|LLZO|Li"),
            }
            tests = {"LiNa-25": (0.6, 25), "LiNa-25b": (0.8, 25), "LiNa-60": (None, 60)}
            tests["Li-25"] = (0.3, 25)
            for key, (fails_at, temperature) in tests.items():
                measure(operator, cells[key], "ccd", ccd_csv(fails_at), temperature_C=temperature)
    return Results(pellets, reference, spectra, cells)
