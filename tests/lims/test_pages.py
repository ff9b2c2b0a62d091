"""The record page and the home page: fields, parents, children, measurements, history."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db


def test_record_page_of_a_cell(client: Any, users: Any, lab: Any) -> None:
    client.force_login(users["operator"])
    page = client.get(f"/r/{lab.cell.code}/").content.decode()
    for expected in (
        lab.cell.code,
        lab.separators[0].code,
        lab.pieces[0].code,
        lab.lots["Ni"].code,
        lab.measurement.code,
        "melt-quench",
        "LiNa|LLZO|LiNa",
        "Made from",
        "History",
    ):
        assert expected in page, expected
    assert f'href="/r/{lab.separators[0].code}/"' in page


def test_record_page_of_a_batch_shows_weighings_and_steps(
    client: Any, users: Any, lab: Any
) -> None:
    client.force_login(users["auditor"])
    page = client.get(f"/r/{lab.batch.code}/").content.decode()
    assert "Weighing entries" in page and "Process steps" in page
    assert lab.lots["La2O3"].code in page and lab.pellet.code in page


def test_record_page_query_count_does_not_grow_with_children(
    client: Any, users: Any, lab: Any, free_foil: Any
) -> None:
    from processing.services import foil_log_pass

    client.force_login(users["auditor"])
    foil_log_pass(
        user=users["operator"], foil=free_foil, thickness_after_um=100, glovebox_reading=lab.reading
    )
    with CaptureQueriesContext(connection) as few:
        client.get(f"/r/{free_foil.code}/")
    for _ in range(10):
        foil_log_pass(
            user=users["operator"],
            foil=free_foil,
            thickness_after_um=100,
            glovebox_reading=lab.reading,
        )
    with CaptureQueriesContext(connection) as many:
        response = client.get(f"/r/{free_foil.code}/")
    assert response.status_code == 200
    assert len(many) == len(few)


def test_unknown_code_is_404(client: Any, users: Any) -> None:
    client.force_login(users["auditor"])
    assert client.get("/r/CELL-9999/").status_code == 404


def test_home_search_jumps_to_an_exact_code_and_lists_partial_matches(
    client: Any, users: Any, lab: Any
) -> None:
    client.force_login(users["operator"])
    exact = client.get("/", {"q": lab.cell.code.lower()})
    assert exact.status_code == 302 and exact["Location"] == f"/r/{lab.cell.code}/"
    partial = client.get("/", {"q": lab.batch.code.split("-")[1]}).content.decode()
    assert lab.pellet.code in partial and lab.separators[1].code in partial
