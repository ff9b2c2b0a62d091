"""The cell assembly checklist and separator polishing at the bench."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from cells.models import Cell
from glovebox.models import BenchEntry
from lims.history import history_version
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


def polish(client: Client, code: str, body: dict[str, Any]) -> Any:
    url = f"/bench/r/{code}/polish/"
    return client.post(url, json.dumps(body), content_type="application/json")


def page_version(client: Client, code: str) -> int:
    found = re.search(
        r'name="version" value="(\d+)"', client.get(f"/bench/r/{code}/").content.decode()
    )
    assert found, "the polishing form carries no version"
    return int(found[1])


def test_polishing_a_separator(operator: Client, lab: Any) -> None:
    separator = lab.separators[1]
    body = {"polish_grit": "1200", "polished_in": "glovebox", "thickness_um": "650"}
    version = page_version(operator, separator.code)
    response = polish(operator, separator.code, body | {"version": version})
    assert response.status_code == 201, response.json()
    assert response.json()["version"] == version + 1
    separator.refresh_from_db()
    assert (separator.polish_grit, separator.thickness_um) == (1200, 650)
    assert separator.polished_in == "glovebox" and separator.polished_at

    used = lab.separators[0]
    refused = polish(operator, used.code, body | {"version": history_version(used)})
    assert refused.json()["errors"]["thickness_um"] == [
        f"{used.code} is already in cell {lab.cell.code}: polish before."
    ]
    bad = polish(operator, separator.code, body | {"polish_grit": "fine", "version": version + 1})
    assert bad.json()["errors"] == {"polish_grit": ["The grit is a whole number, like 1200."]}
    unversioned = polish(operator, separator.code, body)
    assert unversioned.json()["errors"] == {
        "version": ["This page is out of date: reload it, then tap again."]
    }


def test_polishing_changed_in_between_shows_both_values_and_overwrites_nothing(
    operator: Client, lab: Any, users: Any
) -> None:
    from lims.services import record_update

    separator = lab.separators[1]
    seen = page_version(operator, separator.code)
    # While the tablet's page is open, a scientist records the separator at the desk.
    record_update(
        instance=separator,
        data={"thickness_um": 640, "polish_grit": 2000, "polished_in": "air"},
        user=users["scientist"],
    )
    mine = {"polish_grit": "1200", "polished_in": "glovebox", "thickness_um": "655"}
    conflict = polish(operator, separator.code, mine | {"version": seen})
    assert conflict.status_code == 400
    message = conflict.json()["errors"]["__all__"][0]
    assert message.startswith("scientist at ")
    assert message.endswith(
        f" changed {separator.code} after this page showed it. "
        "Now: 640 µm, grit P2000, in air. Yours: 655 µm, grit P1200, in the glovebox. "
        "Check the separator, then tap Save polishing again to keep yours."
    )
    separator.refresh_from_db()
    assert (separator.thickness_um, separator.polish_grit) == (640, 2000)  # not overwritten
    assert not BenchEntry.objects.filter(action="polish").exists()

    current = conflict.json()["version"]
    assert current == seen + 1
    kept = polish(operator, separator.code, mine | {"version": current})  # having read it
    assert kept.status_code == 201
    separator.refresh_from_db()
    assert (separator.thickness_um, separator.polished_in) == (655, "glovebox")
