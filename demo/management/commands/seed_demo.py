"""Build the lab's real chain from DOMAIN.md as demo data, through the same services people use.

Idempotent: users are created or reset, the records only once (a second run finds the demo batch
and leaves everything as it is). Measurements carry raw files: the real instrument files of
``../shared/data`` where that folder is present, synthetic ones from the science library where
not; their analyses run when the demo's transaction commits, so a newcomer sees fitted spectra,
a CCD curve and density statistics right away.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from analysis.science.composition import precursor_masses
from analysis.services import measurement_create
from cells import services as cells
from demo import synthetic
from glovebox.services import bench_pin_set
from lims.roles import ADMIN, OPERATOR, ROLES, SCIENTIST, ensure_roles
from processing import services as proc
from processing.models import SynthesisBatch
from processing.protocols import DEFAULT_PROTOCOLS

DEMO_PASSWORD = "lina-demo"
#: PINs for switching user on a registered glovebox tablet (``/bench/switch/``).
DEMO_PINS = {OPERATOR: "2468", SCIENTIST: "1357"}
DEMO_NOTE = "Demo data (seed_demo)"
FORMULA = "Li6.45Al0.05La3Zr1.6Ta0.4O12"


def demo_users() -> dict[str, Any]:
    User = get_user_model()
    users = {}
    for role in ROLES:
        user, _ = User.objects.get_or_create(
            username=role, defaults={"email": f"{role}@lina.example"}
        )
        user.set_password(DEMO_PASSWORD)
        user.is_staff = role == ADMIN  # the Django admin is for administrators only
        user.is_superuser = role == ADMIN
        user.save()
        user.groups.set([Group.objects.get(name=role)])
        users[role] = user
    return users


class Command(BaseCommand):
    help = "Create demo users for every role and the lab's demo chain of records (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        ensure_roles()
        users = demo_users()
        for role, pin in DEMO_PINS.items():
            bench_pin_set(user=users[role], pin=pin)
        if SynthesisBatch.objects.filter(notes=DEMO_NOTE).exists():
            self.stdout.write("Demo records already present; users refreshed.")
        else:
            with transaction.atomic():
                build_demo(users)
            self.stdout.write(self.style.SUCCESS("Demo records created."))
        self.stdout.write(
            "Log in at http://127.0.0.1:8000/ as one of "
            + ", ".join(ROLES)
            + f" with the password '{DEMO_PASSWORD}'. Tablet PINs (/bench/switch/): "
            + ", ".join(f"{role} {pin}" for role, pin in DEMO_PINS.items())
            + "."
        )


#: The instrument files other labs' instruments wrote, beside the project (see its MANIFEST).
SHARED_DATA = Path(settings.BASE_DIR).parent / "shared" / "data"


def shared_file(relative: str) -> dict[str, Any] | None:
    """A real file of ``../shared/data`` as measurement_create's raw file, if present."""
    path = SHARED_DATA / relative
    if not path.is_file():
        return None
    return {"raw_stream": ContentFile(path.read_bytes()), "raw_name": path.name}


def synthetic_file(content: bytes, name: str) -> dict[str, Any]:
    return {"raw_stream": ContentFile(content), "raw_name": name}


