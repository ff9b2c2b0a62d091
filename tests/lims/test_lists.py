"""The desk lists and exports: every kind's page, filters, sorting, paging, CSV and XLSX."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lims.exports import cell_value
from processing import services as proc
from tests.factories import build_chain

pytestmark = pytest.mark.django_db

LISTS = [
    "/lots/",
    "/equipment/",
    "/protocols/",
    "/glovebox-readings/",
    "/batches/",
    "/pellets/",
    "/separators/",
    "/foils/",
    "/electrodes/",
    "/cells/",
    "/measurements/",
]


def _frame(response: Any, fmt: str) -> pd.DataFrame:
    body = b"".join(response.streaming_content)
    if fmt == "csv":
        return pd.read_csv(io.BytesIO(body), encoding="utf-8-sig", keep_default_na=False)
    return pd.read_excel(io.BytesIO(body), keep_default_na=False)


def _body(response: Any) -> str:
    """The table rows of a list page."""
    return str(response.content.decode().split("<tbody>")[1])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+41 79", "'+41 79"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("La2O3 = wet", "La2O3 = wet"),
        (-12.5, -12.5),
        (-3, -3),
        (0.0, 0.0),
        (None, ""),
    ],
)
def test_cell_value_escapes_formulas_and_keeps_numbers(value: Any, expected: Any) -> None:
    assert cell_value(value) == expected
    assert type(cell_value(value)) is type(expected)


@pytest.mark.parametrize("url", LISTS)
def test_every_list_page_shows_its_rows(client: Any, users: Any, lab: Any, url: str) -> None:
    client.force_login(users["auditor"])
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "format=csv" in page and "format=xlsx" in page
    assert "Filters" in page


def test_cell_list_filters_sorts_and_links(client: Any, users: Any, lab: Any) -> None:
    other = build_chain(user=users["scientist"])
    client.force_login(users["auditor"])
    page = client.get("/cells/", {"batch": lab.batch.code}).content.decode()
    assert f'href="/r/{lab.cell.code}/"' in page and other.cell.code not in page
    assert "1 row matching the filters" in page
    ascending = _body(client.get("/cells/", {"sort": "code"}))
    descending = _body(client.get("/cells/", {"sort": "-code"}))
    assert ascending.index(lab.cell.code) < ascending.index(other.cell.code)
    assert descending.index(other.cell.code) < descending.index(lab.cell.code)
    # The header link flips the order and keeps the filters.
    filtered = client.get("/cells/", {"status": "assembled", "sort": "code"}).content.decode()
    assert "?status=assembled&amp;sort=-code" in filtered


def test_list_pages_and_its_query_count_does_not_grow(client: Any, users: Any, lab: Any) -> None:
    client.force_login(users["auditor"])
    with CaptureQueriesContext(connection) as few:
        client.get("/cells/")
    for _ in range(3):
        build_chain(user=users["scientist"])
    with CaptureQueriesContext(connection) as many:
        page = client.get("/cells/").content.decode()
    assert len(many) == len(few)
    assert "4 rows" in page
    first = client.get("/separators/", {"page": 1}).content.decode()
    assert "page 1 of" not in first  # 8 separators fit on one page
    for _ in range(45):
        proc.separator_create(user=users["scientist"], pellet=lab.pellet, thickness_um=500)
    paged = client.get("/separators/", {"page": 2}).content.decode()
    assert "page 2 of 2" in paged and "previous" in paged


def test_invalid_filter_shows_the_error_and_no_rows(client: Any, users: Any, lab: Any) -> None:
    client.force_login(users["auditor"])
    response = client.get("/cells/", {"assembled_after": "yesterday"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Enter a valid date/time." in page and lab.cell.code not in page.split("<tbody>")[1]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_desk_export_has_the_filtered_rows_with_typed_values(
    client: Any, users: Any, lab: Any, fmt: str
) -> None:
    build_chain(user=users["scientist"])
    proc.separator_create(user=users["scientist"], pellet=lab.pellet, thickness_um=-1 + 651.25)
    client.force_login(users["auditor"])
    response = client.get("/separators/", {"batch": lab.batch.code, "sort": "code", "format": fmt})
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith(f'.{fmt}"')
    frame = _frame(response, fmt)
    assert list(frame["code"]) == sorted(s.code for s in lab.pellet.separators.all())
    assert list(frame["thickness_um"]) == [700.0, 700.0, 650.25]
    assert frame["thickness_um"].dtype.kind == "f"
    assert list(frame["cell"]) == [lab.cell.code, "", ""]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_escapes_injected_text(client: Any, users: Any, fmt: str) -> None:
    proc.chemical_lot_create(
        user=users["scientist"], chemical="=1+1", supplier="@evil", lot_number="-5"
    )
    client.force_login(users["auditor"])
    frame = _frame(client.get("/lots/", {"format": fmt}), fmt)
    row = frame.iloc[0]
    assert (row["chemical"], row["supplier"], str(row["lot_number"])) == ("'=1+1", "'@evil", "'-5")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_matching_nothing_is_a_valid_empty_file(client: Any, users: Any, fmt: str) -> None:
    client.force_login(users["auditor"])
    frame = _frame(client.get("/cells/", {"status": "failed", "format": fmt}), fmt)
    assert len(frame) == 0 and "code" in frame.columns


def test_unknown_export_format_is_refused_with_a_message(client: Any, users: Any) -> None:
    client.force_login(users["auditor"])
    response = client.get("/cells/", {"format": "pdf"})
    assert response.status_code == 400 and b"use csv or xlsx" in response.content


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_api_list_exports_with_filters(api: Any, users: Any, lab: Any, fmt: str) -> None:
    other = build_chain(user=users["scientist"])
    response = api("auditor").get("/api/cells/", {"batch": other.batch.code, "format": fmt})
    assert response.status_code == 200
    frame = _frame(response, fmt)
    assert list(frame["code"]) == [other.cell.code]
    assert list(frame["separator"]) == [other.separators[0].code]


def test_api_export_of_a_list_without_a_desk_table_has_a_column_per_field(
    api: Any, lab: Any
) -> None:
    response = api("auditor").get("/api/weighings/", {"batch": lab.batch.code, "format": "csv"})
    frame = _frame(response, "csv")
    assert len(frame) == 3 and {"lot", "target_mass_g", "actual_mass_g"} <= set(frame.columns)
    assert sorted(frame["target_mass_g"]) == [3.2, 3.9, 6.4]


def test_api_export_with_a_bad_filter_answers_json(api: Any) -> None:
    response = api("auditor").get("/api/cells/", {"assembled_after": "x", "format": "csv"})
    assert response.status_code == 400
    assert "assembled_after" in response.json()


def test_exports_read_plain_values_that_equal_what_the_columns_show(users: Any, lab: Any) -> None:
    """Every table whose columns are stored fields exports plain tuples; each value must be
    what the column shows from the model instance (code, user name, choice label, annotation)."""
    from lims.tables import _lookup, _registry, export_rows

    build_chain(user=users["scientist"])
    plain = 0
    for table in _registry.values():
        rows = table.queryset().order_by("pk")
        expected = [[c.export_value(row) for c in table.columns] for row in rows]
        assert list(export_rows(rows, table.columns)) == expected, table.__name__
        assert expected, table.__name__
        plain += all(_lookup(rows, c) for c in table.columns)
    assert plain >= 5  # measurements, results, flags, lots, electrodes ... go the fast way


def test_xlsx_cells_keep_their_types_and_text_is_never_read_as_something_else() -> None:
    import datetime as dt
    import decimal

    from openpyxl import load_workbook

    from lims.exports import write_xlsx

    moment = dt.datetime(2026, 3, 1, 14, 30, 5)
    row = [
        "007",  # text that looks like a number
        "http://lims.example/r/CELL-0001/",  # text that looks like a link
        "=1+1",  # a formula, escaped
        -12.5,
        3,
        decimal.Decimal("99.5"),
        float("nan"),
        None,
        True,
        moment,
        dt.date(2026, 3, 2),
    ]
    target = io.BytesIO()
    write_xlsx(target, sheet_name="a/b:c[d]", header=[f"c{i}" for i in range(len(row))], rows=[row])
    sheet = load_workbook(target).worksheets[0]
    assert sheet.title == "a-b-c-d-"
    values = [c.value for c in sheet[2]]
    assert values[:6] == ["007", "http://lims.example/r/CELL-0001/", "'=1+1", -12.5, 3, 99.5]
    assert values[6:9] == ["nan", None, "yes"]
    assert values[9] == moment and sheet.cell(2, 10).number_format == "yyyy-mm-dd hh:mm:ss"
    assert values[10] == dt.datetime(2026, 3, 2) and sheet.cell(2, 11).number_format == "yyyy-mm-dd"
    assert sheet.cell(2, 2).hyperlink is None and sheet.cell(2, 3).data_type == "s"
