"""Desk lists of results and flags: filtered, sorted, exported with their filters."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import pytest

from analysis.services import measurement_create

pytestmark = pytest.mark.django_db


def csv(response: Any) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(b"".join(response.streaming_content).decode()))


def test_results_list_filters_sorts_and_exports(
    client: Any, users: dict[str, Any], lab: Any, django_capture_on_commit_callbacks: Any
) -> None:
    for density in (4.1, 4.9, 4.5):
        with django_capture_on_commit_callbacks(execute=True):
            measurement_create(
                user=users["operator"],
                subject=lab.pellet,
                measurement_type="density",
                conditions={"density_g_cm3": density},
            )
    client.force_login(users["auditor"])
    page = client.get("/results/", {"name": "density_g_cm3", "sort": "-value"})
    assert page.status_code == 200
    text = page.content.decode().split("<tbody>")[1]  # the rows, not the page's style sheet
    assert text.index("4.9") < text.index("4.5") < text.index("4.1")
    frame = csv(
        client.get("/results/", {"name": "density_g_cm3", "value_min": 4.4, "format": "csv"})
    )
    assert sorted(frame["value"]) == [4.5, 4.9]
    assert set(frame["subject"]) == {lab.pellet.code} and set(frame["name"]) == {"density_g_cm3"}


def test_flags_list_shows_open_flags_and_exports_them(
    client: Any, users: dict[str, Any], lab: Any
) -> None:
    client.force_login(users["operator"])
    page = client.get("/flags/", {"open": "true"}).content.decode()
    assert lab.batch.code in page and "XRD phase is not cubic garnet" in page
    frame = csv(client.get("/flags/", {"open": "true", "format": "csv"}))
    assert list(frame["record"]) == [lab.batch.code]
    assert csv(client.get("/flags/", {"acknowledged": "true", "format": "csv"})).empty
