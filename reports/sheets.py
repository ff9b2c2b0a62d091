"""What the printed sheets show: the cell build sheet and the batch report."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from django.db.models import Count, Prefetch

from analysis.models import Flag, Measurement, ResultValue
from analysis.plots import ROLLUP_PLOTS, record_plots
from analysis.science.density import DensitySummary, summarize
from analysis.selectors import ResultRow, current_results
from cells.models import AssemblyStep, Cell
from lims.models import Record
from lims.pdf import svg_data_uri
from lims.state import lineage_state_hash, record_revision
from processing.models import (
    MetalFoil,
    Pellet,
    ProcessStep,
    ProtocolStep,
    Separator,
    SynthesisBatch,
    WeighingEntry,
)
from processing.tables import range_text
from reports import results_table
from reports.models import Signature
from reports.traceability import TraceTree, trace_tree

#: A weighing further than this from its target is highlighted on the batch report.
WEIGHING_TOLERANCE_PERCENT = 1.0


@dataclass
class Parameter:
    name: str
    value: Any
    range: str
    outside: bool


@dataclass
class Step:
    """A logged step with its parameters against the protocol's ranges."""

    row: ProtocolStep
    parameters: list[Parameter]

    @property
    def deviates(self) -> bool:
        return bool(self.row.flags) or any(p.outside for p in self.parameters)


def _step(row: ProtocolStep, extra: tuple[str, ...] = ()) -> Step:
    protocol = row.protocol
    parameters = []
    for name in (*row.PROTOCOL_PARAMETERS, *extra):
        value = getattr(row, name)
        spec = (protocol.parameters.get(name) if protocol else None) or {}
        if value in (None, "") and not spec:
            continue
        parameters.append(
            Parameter(
                name,
                value,
                range_text(spec) if isinstance(spec, dict) else "",
                any(flag.startswith(f"{name} ") for flag in row.flags),
            )
        )
    return Step(row, parameters)


@dataclass
class Foil:
    foil: MetalFoil
    pieces: list[Any]
    pass_count: int


#: The columns of a cell's result tables on its build sheet: (stored name, heading with unit).
RESULT_TABLE_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "eis": (
        ("r_series_ohm", "R_s Ω"),
        ("r_bulk_ohm", "R_bulk Ω"),
        ("r_grain_boundary_ohm", "R_GB Ω"),
        ("r_interface_ohm", "R_IF Ω"),
        ("r_total_ohm", "R_total Ω"),
        ("asr_interface_ohm_cm2", "ASR Ω·cm²"),
        ("conductivity_S_cm", "σ S/cm"),
        ("fit_rms_residual_pct", "fit rms %"),
        ("kk_rms_residual_pct", "KK rms %"),
    ),
    "ccd": (
        ("ccd_mA_cm2", "CCD mA/cm²"),
        ("steps_count", "steps"),
        ("max_overpotential_V", "max. overpotential V"),
    ),
}
RESULT_TABLE_TITLES = {"eis": "Impedance fits", "ccd": "Critical current density"}


@dataclass
class ResultTable:
    """One kind of measurement on a cell, a line per measurement: its current values under
    :data:`RESULT_TABLE_COLUMNS` (None where the fit has no such value)."""

    kind: str
    title: str
    columns: tuple[tuple[str, str], ...]
    lines: list[tuple[Measurement, list[ResultValue | None]]]


def _result_tables(
    results: list[tuple[Measurement, list[ResultRow]]],
) -> tuple[list[ResultTable], list[tuple[Measurement, list[ResultRow]]]]:
    """The impedance fits and CCD tests as tables; other kinds stay a line of values each."""
    tables = {
        kind: ResultTable(kind, RESULT_TABLE_TITLES[kind], columns, [])
        for kind, columns in RESULT_TABLE_COLUMNS.items()
    }
    others = []
    for measurement, rows in results:
        table = tables.get(measurement.measurement_type)
        if table is None:
            others.append((measurement, rows))
            continue
        values = {row.value.name: row.value for row in rows}
        table.lines.append((measurement, [values.get(name) for name, _ in table.columns]))
    return [t for t in tables.values() if t.lines], others


@dataclass
class CellSheet:
    cell: Cell
    tree: TraceTree
    foils: list[Foil]
    steps: list[Step]
    #: measurements with no current results (not analysed, or failed)
    measurements: list[Measurement]
    revision: int
    state_hash: str
    signatures: list[tuple[Signature, bool]]
    #: impedance fits and CCD tests, a line per measurement in time order
    result_tables: list[ResultTable]
    #: other measurements' current results, a line of values each
    results: list[tuple[Measurement, list[ResultRow]]]
    flags: list[Flag]
    #: (title, data: URI) of the cell's plots: the latest spectrum, the CCD test
    plots: list[tuple[str, str]]


def _signatures(record: Record, state_hash: str) -> list[tuple[Signature, bool]]:
    """The record's signatures, each with whether it still matches the state printed."""
    return [(s, s.state_hash == state_hash) for s in Signature.objects.filter(record=record)]


