"""Change history: every create, update and delete kept, readable, never editable."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, transaction

from lims.models import HistoryEntry

pytestmark = pytest.mark.django_db


def test_api_create_update_delete_are_logged_with_user_fields_and_request_id(
    api: Any, users: Any, if_match: Any
) -> None:
    client = api("scientist")
    created = client.post(
        "/api/lots/",
        {"chemical": "La2O3", "supplier": "Alfa", "lot_number": "L1", "purity_percent": "99.99"},
    )
    assert created.status_code == 201, created.json()
    code = created.json()["code"]
    url = f"/api/lots/{code}/"
    client.patch(
        url,
        {"supplier": "Alfa Aesar", "notes": "re-labelled"},
        HTTP_X_REQUEST_ID="abc123",
        **if_match(client, url),
    )
    assert client.delete(url, **if_match(client, url)).status_code == 204

    entries = list(HistoryEntry.objects.filter(record_code=code).order_by("id"))
    assert [e.action for e in entries] == ["create", "update", "delete"]
    create, update, delete = entries
    assert create.username == "scientist" and create.user == users["scientist"]
    assert create.changes["supplier"] == [None, "Alfa"]
    assert update.changes == {"supplier": ["Alfa", "Alfa Aesar"], "notes": ["", "re-labelled"]}
    assert update.request_id == "abc123"
    assert delete.changes["lot_number"] == ["L1", None]
    assert create.request_id and create.request_id != update.request_id

    # The record is gone; its history stays readable by code.
    history = client.get(f"/api/history/{code}/").json()
    assert [h["action"] for h in history["results"]] == ["delete", "update", "create"]


def test_one_request_shares_one_request_id_across_rows(api: Any, free_foil: Any) -> None:
    response = api("operator").post(
        "/api/fold-passes/", {"foil": free_foil.code, "thickness_after_um": 98}
    )
    assert response.status_code == 201, response.json()
    request_id = response["X-Request-ID"]
    rows = HistoryEntry.objects.filter(request_id=request_id)
    assert rows.count() == 1
    assert rows.get().record_code == free_foil.code
    assert rows.get().model == "processing.foldpass"


def test_update_that_changes_nothing_writes_nothing(api: Any, lab: Any, if_match: Any) -> None:
    before = HistoryEntry.objects.count()
    client, url = api("scientist"), f"/api/pellets/{lab.pellet.code}/"
    response = client.patch(url, {"mass_g": lab.pellet.mass_g}, **if_match(client, url))
    assert response.status_code == 200
    assert HistoryEntry.objects.count() == before


def test_history_cannot_be_written_through_the_api(api: Any, lab: Any) -> None:
    url = f"/api/history/{lab.cell.code}/"
    client = api("admin")
    assert client.get(url).status_code == 200
    for method in ("post", "put", "patch", "delete"):
        assert getattr(client, method)(url, {}).status_code == 405


def test_history_admin_is_read_only_even_for_admin(client: Any, users: Any, lab: Any) -> None:
    client.force_login(users["admin"])
    entry = HistoryEntry.objects.filter(record_code=lab.cell.code).first()
    assert entry is not None
    assert client.get(f"/admin/lims/historyentry/{entry.pk}/change/").status_code == 200
    response = client.post(f"/admin/lims/historyentry/{entry.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert HistoryEntry.objects.filter(pk=entry.pk).exists()
    assert client.get("/admin/lims/historyentry/add/").status_code == 403


def test_database_refuses_to_change_history(lab: Any) -> None:
    entry = HistoryEntry.objects.first()
    assert entry is not None
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        HistoryEntry.objects.filter(pk=entry.pk).update(username="mallory")
    entry.refresh_from_db()
    assert entry.username != "mallory"


def test_database_refuses_to_delete_history(lab: Any) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        HistoryEntry.objects.all().delete()
    assert HistoryEntry.objects.exists()


def test_deleting_a_user_keeps_their_history_by_name(make_user: Any) -> None:
    from lims.services import record_delete
    from processing.services import chemical_lot_create

    temp = make_user("scientist", username="temp")
    lot = chemical_lot_create(user=temp, chemical="ZrO2", supplier="Acme", lot_number="Z1")
    record_delete(instance=lot, user=temp)  # a live record would keep its creator's account
    temp.delete()
    entries = HistoryEntry.objects.filter(record_code=lot.code)
    assert [(e.action, e.user_id, e.username) for e in entries.order_by("id")] == [
        ("create", None, "temp"),
        ("delete", None, "temp"),
    ]


def test_a_user_with_logged_work_cannot_be_deleted(users: Any, free_foil: Any) -> None:
    from django.db.models import ProtectedError

    from processing.services import foil_log_pass

    foil_log_pass(user=users["operator"], foil=free_foil, thickness_after_um=97)
    with pytest.raises(ProtectedError):
        users["operator"].delete()


def test_record_page_shows_history(client: Any, users: Any, lab: Any) -> None:
    client.force_login(users["auditor"])
    page = client.get(f"/r/{lab.cell.code}/").content.decode()
    assert "History" in page
    assert "created cells.cell" in page
    assert "created cells.assemblystep" in page
