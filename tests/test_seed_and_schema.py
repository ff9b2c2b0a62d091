"""Demo data builds the lab's real chain and stays the same on a second run; the API schema is clean."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from cells.models import Cell
from lims.lineage import lineage_trace
from lims.models import HistoryEntry, Record

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
