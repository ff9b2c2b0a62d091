"""Bio-Logic EC-Lab ``.mpt`` text exports.

* With header: line 1 ``EC-Lab ASCII FILE``, line 2 ``Nb header lines : N``; lines 3..N-1 are
  the settings (``key : value`` lines, then a fixed-width technique parameter table of 20-char
  cells), line N the tab-separated column names, data from line N+1.
* Without header (the "no header" export option and old versions): line 1 is the column names.
* Latin-1 text (µ, ², °); decimal commas from German-locale installs, detected from the first
  data row; no line break after the last row.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import IO, Any

from .dataset import Dataset, assemble
from .eclab_columns import ECLAB_CANONICAL, TECHNIQUE_NAMES
from .errors import ReadError
from .text import check_last_line, last_line, parse_numeric, split_line

_NB_HEADER = re.compile(rb"^Nb header lines\s*:\s*(\d+)\s*$")
_SOFTWARE = re.compile(r"^EC-Lab (?:for windows )?v?([\d.]+\w*)\s*\(software\)", re.I)
_NUMBER_UNIT = re.compile(r"^\s*([+-]?\d+(?:[.,]\d*)?(?:[eE][+-]?\d+)?)\s*(.*)$")
# Column names that only EC-Lab writes: enough to tell a header-less export from any CSV.
_ECLAB_SIGNATURE = ("time/s", "Ewe/V", "<Ewe>/V", "freq/Hz", "I/mA", "<I>/mA", "control/V")


def looks_like_headerless_mpt(first_line: bytes) -> bool:
    if b"\t" not in first_line:
        return False
    names = first_line.decode("latin-1").rstrip("\r\n").split("\t")
    return "time/s" in names and any(n in names for n in _ECLAB_SIGNATURE if n != "time/s")


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _column_names(raw: bytes, name: str, line_no: int) -> list[str]:
    text = _decode(raw).rstrip("\r\n").rstrip("\t")
    names = text.split("\t")
    if not text.strip():
        raise ReadError(
            name,
            f"bad column header {text[:80]!r}",
            line=line_no,
            expected="tab-separated column names such as 'time/s\tEwe/V'",
        )
    seen: dict[str, int] = {}
    out = []
    for i, n in enumerate(names):
        # A column without a name (some EC-Lab versions leave one between the capacitance
        # columns) is kept under its position; it has values like any other.
        n = n.strip() or f"column {i + 1}"
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n} ({seen[n]})")
    return out


def _number(text: str) -> float | None:
    m = _NUMBER_UNIT.match(text)
    if not m:
        return None
    try:
        return float(m.group(1).replace(",", "."))
    except ValueError:
        return None


def _parse_header(lines: list[str]) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "technique": None,
        "technique_name": None,
        "instrument": None,
        "software": "EC-Lab",
        "software_version": None,
        "start_time": None,
        "electrode_area_cm2": None,
        "settings": {},
        "parameters": {},
    }
    settings: dict[str, str] = meta["settings"]
    params: dict[str, list[str]] = meta["parameters"]
    in_params = False
    for line in lines:
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        stripped = text.strip()
        if meta["technique_name"] is None and " : " not in text:
            meta["technique_name"] = stripped
            meta["technique"] = TECHNIQUE_NAMES.get(stripped, stripped)
            continue
        if in_params:
            key = text[:20].strip()
            params[key] = [text[i : i + 20].strip() for i in range(20, len(text), 20)]
            continue
        m = _SOFTWARE.match(stripped)
        if m:
            meta["software_version"] = m.group(1)
            continue
        if " : " in text:
            key, _, value = stripped.partition(" : ")
            key, value = key.strip(), value.strip()
            settings.setdefault(key, value)
            if key == "Cycle Definition":
                in_params = True
            elif key == "Device":
                meta["instrument"] = value
            elif key == "Acquisition started on":
                meta["start_time"] = _start_time(value)
            elif key == "Electrode surface area":
                meta["electrode_area_cm2"] = _number(value)
        else:
            settings.setdefault(stripped, "")
    return meta


def _start_time(value: str) -> str | None:
    # EC-Lab writes month/day/year whatever the locale (checked against .mpr timestamps).
    for fmt in ("%m/%d/%Y %H:%M:%S.%f", "%m/%d/%Y %H:%M:%S"):
        try:
            return datetime.strptime(value, fmt).isoformat(timespec="milliseconds")
        except ValueError:
            continue
    return None


def read_mpt(stream: IO[bytes], name: str) -> Dataset:
    stream.seek(0)
    first = stream.readline()
    header_lines: list[str] = []
    if first.startswith(b"EC-Lab ASCII FILE"):
        second = stream.readline()
        m = _NB_HEADER.match(second.rstrip(b"\r\n"))
        if m:
            n_header = int(m.group(1))
            if n_header < 3:
                raise ReadError(
                    name, f"'Nb header lines' is {n_header}", line=2, expected="at least 3"
                )
            for line_no in range(3, n_header):
                raw = stream.readline()
                if not raw:
                    raise ReadError(
                        name,
                        f"the file ends inside its header block (truncated) at line {line_no}",
                        line=line_no,
                        expected=f"{n_header} header lines as line 2 announces",
                    )
                header_lines.append(_decode(raw))
            names_line = stream.readline()
            names_line_no = n_header
        elif b"\t" in second:
            names_line, names_line_no = second, 2
        else:
            raise ReadError(
                name,
                f"line 2 is {second[:60]!r}",
                line=2,
                expected="'Nb header lines : <n>' or the tab-separated column names",
            )
    else:
        names_line, names_line_no = first, 1
    if not names_line:
        raise ReadError(
            name,
            "the file ends before the column header (truncated)",
            line=names_line_no,
            expected="tab-separated column names",
        )
    if not names_line.endswith((b"\n", b"\r", b"\t")):
        # EC-Lab ends the column header with a tab; without it and without a line break the
        # file was cut inside a column name.
        raise ReadError(
            name,
            "the column header ends in the middle of a name (truncated)",
            line=names_line_no,
            expected="a tab or line break after the last column name",
        )
    names = _column_names(names_line, name, names_line_no)
    if "time/s" not in names:
        raise ReadError(
            name,
            f"required column 'time/s' is missing (columns: {names})",
            line=names_line_no,
            expected="an EC-Lab export with time/s",
        )
    data_start = stream.tell()
    first_row = stream.readline()
    decimal = b"."
    if first_row.strip(b"\r\n"):
        if not names_line.endswith((b"\n", b"\r")):
            raise ReadError(name, "no line break after the column header", line=names_line_no)
        first_fields = split_line(first_row, b"\t")
        if any(b"," in f for f in first_fields) and not any(b"." in f for f in first_fields):
            decimal = b","
        last_at, last = last_line(stream, data_start)
        check_last_line(
            name,
            first_fields,
            last,
            last_at,
            len(names),
            b"\t",
            only_row=last_at == data_start,
            eclab=True,
        )
    columns = parse_numeric(
        stream,
        name,
        data_start=data_start,
        first_line_no=names_line_no + 1,
        names=names,
        sep=b"\t",
        decimal=decimal,
    )
    meta: dict[str, Any] = {"format": "eclab-mpt", "header": bool(header_lines)}
    if header_lines:
        meta.update(_parse_header(header_lines))
    else:
        meta.update(technique=None, software="EC-Lab", settings={})
    meta["decimal"] = decimal.decode()
    return assemble(name, columns, ECLAB_CANONICAL, meta, line_of_row=names_line_no + 1)
