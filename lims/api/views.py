from __future__ import annotations

from collections import Counter

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

from lims.api.base import ETagMixin
from lims.api.query import query_value
from lims.api.serializers import (
    HistoryEntrySerializer,
    RecordSummarySerializer,
    StoredFileSerializer,
    TraceSerializer,
)
from lims.filtersets import HistoryFilterSet, RecordFilterSet
from lims.history import history_of
from lims.lineage import lineage_trace
from lims.models import HistoryEntry, Record, StoredFile, record_models
from lims.uploads import CONTENT_TYPES, client_name


class TraceView(APIView):
    """Everything a record was made from (backward) or everything made from it (forward)."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "direction", OpenApiTypes.STR, enum=["backward", "forward"], default="backward"
            ),
            OpenApiParameter(
                "kinds",
                OpenApiTypes.STR,
                description=(
                    "Comma-separated kinds to return (e.g. cell,measurement): the root and those "
                    "nodes, with the edges between them. The counts always cover the whole trace."
                ),
            ),
        ],
        responses=TraceSerializer,
    )
    def get(self, request: Request, code: str) -> Response:
        direction = query_value(request, "direction")
        direction = "backward" if direction is None else direction
        if direction not in {"backward", "forward"}:
            raise ValidationError({"direction": "Use 'backward' or 'forward'."})
        root = get_object_or_404(Record, code=code)
        trace = lineage_trace(root=root, direction=direction)
        counts = Counter(node["kind"] for node in trace.nodes)
        nodes, edges = trace.nodes, trace.edges
        kinds = {k for k in (query_value(request, "kinds") or "").split(",") if k}
        if kinds:
            unknown = kinds - set(record_models())
            if unknown:
                raise ValidationError({"kinds": f"Unknown kinds: {', '.join(sorted(unknown))}."})
            nodes = [n for n in nodes if n["kind"] in kinds or n["code"] == root.code]
            kept = {n["code"] for n in nodes}
            edges = [e for e in edges if e["parent"] in kept and e["child"] in kept]
        return Response(
            {
                "root": root.code,
                "direction": direction,
                "nodes": nodes,
                "edges": edges,
                "counts": dict(sorted(counts.items())),
                "operators": trace.operators(),
            }
        )


class HistoryView(generics.ListAPIView):
    """Every create, update and delete of the record that has (or had) this code and of its
    sub-rows, newest first; still there after the record is deleted. Read-only."""

    serializer_class = HistoryEntrySerializer
    filterset_class = HistoryFilterSet

    queryset = HistoryEntry.objects.none()

    def get_queryset(self):
        return history_of(code=self.kwargs.get("code", ""))


class AnyRecordViewSet(ETagMixin, viewsets.ReadOnlyModelViewSet):
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
        # Always a download, typed by what the upload gate sniffed (rows stored before the gate
        # may carry a client's type: those are served as plain bytes).
        sniffed = stored.content_type in CONTENT_TYPES.values()
        return FileResponse(
            stored.file.open("rb"),
            as_attachment=True,
            filename=client_name(stored.original_name),
            content_type=stored.content_type if sniffed else "application/octet-stream",
        )
