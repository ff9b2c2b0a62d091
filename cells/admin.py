from django.contrib import admin

from cells.models import AssemblyStep, Cell
from lims.admin import RecordAdmin, ServiceAdmin


@admin.register(Cell)
class CellAdmin(RecordAdmin):
    list_display = ("code", "cell_type", "status", "separator", "assembled_at")
    list_filter = ("status", "cell_type")
    list_select_related = ("separator",)


@admin.register(AssemblyStep)
class AssemblyStepAdmin(ServiceAdmin):
    list_display = (
        "cell",
        "sequence",
        "step_type",
        "setpoint_C",
        "hold_time_s",
        "performed_at",
        "operator",
    )
    list_select_related = ("cell", "operator")
    list_filter = ("step_type",)
