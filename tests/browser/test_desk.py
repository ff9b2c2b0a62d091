"""The desk path in a real Chromium: list → filter → export → record → build sheet."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from tests.browser.conftest import SCREENSHOTS
from tests.factories import build_chain
from tests.reports.pdf_tools import pdf_text, qr_codes

pytestmark = pytest.mark.browser


def test_desk_list_filter_export_record_build_sheet(
    new_page: Any, log_in: Any, users: Any, lab: Any, live_server: Any
) -> None:
    other = build_chain(user=users["scientist"])
    page = new_page(viewport={"width": 1280, "height": 900})
    page.goto("/login/")
    log_in(page, "auditor")

    page.get_by_role("link", name="Cells", exact=True).click()
    page.wait_for_url("**/cells/")
    rows = page.locator("table.list tbody tr")
    assert rows.count() == 2

    page.get_by_text("Filters").click()
    page.get_by_label("batch", exact=True).fill(other.batch.code)
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(f"**/cells/?*batch={other.batch.code}*")
    assert rows.count() == 1 and other.cell.code in rows.first.inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "desk-cell-list.png", full_page=True)

    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    exported = pd.read_csv(download.value.path(), encoding="utf-8-sig")
    assert list(exported["code"]) == [other.cell.code]
    assert list(exported["batch"]) == [other.batch.code]

    page.get_by_role("link", name=other.cell.code).click()
    page.wait_for_url(f"**/r/{other.cell.code}/")
    sheet_link = page.get_by_role("link", name="build sheet (PDF)")
    sheet = page.request.get(sheet_link.get_attribute("href"))
    assert sheet.ok and sheet.headers["content-type"] == "application/pdf"
    pdf = sheet.body()
    assert other.cell.code in pdf_text(pdf) and other.separators[0].code in pdf_text(pdf)
    assert qr_codes(pdf) == [f"{live_server.url}/r/{other.cell.code}/"]

    page.get_by_role("link", name="trace back").click()
    page.wait_for_url(f"**/trace/{other.cell.code}/?direction=backward")
    assert page.get_by_role("link", name=other.batch.code).first.is_visible()
    page.screenshot(path=SCREENSHOTS / "desk-trace.png", full_page=True)
    # A node's branch folds away: its summary toggles the <details> it heads.
    branch = page.locator("details").nth(1)
    assert branch.get_attribute("open") is not None
    branch.locator("summary").first.click()
    assert branch.get_attribute("open") is None
