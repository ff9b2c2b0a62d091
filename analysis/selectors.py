"""Reads other layers show: a record's current results with their display units."""

from __future__ import annotations

from dataclasses import dataclass

from analysis.models import ResultValue
from analysis.registry import registry
from lims.models import Record


@dataclass
class ResultRow:
    value: ResultValue
    unit: str
    label: str


def result_rows(values: list[ResultValue]) -> list[ResultRow]:
    """Values with the label and display unit their analysis declares (the name carries the unit too)."""
    analyses = registry()
    rows = []
    for v in values:
        analysis = analyses.get(v.measurement.measurement_type)
        quantity = analysis.quantity(v.name) if analysis else None
        rows.append(
            ResultRow(
                v, quantity.unit if quantity else "", quantity.description if quantity else ""
            )
        )
    return rows


def current_results(record: Record, limit: int = 300) -> list[ResultRow]:
    """The current results of the measurements on ``record``, latest measurement first."""
    values = list(
        ResultValue.objects.filter(subject=record, is_current=True)
        .select_related("measurement")
        .order_by("-measurement__measured_at", "measurement__code", "name")[:limit]
    )
    return result_rows(values)
