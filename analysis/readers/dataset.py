"""The :class:`Dataset` every reader returns, and the one place where source columns become
canonical columns (rename, unit conversion, integer check), so all formats behave the same."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .canonical import CANONICAL_COLUMNS
from .errors import ReadError

Array = np.ndarray[Any, Any]
# A source column as a reader hands it over: its values, or, for a column derived from others
# (a flag bit of EC-Lab's shared flag byte), a function that computes them when first needed.
Column = Array | Callable[[], Array]


class Dataset:
    """What a file holds, in canonical form.

    ``data``: canonical columns only (see :data:`~analysis.readers.CANONICAL_COLUMNS`), in the
    table's order, converted to the canonical units. ``extra``: every other column of the file
    under its original name and unit, unconverted, same rows. ``meta``: format, technique,
    instrument, software, start time, electrode area, settings, and ``columns``: one entry per
    source column saying where it went and with which factor. ``curves``: for indentation files
    with full load-depth curves, the curves (``indent``, ``force_mN``, ``depth_um``), else None.

    A reader hands over its columns as numpy arrays (:meth:`from_columns`): the canonical ones
    already checked and converted, the others as the file holds them (for a binary file, views
    of its records). The DataFrames ``data`` and ``extra`` are built from them the first time
    each is asked for, ``data`` without copying, ``extra`` copying only views. Building a
    DataFrame costs more than reading a small binary file, and a caller that wants only the
    metadata, the row count or the canonical columns never pays for it. Nothing can fail after
    :func:`~analysis.readers.read` has returned: every check is done before.
    """

    __slots__ = ("_data", "_data_arrays", "_extra", "_extra_arrays", "_rows", "curves", "meta")

    def __init__(
        self,
        data: pd.DataFrame,
        meta: dict[str, Any],
        extra: pd.DataFrame | None = None,
        curves: pd.DataFrame | None = None,
    ) -> None:
        self._data: pd.DataFrame | None = data
        self._data_arrays: dict[str, np.ndarray[Any, Any]] = {}
        self._extra: pd.DataFrame | None = (
            extra if extra is not None else pd.DataFrame(index=data.index)
        )
        self._extra_arrays: dict[str, Column] = {}
        self._rows = len(data)
        self.meta = meta
        self.curves = curves

    @classmethod
    def from_columns(
        cls,
        data: dict[str, Array],
        extra: dict[str, Column],
        rows: int,
        meta: dict[str, Any],
    ) -> Dataset:
        """A dataset whose frames are built from these arrays (each ``rows`` long) on first use."""
        ds = cls.__new__(cls)
        ds._data = None
        ds._data_arrays = data
        ds._extra = None
        ds._extra_arrays = extra
        ds._rows = rows
        ds.meta = meta
        ds.curves = None
        return ds

    @property
    def data(self) -> pd.DataFrame:
        if self._data is None:
            self._data = _frame(self._data_arrays, self._rows)
            self._data_arrays = {}
        return self._data

    @data.setter
    def data(self, frame: pd.DataFrame) -> None:
        self._data, self._data_arrays, self._rows = frame, {}, len(frame)

    @property
    def extra(self) -> pd.DataFrame:
        if self._extra is None:
            owned = {source: _owned(column) for source, column in self._extra_arrays.items()}
            self._extra = _frame(owned, self._rows)
            self._extra_arrays = {}
        return self._extra

    @extra.setter
    def extra(self, frame: pd.DataFrame) -> None:
        self._extra, self._extra_arrays = frame, {}

    @property
    def rows(self) -> int:
        """Number of rows of ``data`` (and ``extra``), without building a DataFrame."""
        return self._rows

    @property
    def columns(self) -> list[str]:
        """Names of the columns of ``data``, in order, without building a DataFrame."""
        if self._data is not None:
            return [str(c) for c in self._data.columns]
        return list(self._data_arrays)

    @property
    def extra_columns(self) -> list[str]:
        """Names of the columns of ``extra``, in order, without building a DataFrame."""
        if self._extra is not None:
            return [str(c) for c in self._extra.columns]
        return list(self._extra_arrays)

    @property
    def units(self) -> dict[str, str]:
        """Unit of each column of ``data`` (``""`` for counts)."""
        return {c: CANONICAL_COLUMNS[c].unit for c in self.columns}

    def summary(self) -> dict[str, Any]:
        """A JSON-serialisable description: format, metadata, columns with units, row count."""
        out = dict(self.meta)
        out["rows"] = self._rows
        out["data_columns"] = self.units
        out["extra_columns"] = self.extra_columns
        if self.curves is not None:
            out["curve_rows"] = len(self.curves)
        return out

    def __repr__(self) -> str:
        return (
            f"Dataset({self.meta.get('format')!r}, {self._rows} rows, data={self.columns}, "
            f"extra={self.extra_columns})"
        )


def _frame(arrays: dict[str, np.ndarray[Any, Any]], rows: int) -> pd.DataFrame:
    # The arrays are the dataset's own, contiguous and writeable: no copy is needed.
    return pd.DataFrame(arrays, index=pd.RangeIndex(rows), copy=False)


@dataclass(frozen=True)
class Planned:
    """A decision for one source column: which canonical column, the factor, and the unit the
    file gave (None for counts). ``priority``: lower wins when two sources feed one column."""

    canonical: str
    factor: float
    unit: str | None
    priority: int = 0


@dataclass(frozen=True)
class Layout:
    """Where each source column goes, decided from the column names alone, so a reader that
    meets the same columns again (every .mpr of one technique) can reuse the decision.

    ``records``: the ``meta["columns"]`` entries, in source order. ``data``: per canonical column
    in table order, (canonical name, index of its source column, factor, integer?).
    ``extra``: (source name, index) of every source column not taken into ``data``.
    """

    records: tuple[dict[str, Any], ...]
    data: tuple[tuple[str, int, float, bool], ...]
    extra: tuple[tuple[str, int], ...]


def plan_layout(sources: Sequence[str], plan: dict[str, Planned]) -> Layout:
    """The :class:`Layout` of source columns named ``sources`` (file order) under ``plan``."""
    winners: dict[str, str] = {}
    for source in sources:
        p = plan.get(source)
        if p is None:
            continue
        current = winners.get(p.canonical)
        if current is None or p.priority < plan[current].priority:
            winners[p.canonical] = source
    last_index = {source: i for i, source in enumerate(sources)}
    records: list[dict[str, Any]] = []
    extra: list[tuple[str, int]] = []
    for i, source in enumerate(sources):
        p = plan.get(source)
        record: dict[str, Any] = {"source": source}
        if p is not None and winners.get(p.canonical) == source:
            record.update(canonical=p.canonical, unit=p.unit, factor=p.factor)
        else:
            if p is not None:
                record["note"] = f"{p.canonical} taken from {winners[p.canonical]!r}"
            record["canonical"] = None
            extra.append((source, i))
        records.append(record)
    data = tuple(
        (canon.name, last_index[winner], plan[winner].factor, canon.integer)
        for canon in CANONICAL_COLUMNS.values()
        if (winner := winners.get(canon.name)) is not None
    )
    return Layout(records=tuple(records), data=data, extra=tuple(extra))


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
    layout = plan_layout([source for source, _ in columns], plan)
    arrays = [values for _, values in columns]
    n_rows = len(arrays[0]) if arrays else 0
    return build(name, layout, arrays, n_rows, meta, line_of_row=line_of_row)


def build(
    name: str,
    layout: Layout,
    arrays: Sequence[Column],
    n_rows: int,
    meta: dict[str, Any],
    *,
    line_of_row: int | None = None,
) -> Dataset:
    """Convert ``arrays`` (source columns, file order, ``n_rows`` each) as ``layout`` says.

    Canonical columns are converted here, once (to float64 in canonical units, or checked whole
    and made int64). The other columns are kept as given, even as read-only or strided views
    such as the fields of a binary file's records, and copied when ``extra`` is first built.
    """
    data: dict[str, np.ndarray[Any, Any]] = {}
    for canonical, i, factor, integer in layout.data:
        column = arrays[i]
        values = column() if callable(column) else column
        if integer:
            data[canonical] = _as_int(name, layout.records[i]["source"], values, line_of_row)
        elif factor == 1.0:
            data[canonical] = (
                _owned(values) if values.dtype == np.float64 else values.astype(np.float64)
            )
        elif factor == -1.0:
            # 0 - x rather than -x: a zero stays 0.0, never -0.0.
            data[canonical] = np.subtract(0.0, values, dtype=np.float64)
        else:
            out = np.multiply(values, factor, dtype=np.float64)
            if factor < 0.0:
                out += 0.0  # turns the -0.0 of a negated zero into 0.0
            data[canonical] = out
    extra = {source: arrays[i] for source, i in layout.extra}
    meta = dict(meta)
    meta["columns"] = [dict(record) for record in layout.records]
    return Dataset.from_columns(data, extra, n_rows, meta)


def _owned(column: Column) -> Array:
    """The column's values, itself when contiguous and writeable, else a contiguous copy."""
    values = column() if callable(column) else column
    flags = values.flags
    return values if flags.c_contiguous and flags.writeable else np.array(values)


def _as_int(
    name: str, source: str, values: np.ndarray[Any, Any], line_of_row: int | None
) -> np.ndarray[Any, Any]:
    if values.dtype.kind in "iu":
        return values.astype(np.int64)
    # One cast and one comparison for the common case; NaN, infinities, values out of the int64
    # range and fractions all come back unequal from the cast.
    with np.errstate(invalid="ignore"):
        whole = values.astype(np.int64)
    if bool((whole.astype(np.float64) == values).all()):
        return whole
    finite = np.isfinite(values)
    ok = finite & (values == np.round(values)) & (np.abs(values) < 2.0**63)
    if not ok.all():
        row = int(np.argmin(ok))
        line = None if line_of_row is None else line_of_row + row
        raise ReadError(
            name,
            f"column {source!r} holds {float(values[row])!r} in row {row + 1}",
            line=line,
            expected="a whole number",
        )
    return values.astype(np.int64)
