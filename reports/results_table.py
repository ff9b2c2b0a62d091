"""The results table: one row per cell with its lineage flattened and its current results.

What a paper's table of cells needs, in one file: where each cell came from (batch and its
formula, pellet, separator, the foil of each electrode with its composition and pass count)
and what was measured on it (interface resistance and ASR, CCD with its lower-bound marker,
test temperatures, the separator's relative density). Every value is read from the records
and the *current* result revisions; the columns say which measurement a value is taken from
where a cell has several of one kind:

- impedance: a cell has a time series of spectra (after 1, 5, 10 ... cycles). ``*_first_*``
  columns are the earliest spectrum's (the interface as assembled), ``*_latest_*`` the most
  recent one's, and ``eis_spectra`` counts them; only spectra whose fit found an interface
  arc count (a spectrum fitted with bulk and grain-boundary arcs alone has no R_IF);
- CCD: the earliest CCD test's (a CCD test drives the cell to failure, so a later one describes
  a damaged cell), with ``ccd_is_lower_bound`` and ``ccd_shown`` ("> 5.00") when no step
  failed;
- relative density: the latest density measurement on the separator itself, else on the pellet
  it was cut from; ``relative_density_of`` names the record measured.

Rows are built a chunk of cells at a time with a fixed number of queries per chunk (the cells
with their lineage, the foils' pass counts, the cells' results, the densities), so an export
streams in constant memory and a page of 50 rows costs the same four queries as one row.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from django.db.models import Count, QuerySet

from analysis.models import ResultValue
from analysis.science.composition import convert_mixture
from cells.models import Cell
from processing.models import FoldPass, MetalFoil

#: Result names read per cell, and the density read per separator or pellet.
R_INTERFACE = "r_interface_ohm"
ASR_INTERFACE = "asr_interface_ohm_cm2"
CCD = "ccd_mA_cm2"
RELATIVE_DENSITY = "relative_density_pct"


@dataclass(frozen=True)
class ResultColumn:
    """A column of the results table: its header (unit in the name) and what it means."""

    name: str
    description: str
    kind: str = "number"  # number, integer, text, boolean, datetime


def _electrode_columns(n: int) -> list[ResultColumn]:
    return [
        ResultColumn(f"electrode_{n}_foil", f"code of the foil electrode {n} was cut from", "text"),
        ResultColumn(f"electrode_{n}_foil_type", f"type of electrode {n}'s foil", "text"),
        ResultColumn(
            f"electrode_{n}_na_mol_pct_target", f"Na in electrode {n}'s foil, mol %, as aimed at"
        ),
        ResultColumn(
            f"electrode_{n}_na_mol_pct_weighed",
            f"Na in electrode {n}'s foil, mol %, from the weighed Li and Na masses",
        ),
        ResultColumn(
            f"electrode_{n}_passes",
            f"fold passes logged on electrode {n}'s foil (counted from the passes)",
            "integer",
        ),
    ]


COLUMNS: tuple[ResultColumn, ...] = (
    ResultColumn("cell", "cell code", "text"),
    ResultColumn("cell_type", "cell type", "text"),
    ResultColumn("status", "cell status", "text"),
    ResultColumn("assembled_at", "when the cell was assembled (local time)", "datetime"),
    ResultColumn("batch", "LLZO synthesis batch code", "text"),
    ResultColumn("batch_formula", "target formula of the batch", "text"),
    ResultColumn("li_excess_percent", "Li excess of the batch, %"),
    ResultColumn("pellet", "pellet code", "text"),
    ResultColumn("separator", "separator code", "text"),
    ResultColumn("separator_thickness_um", "separator thickness, µm"),
    ResultColumn(
        "separator_relative_density_pct",
        "relative density, % (latest density measurement on the separator, else its pellet)",
    ),
    ResultColumn("relative_density_of", "the record whose density is reported", "text"),
    *_electrode_columns(1),
    *_electrode_columns(2),
    ResultColumn("electrode_area_cm2", "electrode area (mask, else separator face), cm²"),
    ResultColumn("stack_pressure_MPa", "stack pressure, MPa"),
    ResultColumn(
        "eis_spectra", "impedance spectra whose current fit has an interface arc", "integer"
    ),
    ResultColumn("eis_first_measurement", "the earliest spectrum (its code)", "text"),
    ResultColumn(
        "r_interface_first_ohm", "interface resistance (both interfaces), earliest spectrum, Ω"
    ),
    ResultColumn(
        "asr_interface_first_ohm_cm2", "interface ASR per interface, earliest spectrum, Ω·cm²"
    ),
    ResultColumn("eis_first_temperature_C", "test temperature of the earliest spectrum, °C"),
    ResultColumn("eis_latest_measurement", "the latest spectrum (its code)", "text"),
    ResultColumn(
        "asr_interface_latest_ohm_cm2", "interface ASR per interface, latest spectrum, Ω·cm²"
    ),
    ResultColumn("ccd_measurement", "the earliest CCD test (its code)", "text"),
    ResultColumn("ccd_mA_cm2", "critical current density of the earliest CCD test, mA/cm²"),
    ResultColumn(
        "ccd_is_lower_bound", "yes when no step failed: the CCD is above the value", "boolean"
    ),
    ResultColumn("ccd_shown", 'the CCD as a paper prints it ("1.25", "> 5.00")', "text"),
    ResultColumn("ccd_temperature_C", "test temperature of the CCD test, °C"),
)
HEADER: list[str] = [c.name for c in COLUMNS]


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def ccd_shown(value: float | None, is_lower_bound: bool) -> str:
    """A CCD as a paper prints it: ``"1.25"``, or ``"> 5.00"`` for a lower bound."""
    if value is None:
        return ""
    return f"{'> ' if is_lower_bound else ''}{value:.2f}"


def weighed_na_mol_percent(foil: MetalFoil) -> float | None:
    """Na in mol % from the weighed masses (None unless both are recorded)."""
    if not foil.li_mass_g or foil.na_mass_g is None:
        return None
    return convert_mixture({"Li": foil.li_mass_g, "Na": foil.na_mass_g}, "wt")["mol"]["Na"]


def _test_temperature_C(row: Mapping[str, Any]) -> float | None:
    """The temperature the analysis ran with (a parameter), else the measurement's."""
    used = row["revision__run__parameters__temperature_C"]
    return _finite(used if used is not None else row["measurement__temperature_C"])


