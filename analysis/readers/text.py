"""Delimited numeric text (the data part of an EC-Lab .mpt, CSV, TSV), parsed once by pandas'
C parser straight from the stream, with strict checks and exact locations on failure.

Checks: every row has exactly the header's number of values, every value is a number, and the
file's last line is complete. The last check matters because EC-Lab writes no line break after
the last row, so a file cut in the middle of a number ("1.0512296E+00" from "1.0512296E+001")
would otherwise parse as a different value. A number is "complete" when it has the same shape
(digits after the decimal mark, exponent digits) as the same column in the first row; EC-Lab
and numeric exporters write every value of a column with one format.
"""

from __future__ import annotations

import io
import re
from typing import IO, Any

import numpy as np
import pandas as pd

from .errors import ReadError

_NUMBER = re.compile(rb"^\s*[+-]?(?:\d+(?:[.,](\d*))?|[.,](\d+))(?:[eE]([+-]?\d+))?\s*$")
_ECLAB_FLOAT = re.compile(rb"^\s*[+-]?\d+[.,]\d+E[+-]\d{3}\s*$")
_NONFINITE = re.compile(rb"^\s*[+-]?(?:nan|inf|infinity)\s*$", re.IGNORECASE)


def field_shape(field: bytes) -> tuple[int, int] | None:
    """(digits after the decimal mark or -1, exponent digits or -1); None if not a number."""
    m = _NUMBER.match(field)
    if not m:
        return None
    frac = m.group(1) if m.group(1) is not None else m.group(2)
    exp = m.group(3)
    return (len(frac) if frac is not None else -1, len(exp.lstrip(b"+-")) if exp else -1)


def is_number(field: bytes) -> bool:
    return bool(_NUMBER.match(field) or _NONFINITE.match(field))


def split_line(line: bytes, sep: bytes) -> list[bytes]:
    fields = line.rstrip(b"\r\n").split(sep)
    return fields


def last_line(stream: IO[bytes], start: int) -> tuple[int, bytes]:
    """Offset and content of the last non-empty line at or after ``start`` (content may end
    with its line break)."""
    end = stream.seek(0, io.SEEK_END)
    block = 1 << 16
    pos = end
    tail = b""
    while pos > start:
        step = min(block, pos - start)
        pos -= step
        stream.seek(pos)
        tail = stream.read(step) + tail
        stripped = tail.rstrip(b"\r\n")
        cut = max(stripped.rfind(b"\n"), stripped.rfind(b"\r"))
        if cut >= 0:
            return pos + cut + 1, tail[cut + 1 :]
    return start, tail


def check_last_line(
    name: str,
    first: list[bytes],
    last: bytes,
    last_offset: int,
    n_fields: int,
    sep: bytes,
    *,
    only_row: bool,
    eclab: bool,
) -> None:
    """Refuse a last line that is, or may be, cut short.

    ``only_row``: the last line is also the first data row, so there is nothing to compare it
    with: a CSV is refused unless it ends with a line break; for EC-Lab, whose floats are always
    ``d.dddE+ddd``, a float without its three exponent digits is refused (a float cut down to
    its integer digits cannot be detected there).
    """
    fields = split_line(last, sep)
    if len(fields) == n_fields + 1 and not fields[-1].strip():
        fields = fields[:-1]
    if len(fields) != n_fields:
        raise ReadError(
            name,
            f"the last line has {len(fields)} values: the file looks truncated",
            offset=last_offset,
            expected=f"{n_fields} values as in the column header",
        )
    if len(first) == n_fields + 1 and not first[-1].strip():
        first = first[:-1]
    if last.endswith((b"\n", b"\r")) or len(first) != n_fields:
        # A complete last line, or a bad first row: the parser checks and locates either.
        return
    if eclab:
        for i, b in enumerate(fields):
            if (b"." in b or b"," in b or b"E" in b) and not _ECLAB_FLOAT.match(b):
                raise ReadError(
                    name,
                    f"the last value of column {i + 1} is {b.decode('latin-1')!r}, an incomplete "
                    "number: the file looks truncated",
                    offset=last_offset,
                    expected="numbers written as d.dddE+ddd",
                )
    if only_row:
        if eclab:
            return
        raise ReadError(
            name,
            "the only data row has no line break after it, so it may be cut short",
            offset=last_offset,
            expected="a line break at the end of the file",
        )
    for i, (a, b) in enumerate(zip(first, fields, strict=True)):
        sa, sb = field_shape(a), field_shape(b)
        if sa is None or sb is None or sa == sb:
            continue
        if sa[0] == -1 and sa[1] == -1:
            continue  # integers have no fixed width: a cut one cannot be told from a short one
        raise ReadError(
            name,
            f"the last value of column {i + 1} is {b.decode('latin-1')!r} while the first row "
            f"writes {a.decode('latin-1')!r}, and the file has no final line break: it looks "
            "truncated (add a line break at the end if the file is complete)",
            offset=last_offset,
            expected="the same number format in every row",
        )


