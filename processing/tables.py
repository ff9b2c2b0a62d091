"""The desk lists of lots, equipment, protocols, readings, batches, pellets, foils and pieces."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, F, QuerySet
from django.db.models.functions import Coalesce

from lims.tables import Column, Table
from processing import filtersets
from processing.models import (
    ChemicalLot,
    ElectrodePiece,
    Equipment,
    GloveboxReading,
    MetalFoil,
    Pellet,
    ProtocolTemplate,
    Separator,
    SynthesisBatch,
)

CODE = Column("code", "code", sort="code", link=True)
CREATED_AT = Column("created_at", "created_at", sort="created_at")


class ChemicalLotTable(Table):
    model = ChemicalLot
    filterset_class = filtersets.ChemicalLotFilterSet
    title = "Chemical lots"
    columns = (
        CODE,
        Column("chemical", "chemical", sort="chemical"),
        Column("name", "name"),
        Column("supplier", "supplier", sort="supplier"),
        Column("lot_number", "lot_number", sort="lot_number"),
        Column("purity_percent", "purity_percent", sort="purity_percent"),
        Column("received_on", "received_on", sort="received_on"),
        Column("opened_on", "opened_on", sort="opened_on"),
    )


class EquipmentTable(Table):
    model = Equipment
    filterset_class = filtersets.EquipmentFilterSet
    columns = (
        CODE,
        Column("equipment_type", "get_equipment_type_display", sort="equipment_type"),
        Column("name", "name", sort="name"),
        Column("manufacturer", "manufacturer"),
        Column("model_name", "model_name"),
        Column("location", "location", sort="location"),
        Column("calibration_due_on", "calibration_due_on", sort="calibration_due_on"),
    )


def range_text(spec: dict[str, Any]) -> str:
    """A protocol parameter's range as people write it: ``280–320``, ``≥ 20``, or ``""``."""
    lo, hi = spec.get("min"), spec.get("max")
    if lo is not None and hi is not None:
        return f"{lo}–{hi}"
    return f"≥ {lo}" if lo is not None else f"≤ {hi}" if hi is not None else ""


def _parameters(protocol: ProtocolTemplate) -> str:
    parts = []
    for name, spec in sorted(protocol.parameters.items()):
        if isinstance(spec, dict):
            span = range_text(spec)
            parts.append(f"{name} {spec.get('default', '')}" + (f" ({span})" if span else ""))
    return "; ".join(parts)


class ProtocolTemplateTable(Table):
    model = ProtocolTemplate
    filterset_class = filtersets.ProtocolTemplateFilterSet
    title = "Protocols"
    default_sort = ("step_type", "name")
    columns = (
        Column("name", "name", sort="name"),
        Column("step_type", "step_type", sort="step_type"),
        Column("parameters (default (range))", _parameters),
        Column("description", "description"),
    )


class GloveboxReadingTable(Table):
    model = GloveboxReading
    filterset_class = filtersets.GloveboxReadingFilterSet
    default_sort = ("-measured_at", "code")
    columns = (
        CODE,
        Column("glovebox", "glovebox", sort="glovebox__code"),
        Column("measured_at", "measured_at", sort="measured_at"),
        Column("o2_ppm", "o2_ppm", sort="o2_ppm"),
        Column("h2o_ppm", "h2o_ppm", sort="h2o_ppm"),
        Column("within_target", "within_target"),
        Column("operator", "operator", sort="operator__username"),
    )

    @classmethod
    def queryset(cls) -> QuerySet[Any]:
        return GloveboxReading.objects.select_related("glovebox", "operator")


class SynthesisBatchTable(Table):
    model = SynthesisBatch
    filterset_class = filtersets.SynthesisBatchFilterSet
    title = "Synthesis batches"
    columns = (
        CODE,
        Column("target_formula", "target_formula", sort="target_formula"),
        Column("batch_size_g", "batch_size_g", sort="batch_size_g"),
        Column("li_excess_percent", "li_excess_percent", sort="li_excess_percent"),
        Column("started_on", "started_on", sort="started_on"),
        Column("pellets", "pellet_count", sort="pellet_count"),
        Column("created_by", "created_by", sort="created_by__username"),
    )

    @classmethod
    def queryset(cls) -> QuerySet[Any]:
        return SynthesisBatch.objects.select_related("created_by").annotate(
            pellet_count=Count("pellets")
        )


class PelletTable(Table):
    model = Pellet
    filterset_class = filtersets.PelletFilterSet
    columns = (
        CODE,
        Column("batch", "batch", sort="batch__code"),
        Column("diameter_mm", "diameter_mm", sort="diameter_mm"),
        Column("thickness_mm", "thickness_mm", sort="thickness_mm"),
        Column("mass_g", "mass_g", sort="mass_g"),
        Column("geometric_density_g_cm3", "geometric_density_g_cm3"),
        CREATED_AT,
    )

    @classmethod
    def queryset(cls) -> QuerySet[Any]:
        return Pellet.objects.select_related("batch")


class SeparatorTable(Table):
    model = Separator
    filterset_class = filtersets.SeparatorFilterSet
    columns = (
        CODE,
        Column("pellet", "pellet", sort="pellet__code"),
        Column("batch", "pellet.batch", sort="pellet__batch__code"),
        Column("thickness_um", "thickness_um", sort="thickness_um"),
        Column("diameter_mm", "face_diameter_mm"),
        Column("polish_grit", "polish_grit", sort="polish_grit"),
        Column("polished_in", "get_polished_in_display", sort="polished_in"),
        Column("polished_at", "polished_at", sort="polished_at"),
        Column("cell", "cell_code", sort="cell_code"),
    )

    @classmethod
    def queryset(cls) -> QuerySet[Any]:
        # The cell's code is annotated: a reverse one-to-one would cost a query per row.
        return Separator.objects.select_related("pellet__batch").annotate(cell_code=F("cell__code"))


class MetalFoilTable(Table):
    model = MetalFoil
    filterset_class = filtersets.MetalFoilFilterSet
    title = "Foils"
    columns = (
        CODE,
        Column("foil_type", "get_foil_type_display", sort="foil_type"),
        Column("target_na_mol_percent", "target_na_mol_percent", sort="target_na_mol_percent"),
        Column("li_lot", "li_lot", sort="li_lot__code"),
        Column("na_lot", "na_lot", sort="na_lot__code"),
        Column("target_thickness_um", "target_thickness_um", sort="target_thickness_um"),
        Column("passes", "pass_count", sort="pass_count"),
        Column("protocol", "protocol", sort="protocol__name"),
        CREATED_AT,
    )

    @classmethod
    def queryset(cls) -> QuerySet[Any]:
        return MetalFoil.objects.select_related("li_lot", "na_lot", "protocol").annotate(
            pass_count=Count("passes")
        )


class ElectrodePieceTable(Table):
    model = ElectrodePiece
    filterset_class = filtersets.ElectrodePieceFilterSet
    title = "Electrode pieces"
    columns = (
        CODE,
        Column("foil", "foil", sort="foil__code"),
        Column("diameter_mm", "diameter_mm", sort="diameter_mm"),
        Column("mass_mg", "mass_mg", sort="mass_mg"),
        Column("cell", "cell_code", sort="cell_code"),
        CREATED_AT,
    )

    @classmethod
    def queryset(cls) -> QuerySet[Any]:
        return ElectrodePiece.objects.select_related("foil").annotate(
            cell_code=Coalesce(F("cell_as_1__code"), F("cell_as_2__code"))
        )
