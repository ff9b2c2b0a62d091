"""The home page, "what needs me today": open flags, failed runs, cells on test, activity."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analysis.flagging import flag_acknowledge
from analysis.models import Flag
from analysis.runs import analysis_request, analysis_run_execute
from analysis.services import measurement_create
from cells.services import cell_set_status
from processing import services as proc
from tests.factories import Chain, build_chain

pytestmark = pytest.mark.django_db


def _section(page: str, title: str) -> str:
    """The home page's section headed ``title``."""
    for chunk in page.split('<section class="home-panel')[1:]:
        if f">{title}" in chunk.split("</h2>")[0]:
            return chunk.split("</section>")[0]
    raise AssertionError(f"no section {title!r}")


def _count(section: str) -> int:
    found = re.search(r'<span class="badge[^"]*">(\d+)</span>', section.split("</h2>")[0])
    assert found, section[:300]
    return int(found.group(1))


def _xrd(lab: Chain, user: Any, **conditions: Any) -> Any:
    """An XRD measurement of the batch, its run executed at once (no conditions: it fails)."""
    measurement = measurement_create(
        user=user, subject=lab.batch, measurement_type="xrd", conditions=conditions
    )
    analysis_run_execute(run_id=measurement.runs.get().pk)
    return measurement


def _lab_of_the_day(users: dict[str, Any]) -> tuple[Chain, Chain, dict[str, Any]]:
    scientist, operator = users["scientist"], users["operator"]
    lab, other = build_chain(user=scientist), build_chain(user=operator)
    for chain in (lab, other):
        cell_set_status(user=scientist, cell=chain.cell, status="on_test")
    build_chain(user=scientist)  # its cell stays assembled: not on test
    failed = _xrd(lab, operator)  # no lattice parameter, no phase: the run fails
    # Failed, then run again with the values: made good, so nobody needs it.
    mended = _xrd(lab, scientist)
    run = analysis_request(
        measurement=mended,
        user=scientist,
        parameters={"phase": "cubic", "lattice_parameter_A": 12.97},
    )
    assert run is not None
    analysis_run_execute(run_id=run.pk)
    # Failed twice, a third attempt queued: still failed until it is done.
    retried = _xrd(other, scientist)
    again = analysis_request(measurement=retried, user=scientist, parameters={})
    assert again is not None
    proc.glovebox_reading_log(user=operator, glovebox=lab.glovebox, o2_ppm=0.2, h2o_ppm=0.1)
    return lab, other, {"failed": failed, "mended": mended, "retried": retried}


def test_home_lists_what_needs_the_user_today_with_counts(client: Any, users: Any) -> None:
    lab, other, runs = _lab_of_the_day(users)
    open_flags = Flag.objects.filter(cleared_at=None, acknowledged_at=None)
    assert open_flags.filter(kind="phase").count() == 3  # each chain's tetragonal XRD
    client.force_login(users["operator"])
    page = client.get("/").content.decode()

    flags = _section(page, "Open flags")
    assert _count(flags) == open_flags.count()
    mine = open_flags.filter(record__created_by=users["operator"]).count()
    assert mine >= 1 and f"{mine} on records you made" in flags
    # The operator's own records come first.
    first = re.search(r'<td class="code"><a href="/r/([^/]+)/', flags)
    assert first and first.group(1) in {other.batch.code, other.cell.code, other.foil.code}

    failed = _section(page, "Analysis runs that failed")
    assert _count(failed) == 2
    assert runs["failed"].code in failed and runs["retried"].code in failed
    assert runs["mended"].code not in failed
    assert "retry queued" in failed and "XRD: give lattice_parameter_A" in failed
    assert failed.index(runs["failed"].code) < failed.index(runs["retried"].code)  # theirs first

    cells = _section(page, "Cells on test")
    assert _count(cells) == 2
    assert lab.cell.code in cells and other.cell.code in cells
    assert cells.index(other.cell.code) < cells.index(lab.cell.code)  # the operator's first
    assert other.measurement.code in cells  # its last measurement

    activity = _section(page, "Recent activity")
    yours, others = activity.split("Latest changes by others")
    assert "gloveboxreading" in yours and "scientist" not in yours
    assert "scientist" in others and "operator" not in others

    # Acknowledging a flag takes it off the list.
    flag_acknowledge(flag=open_flags.first(), user=users["scientist"], comment="seen")
    again = client.get("/").content.decode()
    assert _count(_section(again, "Open flags")) == open_flags.count()
    assert '<a class="tile attention" href="#home-1"><b>' in again


def test_home_query_count_does_not_grow_with_the_lab(client: Any, users: Any) -> None:
    _lab_of_the_day(users)
    client.force_login(users["scientist"])
    client.get("/")  # warm the session and the permission cache
    with CaptureQueriesContext(connection) as small:
        assert client.get("/").status_code == 200
    for _ in range(2):
        _lab_of_the_day(users)
    with CaptureQueriesContext(connection) as large:
        assert client.get("/").status_code == 200
    assert len(large) == len(small) <= 12, [q["sql"][:120] for q in large]
    print(f"home page: {len(large)} queries for 1 and 3 labs of the day")


def test_home_with_nothing_to_do(client: Any, users: Any) -> None:
    client.force_login(users["auditor"])
    page = client.get("/").content.decode()
    for title, empty in (
        ("Open flags", "No open flags."),
        ("Analysis runs that failed", "No failed runs."),
        ("Cells on test", "No cell is on test."),
    ):
        section = _section(page, title)
        assert _count(section) == 0 and empty in section
