"""Roles: each allowed and refused where it should be, through the API and the pages."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

LOT = {"chemical": "ZrO2", "supplier": "Acme", "lot_number": "R-1"}


def test_anonymous_is_refused_everywhere(lab: Any, client: Any) -> None:
    anonymous = APIClient()
    for url in (
        "/api/cells/",
        f"/api/trace/{lab.cell.code}/",
        f"/api/history/{lab.cell.code}/",
        "/api/schema/",
    ):
        assert anonymous.get(url).status_code in (401, 403), url
    for url in ("/", f"/r/{lab.cell.code}/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url


@pytest.mark.parametrize(
    ("role", "status"),
    [("operator", 403), ("scientist", 201), ("auditor", 403), ("admin", 201)],
)
def test_who_may_create_a_lot(api: Any, role: str, status: int) -> None:
    assert api(role).post("/api/lots/", LOT).status_code == status


@pytest.mark.parametrize(
    ("role", "status"),
    [("operator", 201), ("scientist", 201), ("auditor", 403), ("admin", 201)],
)
def test_who_may_log_a_fold_pass(api: Any, free_foil: Any, role: str, status: int) -> None:
    response = api(role).post(
        "/api/fold-passes/", {"foil": free_foil.code, "thickness_after_um": 99}
    )
    assert response.status_code == status


@pytest.mark.parametrize("role", ["operator", "scientist", "auditor", "admin"])
def test_every_role_reads_everything(api: Any, lab: Any, role: str) -> None:
    client = api(role)
    for url in (
        "/api/cells/",
        f"/api/cells/{lab.cell.code}/",
        "/api/lots/",
        f"/api/trace/{lab.cell.code}/",
        f"/api/history/{lab.cell.code}/",
        "/api/measurements/",
    ):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize(
    ("role", "status"), [("operator", 403), ("auditor", 403), ("scientist", 200)]
)
def test_who_may_edit_and_delete_a_cell(
    api: Any, lab: Any, role: str, status: int, if_match: Any
) -> None:
    client, url = api(role), f"/api/cells/{lab.cell.code}/"
    response = client.patch(url, {"housing": "coin cell"}, **if_match(client, url))
    assert response.status_code == status
    response = client.post(f"{url}status/", {"status": "on_test"}, **if_match(client, url))
    assert response.status_code == status


@pytest.mark.parametrize("role", ["operator", "scientist", "auditor"])
def test_the_admin_is_for_administrators_only(client: Any, users: Any, lab: Any, role: str) -> None:
    """Everyone else works on the desk and tablet pages, which call the API's services."""
    client.force_login(users[role])
    assert "/admin/" not in client.get("/").content.decode()
    for url in ("/admin/", f"/admin/cells/cell/{lab.cell.pk}/change/"):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url
    response = client.post(f"/admin/cells/cell/{lab.cell.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    lab.cell.refresh_from_db()
    client.force_login(users["admin"])
    assert 'href="/admin/"' in client.get("/").content.decode()
    assert client.get("/admin/").status_code == 200


def test_operators_cut_electrodes_and_assemble_cells(api: Any, lab: Any) -> None:
    client = api("operator")
    pieces = [
        client.post("/api/electrodes/", {"foil": lab.foil.code}).json()["code"] for _ in range(2)
    ]
    built = client.post(
        "/api/cells/",
        {"separator": lab.separators[1].code, "electrode_1": pieces[0], "electrode_2": pieces[1]},
    )
    assert built.status_code == 201, built.json()
    assert client.delete(f"/api/cells/{built.json()['code']}/").status_code == 403


def test_an_edit_in_the_admin_is_logged(client: Any, users: Any, lab: Any) -> None:
    from lims.models import HistoryEntry

    client.force_login(users["admin"])
    url = f"/admin/processing/equipment/{lab.furnace.pk}/change/"
    form = {
        "equipment_type": "furnace",
        "name": "Renamed furnace",
        "manufacturer": "",
        "model_name": "",
        "serial_number": "",
        "location": "",
        "calibration_due_on": "",
        "notes": "",
    }
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = HistoryEntry.objects.filter(record_code=lab.furnace.code, action="update").get()
    assert entry.changes["name"][1] == "Renamed furnace"
    assert entry.username == "admin"


def test_token_authentication_for_instruments(api: Any, lab: Any) -> None:
    assert api("operator").get(f"/api/cells/{lab.cell.code}/").json()["code"] == lab.cell.code
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert bad.get("/api/cells/").status_code == 401
