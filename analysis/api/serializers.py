from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from analysis.models import (
    AnalysisRun,
    ColumnMappingTemplate,
    Flag,
    Measurement,
    ResultRevision,
    ResultValue,
)
from analysis.registry import analysis_for
from lims.api.base import RecordSerializer, code_field, user_field
from lims.api.serializers import StoredFileSerializer
from lims.models import Record
from processing.models import Equipment, ProtocolTemplate


class AnalysisRunSerializer(serializers.ModelSerializer):
    """One run: follow ``status`` until ``done`` or ``failed`` (then ``error`` says why)."""

    measurement = serializers.CharField(source="measurement.code", read_only=True)
    requested_by = serializers.CharField(
        source="requested_by.username", read_only=True, default=None
    )
    revision = serializers.IntegerField(
        source="revision.number", read_only=True, default=None, help_text="Revision it produced"
    )
    url = serializers.SerializerMethodField()

    class Meta:
        model = AnalysisRun
        fields = [
            "id",
            "url",
            "measurement",
            "analysis",
            "analysis_version",
            "status",
            "attempt",
            "parameters",
            "parameter_sources",
            "input_sha256",
            "queued_at",
            "started_at",
            "finished_at",
            "error",
            "worker",
            "timings_s",
            "requested_by",
            "revision",
        ]
        read_only_fields = fields

    def get_url(self, run: AnalysisRun) -> str:
        return f"/api/runs/{run.pk}/"


class ResultValueSerializer(serializers.ModelSerializer):
    unit = serializers.SerializerMethodField(help_text="Display unit (the name carries it too)")
    measurement = serializers.CharField(source="measurement.code", read_only=True)
    subject = serializers.CharField(source="subject.code", read_only=True)
    revision = serializers.IntegerField(source="revision.number", read_only=True)

    class Meta:
        model = ResultValue
        fields = [
            "id",
            "name",
            "value",
            "std_error",
            "sd",
            "n",
            "is_lower_bound",
            "unit",
            "measurement",
            "subject",
            "revision",
            "is_current",
        ]
        read_only_fields = fields

    def get_unit(self, value: ResultValue) -> str:
        analysis = analysis_for(value.measurement.measurement_type)  # no copy of the registry
        return analysis.unit(value.name) if analysis else ""


class RevisionValueSerializer(serializers.ModelSerializer):
    class Meta:
        model = ResultValue
        fields = ["name", "value", "std_error", "sd", "n", "is_lower_bound"]
        read_only_fields = fields


class ResultRevisionSerializer(serializers.ModelSerializer):
    """A revision with its values, the run (parameters and version) that produced it."""

    measurement = serializers.CharField(source="measurement.code", read_only=True)
    subject = serializers.CharField(source="measurement.subject.code", read_only=True)
    analysis = serializers.CharField(source="run.analysis", read_only=True)
    analysis_version = serializers.CharField(source="run.analysis_version", read_only=True)
    parameters = serializers.JSONField(source="run.parameters", read_only=True)
    run = serializers.IntegerField(source="run.pk", read_only=True)
    values = RevisionValueSerializer(many=True, read_only=True)

    class Meta:
        model = ResultRevision
        fields = [
            "id",
            "measurement",
            "subject",
            "number",
            "is_current",
            "created_at",
            "analysis",
            "analysis_version",
            "parameters",
            "run",
            "values",
            "summary",
        ]
        read_only_fields = fields


class FlagSerializer(serializers.ModelSerializer):
    record = serializers.CharField(source="record.code", read_only=True)
    record_kind = serializers.CharField(source="record.kind", read_only=True)
    measurement = serializers.CharField(
        source="revision.measurement.code", read_only=True, default=None
    )
    acknowledged_by = serializers.CharField(
        source="acknowledged_by.username", read_only=True, default=None
    )
    is_open = serializers.BooleanField(read_only=True)

    class Meta:
        model = Flag
        fields = [
            "id",
            "record",
            "record_kind",
            "kind",
            "key",
            "message",
            "threshold",
            "measurement",
            "raised_at",
            "is_open",
            "cleared_at",
            "cleared_reason",
            "acknowledged_at",
            "acknowledged_by",
            "acknowledgement",
        ]
        read_only_fields = fields


class AcknowledgeSerializer(serializers.Serializer):
    comment = serializers.CharField(help_text="Why the flag is acceptable or what was done")


class RerunSerializer(serializers.Serializer):
    parameters = serializers.DictField(
        required=False,
        default=dict,
        help_text="Parameters to change (see GET /api/analyses/); the others are resolved again",
    )


class UploadSerializer(serializers.Serializer):
    upload = serializers.FileField(help_text="The raw instrument file; stored under its SHA-256")


class ParamSerializer(serializers.Serializer):
    name = serializers.CharField()
    default = serializers.JSONField(allow_null=True)
    description = serializers.CharField()
    from_records = serializers.BooleanField()


class QuantitySerializer(serializers.Serializer):
    name = serializers.CharField()
    unit = serializers.CharField()
    description = serializers.CharField()


class AnalysisSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The measurement type it analyses")
    title = serializers.CharField()
    version = serializers.CharField(source="full_version")
    needs_file = serializers.BooleanField()
    params = ParamSerializer(many=True)
    quantities = QuantitySerializer(many=True)


class MeasurementSerializer(RecordSerializer):
    subject = code_field(Record, help_text="Code of the measured record (pellet, foil, cell ...)")
    instrument = code_field(Equipment, required=False, allow_null=True)
    operator = user_field()
    measured_at = serializers.DateTimeField(required=False)
    raw_file = StoredFileSerializer(read_only=True, allow_null=True)
    protocol = serializers.SlugRelatedField(
        slug_field="name",
        queryset=ProtocolTemplate.objects.all(),
        required=False,
        allow_null=True,
        help_text="Test protocol (its parameters are the analysis defaults)",
    )
    latest_run = serializers.SerializerMethodField()
    results = serializers.SerializerMethodField(
        help_text="Current revision's values by name: {value, std_error, sd, n, is_lower_bound}"
    )
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
            "protocol",
            "latest_run",
            "results",
            "upload",
        ]

    @extend_schema_field(AnalysisRunSerializer(allow_null=True))
    def get_latest_run(self, measurement: Measurement) -> dict[str, Any] | None:
        runs = getattr(measurement, "recent_runs", None)
        if runs is None:
            runs = measurement.runs.all()[:1]
        run = next(iter(runs), None)
        return None if run is None else AnalysisRunSerializer(run).data

    @extend_schema_field(
        {"type": "object", "additionalProperties": {"type": "object"}}  # name → value fields
    )
    def get_results(self, measurement: Measurement) -> dict[str, Any]:
        values = getattr(measurement, "current_values", None)
        if values is None:
            values = ResultValue.objects.filter(measurement=measurement, is_current=True)
        return {v.name: RevisionValueSerializer(v).data for v in values}

    def validate_conditions(self, value: Any) -> Any:
        if not isinstance(value, dict):
            raise serializers.ValidationError(Measurement.CONDITIONS_MESSAGE)
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
