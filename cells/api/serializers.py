from __future__ import annotations

from typing import Any

from rest_framework import serializers

from cells.models import AssemblyStep, Cell
from lims.api.base import RecordSerializer, code_field, user_field
from processing.api.serializers import protocol_field
from processing.models import (
    ChemicalLot,
    ElectrodePiece,
    Equipment,
    GloveboxReading,
    Separator,
)


class AssemblyStepSerializer(serializers.ModelSerializer):
    cell = code_field(Cell)
    equipment = code_field(Equipment, required=False, allow_null=True)
    glovebox_reading = code_field(GloveboxReading, required=False, allow_null=True)
    protocol = protocol_field()
    operator = user_field()
    sequence = serializers.IntegerField(required=False, min_value=1)

    class Meta:
        model = AssemblyStep
        fields = [
            "id",
            "cell",
            "sequence",
            "step_type",
            "protocol",
            "equipment",
            "glovebox_reading",
            "performed_at",
            "operator",
            "setpoint_C",
            "measured_C",
            "hold_time_s",
            "quench_surface",
            "time_to_quench_s",
            "pressure_MPa",
            "flags",
            "notes",
        ]
        read_only_fields = ["flags"]
        validators: list[Any] = []


class CellSerializer(RecordSerializer):
    separator = code_field(Separator)
    electrode_1 = code_field(ElectrodePiece)
    electrode_2 = code_field(ElectrodePiece)
    collector_lot = code_field(ChemicalLot, required=False, allow_null=True)
    glovebox = code_field(Equipment, required=False, allow_null=True)
    electrode_area_cm2 = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = Cell
        fields = [
            *RecordSerializer.BASE_FIELDS,
            "cell_type",
            "status",
            "separator",
            "electrode_1",
            "electrode_2",
            "collector_lot",
            "housing",
            "stack_pressure_MPa",
            "mask_area_cm2",
            "electrode_area_cm2",
            "assembled_at",
            "glovebox",
        ]


class CellStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Cell.Status.choices)
