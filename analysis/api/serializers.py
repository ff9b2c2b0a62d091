from __future__ import annotations

from typing import Any

from rest_framework import serializers

from analysis.models import ColumnMappingTemplate, Measurement
from lims.api.base import RecordSerializer, code_field, user_field
from lims.api.serializers import StoredFileSerializer
from lims.models import Record
from processing.models import Equipment


class MeasurementSerializer(RecordSerializer):
    subject = code_field(Record, help_text="Code of the measured record (pellet, foil, cell ...)")
    instrument = code_field(Equipment, required=False, allow_null=True)
    operator = user_field()
    measured_at = serializers.DateTimeField(required=False)
    raw_file = StoredFileSerializer(read_only=True)
    upload = serializers.FileField(
        write_only=True,
        required=False,
        help_text="The raw instrument file; stored under its SHA-256",
    )

    class Meta:
        model = Measurement
        fields = [
            *RecordSerializer.BASE_FIELDS,
            "subject",
            "measurement_type",
            "instrument",
            "temperature_C",
            "conditions",
            "operator",
            "measured_at",
            "raw_file",
            "upload",
        ]

    def validate_conditions(self, value: Any) -> Any:
        if not isinstance(value, dict):
            raise serializers.ValidationError("An object of named settings, units in the names.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is not None and "upload" in attrs:
            raise serializers.ValidationError(
                {"upload": "A raw file cannot be replaced; record a new measurement."}
            )
        return attrs


class ColumnMappingTemplateSerializer(serializers.ModelSerializer):
    instrument = code_field(Equipment, required=False, allow_null=True)

    class Meta:
        model = ColumnMappingTemplate
        fields = ["id", "name", "description", "instrument", "mapping", "created_at", "updated_at"]


class InspectSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="An instrument file: EC-Lab .mpr/.mpt, CSV/TSV/XLSX, indentation table"
    )
    template = serializers.CharField(
        required=False, help_text="A saved column mapping template's name, or a built-in one (eis3)"
    )