#: Cells read per chunk of an export: the lineage of 2,000 cells held 40 MiB (bench/reports.py).
CHUNK_CELLS = 500

#: The fields a row reads, so the one query of a chunk fetches no others (every record kind is
#: a join to its parent record: whole rows of ten tables would be read otherwise).
_ROW_FIELDS = (
    "code",
    "cell_type",
    "status",
    "assembled_at",
    "stack_pressure_MPa",
    "mask_area_cm2",
    "separator__code",
    "separator__thickness_um",
    "separator__diameter_mm",
    "separator__pellet__code",
    "separator__pellet__diameter_mm",
    "separator__pellet__batch__code",
    "separator__pellet__batch__target_formula",
    "separator__pellet__batch__li_excess_percent",
    *(
        f"{electrode}__foil__{field}"
        for electrode in ("electrode_1", "electrode_2")
        for field in ("code", "foil_type", "target_na_mol_percent", "li_mass_g", "na_mass_g")
    ),
)


def cells_queryset() -> QuerySet[Cell]:
    """Cells with the lineage one row reads, joined in one query."""
    return (
        Cell.objects.select_related(
            "separator__pellet__batch", "electrode_1__foil", "electrode_2__foil"
        )
        .only(*_ROW_FIELDS)
        .order_by("code")
    )


@dataclass
class _Measured:
    """The current values of one measurement on a cell, by name."""

    code: str
    measured_at: Any
    temperature_C: float | None
    values: dict[str, tuple[float | None, bool]]


def _cell_results(cell_ids: Sequence[int]) -> dict[int, dict[str, list[_Measured]]]:
    """Per cell, its EIS and CCD measurements (current values only), oldest first: one query."""
    rows = (
        ResultValue.objects.filter(
            subject_id__in=cell_ids, is_current=True, name__in=(R_INTERFACE, ASR_INTERFACE, CCD)
        )
        .order_by("subject_id", "measurement__measured_at", "measurement__code")
        .values(
            "subject_id",
            "name",
            "value",
            "is_lower_bound",
            "measurement_id",
            "measurement__code",
            "measurement__measured_at",
            "measurement__measurement_type",
            "measurement__temperature_C",
            "revision__run__parameters__temperature_C",
        )
    )
    found: dict[int, dict[str, dict[int, _Measured]]] = defaultdict(lambda: defaultdict(dict))
    for row in rows:
        by_measurement = found[row["subject_id"]][row["measurement__measurement_type"]]
        measured = by_measurement.get(row["measurement_id"])
        if measured is None:
            measured = by_measurement[row["measurement_id"]] = _Measured(
                row["measurement__code"],
                row["measurement__measured_at"],
                _test_temperature_C(row),
                {},
            )
        measured.values[row["name"]] = (_finite(row["value"]), bool(row["is_lower_bound"]))
    # dicts keep insertion order: the measurements stay in time order
    return {
        cell: {kind: list(ms.values()) for kind, ms in kinds.items()}
        for cell, kinds in found.items()
    }


