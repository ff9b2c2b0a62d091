"""The desk list of cells."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from cells import filtersets
from cells.models import Cell
from lims.tables import Column, Table


class CellTable(Table):
    model = Cell
    filterset_class = filtersets.CellFilterSet
    columns = (
        Column("code", "code", sort="code", link=True),
        Column("cell_type", "cell_type", sort="cell_type"),
        Column("status", "get_status_display", sort="status"),
        Column("separator", "separator", sort="separator__code"),
        Column("batch", "separator.pellet.batch", sort="separator__pellet__batch__code"),
        Column("electrode_1", "electrode_1", sort="electrode_1__code"),
        Column("electrode_2", "electrode_2", sort="electrode_2__code"),
        Column("stack_pressure_MPa", "stack_pressure_MPa", sort="stack_pressure_MPa"),
        Column("electrode_area_cm2", "electrode_area_cm2"),
        Column("assembled_at", "assembled_at", sort="assembled_at"),
        Column("created_by", "created_by", sort="created_by__username"),
    )

    @classmethod
    def queryset(cls) -> QuerySet[Any]:
        return Cell.objects.select_related(
            "separator__pellet__batch", "electrode_1", "electrode_2", "created_by"
        )
