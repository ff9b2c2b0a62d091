from __future__ import annotations

from django.db.models import Count, F, Prefetch

from lims.api.base import RecordViewSet, ServiceViewSet
from processing import filtersets, services
from processing.api import serializers as s
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


class ChemicalLotViewSet(RecordViewSet):
    queryset = ChemicalLot.objects.select_related("created_by")
    serializer_class = s.ChemicalLotSerializer
    filterset_class = filtersets.ChemicalLotFilterSet
    ordering_fields = ["code", "received_on", "created_at"]
    create_service = staticmethod(services.chemical_lot_create)


class EquipmentViewSet(RecordViewSet):
    queryset = Equipment.objects.select_related("created_by")
    serializer_class = s.EquipmentSerializer
    filterset_class = filtersets.EquipmentFilterSet
    ordering_fields = ["code", "calibration_due_on"]
    create_service = staticmethod(services.equipment_create)


class ProtocolTemplateViewSet(ServiceViewSet):
    queryset = ProtocolTemplate.objects.all()
    serializer_class = s.ProtocolTemplateSerializer
    filterset_class = filtersets.ProtocolTemplateFilterSet
    create_service = staticmethod(services.protocol_create)


class GloveboxReadingViewSet(RecordViewSet):
    queryset = GloveboxReading.objects.select_related("created_by", "glovebox", "operator")
    serializer_class = s.GloveboxReadingSerializer
    filterset_class = filtersets.GloveboxReadingFilterSet
    ordering_fields = ["measured_at", "code"]
    create_service = staticmethod(services.glovebox_reading_log)


class SynthesisBatchViewSet(RecordViewSet):
    queryset = SynthesisBatch.objects.select_related("created_by")
    filterset_class = filtersets.SynthesisBatchFilterSet
    ordering_fields = ["code", "started_on", "created_at"]
    create_service = staticmethod(services.batch_create)

    def get_queryset(self):
        if self.action == "list":
            return self.queryset.annotate(pellet_count=Count("pellets")).order_by("code")
        return self.queryset.prefetch_related(
            Prefetch(
                "weighings",
                WeighingEntry.objects.select_related("lot", "balance", "operator", "batch"),
            ),
            Prefetch(
                "steps",
                ProcessStep.objects.select_related("protocol", "equipment", "operator", "batch"),
            ),
        )

    def get_serializer_class(self):
        return (
            s.SynthesisBatchListSerializer if self.action == "list" else s.SynthesisBatchSerializer
        )


class WeighingEntryViewSet(ServiceViewSet):
    queryset = WeighingEntry.objects.select_related("batch", "lot", "balance", "operator")
    serializer_class = s.WeighingEntrySerializer
    filterset_class = filtersets.WeighingEntryFilterSet
    create_service = staticmethod(services.batch_add_weighing)


class ProcessStepViewSet(ServiceViewSet):
    queryset = ProcessStep.objects.select_related("batch", "protocol", "equipment", "operator")
    serializer_class = s.ProcessStepSerializer
    filterset_class = filtersets.ProcessStepFilterSet
    ordering_fields = ["started_at", "sequence"]
    create_service = staticmethod(services.batch_add_step)


class PelletViewSet(RecordViewSet):
    queryset = Pellet.objects.select_related("created_by", "batch")
    serializer_class = s.PelletSerializer
    filterset_class = filtersets.PelletFilterSet
    ordering_fields = ["code", "created_at"]
    create_service = staticmethod(services.pellet_create)


class SeparatorViewSet(RecordViewSet):
    # Django loads a reverse one-to-one record without its parent-table fields, so the cell's
    # code is annotated instead of select_related (which would cost one query per row).
    queryset = Separator.objects.select_related("created_by", "pellet").annotate(
        cell_code=F("cell__code")
    )
    serializer_class = s.SeparatorSerializer
    filterset_class = filtersets.SeparatorFilterSet
    ordering_fields = ["code", "created_at", "polished_at"]
    create_service = staticmethod(services.separator_create)


class MetalFoilViewSet(RecordViewSet):
    queryset = MetalFoil.objects.select_related(
        "created_by", "li_lot", "na_lot", "glovebox", "protocol"
    )
    serializer_class = s.MetalFoilSerializer
    filterset_class = filtersets.MetalFoilFilterSet
    ordering_fields = ["code", "created_at"]
    create_service = staticmethod(services.foil_create)

    def get_queryset(self):
        return self.queryset.annotate(pass_count=Count("passes")).order_by("code")


class FoldPassViewSet(ServiceViewSet):
    queryset = FoldPass.objects.select_related("foil", "operator", "calender", "glovebox_reading")
    serializer_class = s.FoldPassSerializer
    filterset_class = filtersets.FoldPassFilterSet
    ordering_fields = ["performed_at", "pass_number"]
    create_service = staticmethod(services.foil_log_pass)


class ElectrodePieceViewSet(RecordViewSet):
    queryset = ElectrodePiece.objects.select_related("created_by", "foil")
    serializer_class = s.ElectrodePieceSerializer
    filterset_class = filtersets.ElectrodePieceFilterSet
    ordering_fields = ["code", "created_at"]
    create_service = staticmethod(services.electrode_cut)
