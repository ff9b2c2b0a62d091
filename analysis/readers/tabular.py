"""CSV, TSV and XLSX tables: impedance/cycling exports from any program, and indentation
(hardness) exports.

Layout: optional ``skip_rows`` lines, then one header row (unless the mapping says there is
none), then one row per point. The delimiter is a tab, ``;`` or ``,`` (the first of these the
header line contains); with ``;`` a decimal comma is recognised from the first data row.
Headers such as ``Freq/Hz``, ``Re(Z)/Ohm``, ``-Im(Z)/Ohm``, ``Z' (kOhm)``, ``Ewe/V``, ``<I>/mA``,
``j (mA/cm2)``, ``time/h`` map automatically (:func:`~.canonical.recognise`); other columns need
a :class:`~.mapping.ColumnMapping`. Only mapped columns are read, and they must hold numbers.

Indentation files are tables whose columns map to ``force_mN`` and ``depth_um``:

* a table of indents, one row per indent: ``Indent`` (optional), ``Fmax [mN]``, ``hmax [um]``
  (also ``Max force``, ``Depth at max force (nm)``...): ``data`` is that table;
* full load-depth curves in long form: ``Indent``, ``F [mN]``, ``h [nm]`` with many rows per
  indent: ``curves`` holds them and ``data`` the table of indents derived from them (maximum
  force of each indent and the depth at that point, as ISO 14577 Martens hardness needs).
"""

from __future__ import annotations

import csv
from typing import IO, Any

import numpy as np
import pandas as pd

from .canonical import CANONICAL_COLUMNS, Recognised, recognise, split_header, unit_factor
from .dataset import Dataset, Planned, assemble
from .errors import ReadError
from .mapping import ColumnMapping
from .text import check_last_line, field_shape, last_line, parse_numeric, split_line


def _plan(
    names: list[str], mapping: ColumnMapping | None, name: str, where: dict[str, Any]
) -> dict[str, Planned]:
    plan: dict[str, Planned] = {}
    explicit = mapping.columns if mapping else {}
    missing = [c for c in explicit if c not in names]
    if missing:
        raise ReadError(
            name,
            f"required column(s) {missing} not found (columns: {names})",
            **where,
            expected="every column the mapping names",
        )
    for src in names:
        if src in explicit:
            canonical = explicit[src]
            unit = (mapping.units.get(src) if mapping else None) or split_header(src)[1]
            integer = CANONICAL_COLUMNS[canonical].integer
            if unit is None and not integer:
                raise ReadError(
                    name,
                    f"the unit of column {src!r} (mapped to {canonical}) is unknown",
                    **where,
                    expected=f"a unit in the mapping, e.g. units={{{src!r}: "
                    f"{CANONICAL_COLUMNS[canonical].unit!r}}}",
                )
            try:
                factor = unit_factor(canonical, unit)
            except (KeyError, ValueError) as exc:
                raise ReadError(
                    name, f"unit {unit!r} of column {src!r} does not fit {canonical}: {exc}"
                ) from exc
            if mapping and src in mapping.negate:
                factor = -factor
            plan[src] = Planned(canonical, factor, unit, priority=-1)
        elif mapping is None or mapping.auto:
            rec: Recognised | None = recognise(src)
            if rec is not None:
                plan[src] = Planned(rec.canonical, rec.factor, rec.unit)
    if not plan:
        raise ReadError(
            name,
            f"no column is recognised (columns: {names})",
            **where,
            expected="headers such as 'freq/Hz', 'Re(Z)/Ohm', 'Ewe/V', 'time/s', or a "
            "ColumnMapping",
        )
    return plan


