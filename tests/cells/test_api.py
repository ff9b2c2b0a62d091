"""Cells: assembly from parts that can be used once, assembly steps, status, electrode area."""

from __future__ import annotations

import math
from typing import Any

import pytest

from cells.models import Cell
from lims.models import HistoryEntry, Record

pytestmark = pytest.mark.django_db


def test_assemble_a_cell_through_the_api(api: Any, lab: Any) -> None:
    client = api("scientist")
    response = client.post(
        "/api/cells/",
        {
            "separator": lab.separators[1].code,
            "electrode_1": lab.pieces[2].code,
            "electrode_2": client.post("/api/electrodes/", {"foil": lab.foil.code}).json()["code"],
            "cell_type": "LiNa|LLZO|LiNa",
            "collector_lot": lab.lots["Ni"].code,
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["code"].startswith("CELL-") and body["status"] == "assembled"
    assert body["stack_pressure_MPa"] == 0.1
    # Electrode area is the separator face: π d²/4 with d = 7 mm.
    assert body["electrode_area_cm2"] == pytest.approx(math.pi * 0.7**2 / 4)
    step = client.post(
        "/api/assembly-steps/",
        {
            "cell": body["code"],
            "step_type": "melt_quench",
            "performed_at": "2026-11-20T10:00:00Z",
            "setpoint_C": 300,
            "measured_C": 296,
            "hold_time_s": 300,
            "quench_surface": "steel plate",
            "time_to_quench_s": 4,
            "glovebox_reading": lab.reading.code,
        },
    )
    assert step.status_code == 201, step.json()
    trace = client.get(f"/api/trace/{body['code']}/").json()
    assert {"parent": lab.reading.code, "child": body["code"], "role": "atmosphere"} in trace[
        "edges"
    ]


def test_a_separator_already_used_is_refused_and_nothing_is_written(api: Any, lab: Any) -> None:
    client = api("scientist")
    fresh = [
        client.post("/api/electrodes/", {"foil": lab.foil.code}).json()["code"] for _ in range(2)
    ]
    before = (Record.objects.count(), HistoryEntry.objects.count(), Cell.objects.count())
    response = client.post(
        "/api/cells/",
        {"separator": lab.separators[0].code, "electrode_1": fresh[0], "electrode_2": fresh[1]},
    )
    assert response.status_code == 400
    assert response.json()["separator"] == [
        f"{lab.separators[0].code} is already used by {lab.cell.code}."
    ]
    assert (Record.objects.count(), HistoryEntry.objects.count(), Cell.objects.count()) == before


def test_electrodes_used_twice_are_refused(api: Any, lab: Any) -> None:
    client = api("scientist")
    used = client.post(
        "/api/cells/",
        {
            "separator": lab.separators[1].code,
            "electrode_1": lab.pieces[0].code,
            "electrode_2": lab.pieces[2].code,
        },
    )
    assert used.status_code == 400
    assert used.json()["electrode_1"] == [
        f"{lab.pieces[0].code} is already used by {lab.cell.code}."
    ]
    same = client.post(
        "/api/cells/",
        {
            "separator": lab.separators[1].code,
            "electrode_1": lab.pieces[2].code,
            "electrode_2": lab.pieces[2].code,
        },
    )
    assert same.status_code == 400 and "electrode_2" in same.json()


def test_status_changes_are_validated_and_logged(api: Any, lab: Any, if_match: Any) -> None:
    client, url = api("scientist"), f"/api/cells/{lab.cell.code}/"
    bad = client.post(f"{url}status/", {"status": "exploded"}, **if_match(client, url))
    assert bad.status_code == 400 and "status" in bad.json()
    ok = client.post(f"{url}status/", {"status": "on_test"}, **if_match(client, url))
    assert ok.status_code == 200 and ok.json()["status"] == "on_test"
    entry = HistoryEntry.objects.filter(record_code=lab.cell.code, action="update").latest("id")
    assert entry.changes == {"status": ["assembled", "on_test"]}
    assert client.get("/api/cells/", {"status": "on_test"}).json()["count"] == 1


def test_mask_area_overrides_separator_face(api: Any, lab: Any, if_match: Any) -> None:
    client, url = api("scientist"), f"/api/cells/{lab.cell.code}/"
    body = client.patch(url, {"mask_area_cm2": 0.2}, **if_match(client, url)).json()
    assert body["electrode_area_cm2"] == 0.2
    negative = client.patch(url, {"mask_area_cm2": -0.2}, **if_match(client, url))
    assert negative.status_code == 400 and "mask_area_cm2" in negative.json()


def test_filter_cells_by_batch_and_foil(api: Any, lab: Any, users: Any) -> None:
    from tests.factories import build_chain

    build_chain(user=users["scientist"])
    client = api("auditor")
    assert [
        c["code"] for c in client.get("/api/cells/", {"batch": lab.batch.code}).json()["results"]
    ] == [lab.cell.code]
    assert [
        c["code"] for c in client.get("/api/cells/", {"foil": lab.foil.code}).json()["results"]
    ] == [lab.cell.code]