def parse_numeric(
    stream: IO[bytes],
    name: str,
    *,
    data_start: int,
    first_line_no: int,
    names: list[str],
    sep: bytes,
    decimal: bytes,
    usecols: list[str] | None = None,
) -> list[tuple[str, np.ndarray[Any, Any]]]:
    """Parse all rows from ``data_start`` as float64 columns named ``names``.

    ``first_line_no``: the 1-based file line of the first data row, for messages. ``usecols``:
    the only columns to read and check (default: all).
    """
    used = list(names) if usecols is None else usecols
    stream.seek(data_start)
    try:
        frame = pd.read_csv(
            stream,
            sep=sep.decode(),
            header=None,
            names=names,
            index_col=False,
            dtype=np.float64,
            decimal=decimal.decode(),
            engine="c",
            encoding="latin-1",
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=True,
            usecols=None if usecols is None else used,
        )
    except pd.errors.EmptyDataError:
        return [(n, np.empty(0, dtype=np.float64)) for n in used]
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError, OverflowError) as exc:
        _locate(stream, name, data_start, first_line_no, names, used, sep, decimal)
        raise ReadError(name, f"unreadable data ({exc})", line=first_line_no) from exc
    columns = [(n, frame[n].to_numpy(dtype=np.float64, copy=False)) for n in used]
    for _, values in columns:
        if np.isnan(values).any():
            _locate(stream, name, data_start, first_line_no, names, used, sep, decimal, nan_ok=True)
            break
    return columns


def _locate(
    stream: IO[bytes],
    name: str,
    data_start: int,
    first_line_no: int,
    names: list[str],
    used: list[str],
    sep: bytes,
    decimal: bytes,
    *,
    nan_ok: bool = False,
) -> None:
    """Slow path, only after the fast parser failed or met a NaN: find the first bad line and
    raise a ReadError for it. Returns if every line is fine (a NaN written as text)."""
    stream.seek(data_start)
    n = len(names)
    check = set(used)
    line_no = first_line_no - 1
    for raw in stream:
        line_no += 1
        if not raw.strip(b"\r\n"):
            continue
        fields = split_line(raw, sep)
        if len(fields) == n + 1 and not fields[-1].strip():
            fields = fields[:-1]
        if len(fields) != n:
            raise ReadError(
                name,
                f"{len(fields)} values in a row",
                line=line_no,
                expected=f"{n} values, one per column of the header",
            )
        for col, f in zip(names, fields, strict=True):
            if col not in check:
                continue
            if not f.strip():
                raise ReadError(
                    name, f"empty value in column {col!r}", line=line_no, expected="a number"
                )
            if decimal != b"." and b"." in f:
                raise ReadError(
                    name,
                    f"value {f.decode('latin-1')!r} in column {col!r} uses '.' while the file "
                    f"uses {decimal.decode()!r} as decimal mark",
                    line=line_no,
                    expected="one decimal mark throughout",
                )
            if not is_number(f) or (decimal == b"." and b"," in f):
                raise ReadError(
                    name,
                    f"value {f.decode('latin-1')!r} in column {col!r} is not a number",
                    line=line_no,
                    expected="a number",
                )
    if not nan_ok:
        raise ReadError(name, "unreadable data", line=first_line_no, expected="numbers")