def build_demo(users: dict[str, Any]) -> None:
    sci, op = users[SCIENTIST], users[OPERATOR]
    t0 = timezone.now().replace(microsecond=0) - dt.timedelta(days=30)

    def at(days: float, hours: float = 0) -> dt.datetime:
        return t0 + dt.timedelta(days=days, hours=hours)

    eq = {
        key: proc.equipment_create(
            user=sci,
            equipment_type=kind,
            name=name,
            location=room,
            notes=DEMO_NOTE,
            calibration_due_on=(t0 + dt.timedelta(days=200)).date(),
        )
        for key, kind, name, room in [
            ("muffle", "furnace", "Muffle furnace N11/H", "Lab 2.14"),
            ("mixer", "mixer", "Intensive mixer EL1", "Lab 2.14"),
            ("press", "press", "Uniaxial press 10 t", "Lab 2.14"),
            ("grinder", "grinder", "Mortar grinder RM 200 (WC)", "Lab 2.14"),
            ("balance", "balance", "Analytical balance XPR205", "Lab 2.14"),
            ("saw", "saw", "Diamond wire saw", "Lab 2.16"),
            ("glovebox", "glovebox", "Ar glovebox MB-200B", "Lab 2.18"),
            ("calender", "calender", "Rolling mill (in glovebox)", "Lab 2.18"),
            ("hotplate", "hotplate", "Hot plate (in glovebox)", "Lab 2.18"),
            ("indenter", "indenter", "Nanoindenter (Vickers)", "Lab 2.20"),
            ("potentiostat", "potentiostat", "Bio-Logic VMP-300", "Lab 2.20"),
            ("xrd", "diffractometer", "Powder diffractometer", "Lab 2.22"),
        ]
    }

    protocols = {
        key: proc.protocol_create(user=sci, name=name, step_type=step, parameters=params)
        for key, (name, step, params) in DEFAULT_PROTOCOLS.items()
    }

    lots = {
        chem: proc.chemical_lot_create(
            user=sci,
            chemical=chem,
            supplier=supplier,
            lot_number=lot,
            purity_percent=purity,
            received_on=at(-60).date(),
            opened_on=at(-20).date(),
            notes=DEMO_NOTE,
        )
        for chem, supplier, lot, purity in [
            ("LiOH·H2O", "Sigma-Aldrich", "MKCR1234", "99.995"),
            ("La2O3", "Alfa Aesar", "Y21F017", "99.99"),
            ("ZrO2", "Sigma-Aldrich", "BCBW5521", "99.0"),
            ("Ta2O5", "Alfa Aesar", "P04A032", "99.85"),
            ("Al2O3", "Sigma-Aldrich", "MKCM8870", "99.99"),
            ("Li", "Albemarle", "LI-2026-0412", "99.9"),
            ("Na", "Sigma-Aldrich", "SHBM4410", "99.9"),
            ("Ni", "Goodfellow", "NI-FOIL-25-0098", "99.98"),
        ]
    }

    # One reading per glovebox session; every step done in the box links to the one of its day.
    readings = [
        proc.glovebox_reading_log(
            user=op, glovebox=eq["glovebox"], measured_at=at(d), o2_ppm=o2, h2o_ppm=h2o
        )
        for d, o2, h2o in [(20, 0.05, 0.02), (21, 0.06, 0.03), (22, 0.08, 0.04), (23, 0.07, 0.03)]
    ]

    batch = proc.batch_create(
        user=sci,
        target_formula=FORMULA,
        batch_size_g=20.0,
        li_excess_percent=10.0,
        started_on=at(0).date(),
        notes=DEMO_NOTE,
    )
    precursors = ["LiOH·H2O", "Al2O3", "La2O3", "ZrO2", "Ta2O5"]
    targets = precursor_masses(FORMULA, precursors, 20.0, excess_percent={"Li": 10.0})
    for i, chem in enumerate(precursors):
        target = round(targets[chem], 4)
        proc.batch_add_weighing(
            user=op,
            batch=batch,
            lot=lots[chem],
            target_mass_g=target,
            actual_mass_g=round(target * (1 + 0.001 * (i - 2)), 4),
            balance=eq["balance"],
            weighed_at=at(0, 2 + i * 0.1),
        )

    steps: list[dict[str, Any]] = [
        {
            "step_type": "dry",
            "equipment": eq["muffle"],
            "setpoint_C": 900,
            "dwell_h": 10,
            "atmosphere": "air",
            "crucible": "alumina",
            "notes": "La2O3 pre-dried before weighing",
            "hours": -20,
        },
        {"step_type": "mix", "equipment": eq["mixer"], "hours": 3},
        {"step_type": "press", "equipment": eq["press"], "pressure_MPa": 50, "hours": 4},
        {
            "step_type": "calcine",
            "protocol": protocols["calcine1"],
            "equipment": eq["muffle"],
            "setpoint_C": 850,
            "ramp_up_C_min": 5,
            "ramp_down_C_min": 5,
            "dwell_h": 20,
            "atmosphere": "air",
            "crucible": "alumina",
            "hours": 5,
        },
        {"step_type": "grind", "equipment": eq["grinder"], "crucible": "WC", "hours": 30},
        {
            "step_type": "calcine",
            "protocol": protocols["calcine2"],
            "equipment": eq["muffle"],
            "setpoint_C": 1000,
            "ramp_up_C_min": 5,
            "ramp_down_C_min": 5,
            "dwell_h": 20,
            "atmosphere": "air",
            "crucible": "alumina",
            "hours": 32,
        },
        {"step_type": "press", "equipment": eq["press"], "pressure_MPa": 200, "hours": 60},
        {
            "step_type": "sinter",
            "protocol": protocols["sinter"],
            "equipment": eq["muffle"],
            "setpoint_C": 1175,
            "ramp_up_C_min": 3,
            "ramp_down_C_min": 3,
            "dwell_h": 10,
            "atmosphere": "air",
            "crucible": "closed alumina",
            "hours": 62,
        },
    ]
    for step in steps:
        hours = step.pop("hours")
        dwell = step.get("dwell_h") or 1
        proc.batch_add_step(
            user=op, batch=batch, started_at=at(0, hours), ended_at=at(0, hours + dwell), **step
        )

    # Rietveld refinement done in the diffractometer's software; its lattice parameter feeds
    # the pellets' relative density.
    measurement_create(
        user=sci,
        subject=batch,
        measurement_type="xrd",
        instrument=eq["xrd"],
        measured_at=at(3),
        conditions={"phase": "cubic", "lattice_parameter_A": 12.955},
    )
    separators = []
    for i, (thickness, mass) in enumerate([(1.21, 0.2401), (1.18, 0.2338), (1.25, 0.2270)]):
        pellet = proc.pellet_create(
            user=op, batch=batch, diameter_mm=7.0 + 0.02 * i, thickness_mm=thickness, mass_g=mass
        )
        measurement_create(
            user=op,
            subject=pellet,
            measurement_type="density",
            instrument=eq["balance"],
            protocol=protocols["density"],
            temperature_C=22,
            measured_at=at(4, i),
            conditions={"method": "geometric"},
        )
        for j in range(2):
            separators.append(
                proc.separator_create(
                    user=op,
                    pellet=pellet,
                    thickness_um=700 - 20 * j,
                    polish_grit=800,
                    polished_in="glovebox",
                    polished_at=at(22, j),
                )
            )

    lina = proc.foil_create(
        user=op,
        foil_type="lina",
        li_lot=lots["Li"],
        na_lot=lots["Na"],
        target_na_mol_percent=3.0,
        li_mass_g=0.6496,
        na_mass_g=0.0664,
        target_thickness_um=100,
        protocol=protocols["fold"],
        glovebox=eq["glovebox"],
    )
    for n in range(1, 21):
        proc.foil_log_pass(
            user=op,
            foil=lina,
            thickness_after_um=100 + (n % 2) * 5,
            performed_at=at(20, n * 0.1),
            calender=eq["calender"],
            glovebox_reading=readings[0],
        )
    # A foil being folded now: the glovebox tablet's fold-pass page starts from here.
    proc.foil_create(
        user=op,
        foil_type="lina",
        li_lot=lots["Li"],
        na_lot=lots["Na"],
        target_na_mol_percent=3.0,
        target_thickness_um=100,
        protocol=protocols["fold"],
        glovebox=eq["glovebox"],
        notes="Being folded at the glovebox",
    )
    pure_li = proc.foil_create(
        user=op,
        foil_type="li_rolled",
        li_lot=lots["Li"],
        target_thickness_um=100,
        glovebox=eq["glovebox"],
    )

    # Hardness of the LiNa foil against the rolled pure-Li reference (work hardening).
    for foil, mean, sd in [(lina, 9.6, 1.3), (pure_li, 8.0, 1.1)]:
        measurement_create(
            user=op,
            subject=foil,
            measurement_type="hardness",
            instrument=eq["indenter"],
            measured_at=at(21, 4),
            conditions={"force_mN": 15, "indents": 130},
            **synthetic_file(
                synthetic.hardness_table_csv(mean_N_mm2=mean, sd_N_mm2=sd, seed=int(mean * 10)),
                f"{foil.code}-indents.csv",
            ),
        )

    for foil, sep, cell_type, reading in [
        (lina, separators[0], "LiNa|LLZO|LiNa", readings[2]),
        (pure_li, separators[1], "Li|LLZO|Li", readings[3]),
    ]:
        pieces = [
            proc.electrode_cut(user=op, foil=foil, diameter_mm=6.0, mass_mg=1.5) for _ in range(2)
        ]
        cell = cells.cell_assemble(
            user=op,
            separator=sep,
            electrode_1=pieces[0],
            electrode_2=pieces[1],
            cell_type=cell_type,
            collector_lot=lots["Ni"],
            glovebox=eq["glovebox"],
            assembled_at=reading.measured_at,
        )
        t = reading.measured_at
        cells.cell_add_step(
            user=op,
            cell=cell,
            step_type="press",
            performed_at=t,
            glovebox_reading=reading,
            notes="Foil pieces pressed by hand onto both polished faces",
        )
        cells.cell_add_step(
            user=op,
            cell=cell,
            step_type="melt_quench",
            protocol=protocols["melt"],
            equipment=eq["hotplate"],
            glovebox_reading=reading,
            performed_at=t + dt.timedelta(minutes=10),
            setpoint_C=300,
            measured_C=297,
            hold_time_s=300,
            quench_surface="steel plate at room temperature",
            time_to_quench_s=4,
        )
        cells.cell_add_step(
            user=op,
            cell=cell,
            step_type="seal",
            performed_at=t + dt.timedelta(minutes=25),
            glovebox_reading=reading,
            notes="Sealed in Swagelok housing",
        )
        demo_cell_tests(cell, cell_type, eq, protocols, op, t)


