"""Streaming CSV and XLSX files of any rows: what every list, report and audit exports.

CSV is written row by row as the response is sent, so memory stays flat however many rows
there are; XLSX uses openpyxl's write-only mode, which also streams rows into the (zipped)
workbook on disk instead of holding cells in memory. Both escape text that a spreadsheet would
read as a formula, while numbers stay numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone

EXPORT_FORMATS = ("csv", "xlsx")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: A text cell starting with one of these is run as a formula by Excel, LibreOffice or Sheets
#: (OWASP "CSV injection"); a leading apostrophe makes it plain text again.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell_value(value: Any) -> Any:
    """``value`` as it goes into a spreadsheet cell: numbers as numbers, text escaped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | decimal.Decimal):
        return value
    if isinstance(value, dt.datetime):
        # Spreadsheets know no time zones: write the lab's local time, without an offset.
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    if isinstance(value, dt.date):
        return value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


class _Echo:
    """A file-like object whose ``write`` hands the text back, for ``csv.writer``."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # the BOM makes Excel read the file as UTF-8 (µm, °C, ·)
    yield writer.writerow([cell_value(h) for h in header])
    for row in rows:
        values = [cell_value(v) for v in row]
        yield writer.writerow(
            [v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v for v in values]
        )


def export_response(
    *, fmt: str, filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> StreamingHttpResponse | FileResponse:
    """A download of ``rows`` under ``header`` as ``filename``.csv or .xlsx.

    ``rows`` may be a generator over a queryset's ``iterator()``: it is consumed once, as the
    file is written.
    """
    if fmt == "csv":
        response = StreamingHttpResponse(
            _csv_lines(header, rows), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return response
    if fmt != "xlsx":
        raise ValueError(f"format must be one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}")
    from openpyxl import Workbook  # loaded on the first XLSX export, not at start-up

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(filename[:31])
    sheet.append([cell_value(h) for h in header])
    for row in rows:
        sheet.append([cell_value(v) for v in row])
    # The workbook is zipped into a temporary file that disappears when the response closes it.
    target = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 (the response closes it)
    workbook.save(target)
    target.seek(0)
    return FileResponse(
        target, as_attachment=True, filename=f"{filename}.xlsx", content_type=XLSX_CONTENT_TYPE
    )
