"""The desk's create and edit form of a cell: assembled from its parts through
``cell_assemble``, edited (status included) like the API's PATCH."""

from __future__ import annotations

from cells import services
from cells.models import Cell
from lims.forms import DeskForm


class CellForm(DeskForm):
    create_service = staticmethod(services.cell_assemble)
    list_view = "cell-list"
    # A cell is built from one separator and two pieces: a different build is a new cell.
    create_only = ("separator", "electrode_1", "electrode_2")
    edit_only = ("status",)
    selects = ("glovebox",)
    suggest = {
        "separator": lambda rows: rows.filter(cell__isnull=True),
        "electrode_1": lambda rows: rows.filter(cell_as_1__isnull=True, cell_as_2__isnull=True),
        "electrode_2": lambda rows: rows.filter(cell_as_1__isnull=True, cell_as_2__isnull=True),
        "collector_lot": lambda lots: lots.filter(chemical__iexact="Ni"),
    }

    class Meta:
        model = Cell
        fields = [
            "separator",
            "electrode_1",
            "electrode_2",
            "cell_type",
            "status",
            "collector_lot",
            "housing",
            "stack_pressure_MPa",
            "mask_area_cm2",
            "assembled_at",
            "glovebox",
            "notes",
        ]
