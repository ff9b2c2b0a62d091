"""The cell assembly checklist and separator polishing at the bench."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from cells.models import Cell
from glovebox.models import BenchEntry
from processing.services import electrode_cut

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(users: Any) -> Client:
    client = Client()
    client.force_login(users["operator"])
    return client


def build(client: Client, form: dict[str, Any], key: str | None = None) -> Any:
    """What the tablet's outbox sends when *Build the cell* is tapped."""
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(
        "/bench/assemble/", json.dumps(form), content_type="application/json", headers=headers
    )


def test_the_checklist_builds_the_cell_once_with_its_lineage(
    operator: Client, lab: Any, users: Any
) -> None:
    pieces = [electrode_cut(user=users["scientist"], foil=lab.foil) for _ in range(2)]
    page = operator.get("/bench/assemble/", {"separator": lab.separators[1].code})
    assert page.status_code == 200
    assert page.context["form"]["separator"].value() == lab.separators[1].code
    tapped = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=20)  # sent later
    form = {
        "device_time": tapped.isoformat(),
        "separator": lab.separators[1].code.lower(),  # as a scanner might type it
        "electrode_1": pieces[0].code,
        "electrode_2": pieces[1].code,
        "collector_lot": lab.lots["Ni"].code,
        "glovebox": lab.glovebox.code,
    }
    first = build(operator, form, key="assemble-1")
    again = build(operator, form, key="assemble-1")  # the response was lost: the outbox resends

    cell = Cell.objects.get(separator=lab.separators[1])
    assert first.status_code == again.status_code == 201, first.json()
    assert first.json() == again.json()
    assert first.json()["code"] == cell.code
    assert cell.created_by == users["operator"]
    assert cell.assembled_at == tapped  # when it was built, not when it arrived
    roles = {(link.parent.code, link.role) for link in cell.parent_links.select_related("parent")}
    assert {
        (lab.separators[1].code, "separator"),
        (pieces[0].code, "electrode"),
        (pieces[1].code, "electrode"),
        (lab.lots["Ni"].code, "current_collector"),
        (lab.glovebox.code, "glovebox"),
    } <= roles
    entry = BenchEntry.objects.get(action="cell_assemble")
    assert (entry.record_code, entry.key, entry.device_time) == (cell.code, "assemble-1", tapped)
    page = operator.get(f"/bench/r/{cell.code}/").content.decode()
    assert "next" in page and "Press the foil pieces onto both faces" in page


def test_the_checklist_names_each_wrong_part(operator: Client, lab: Any) -> None:
    form = {
        "separator": lab.separators[0].code,  # already in lab.cell
        "electrode_1": lab.pieces[2].code,
        "electrode_2": lab.cell.code,  # not an electrode
        "glovebox": lab.furnace.code,  # not a glovebox
    }
    response = build(operator, form, key="k-1")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["electrode_2"] == [f"{lab.cell.code} is a cell, not an electrode piece."]
    assert errors["glovebox"] == [f"{lab.furnace.code} is a furnace."]
    form |= {"electrode_2": lab.pieces[1].code, "glovebox": lab.glovebox.code}
    response = build(operator, form, key="k-1")  # a refused key is free for the correction
    errors = response.json()["errors"]
    assert errors["separator"] == [f"{lab.separators[0].code} is already used by {lab.cell.code}."]
    assert errors["electrode_2"] == [f"{lab.pieces[1].code} is already used by {lab.cell.code}."]
    form |= {"electrode_2": lab.pieces[2].code}
    response = build(operator, form, key="k-1")
    assert response.json()["errors"] == {
        "electrode_2": ["The second piece must be a different piece from the first piece."],
        "separator": [f"{lab.separators[0].code} is already used by {lab.cell.code}."],
    }
    missing = build(operator, {"separator": "", "electrode_1": lab.pieces[2].code})
    assert missing.json()["errors"]["separator"] == ["Scan or type the code."]
    assert Cell.objects.count() == 1
    assert not BenchEntry.objects.exists()


def test_polishing_a_separator(operator: Client, lab: Any) -> None:
    url = f"/bench/r/{lab.separators[1].code}/polish/"
    body = {"polish_grit": "1200", "polished_in": "glovebox", "thickness_um": "650"}
    response = operator.post(url, json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.json()
    lab.separators[1].refresh_from_db()
    assert (lab.separators[1].polish_grit, lab.separators[1].thickness_um) == (1200, 650)
    assert lab.separators[1].polished_in == "glovebox" and lab.separators[1].polished_at

    used = f"/bench/r/{lab.separators[0].code}/polish/"
    refused = operator.post(used, json.dumps(body), content_type="application/json")
    assert refused.json()["errors"]["thickness_um"] == [
        f"{lab.separators[0].code} is already in cell {lab.cell.code}: polish before."
    ]
    bad = operator.post(
        url, json.dumps(body | {"polish_grit": "fine"}), content_type="application/json"
    )
    assert bad.json()["errors"] == {"polish_grit": ["The grit is a whole number, like 1200."]}