def cell_sheet(*, cell: Cell) -> CellSheet:
    """Everything the build sheet of a cell prints, read in a fixed number of queries."""
    cell = (
        Cell.objects.select_related(
            "separator__pellet__batch",
            "electrode_1__foil",
            "electrode_2__foil",
            "collector_lot",
            "glovebox",
            "created_by",
        )
        .prefetch_related(
            Prefetch(
                "assembly_steps",
                AssemblyStep.objects.select_related(
                    "protocol", "equipment", "operator", "glovebox_reading"
                ).order_by("sequence"),
            )
        )
        .get(pk=cell.pk)
    )
    state_hash = lineage_state_hash(cell)
    foil_ids = {cell.electrode_1.foil_id, cell.electrode_2.foil_id}
    foils = [
        Foil(
            foil,
            [p for p in (cell.electrode_1, cell.electrode_2) if p.foil_id == foil.pk],
            foil.pass_count,
        )
        for foil in MetalFoil.objects.filter(pk__in=foil_ids)
        .select_related("li_lot", "na_lot", "protocol")
        .annotate(pass_count=Count("passes"))
        .order_by("code")
    ]
    results = [
        (measurement, list(rows))
        for measurement, rows in groupby(
            reversed(current_results(cell)), key=lambda row: row.value.measurement
        )
    ]
    with_results = {m.pk for m, _ in results}
    tables, other_results = _result_tables(results)
    return CellSheet(
        cell=cell,
        tree=trace_tree(root=cell, direction="backward"),
        foils=foils,
        steps=[_step(s, ("quench_surface",)) for s in cell.assembly_steps.all()],
        measurements=[
            m
            for m in Measurement.objects.filter(subject=cell)
            .select_related("operator")
            .order_by("measured_at")
            if m.pk not in with_results
        ],
        revision=record_revision(cell),
        state_hash=state_hash,
        signatures=_signatures(cell, state_hash),
        # a line per measurement, in time order, so the sheet stays on two pages
        result_tables=tables,
        results=other_results,
        flags=list(Flag.objects.filter(record=cell, cleared_at__isnull=True)),
        # WeasyPrint reads only inline images: the cached SVGs go in as data: URIs.
        # The latest spectrum's Nyquist plot and the CCD test's curve; the resistances against
        # cycles are in the impedance table already, and three plots across A4 are unreadable.
        plots=[
            (plot.title, svg_data_uri(plot.svg()))
            for plot in record_plots(cell)
            if plot.title != ROLLUP_PLOTS["resistance"][1]
        ],
    )


@dataclass
class Weighing:
    row: WeighingEntry

    @property
    def deviates(self) -> bool:
        return abs(self.row.deviation_percent) > WEIGHING_TOLERANCE_PERCENT


@dataclass
class SeparatorLine:
    """A separator of the batch with its relative density (its own measurement, else its
    pellet's) and the results-table row of the cell made from it, if any."""

    separator: Separator
    relative_density_pct: float | None
    density_of_pellet: bool
    cell: dict[str, Any] | None


@dataclass
class BatchReport:
    batch: SynthesisBatch
    weighings: list[Weighing]
    steps: list[Step]
    pellets: list[Pellet]
    density: DensitySummary | None
    separators: Sequence[SeparatorLine]
    measurements: list[Measurement]
    revision: int
    state_hash: str
    signatures: list[tuple[Signature, bool]]
    tolerance_percent: float = WEIGHING_TOLERANCE_PERCENT


def batch_report(*, batch: SynthesisBatch) -> BatchReport:
    """Weighings, heat treatments, pellets with density statistics, and what was made."""
    pellets = list(batch.pellets.order_by("code"))
    densities = [
        d for p in pellets if (d := p.geometric_density_g_cm3) is not None and math.isfinite(d)
    ]
    separators = list(
        Separator.objects.filter(pellet__batch=batch).select_related("pellet").order_by("code")
    )
    # The cells' key results come from the results table's rows: three queries for any number.
    cells = {
        row["separator"]: row
        for row in results_table.rows_for(
            list(results_table.cells_queryset().filter(separator__pellet__batch=batch))
        )
    }
    relative = results_table.relative_densities(
        [s.pk for s in separators] + [p.pk for p in pellets]
    )
    subjects = [batch.pk, *(p.pk for p in pellets)]
    state_hash = lineage_state_hash(batch)
    return BatchReport(
        batch=batch,
        weighings=[
            Weighing(w)
            for w in batch.weighings.select_related("lot", "balance", "operator").order_by("id")
        ],
        steps=[
            _step(s, ("atmosphere", "crucible"))
            for s in ProcessStep.objects.filter(batch=batch)
            .select_related("protocol", "equipment", "operator")
            .order_by("sequence")
        ],
        pellets=pellets,
        density=summarize(densities) if densities else None,
        separators=[
            SeparatorLine(
                sep,
                relative.get(sep.pk, relative.get(sep.pellet_id)),
                sep.pk not in relative,
                cells.get(sep.code),
            )
            for sep in separators
        ],
        measurements=list(
            Measurement.objects.filter(subject__in=subjects)
            .select_related("subject")
            .order_by("measurement_type", "measured_at")
        ),
        revision=record_revision(batch),
        state_hash=state_hash,
        signatures=_signatures(batch, state_hash),
    )


def label_records(codes: list[str]) -> tuple[list[Record], list[str]]:
    """The records for a label sheet in the order asked, and the codes that match none."""
    found = {r.code: r for r in Record.objects.filter(code__in=codes)}
    return [found[c] for c in codes if c in found], [c for c in codes if c not in found]