def relative_densities(record_ids: Iterable[int]) -> dict[int, float | None]:
    """The latest current relative density of each record that has one: one query."""
    latest: dict[int, float | None] = {}
    for row in (
        ResultValue.objects.filter(
            subject_id__in=list(record_ids), is_current=True, name=RELATIVE_DENSITY
        )
        .order_by("subject_id", "-measurement__measured_at", "-measurement__code")
        .values("subject_id", "value")
    ):
        latest.setdefault(row["subject_id"], _finite(row["value"]))
    return latest


def _pass_counts(foil_ids: Iterable[int]) -> dict[int, int]:
    return dict(
        FoldPass.objects.filter(foil_id__in=list(foil_ids))
        .values("foil_id")
        .annotate(n=Count("id"))
        .values_list("foil_id", "n")
    )


def _value(measured: _Measured | None, name: str) -> float | None:
    if measured is None or name not in measured.values:
        return None
    return measured.values[name][0]


def rows_for(cells: Sequence[Cell]) -> list[dict[str, Any]]:
    """The table's rows for ``cells`` (from :func:`cells_queryset`), in their order, read in
    three queries whatever their number."""
    if not cells:
        return []
    foils = {c.electrode_1.foil for c in cells} | {c.electrode_2.foil for c in cells}
    passes = _pass_counts(f.pk for f in foils)
    weighed = {f.pk: weighed_na_mol_percent(f) for f in foils}  # a foil serves many cells
    results = _cell_results([c.pk for c in cells])
    densities = relative_densities(
        [c.separator_id for c in cells] + [c.separator.pellet_id for c in cells]
    )
    rows = []
    for cell in cells:
        separator = cell.separator
        pellet = separator.pellet
        batch = pellet.batch
        density_of = separator if separator.pk in densities else pellet
        measured = results.get(cell.pk, {})
        spectra = measured.get("eis", [])
        first, latest = (spectra[0], spectra[-1]) if spectra else (None, None)
        ccd_test = measured.get("ccd", [None])[0]
        ccd, bound = ccd_test.values.get(CCD, (None, False)) if ccd_test else (None, False)
        row: dict[str, Any] = {
            "cell": cell.code,
            "cell_type": cell.cell_type,
            "status": cell.get_status_display(),
            "assembled_at": cell.assembled_at,
            "batch": batch.code,
            "batch_formula": batch.target_formula,
            "li_excess_percent": batch.li_excess_percent,
            "pellet": pellet.code,
            "separator": separator.code,
            "separator_thickness_um": separator.thickness_um,
            "separator_relative_density_pct": densities.get(density_of.pk),
            "relative_density_of": density_of.code if density_of.pk in densities else None,
        }
        for n, piece in ((1, cell.electrode_1), (2, cell.electrode_2)):
            foil = piece.foil
            row |= {
                f"electrode_{n}_foil": foil.code,
                f"electrode_{n}_foil_type": foil.get_foil_type_display(),
                f"electrode_{n}_na_mol_pct_target": foil.target_na_mol_percent,
                f"electrode_{n}_na_mol_pct_weighed": weighed[foil.pk],
                f"electrode_{n}_passes": passes.get(foil.pk, 0),
            }
        row |= {
            "electrode_area_cm2": cell.electrode_area_cm2,
            "stack_pressure_MPa": cell.stack_pressure_MPa,
            "eis_spectra": len(spectra),
            "eis_first_measurement": first.code if first else None,
            "r_interface_first_ohm": _value(first, R_INTERFACE),
            "asr_interface_first_ohm_cm2": _value(first, ASR_INTERFACE),
            "eis_first_temperature_C": first.temperature_C if first else None,
            "eis_latest_measurement": latest.code if latest else None,
            "asr_interface_latest_ohm_cm2": _value(latest, ASR_INTERFACE),
            "ccd_measurement": ccd_test.code if ccd_test else None,
            "ccd_mA_cm2": ccd,
            "ccd_is_lower_bound": bound if ccd_test else None,
            "ccd_shown": ccd_shown(ccd, bound),
            "ccd_temperature_C": ccd_test.temperature_C if ccd_test else None,
        }
        rows.append(row)
    return rows


def export_rows(cells: QuerySet[Cell], chunk: int = CHUNK_CELLS) -> Iterator[list[Any]]:
    """Every row of ``cells`` as a list under :data:`HEADER`, ``chunk`` cells at a time, so the
    memory an export holds does not grow with the number of cells."""
    stream = cells.iterator(chunk_size=chunk)
    while batch := list(islice(stream, chunk)):
        for row in rows_for(batch):
            yield [row[name] for name in HEADER]