def demo_cell_tests(
    cell: Any, cell_type: str, eq: dict[str, Any], protocols: dict[str, Any], op: Any, t: Any
) -> None:
    """Impedance after 1, 5 and 10 cycles and a CCD test at 25 °C, with raw files."""
    lina = cell_type.startswith("LiNa")
    spectra: list[tuple[dict[str, Any], dict[str, Any]]]
    if lina:
        # GEIS sweeps of one real cell (below its 30 kHz cable artefacts), or synthetic spectra
        # with a rising interface resistance
        real = shared_file("eclab/geis.mpr")
        spectra = [
            (
                {"sweep": sweep, "cycle_number": sweep, "f_max_Hz": 30000}
                if real
                else {"cycle_number": sweep},
                real
                or synthetic_file(
                    synthetic.eis_spectrum_csv(r_interface_ohm=r_if), f"{cell.code}-{sweep}.csv"
                ),
            )
            for sweep, r_if in [(1, 40.0), (5, 55.0), (10, 90.0)]
        ]
    else:
        real = shared_file("eis/exampleDataBioLogic.mpt")
        spectra = [
            ({"circuit": "R0-p(R1,CPE1)"}, real)
            if real
            else ({}, synthetic_file(synthetic.eis_spectrum_csv(r_interface_ohm=400), "li.csv"))
        ]
    for n, (conditions, files) in enumerate(spectra):
        measurement_create(
            user=op,
            subject=cell,
            measurement_type="eis",
            instrument=eq["potentiostat"],
            protocol=protocols["eis"],
            temperature_C=25,
            measured_at=t + dt.timedelta(days=1 + n),
            conditions=conditions,
            **files,
        )
    measurement_create(
        user=op,
        subject=cell,
        measurement_type="ccd",
        instrument=eq["potentiostat"],
        protocol=protocols["ccd"],
        temperature_C=25,
        measured_at=t + dt.timedelta(days=5),
        **synthetic_file(
            synthetic.ccd_curve_csv(
                area_cm2=cell.electrode_area_cm2,
                asr_ohm_cm2=40.0 if lina else 120.0,
                short_at_mA_cm2=1.2 if lina else 0.35,
            ),
            f"{cell.code}-ccd.csv",
        ),
    )
