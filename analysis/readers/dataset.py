"""The :class:`Dataset` every reader returns, and the one place where source columns become
canonical columns (rename, unit conversion, integer check), so all formats behave the same."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .canonical import CANONICAL_COLUMNS
from .errors import ReadError


@dataclass
class Dataset:
    """What a file holds, in canonical form.

    ``data``: canonical columns only (see :data:`~analysis.readers.CANONICAL_COLUMNS`), in the
    table's order, converted to the canonical units. ``extra``: every other column of the file
    under its original name and unit, unconverted, same rows. ``meta``: format, technique,
    instrument, software, start time, electrode area, settings, and ``columns``: one entry per
    source column saying where it went and with which factor. ``curves``: for indentation files
    with full load-depth curves, the curves (``indent``, ``force_mN``, ``depth_um``), else None.
    """

    data: pd.DataFrame
    meta: dict[str, Any]
    extra: pd.DataFrame = field(default_factory=pd.DataFrame)
    curves: pd.DataFrame | None = None

    @property
    def units(self) -> dict[str, str]:
        """Unit of each column of ``data`` (``""`` for counts)."""
        return {c: CANONICAL_COLUMNS[c].unit for c in self.data.columns}

    def summary(self) -> dict[str, Any]:
        """A JSON-serialisable description: format, metadata, columns with units, row count."""
        out = dict(self.meta)
        out["rows"] = len(self.data)
        out["data_columns"] = self.units
        out["extra_columns"] = list(self.extra.columns)
        if self.curves is not None:
            out["curve_rows"] = len(self.curves)
        return out


@dataclass(frozen=True)
class Planned:
    """A decision for one source column: which canonical column, the factor, and the unit the
    file gave (None for counts). ``priority``: lower wins when two sources feed one column."""

    canonical: str
    factor: float
    unit: str | None
    priority: int = 0


def assemble(
    name: str,
    columns: Sequence[tuple[str, np.ndarray[Any, Any]]],
    plan: dict[str, Planned],
    meta: dict[str, Any],
    *,
    line_of_row: int | None = None,
) -> Dataset:
    """Build a Dataset from source columns (original order) and the plan for each.

    ``line_of_row``: the file line of row 0, so an integer check can name the line.
    """
    winners: dict[str, str] = {}
    for source, _ in columns:
        p = plan.get(source)
        if p is None:
            continue
        current = winners.get(p.canonical)
        if current is None or p.priority < plan[current].priority:
            winners[p.canonical] = source
    by_source = dict(columns)
    n_rows = len(columns[0][1]) if columns else 0
    data: dict[str, Any] = {}
    records: list[dict[str, Any]] = []
    extra: dict[str, Any] = {}
    for source, values in columns:
        p = plan.get(source)
        record: dict[str, Any] = {"source": source}
        if p is not None and winners.get(p.canonical) == source:
            record.update(canonical=p.canonical, unit=p.unit, factor=p.factor)
        else:
            if p is not None:
                record["note"] = f"{p.canonical} taken from {winners[p.canonical]!r}"
            record["canonical"] = None
            extra[source] = values
        records.append(record)
    for canon in CANONICAL_COLUMNS.values():
        winner = winners.get(canon.name)
        if winner is None:
            continue
        p = plan[winner]
        values = by_source[winner]
        if canon.integer:
            data[canon.name] = _as_int(name, winner, values, line_of_row)
        elif values.dtype.kind == "f" and p.factor == 1.0 and values.dtype == np.float64:
            data[canon.name] = values
        else:
            # + 0.0 turns the -0.0 of a negated zero into 0.0.
            data[canon.name] = values.astype(np.float64) * p.factor + 0.0
    meta = dict(meta)
    meta["columns"] = records
    frame = pd.DataFrame(data, index=pd.RangeIndex(n_rows), copy=False)
    extra_frame = pd.DataFrame(extra, index=pd.RangeIndex(n_rows), copy=False)
    return Dataset(data=frame, meta=meta, extra=extra_frame)


def _as_int(
    name: str, source: str, values: np.ndarray[Any, Any], line_of_row: int | None
) -> np.ndarray[Any, Any]:
    if values.dtype.kind in "iu":
        return values.astype(np.int64)
    finite = np.isfinite(values)
    ok = finite & (values == np.round(values))
    if not ok.all():
        row = int(np.argmin(ok))
        line = None if line_of_row is None else line_of_row + row
        raise ReadError(
            name,
            f"column {source!r} holds {values[row]!r} in row {row + 1}",
            line=line,
            expected="a whole number",
        )
    return values.astype(np.int64)
