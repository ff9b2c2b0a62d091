"""What the printed sheets show: the cell build sheet and the batch report."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from django.db.models import Count, F, Prefetch

from analysis.models import Flag, Measurement
from analysis.science.density import DensitySummary, summarize
from analysis.selectors import ResultRow, current_results
from cells.models import AssemblyStep, Cell
from lims.models import Record
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


@dataclass
class CellSheet:
    cell: Cell
    tree: TraceTree
    foils: list[Foil]
    steps: list[Step]
    measurements: list[Measurement]
    revision: int
    state_hash: str
    signatures: list[tuple[Signature, bool]]
    results: list[tuple[Measurement, list[ResultRow]]]
    flags: list[Flag]


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
    return CellSheet(
        cell=cell,
        tree=trace_tree(root=cell, direction="backward"),
        foils=foils,
        steps=[_step(s, ("quench_surface",)) for s in cell.assembly_steps.all()],
        measurements=list(
            Measurement.objects.filter(subject=cell)
            .select_related("operator")
            .order_by("measured_at")
        ),
        revision=record_revision(cell),
        state_hash=state_hash,
        signatures=_signatures(cell, state_hash),
        # one line per measurement, in time order, so the sheet stays on two pages
        results=[
            (measurement, list(rows))
            for measurement, rows in groupby(
                reversed(current_results(cell)), key=lambda row: row.value.measurement
            )
        ],
        flags=list(Flag.objects.filter(record=cell, cleared_at__isnull=True)),
    )


@dataclass
class Weighing:
    row: WeighingEntry

    @property
    def deviates(self) -> bool:
        return abs(self.row.deviation_percent) > WEIGHING_TOLERANCE_PERCENT


@dataclass
class BatchReport:
    batch: SynthesisBatch
    weighings: list[Weighing]
    steps: list[Step]
    pellets: list[Pellet]
    density: DensitySummary | None
    separators: Sequence[Separator]
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
        Separator.objects.filter(pellet__batch=batch)
        .select_related("pellet")
        .annotate(cell_code=F("cell__code"), cell_status=F("cell__status"))
        .order_by("code")
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
        separators=separators,
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
