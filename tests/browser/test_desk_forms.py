"""Desk forms in a real Chromium: list → New → save → record → Edit → save, the conflict of two
editors in two browsers, and the home page; screenshots at 1400×900 go to var/screenshots/."""

from __future__ import annotations

import re
from typing import Any

import pytest

from analysis.runs import analysis_run_execute
from analysis.services import measurement_create
from cells.services import cell_set_status
from processing.models import Pellet
from tests.browser.conftest import SCREENSHOTS
from tests.factories import Chain

pytestmark = pytest.mark.browser

DESK = {"viewport": {"width": 1400, "height": 900}}


def _signed_in(new_page: Any, log_in: Any, username: str) -> Any:
    page = new_page(**DESK)
    page.goto("/login/")
    log_in(page, username)
    page.wait_for_url("**/")
    return page


def test_list_new_save_record_edit_save(new_page: Any, log_in: Any, lab: Chain) -> None:
    page = _signed_in(new_page, log_in, "scientist")
    page.get_by_role("link", name="Pellets", exact=True).click()
    page.wait_for_url("**/pellets/")
    page.get_by_role("link", name="New pellet").click()
    page.wait_for_url("**/pellets/new/")

    page.get_by_label("batch").fill(lab.batch.code)
    # The batch's code is offered from the list of batches.
    options = page.locator("datalist#id_batch-codes option")
    assert lab.batch.code in [options.nth(i).get_attribute("value") for i in range(options.count())]
    page.get_by_label("diameter_mm").fill("12")
    page.get_by_label("thickness_mm").fill("1.4")
    page.get_by_label("mass_g").fill("0.58")
    units = page.locator("form.desk .unit")
    assert {units.nth(i).inner_text() for i in range(units.count())} >= {"mm", "g"}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "desk-form-new-pellet.png", full_page=True)
    page.get_by_role("button", name="Create pellet").click()

    page.wait_for_url("**/r/PEL-*/")
    code = page.url.rstrip("/").rsplit("/", 1)[1]
    assert code.startswith(lab.batch.code.replace("LLZO", "PEL"))
    assert page.get_by_role("status").inner_text() == f"{code} created."
    assert "mass_g\n0.58" in page.locator("dl.fields").inner_text()

    page.get_by_role("link", name="Edit", exact=True).click()
    page.wait_for_url(f"**/pellets/{code}/edit/")
    assert page.get_by_label("batch").count() == 0  # part of the code: not edited
    page.get_by_label("mass_g").fill("0.57")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**/r/{code}/")
    assert page.get_by_role("status").inner_text() == f"{code} saved: mass_g changed."
    assert "mass_g\n0.57" in page.locator("dl.fields").inner_text()
    history = page.get_by_role("region", name="History").inner_text()
    assert "mass_g: 0.58 → 0.57" in history
    assert Pellet.objects.get(code=code).mass_g == 0.57


def test_two_editors_the_second_sees_both_values(new_page: Any, log_in: Any, lab: Chain) -> None:
    url = f"/pellets/{lab.pellet.code}/edit/"
    alice = _signed_in(new_page, log_in, "scientist")
    bob = _signed_in(new_page, log_in, "admin")
    alice.goto(url)
    bob.goto(url)

    bob.get_by_label("mass_g").fill("0.3")
    bob.get_by_role("button", name="Save").click()
    bob.wait_for_url(f"**/r/{lab.pellet.code}/")

    alice.get_by_label("mass_g").fill("0.31")
    alice.get_by_label("thickness_mm").fill("1.25")
    alice.get_by_role("button", name="Save").click()
    alert = alice.get_by_role("alert")
    assert "was changed by admin since you opened it" in alert.inner_text()
    conflicts = alert.locator("table.conflicts").inner_text()
    assert "mass_g\t0.31\t0.3\tadmin" in conflicts
    field_error = alice.locator("form.desk .row.invalid").inner_text()
    assert "it is now 0.3; yours is 0.31" in field_error
    alice.screenshot(path=SCREENSHOTS / "desk-form-conflict.png", full_page=True)
    lab.pellet.refresh_from_db()
    assert (lab.pellet.mass_g, lab.pellet.thickness_mm) == (0.3, 1.2)  # nothing overwritten

    # Alice has seen Bob's value; saving again keeps hers, on top of his version.
    alice.get_by_role("button", name="Save").click()
    alice.wait_for_url(f"**/r/{lab.pellet.code}/")
    lab.pellet.refresh_from_db()
    assert (lab.pellet.mass_g, lab.pellet.thickness_mm) == (0.31, 1.25)


def test_home_page_screenshot(new_page: Any, log_in: Any, lab: Chain, users: Any) -> None:
    cell_set_status(user=users["scientist"], cell=lab.cell, status="on_test")
    failed = measurement_create(user=users["operator"], subject=lab.batch, measurement_type="xrd")
    analysis_run_execute(run_id=failed.runs.get().pk)
    page = _signed_in(new_page, log_in, "scientist")
    assert page.get_by_role("heading", level=1).inner_text() == "What needs you today"
    tiles = page.get_by_role("navigation", name="Summary").inner_text()
    assert "1\nanalysis runs that failed" in tiles and "1\ncells on test" in tiles
    runs = page.get_by_role("region", name=re.compile("^Analysis runs that failed"))
    runs.get_by_role("link", name=failed.code).click()
    page.wait_for_url(f"**/r/{failed.code}/")
    page.go_back()
    page.screenshot(path=SCREENSHOTS / "desk-home.png", full_page=True)


def test_a_refused_cell_names_the_part_at_fault(new_page: Any, log_in: Any, lab: Chain) -> None:
    page = _signed_in(new_page, log_in, "operator")
    page.goto("/cells/")
    page.get_by_role("link", name="New cell").click()
    page.get_by_label("separator").fill(lab.separators[0].code)  # already in the lab's cell
    page.get_by_label("electrode_1").fill(lab.pieces[2].code)
    page.get_by_label("electrode_2").fill(lab.pieces[2].code)
    page.get_by_label("glovebox").select_option(lab.glovebox.code)
    page.get_by_role("button", name="Create cell").click()
    rows = page.locator("form.desk .row.invalid")
    assert rows.count() == 2
    assert (
        f"{lab.separators[0].code} is already used by {lab.cell.code}." in rows.nth(0).inner_text()
    )
    assert "must be a different piece" in rows.nth(1).inner_text()
    # What was typed stays; the free separator is offered.
    assert page.get_by_label("separator").input_value() == lab.separators[0].code
    offered = page.locator("datalist#id_separator-codes option")
    assert [offered.nth(i).get_attribute("value") for i in range(offered.count())] == [
        lab.separators[1].code
    ]
    page.screenshot(path=SCREENSHOTS / "desk-form-cell-refused.png", full_page=True)
