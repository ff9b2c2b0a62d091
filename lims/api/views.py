from __future__ import annotations

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lims.api.serializers import (
    HistoryEntrySerializer,
    RecordSummarySerializer,
    StoredFileSerializer,
    TraceSerializer,
)
from lims.filtersets import HistoryFilterSet, RecordFilterSet
from lims.models import HistoryEntry, Record, StoredFile
from lims.services import lineage_trace


class TraceView(APIView):
    """Everything a record was made from (backward) or everything made from it (forward)."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "direction", OpenApiTypes.STR, enum=["backward", "forward"], default="backward"
            )
        ],
        responses=TraceSerializer,
    )
    def get(self, request: Request, code: str) -> Response:
        direction = request.query_params.get("direction", "backward")
        if direction not in {"backward", "forward"}:
            raise ValidationError({"direction": "Use 'backward' or 'forward'."})
        root = get_object_or_404(Record, code=code)
        trace = lineage_trace(root=root, direction=direction)
        return Response(
            {
                "root": root.code,
                "direction": direction,
                "nodes": trace.nodes,
                "edges": trace.edges,
                "operators": trace.operators(),
            }
        )


class HistoryView(generics.ListAPIView):
    """Every create, update and delete filed under a record's code, newest first. Read-only."""

    serializer_class = HistoryEntrySerializer
    filterset_class = HistoryFilterSet

    queryset = HistoryEntry.objects.all()

    def get_queryset(self):
        return self.queryset.filter(record_code=self.kwargs.get("code", ""))


class AnyRecordViewSet(viewsets.ReadOnlyModelViewSet):
    """All records of every kind, for finding a code (``?code_contains=0007``)."""

    queryset = Record.objects.all()
    serializer_class = RecordSummarySerializer
    filterset_class = RecordFilterSet
    lookup_field = "code"
    lookup_value_regex = "[^/]+"
    ordering_fields = ["code", "created_at"]


class StoredFileViewSet(viewsets.ReadOnlyModelViewSet):
    """Raw files, addressed by their SHA-256. They are never changed or deleted through the API."""

    queryset = StoredFile.objects.all().order_by("-uploaded_at")
    serializer_class = StoredFileSerializer
    lookup_field = "sha256"

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(detail=True)
    def download(self, request: Request, sha256: str) -> FileResponse:
        stored = get_object_or_404(StoredFile, sha256=sha256)
        return FileResponse(
            stored.file.open("rb"), as_attachment=True, filename=stored.original_name
        )
