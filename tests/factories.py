"""Builders of realistic records through the real services (never by writing rows directly)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from analysis.models import Measurement
from analysis.runs import analysis_run_execute
from analysis.services import column_mapping_template_create, measurement_create
from cells.models import Cell
from cells.services import cell_add_step, cell_assemble
from processing import services as proc
from processing.models import (
    ChemicalLot,
    ElectrodePiece,
    Equipment,
    GloveboxReading,
    MetalFoil,
    Pellet,
    Separator,
    SynthesisBatch,
)


@dataclass
class Chain:
    lots: dict[str, ChemicalLot]
    furnace: Equipment
    glovebox: Equipment
    reading: GloveboxReading
    batch: SynthesisBatch
    pellet: Pellet
    separators: list[Separator]
    foil: MetalFoil
    pieces: list[ElectrodePiece]
    cell: Cell
    measurement: Measurement
    xrd: Measurement


_counter = iter(range(1, 10**6))


def build_chain(*, user: Any) -> Chain:
    n = next(_counter)
    lots = {
        chem: proc.chemical_lot_create(
            user=user, chemical=chem, supplier="Acme", lot_number=f"{chem}-{n}"
        )
        for chem in ("LiOH·H2O", "La2O3", "ZrO2", "Li", "Na", "Ni")
    }
    furnace = proc.equipment_create(user=user, equipment_type="furnace", name=f"Furnace {n}")
    glovebox = proc.equipment_create(user=user, equipment_type="glovebox", name=f"Glovebox {n}")
    reading = proc.glovebox_reading_log(user=user, glovebox=glovebox, o2_ppm=0.05, h2o_ppm=0.03)
    batch = proc.batch_create(
        user=user, target_formula="Li7La3Zr2O12", batch_size_g=10, li_excess_percent=10
    )
    for chem, mass in (("LiOH·H2O", 3.9), ("La2O3", 6.4), ("ZrO2", 3.2)):
        proc.batch_add_weighing(
            user=user, batch=batch, lot=lots[chem], target_mass_g=mass, actual_mass_g=mass + 0.001
        )
    proc.batch_add_step(
        user=user, batch=batch, step_type="sinter", equipment=furnace, setpoint_C=1175, dwell_h=10
    )
    pellet = proc.pellet_create(
        user=user, batch=batch, diameter_mm=7.0, thickness_mm=1.2, mass_g=0.24
    )
    separators = [
        proc.separator_create(user=user, pellet=pellet, thickness_um=700) for _ in range(2)
    ]
    foil = proc.foil_create(
        user=user, li_lot=lots["Li"], na_lot=lots["Na"], target_na_mol_percent=3
    )
    proc.foil_log_pass(user=user, foil=foil, thickness_after_um=100, glovebox_reading=reading)
    pieces = [proc.electrode_cut(user=user, foil=foil, diameter_mm=6) for _ in range(3)]
    cell = cell_assemble(
        user=user,
        separator=separators[0],
        electrode_1=pieces[0],
        electrode_2=pieces[1],
        collector_lot=lots["Ni"],
    )
    melt = proc.protocol_create(
        user=user,
        name=f"Melt-quench {n}",
        step_type="melt_quench",
        parameters={"setpoint_C": {"default": 300, "min": 280, "max": 320}},
    )
    cell_add_step(
        user=user,
        cell=cell,
        step_type="melt_quench",
        protocol=melt,
        glovebox_reading=reading,
        performed_at=timezone.now() - dt.timedelta(hours=1),
        setpoint_C=300,
        hold_time_s=300,
    )
    measurement = measurement_create(
        user=user, subject=cell, measurement_type="eis", temperature_C=25
    )
    # The batch's XRD: a tetragonal phase. Its run (executed here at once; the app runs it after
    # the commit) leaves a run, a revision and a flag, so every analysis model has a row.
    xrd = measurement_create(
        user=user,
        subject=batch,
        measurement_type="xrd",
        conditions={"phase": "tetragonal", "lattice_parameter_A": 12.97},
    )
    analysis_run_execute(run_id=xrd.runs.get().pk)
    column_mapping_template_create(
        user=user, name=f"Cycler {n}", instrument=glovebox, mapping={"columns": {"t (h)": "time_s"}}
    )
    return Chain(
        lots,
        furnace,
        glovebox,
        reading,
        batch,
        pellet,
        separators,
        foil,
        pieces,
        cell,
        measurement,
        xrd,
    )
