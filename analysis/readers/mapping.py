"""Column mappings for CSV/TSV/XLSX files, and the named templates users save.

A :class:`ColumnMapping` says which source column feeds which canonical column, in which unit,
and how the file is laid out. It round-trips through JSON (``to_json``/``from_json``) so the
Django side can store it as a named template.

Built-in template ``eis3``: headerless three-column impedance files (frequency in Hz, Z' in Ohm,
Z'' = Im(Z) in Ohm, NEGATIVE for a capacitive arc), as impedance.py writes them
(``shared/data/eis/exampleData.csv``). Such files are never recognised automatically: three
unlabelled numbers could as well be time, voltage and current, so the caller names the template.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Final

from .canonical import CANONICAL_COLUMNS, unit_factor

_SCHEMA: Final = 1


@dataclass(frozen=True)
class ColumnMapping:
    """How to read a table.

    ``columns``: source column → canonical name. A source column is its header text, or its
    1-based position ("1", "2", ...) when ``has_header`` is False. ``units``: source column →
    unit of its values (``"mV"``, ``"kOhm"``, ``"h"``, ``"mA/cm2"``); when absent, the unit
    written in the header (``"E (mV)"``) is used, and a column with neither is refused.
    ``negate``: source columns whose sign is flipped (a ``-Z''`` column mapped to z_imag_ohm).
    ``auto``: also map recognised headers not listed in ``columns``.
    """

    columns: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    negate: tuple[str, ...] = ()
    name: str = ""
    description: str = ""
    has_header: bool = True
    delimiter: str | None = None
    decimal: str = "."
    skip_rows: int = 0
    sheet: str | None = None
    auto: bool = True

    def __post_init__(self) -> None:
        for source, canonical in self.columns.items():
            if canonical not in CANONICAL_COLUMNS:
                raise ValueError(
                    f"column {source!r} maps to {canonical!r}, which is not a canonical column "
                    f"({sorted(CANONICAL_COLUMNS)})"
                )
            if source in self.units:
                try:
                    unit_factor(canonical, self.units[source])
                except KeyError:
                    raise ValueError(
                        f"unit {self.units[source]!r} of column {source!r} is not known"
                    ) from None
        for source in [*self.units, *self.negate]:
            if source not in self.columns:
                raise ValueError(f"{source!r} has a unit or sign but is not in columns")
        if self.decimal not in {".", ","}:
            raise ValueError("decimal must be '.' or ','")
        if self.delimiter is not None and len(self.delimiter) != 1:
            raise ValueError("delimiter must be one character")
        if self.skip_rows < 0:
            raise ValueError("skip_rows must be >= 0")
        if not self.has_header:
            bad = [s for s in self.columns if not s.isdigit() or int(s) < 1]
            if bad:
                raise ValueError(f"without a header, columns are 1-based positions, not {bad}")
        if len(set(self.columns.values())) != len(self.columns):
            raise ValueError("two source columns map to the same canonical column")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["negate"] = list(self.negate)
        d["schema"] = _SCHEMA
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ColumnMapping:
        d = dict(d)
        schema = d.pop("schema", _SCHEMA)
        if schema != _SCHEMA:
            raise ValueError(f"column mapping schema {schema} is not supported")
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown column mapping keys {sorted(unknown)}")
        d["negate"] = tuple(d.get("negate", ()))
        return cls(**d)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ColumnMapping:
        return cls.from_dict(json.loads(text))


TEMPLATES: Final[dict[str, ColumnMapping]] = {
    "eis3": ColumnMapping(
        name="eis3",
        description="headerless: frequency (Hz), Z' (Ohm), Z'' = Im(Z) (Ohm, negative for a "
        "capacitive arc), as impedance.py writes",
        has_header=False,
        columns={"1": "freq_Hz", "2": "z_real_ohm", "3": "z_imag_ohm"},
        units={"1": "Hz", "2": "Ohm", "3": "Ohm"},
        auto=False,
    ),
}
