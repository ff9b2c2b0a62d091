from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework import serializers

from lims.api.base import RecordSerializer, code_field, user_field
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
    parameters_problem,
)

B = RecordSerializer.BASE_FIELDS


def protocol_field() -> serializers.SlugRelatedField:
    """A protocol template, written and shown by its name."""
    return serializers.SlugRelatedField(
        slug_field="name", queryset=ProtocolTemplate.objects.all(), required=False, allow_null=True
    )


class ChemicalLotSerializer(RecordSerializer):
    class Meta:
        model = ChemicalLot
        fields = [
            *B,
            "chemical",
            "name",
            "supplier",
            "product_number",
            "lot_number",
            "purity_percent",
            "received_on",
            "opened_on",
        ]
        validators: list[Any] = []  # the model's unique constraint is checked by the service


class EquipmentSerializer(RecordSerializer):
    calibration_overdue = serializers.SerializerMethodField()

    class Meta:
        model = Equipment
        fields = [
            *B,
            "equipment_type",
            "name",
            "manufacturer",
            "model_name",
            "serial_number",
            "location",
            "calibration_due_on",
            "calibration_overdue",
        ]

    def get_calibration_overdue(self, obj: Equipment) -> bool:
        return obj.calibration_due_on is not None and obj.calibration_due_on < timezone.localdate()


class ProtocolTemplateSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProtocolTemplate
        fields = [
            "id",
            "name",
            "step_type",
            "description",
            "parameters",
            "created_at",
            "updated_at",
        ]

    def validate_parameters(self, value: Any) -> Any:
        problem = parameters_problem(value)  # the model's own check, answered before the service
        if problem:
            raise serializers.ValidationError(problem)
        return value


class GloveboxReadingSerializer(RecordSerializer):
    glovebox = code_field(Equipment)
    operator = user_field()
    within_target = serializers.BooleanField(read_only=True)
    measured_at = serializers.DateTimeField(required=False)

    class Meta:
        model = GloveboxReading
        fields = [*B, "glovebox", "measured_at", "o2_ppm", "h2o_ppm", "operator", "within_target"]


class WeighingEntrySerializer(serializers.ModelSerializer):
    batch = code_field(SynthesisBatch)
    lot = code_field(ChemicalLot)
    balance = code_field(Equipment, required=False, allow_null=True)
    operator = user_field()
    deviation_g = serializers.FloatField(read_only=True)
    deviation_percent = serializers.FloatField(read_only=True)

    class Meta:
        model = WeighingEntry
        fields = [
            "id",
            "batch",
            "lot",
            "target_mass_g",
            "actual_mass_g",
            "deviation_g",
            "deviation_percent",
            "balance",
            "weighed_at",
            "operator",
        ]
        validators: list[Any] = []


class ProcessStepSerializer(serializers.ModelSerializer):
    batch = code_field(SynthesisBatch)
    equipment = code_field(Equipment, required=False, allow_null=True)
    protocol = protocol_field()
    operator = user_field()
    sequence = serializers.IntegerField(required=False, min_value=1)

    class Meta:
        model = ProcessStep
        fields = [
            "id",
            "batch",
            "sequence",
            "step_type",
            "protocol",
            "equipment",
            "setpoint_C",
            "ramp_up_C_min",
            "ramp_down_C_min",
            "dwell_h",
            "pressure_MPa",
            "atmosphere",
            "crucible",
            "started_at",
            "ended_at",
            "operator",
            "flags",
            "notes",
        ]
        read_only_fields = ["flags"]
        validators: list[Any] = []


class SynthesisBatchSerializer(RecordSerializer):
    weighings = WeighingEntrySerializer(many=True, read_only=True)
    steps = ProcessStepSerializer(many=True, read_only=True)

    class Meta:
        model = SynthesisBatch
        fields = [
            *B,
            "target_formula",
            "batch_size_g",
            "li_excess_percent",
            "started_on",
            "weighings",
            "steps",
        ]


class SynthesisBatchListSerializer(RecordSerializer):
    pellet_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = SynthesisBatch
        fields = [
            *B,
            "target_formula",
            "batch_size_g",
            "li_excess_percent",
            "started_on",
            "pellet_count",
        ]


class PelletSerializer(RecordSerializer):
    batch = code_field(SynthesisBatch)
    geometric_density_g_cm3 = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = Pellet
        fields = [*B, "batch", "diameter_mm", "thickness_mm", "mass_g", "geometric_density_g_cm3"]


class SeparatorSerializer(RecordSerializer):
    pellet = code_field(Pellet)
    face_area_cm2 = serializers.FloatField(read_only=True, allow_null=True)
    cell = serializers.SerializerMethodField()

    class Meta:
        model = Separator
        fields = [
            *B,
            "pellet",
            "thickness_um",
            "diameter_mm",
            "face_area_cm2",
            "polish_grit",
            "polished_in",
            "polished_at",
            "cell",
        ]

    def get_cell(self, obj: Separator) -> str | None:
        if hasattr(obj, "cell_code"):
            return obj.cell_code
        cell = getattr(obj, "cell", None)
        return cell.code if cell else None


class MetalFoilSerializer(RecordSerializer):
    li_lot = code_field(ChemicalLot)
    na_lot = code_field(ChemicalLot, required=False, allow_null=True)
    glovebox = code_field(Equipment, required=False, allow_null=True)
    protocol = protocol_field()
    pass_count = serializers.SerializerMethodField(help_text="Counted from the logged passes")
    required_passes = serializers.IntegerField(read_only=True, allow_null=True)
    passes_short = serializers.SerializerMethodField(
        help_text="True when fewer passes are logged than the protocol asks for"
    )

    class Meta:
        model = MetalFoil
        fields = [
            *B,
            "foil_type",
            "li_lot",
            "na_lot",
            "target_na_mol_percent",
            "li_mass_g",
            "na_mass_g",
            "target_thickness_um",
            "protocol",
            "glovebox",
            "pass_count",
            "required_passes",
            "passes_short",
        ]

    def get_pass_count(self, obj: MetalFoil) -> int:
        count = getattr(obj, "pass_count", None)
        return obj.passes.count() if count is None else int(count)

    def get_passes_short(self, obj: MetalFoil) -> bool:
        required = obj.required_passes
        return required is not None and self.get_pass_count(obj) < required


class FoldPassSerializer(serializers.ModelSerializer):
    foil = code_field(MetalFoil)
    operator = user_field()
    calender = code_field(Equipment, required=False, allow_null=True)
    glovebox_reading = code_field(GloveboxReading, required=False, allow_null=True)
    pass_number = serializers.IntegerField(
        required=False, min_value=1, help_text="Optional: checked to be the next one when sent"
    )
    performed_at = serializers.DateTimeField(required=False)

    class Meta:
        model = FoldPass
        fields = [
            "id",
            "foil",
            "pass_number",
            "thickness_after_um",
            "performed_at",
            "operator",
            "calender",
            "glovebox_reading",
            "notes",
        ]
        validators: list[Any] = []

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is not None:
            for name in ("foil", "pass_number"):
                if name in attrs and attrs[name] != getattr(self.instance, name):
                    raise serializers.ValidationError(
                        {name: "A logged pass keeps its foil and number."}
                    )
        return attrs


class ElectrodePieceSerializer(RecordSerializer):
    foil = code_field(MetalFoil)

    class Meta:
        model = ElectrodePiece
        fields = [*B, "foil", "diameter_mm", "mass_mg"]
