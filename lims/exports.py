"""Streaming CSV and XLSX files of any rows: what every list, report and audit exports.

CSV is written row by row as the response is sent, so memory stays flat however many rows
there are; XLSX is written by XlsxWriter in its constant-memory mode, which writes each row to a
temporary file as soon as it is complete and zips the workbook at the end, instead of holding
cells in memory (twice as fast as openpyxl's write-only mode here, see bench/reports.py). Both
escape text that a spreadsheet would read as a formula, while numbers stay numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import itertools
import math
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any

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
    # The workbook is zipped into a temporary file that disappears when the response closes it.
    target = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 (the response closes it)
    write_xlsx(target, sheet_name=filename, header=header, rows=rows)
    target.seek(0)
    return FileResponse(
        target, as_attachment=True, filename=f"{filename}.xlsx", content_type=XLSX_CONTENT_TYPE
    )


def write_xlsx(
    target: IO[bytes], *, sheet_name: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Write ``header`` and ``rows`` as a one-sheet workbook into ``target``, a row at a time.

    Each value goes through :func:`cell_value` and then to the writer method of its type, so no
    text is ever read as a number, a formula or a link (XlsxWriter's ``write()`` would guess),
    and numbers and times keep their type. A non-finite number is written as its text ("nan"),
    as in the CSV: a spreadsheet has no NaN.
    """
    import xlsxwriter  # loaded on the first XLSX export, not at start-up

    workbook = xlsxwriter.Workbook(
        target,
        {
            "constant_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    stamp = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    sheet = workbook.add_worksheet(_sheet_name(sheet_name))
    text, number, moment = sheet.write_string, sheet.write_number, sheet.write_datetime
    for r, row in enumerate(itertools.chain([header], rows)):
        for c, raw in enumerate(row):
            value = cell_value(raw)
            if isinstance(value, str):
                if value:
                    text(r, c, value)
            elif isinstance(value, float):
                if math.isfinite(value):
                    number(r, c, value)
                else:
                    text(r, c, str(value))
            elif isinstance(value, int):
                number(r, c, value)
            elif isinstance(value, decimal.Decimal):
                number(r, c, float(value))
            elif isinstance(value, dt.datetime):
                moment(r, c, value, stamp)
            else:  # a date
                moment(r, c, dt.datetime.combine(value, dt.time()), day)
    workbook.close()


def _sheet_name(name: str) -> str:
    """A sheet name Excel accepts: at most 31 characters, none of []:*?/\\."""
    cleaned = "".join("-" if ch in "[]:*?/\\" else ch for ch in name).strip("'")
    return cleaned[:31] or "export"
