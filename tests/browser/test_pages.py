"""The pages as people use them: in a real Chromium, on a desktop screen and a glovebox tablet."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser

TABLET = {"viewport": {"width": 800, "height": 1280}, "has_touch": True, "device_scale_factor": 2}
MIN_TAP_PX = 44  # WCAG 2.5.5 target size; gloved fingers in the glovebox need at least this


def path_of(page: Any) -> str:
    return urlsplit(page.url).path


def test_login_redirects_refuses_a_wrong_password_and_returns_to_the_record(
    new_page: Any, log_in: Any, lab: Any
) -> None:
    page = new_page()
    wanted = f"/r/{lab.cell.code}/"

    page.goto(wanted)
    assert path_of(page) == "/login/"
    assert parse_qs(urlsplit(page.url).query)["next"] == [wanted]

    log_in(page, "scientist", "not-the-password")
    assert path_of(page) == "/login/"
    assert page.get_by_role("alert").inner_text() == "Wrong username or password."

    log_in(page, "scientist")
    assert path_of(page) == wanted
    assert page.get_by_role("heading", level=1).inner_text().startswith(lab.cell.code)


def test_scientist_finds_a_cell_and_walks_its_chain_back_to_the_batch(
    new_page: Any, log_in: Any, lab: Any
) -> None:
    page = new_page()
    page.goto("/login/")
    log_in(page, "scientist")

    search = page.get_by_label("Find a record by code")
    find = page.get_by_role("button", name="Find")
    for control in (search, find):
        assert control.bounding_box()["height"] >= MIN_TAP_PX
    search.fill(lab.cell.code)
    find.click()
    page.wait_for_url(f"**/r/{lab.cell.code}/")

    fields = page.locator("dl.fields")
    assert re.search(r"cell_type\s+LiNa\|LLZO\|LiNa", fields.inner_text())
    assert fields.get_by_role("link", name=lab.separators[0].code).is_visible()

    made_from = page.get_by_role("region", name="Made from")
    rows = {
        row.locator("td").nth(1).inner_text(): row.locator("td").first.inner_text()
        for row in made_from.locator("tbody tr").all()
    }
    assert rows[lab.separators[0].code] == "separator"
    assert rows[lab.pieces[0].code] == rows[lab.pieces[1].code] == "electrode"
    # The unused third piece of the same foil is not part of this cell.
    assert lab.pieces[2].code not in rows

    history = page.get_by_role("region", name="History").inner_text()
    assert "created cells.cell" in history
    assert "created cells.assemblystep" in history  # the melt-quench step, filed under the cell

    # Backward by clicking: separator → pellet → batch, each page's "Made from" leads on.
    for code in (lab.separators[0].code, lab.pellet.code, lab.batch.code):
        page.get_by_role("region", name="Made from").get_by_role("link", name=code).click()
        page.wait_for_url(f"**/r/{code}/")
        assert page.get_by_role("heading", level=1).inner_text().startswith(code)
    precursors = page.get_by_role("region", name="Made from").inner_text()
    assert lab.lots["La2O3"].code in precursors


def tablet_record_page(new_page: Any, log_in: Any, code: str) -> Any:
    page = new_page(**TABLET)
    page.goto(f"/r/{code}/")
    log_in(page, "operator")
    page.wait_for_url(f"**/r/{code}/")
    return page


def test_record_page_controls_are_tap_sized_on_a_tablet(
    new_page: Any, log_in: Any, lab: Any
) -> None:
    page = tablet_record_page(new_page, log_in, lab.cell.code)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "record-page-tablet.png", full_page=True)

    controls = page.locator("button:visible, input:visible, select:visible")
    assert controls.count() >= 3  # search field, Find, Log out
    too_small = [
        (control.evaluate("e => e.outerHTML")[:80], box["height"])
        for control in controls.all()
        if (box := control.bounding_box())["height"] < MIN_TAP_PX
    ]
    assert not too_small, f"controls below {MIN_TAP_PX} px: {too_small}"

    # Touch, not a mouse click, reaches the search field.
    page.get_by_label("Find a record by code").tap()
    assert page.evaluate("() => document.activeElement.name") == "q"


def test_record_page_does_not_scroll_sideways_on_a_tablet(
    new_page: Any, log_in: Any, lab: Any
) -> None:
    page = tablet_record_page(new_page, log_in, lab.cell.code)
    widths = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    assert widths["scroll"] <= widths["inner"], f"the page scrolls sideways: {widths}"


def test_api_docs_render_for_a_signed_in_user(new_page: Any, log_in: Any, users: Any) -> None:
    page = new_page()
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    # /api/ answers 401/403 itself instead of redirecting, so sign in through the login page.
    page.goto("/login/?next=/api/docs/")
    log_in(page, "auditor")
    page.wait_for_url("**/api/docs/")
    # The title is drawn by Swagger UI's script from the schema: it proves both loaded.
    title = page.locator(".swagger-ui .info .title")
    assert title.inner_text().startswith("LiNa LIMS API")
    # Swagger UI (5.33+) renders a long list of operations only as it scrolls into view.
    cells = page.locator(".opblock-tag", has_text="cells")
    page.mouse.move(400, 400)
    for _ in range(80):
        if cells.count():
            break
        page.mouse.wheel(0, 800)
        page.wait_for_timeout(100)
    assert cells.count() == 1
    # Nothing fetched from outside (a CDN): the glovebox network has no internet.
    assert not failed, failed
