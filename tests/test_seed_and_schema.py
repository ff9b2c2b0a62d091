"""Demo data builds the lab's real chain and stays the same on a second run; the API schema is clean."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from analysis.models import AnalysisRun, Flag, Measurement, ResultValue
from cells.models import Cell
from lims.lineage import lineage_trace
from lims.models import HistoryEntry, Link, Record
from tests.shared_data import require_shared_data

pytestmark = pytest.mark.django_db


def test_seed_demo_builds_the_chain_and_is_idempotent() -> None:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert "password 'lina-demo'" in out.getvalue()
    counts = (Record.objects.count(), HistoryEntry.objects.count())
    call_command("seed_demo", stdout=StringIO())
    assert (Record.objects.count(), HistoryEntry.objects.count()) == counts

    lina = Cell.objects.get(cell_type="LiNa|LLZO|LiNa")
    reference = Cell.objects.get(cell_type="Li|LLZO|Li")
    back = lineage_trace(root=lina, direction="backward")
    kinds = {n["kind"] for n in back.nodes}
    assert {
        "chemicallot",
        "synthesisbatch",
        "pellet",
        "separator",
        "metalfoil",
        "electrodepiece",
        "gloveboxreading",
        "equipment",
    } <= kinds
    labels = " ".join(n["label"] for n in back.nodes)
    assert "La2O3" in labels and "LiNa 3 mol% Na" in labels
    assert lina.separator.pellet.batch.target_formula == "Li6.45Al0.05La3Zr1.6Ta0.4O12"
    assert lina.electrode_1.foil.passes.count() == 20
    melt = lina.assembly_steps.get(step_type="melt_quench")
    assert (melt.setpoint_C, melt.hold_time_s, melt.flags) == (300, 300, [])
    assert reference.electrode_1.foil.na_lot is None
    batch = lina.separator.pellet.batch
    assert [s.step_type for s in batch.steps.all()][-1] == "sinter"
    assert batch.weighings.count() == 5


def test_seed_demo_analyses_its_raw_files(django_capture_on_commit_callbacks: Any) -> None:
    require_shared_data("eclab", "geis.mpr")
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=StringIO())
    runs = AnalysisRun.objects.all()
    assert runs.count() == 12
    assert sorted(set(runs.values_list("status", flat=True))) == ["done"], [
        r.error for r in runs if r.error
    ]
    lina = Cell.objects.get(cell_type="LiNa|LLZO|LiNa")
    spectra = Measurement.objects.filter(subject=lina, measurement_type="eis")
    assert {m.raw_file.original_name for m in spectra} == {"geis.mpr"}
    asr = ResultValue.objects.filter(subject=lina, name="asr_interface_ohm_cm2", is_current=True)
    assert asr.count() == 3 and all(v.value > 0 for v in asr)
    ccd = ResultValue.objects.get(subject=lina, name="ccd_mA_cm2")
    assert ccd.value == pytest.approx(1.2, rel=0.01) and not ccd.is_lower_bound
    densities = ResultValue.objects.filter(name="relative_density_pct", is_current=True)
    assert densities.count() == 3
    # the third pellet is porous, and the flag says so
    low = Flag.objects.get(kind="density_low")
    assert low.record.code.endswith("-03") and "below the minimum 95 %" in low.message
    # flags and runs on the cell leave its lineage whole
    roles = set(Link.objects.filter(child=lina).values_list("role", flat=True))
    assert {"separator", "electrode", "current_collector", "atmosphere"} <= roles


def test_seed_demo_users_can_log_in(client: Any) -> None:
    call_command("seed_demo", stdout=StringIO())
    for role in ("operator", "scientist", "auditor", "admin"):
        assert client.login(username=role, password="lina-demo"), role


def test_openapi_schema_generates_without_warnings(capsys: Any) -> None:
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")
    err = capsys.readouterr().err
    assert "Warning" not in err and "Error" not in err


def test_schema_names_units_in_numeric_fields(api: Any) -> None:
    schema = api("auditor").get("/api/schema/", HTTP_ACCEPT="application/json").json()
    cell = schema["components"]["schemas"]["Cell"]["properties"]
    assert {"stack_pressure_MPa", "mask_area_cm2", "electrode_area_cm2"} <= set(cell)
    assert "/api/trace/{code}/" in schema["paths"]
