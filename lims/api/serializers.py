from __future__ import annotations

from rest_framework import serializers

from lims.models import HistoryEntry, Record, StoredFile


class HistoryEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = HistoryEntry
        fields = [
            "id",
            "at",
            "username",
            "action",
            "model",
            "object_id",
            "record_code",
            "object_repr",
            "changes",
            "request_id",
            "prev_hash",
            "entry_hash",
        ]
        read_only_fields = fields


class RecordSummarySerializer(serializers.ModelSerializer):
    url = serializers.CharField(source="get_absolute_url", read_only=True)

    class Meta:
        model = Record
        fields = ["code", "kind", "label", "url", "created_at"]
        read_only_fields = fields


class TraceNodeSerializer(serializers.Serializer):
    code = serializers.CharField()
    kind = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    url = serializers.CharField()


class TraceEdgeSerializer(serializers.Serializer):
    parent = serializers.CharField()  # type: ignore[assignment]  # a field named like a Field attribute
    child = serializers.CharField()
    role = serializers.CharField()


class TraceSerializer(serializers.Serializer):
    root = serializers.CharField()  # type: ignore[assignment]  # a field named like a Field attribute
    direction = serializers.ChoiceField(choices=["backward", "forward"])
    nodes = TraceNodeSerializer(many=True)
    edges = TraceEdgeSerializer(many=True)
    counts = serializers.DictField(
        child=serializers.IntegerField(), help_text="Number of traced records of each kind"
    )
    operators = serializers.ListField(
        child=serializers.CharField(),
        help_text="Usernames of everyone who made or logged the traced records",
    )


class StoredFileSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = StoredFile
        fields = [
            "sha256",
            "original_name",
            "size_bytes",
            "content_type",
            "uploaded_at",
            "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, obj: StoredFile) -> str:
        return f"/api/files/{obj.sha256}/download/"
