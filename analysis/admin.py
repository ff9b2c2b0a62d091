from django.contrib import admin

from analysis.models import ColumnMappingTemplate, Measurement
from lims.admin import RecordAdmin, ServiceAdmin


@admin.register(Measurement)
class MeasurementAdmin(RecordAdmin):
    list_display = ("code", "measurement_type", "subject", "measured_at", "operator")
    list_filter = ("measurement_type",)
    list_select_related = ("subject", "operator")
    readonly_fields = (*RecordAdmin.readonly_fields, "raw_file")


@admin.register(ColumnMappingTemplate)
class ColumnMappingTemplateAdmin(ServiceAdmin):
    list_display = ("name", "instrument", "updated_at")
