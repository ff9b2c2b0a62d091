from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from lims.admin import RecordAdmin, ServiceAdmin
from processing import models as m


@admin.register(m.ChemicalLot)
class ChemicalLotAdmin(RecordAdmin):
    list_display = ("code", "chemical", "supplier", "lot_number", "purity_percent", "received_on")
    search_fields = ("code", "chemical", "supplier", "lot_number")
    list_filter = ("chemical",)


@admin.register(m.Equipment)
class EquipmentAdmin(RecordAdmin):
    list_display = ("code", "equipment_type", "name", "location", "calibration_due_on")
    list_filter = ("equipment_type",)


@admin.register(m.ProtocolTemplate)
class ProtocolTemplateAdmin(ServiceAdmin):
    list_display = ("name", "step_type", "updated_at")


@admin.register(m.GloveboxReading)
class GloveboxReadingAdmin(RecordAdmin):
    list_display = ("code", "glovebox", "measured_at", "o2_ppm", "h2o_ppm", "operator")
    list_select_related = ("glovebox", "operator")


class WeighingInline(admin.TabularInline):
    model: type[Model] = m.WeighingEntry
    extra = 0
    can_delete = False
    readonly_fields = [f.name for f in m.WeighingEntry._meta.fields]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ProcessStepInline(WeighingInline):
    model = m.ProcessStep
    readonly_fields = [f.name for f in m.ProcessStep._meta.fields]


@admin.register(m.SynthesisBatch)
class SynthesisBatchAdmin(RecordAdmin):
    list_display = ("code", "target_formula", "batch_size_g", "li_excess_percent", "started_on")
    inlines = [WeighingInline, ProcessStepInline]


@admin.register(m.WeighingEntry)
class WeighingEntryAdmin(ServiceAdmin):
    list_display = ("batch", "lot", "target_mass_g", "actual_mass_g", "operator")
    list_select_related = ("batch", "lot", "operator")


@admin.register(m.ProcessStep)
class ProcessStepAdmin(ServiceAdmin):
    list_display = ("batch", "sequence", "step_type", "equipment", "setpoint_C", "dwell_h", "flags")
    list_select_related = ("batch", "equipment")
    list_filter = ("step_type",)


@admin.register(m.Pellet)
class PelletAdmin(RecordAdmin):
    list_display = ("code", "batch", "diameter_mm", "thickness_mm", "mass_g")
    list_select_related = ("batch",)


@admin.register(m.Separator)
class SeparatorAdmin(RecordAdmin):
    list_display = ("code", "pellet", "thickness_um", "polish_grit", "polished_in")
    list_select_related = ("pellet",)


@admin.register(m.MetalFoil)
class MetalFoilAdmin(RecordAdmin):
    list_display = ("code", "foil_type", "target_na_mol_percent", "li_lot", "na_lot")
    list_select_related = ("li_lot", "na_lot")


@admin.register(m.FoldPass)
class FoldPassAdmin(ServiceAdmin):
    list_display = ("foil", "pass_number", "thickness_after_um", "performed_at", "operator")
    list_select_related = ("foil", "operator")


@admin.register(m.ElectrodePiece)
class ElectrodePieceAdmin(RecordAdmin):
    list_display = ("code", "foil", "diameter_mm", "mass_mg")
    list_select_related = ("foil",)