def read_text_table(stream: IO[bytes], name: str, mapping: ColumnMapping | None) -> Dataset:
    stream.seek(0)
    skip = mapping.skip_rows if mapping else 0
    line_no = 0
    for _ in range(skip):
        if not stream.readline():
            raise ReadError(name, "the file ends within the rows to skip", line=line_no + 1)
        line_no += 1
    pos = stream.tell()
    first = stream.readline()
    line_no += 1
    while first and not first.strip():
        pos = stream.tell()
        first = stream.readline()
        line_no += 1
    if not first:
        raise ReadError(name, "no data: the file holds only blank lines", line=line_no)
    if first.startswith(b"\xef\xbb\xbf"):
        first = first[3:]
    text = first.decode("utf-8", errors="replace").rstrip("\r\n")
    if mapping and mapping.delimiter:
        sep = mapping.delimiter
    else:
        sep = next((s for s in ("\t", ";", ",") if s in text), ",")
    try:
        fields = next(csv.reader([text], delimiter=sep))
    except (csv.Error, StopIteration) as exc:
        raise ReadError(name, f"unreadable header row ({exc})", line=line_no) from exc
    numeric = all(field_shape(f.encode()) is not None for f in fields)
    has_header = mapping.has_header if mapping else not numeric
    if has_header and numeric:
        raise ReadError(
            name, "the first row holds only numbers", line=line_no, expected="a header row"
        )
    if not has_header and not numeric:
        raise ReadError(
            name,
            f"the first row {text[:60]!r} is not numeric",
            line=line_no,
            expected="numbers (the mapping says the file has no header)",
        )
    if has_header:
        names = [f.strip() for f in fields]
        if len(set(names)) != len(names) or any(not n for n in names):
            raise ReadError(name, f"empty or repeated column names {names}", line=line_no)
        data_start, first_data_line = stream.tell(), line_no + 1
        where: dict[str, Any] = {"line": line_no}
    else:
        names = [str(i + 1) for i in range(len(fields))]
        data_start, first_data_line = pos, line_no
        where = {"line": line_no}
        if mapping is None:
            raise ReadError(
                name,
                f"no header row: {len(fields)} unlabelled numeric columns",
                line=line_no,
                expected="a column mapping, e.g. template 'eis3' for frequency, Z', Z''",
            )
    plan = _plan(names, mapping, name, where)
    used = [n for n in names if n in plan]
    bsep = sep.encode()
    stream.seek(data_start)
    first_row_at = data_start
    first_row = stream.readline()
    while first_row and not first_row.strip(b"\r\n"):
        first_row_at = stream.tell()
        first_row = stream.readline()
    if mapping:
        decimal = mapping.decimal
    else:
        decimal = "," if sep in ";\t" and b"," in first_row and b"." not in first_row else "."
    if first_row.strip(b"\r\n"):
        last_at, last = last_line(stream, data_start)
        check_last_line(
            name,
            split_line(first_row, bsep),
            last,
            last_at,
            len(names),
            bsep,
            only_row=last_at == first_row_at,
            eclab=False,
        )
    columns = parse_numeric(
        stream,
        name,
        data_start=data_start,
        first_line_no=first_data_line,
        names=names,
        sep=bsep,
        decimal=decimal.encode(),
        usecols=used,
    )
    meta: dict[str, Any] = {
        "format": "table",
        "container": "tsv" if sep == "\t" else "csv",
        "delimiter": sep,
        "decimal": decimal,
        "template": mapping.name if mapping else None,
    }
    return _finish(name, names, columns, plan, meta, first_data_line)


