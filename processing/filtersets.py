"""One FilterSet per model, shared by the API, the pages and exports."""

from __future__ import annotations

import django_filters

from lims.filtersets import IsoDateTimeFilter, RecordFilterSet
from processing.models import (
    ChemicalLot,
    ElectrodePiece,
    Equipment,
    FoldPass,
    GloveboxReading,
    MetalFoil,
    Pellet,
    ProcessStep,
    ProtocolTemplate,
    Separator,
    SynthesisBatch,
    WeighingEntry,
)


class ChemicalLotFilterSet(RecordFilterSet):
    chemical = django_filters.CharFilter(lookup_expr="iexact")
    supplier = django_filters.CharFilter(lookup_expr="icontains")
    lot_number = django_filters.CharFilter(lookup_expr="iexact")
    received_after = django_filters.DateFilter(field_name="received_on", lookup_expr="gte")
    received_before = django_filters.DateFilter(field_name="received_on", lookup_expr="lte")

    class Meta(RecordFilterSet.Meta):
        model = ChemicalLot
        fields: list[str] = []


class EquipmentFilterSet(RecordFilterSet):
    calibration_due_before = django_filters.DateFilter(
        field_name="calibration_due_on", lookup_expr="lte"
    )

    class Meta(RecordFilterSet.Meta):
        model = Equipment
        fields = ["equipment_type", "location"]


class ProtocolTemplateFilterSet(django_filters.FilterSet):
    class Meta:
        model = ProtocolTemplate
        fields = ["step_type", "name"]


class GloveboxReadingFilterSet(RecordFilterSet):
    glovebox = django_filters.CharFilter(field_name="glovebox__code")
    operator = django_filters.CharFilter(field_name="operator__username")
    measured_after = IsoDateTimeFilter(field_name="measured_at", lookup_expr="gte")
    measured_before = IsoDateTimeFilter(field_name="measured_at", lookup_expr="lt")

    class Meta(RecordFilterSet.Meta):
        model = GloveboxReading
        fields: list[str] = []


class SynthesisBatchFilterSet(RecordFilterSet):
    target_formula = django_filters.CharFilter(lookup_expr="icontains")
    started_after = django_filters.DateFilter(field_name="started_on", lookup_expr="gte")
    started_before = django_filters.DateFilter(field_name="started_on", lookup_expr="lte")

    class Meta(RecordFilterSet.Meta):
        model = SynthesisBatch
        fields: list[str] = []


class WeighingEntryFilterSet(django_filters.FilterSet):
    batch = django_filters.CharFilter(field_name="batch__code")
    lot = django_filters.CharFilter(field_name="lot__code")
    operator = django_filters.CharFilter(field_name="operator__username")

    class Meta:
        model = WeighingEntry
        fields: list[str] = []


class ProcessStepFilterSet(django_filters.FilterSet):
    batch = django_filters.CharFilter(field_name="batch__code")
    equipment = django_filters.CharFilter(field_name="equipment__code")
    operator = django_filters.CharFilter(field_name="operator__username")
    started_after = IsoDateTimeFilter(field_name="started_at", lookup_expr="gte")
    started_before = IsoDateTimeFilter(field_name="started_at", lookup_expr="lt")

    class Meta:
        model = ProcessStep
        fields = ["step_type"]


class PelletFilterSet(RecordFilterSet):
    batch = django_filters.CharFilter(field_name="batch__code")

    class Meta(RecordFilterSet.Meta):
        model = Pellet
        fields: list[str] = []


class SeparatorFilterSet(RecordFilterSet):
    pellet = django_filters.CharFilter(field_name="pellet__code")
    batch = django_filters.CharFilter(field_name="pellet__batch__code")
    unused = django_filters.BooleanFilter(
        field_name="cell", lookup_expr="isnull", label="Not yet in a cell"
    )

    class Meta(RecordFilterSet.Meta):
        model = Separator
        fields = ["polished_in"]


class MetalFoilFilterSet(RecordFilterSet):
    li_lot = django_filters.CharFilter(field_name="li_lot__code")
    na_lot = django_filters.CharFilter(field_name="na_lot__code")

    class Meta(RecordFilterSet.Meta):
        model = MetalFoil
        fields = ["foil_type"]


class FoldPassFilterSet(django_filters.FilterSet):
    foil = django_filters.CharFilter(field_name="foil__code")
    operator = django_filters.CharFilter(field_name="operator__username")
    performed_after = IsoDateTimeFilter(field_name="performed_at", lookup_expr="gte")
    performed_before = IsoDateTimeFilter(field_name="performed_at", lookup_expr="lt")

    class Meta:
        model = FoldPass
        fields: list[str] = []


class ElectrodePieceFilterSet(RecordFilterSet):
    foil = django_filters.CharFilter(field_name="foil__code")

    class Meta(RecordFilterSet.Meta):
        model = ElectrodePiece
        fields: list[str] = []