def read_xlsx(stream: IO[bytes], name: str, mapping: ColumnMapping | None) -> Dataset:
    try:
        import openpyxl
        from openpyxl.utils import get_column_letter
    except ImportError as exc:  # pragma: no cover - openpyxl is a runtime requirement
        raise ReadError(name, "reading .xlsx needs openpyxl") from exc
    stream.seek(0)
    try:
        wb = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged archives
        raise ReadError(
            name, f"not a readable XLSX workbook ({type(exc).__name__}: {exc})"
        ) from exc
    try:
        sheet_name = mapping.sheet if mapping and mapping.sheet else wb.sheetnames[0]
        if sheet_name not in wb.sheetnames:
            raise ReadError(name, f"no sheet {sheet_name!r} (sheets: {wb.sheetnames})")
        ws = wb[sheet_name]
        try:
            rows = list(ws.iter_rows(values_only=True))
        except Exception as exc:
            raise ReadError(name, f"damaged sheet {sheet_name!r} ({exc})") from exc
    finally:
        wb.close()
    skip = mapping.skip_rows if mapping else 0
    r = skip
    while r < len(rows) and all(v is None for v in rows[r]):
        r += 1
    if r >= len(rows):
        raise ReadError(name, f"sheet {sheet_name!r} is empty", cell=f"{sheet_name}!A1")
    header = rows[r]
    width = max((i + 1 for i, v in enumerate(header) if v is not None), default=0)
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in header[:width])
    has_header = mapping.has_header if mapping else not numeric
    if has_header:
        names = ["" if v is None else str(v).strip() for v in header[:width]]
        if len(set(names)) != len(names) or any(not n for n in names):
            raise ReadError(
                name, f"empty or repeated column names {names}", cell=f"{sheet_name}!A{r + 1}"
            )
        body_at = r + 1
    else:
        if mapping is None:
            raise ReadError(
                name,
                "no header row",
                cell=f"{sheet_name}!A{r + 1}",
                expected="a header row or a column mapping",
            )
        names = [str(i + 1) for i in range(width)]
        body_at = r
    plan = _plan(names, mapping, name, {"cell": f"{sheet_name}!A{r + 1}"})
    body = rows[body_at:]
    while body and all(v is None for v in body[-1]):
        body.pop()
    columns: list[tuple[str, np.ndarray[Any, Any]]] = []
    for j, col in enumerate(names):
        if col not in plan:
            continue
        values = np.empty(len(body), dtype=np.float64)
        for i, row in enumerate(body):
            v = row[j] if j < len(row) else None
            if isinstance(v, bool) or not isinstance(v, int | float):
                cell = f"{sheet_name}!{get_column_letter(j + 1)}{body_at + i + 1}"
                what = "is empty" if v is None else f"holds {v!r}"
                raise ReadError(name, f"column {col!r} {what}", cell=cell, expected="a number")
            values[i] = v
        columns.append((col, values))
    meta: dict[str, Any] = {
        "format": "table",
        "container": "xlsx",
        "sheet": sheet_name,
        "template": mapping.name if mapping else None,
    }
    return _finish(name, names, columns, plan, meta, None)


def _finish(
    name: str,
    names: list[str],
    columns: list[tuple[str, np.ndarray[Any, Any]]],
    plan: dict[str, Planned],
    meta: dict[str, Any],
    first_line: int | None,
) -> Dataset:
    ds = assemble(name, columns, plan, meta, line_of_row=first_line)
    # Only mapped columns are read from tables (a free-text column must not make a file
    # unreadable); the others are listed in meta, in file order, but not kept.
    by_source = {rec["source"]: rec for rec in ds.meta["columns"]}
    ds.meta["columns"] = [
        by_source.get(n, {"source": n, "canonical": None, "note": "not recognised, not read"})
        for n in names
    ]
    if {"force_mN", "depth_um"} <= set(ds.columns):
        return _indentation(name, ds)
    return ds


def _indentation(name: str, ds: Dataset) -> Dataset:
    df = ds.data
    meta = dict(ds.meta)
    meta["format"] = "indentation"
    if "indent" in df.columns and df["indent"].duplicated().any():
        curves = df[["indent", "force_mN", "depth_um"]].reset_index(drop=True)
        at_max = curves.groupby("indent", sort=False)["force_mN"].idxmax()
        table = curves.loc[at_max.to_numpy()].reset_index(drop=True)
        meta["layout"] = "curves"
        meta["indents"] = len(table)
        return Dataset(data=table, meta=meta, extra=pd.DataFrame(index=table.index), curves=curves)
    table = df[[c for c in ("indent", "force_mN", "depth_um") if c in df.columns]].copy()
    if "indent" not in table.columns:
        table.insert(0, "indent", np.arange(1, len(table) + 1, dtype=np.int64))
    for col in ("force_mN", "depth_um"):
        bad = ~(table[col].to_numpy() > 0)
        if bad.any():
            row = int(np.argmax(bad))
            raise ReadError(
                name,
                f"{col} is {float(table[col].iloc[row])!r} for indent "
                f"{int(table['indent'].iloc[row])}",
                expected="a positive maximum force and depth for every indent",
            )
    meta["layout"] = "indents"
    meta["indents"] = len(table)
    return Dataset(data=table, meta=meta, extra=pd.DataFrame(index=table.index), curves=None)


__all__ = ["read_text_table", "read_xlsx"]
