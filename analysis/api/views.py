from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analysis import filtersets, services
from analysis.api.serializers import (
    AcknowledgeSerializer,
    AnalysisRunSerializer,
    AnalysisSerializer,
    ColumnMappingTemplateSerializer,
    FlagSerializer,
    InspectSerializer,
    MeasurementSerializer,
    RerunSerializer,
    ResultRevisionSerializer,
    ResultValueSerializer,
    UploadSerializer,
)
from analysis.flagging import ACKNOWLEDGE_PERMISSION, flag_acknowledge
from analysis.models import (
    AnalysisRun,
    ColumnMappingTemplate,
    Flag,
    Measurement,
    ResultRevision,
    ResultValue,
)
from analysis.registry import registry
from analysis.runs import RERUN_PERMISSION, analysis_request
from lims.api.base import RecordViewSet, ServiceViewSet
from lims.api.errors import UPLOAD_RESPONSES
from lims.api.parsers import JSONParser


@extend_schema_view(
    create=extend_schema(responses={201: MeasurementSerializer, **UPLOAD_RESPONSES}),
)
class MeasurementViewSet(RecordViewSet):
    """Measurements with their raw file, latest analysis run and current results.

    A raw file (``upload``, multipart) given on create or later through ``upload/`` is analysed
    by itself after the request commits; follow ``latest_run.url``.
    """

    queryset = Measurement.objects.select_related(
        "created_by", "subject", "instrument", "operator", "raw_file", "protocol"
    ).prefetch_related(
        Prefetch(
            "runs",
            queryset=AnalysisRun.objects.select_related(
                "measurement", "requested_by", "revision"
            ).order_by("-queued_at", "-id"),
            to_attr="recent_runs",
        ),
        Prefetch(
            "computed_values",
            queryset=ResultValue.objects.filter(is_current=True),
            to_attr="current_values",
        ),
    )
    serializer_class = MeasurementSerializer
    filterset_class = filtersets.MeasurementFilterSet
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    ordering_fields = ["measured_at", "code"]

    @extend_schema(
        request=UploadSerializer, responses={201: MeasurementSerializer, **UPLOAD_RESPONSES}
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser])
    def upload(self, request: Request, code: str) -> Response:
        """Attach the raw file to a measurement recorded without one; it is analysed on commit."""
        measurement = self.get_object()
        payload = UploadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        file = payload.validated_data["upload"]
        services.measurement_attach_file(
            measurement=measurement, user=request.user, stream=file, name=file.name
        )
        fresh = self.get_queryset().get(pk=measurement.pk)
        return Response(self.get_serializer(fresh).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RerunSerializer, responses={202: AnalysisRunSerializer})
    @action(detail=True, methods=["post"])
    def rerun(self, request: Request, code: str) -> Response:
        """Analyse again, with changed parameters if given: a new revision, the old ones kept.
        Scientists and admins only."""
        if not request.user.has_perm(RERUN_PERMISSION):
            raise PermissionDenied("Only scientists re-run analyses.")
        measurement = self.get_object()
        payload = RerunSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        run = analysis_request(
            measurement=measurement,
            user=request.user,
            parameters=dict(payload.validated_data.get("parameters") or {}),
        )
        return Response(AnalysisRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @staticmethod
    def create_service(*, user: Any, upload: Any = None, **fields: Any) -> Measurement:
        if upload is not None:
            fields.update(raw_stream=upload, raw_name=upload.name)
        return services.measurement_create(user=user, **fields)


class AnalysisRunViewSet(viewsets.ReadOnlyModelViewSet):
    """Analysis runs: queued, running, done or failed, with the parameters and version used."""

    queryset = AnalysisRun.objects.select_related("measurement", "requested_by", "revision")
    serializer_class = AnalysisRunSerializer
    filterset_class = filtersets.AnalysisRunFilterSet
    ordering_fields = ["queued_at", "finished_at"]


class ResultRevisionViewSet(viewsets.ReadOnlyModelViewSet):
    """Result revisions, each with its values and the run that produced it."""

    queryset = ResultRevision.objects.select_related(
        "measurement__subject", "run"
    ).prefetch_related("values")
    serializer_class = ResultRevisionSerializer
    filterset_class = filtersets.ResultRevisionFilterSet
    ordering_fields = ["created_at", "number"]


class ResultValueViewSet(viewsets.ReadOnlyModelViewSet):
    """Computed quantities, one row each, to filter and sort on (current revisions by default)."""

    queryset = ResultValue.objects.select_related("measurement", "subject", "revision")
    serializer_class = ResultValueSerializer
    filterset_class = filtersets.ResultValueFilterSet
    ordering_fields = ["value", "name", "measurement__measured_at"]


class FlagViewSet(viewsets.ReadOnlyModelViewSet):
    """Flags on records; never deleted. ``acknowledge/`` with a comment (kept in history)."""

    queryset = Flag.objects.select_related("record", "revision__measurement", "acknowledged_by")
    serializer_class = FlagSerializer
    filterset_class = filtersets.FlagFilterSet
    ordering_fields = ["raised_at", "kind"]

    @extend_schema(request=AcknowledgeSerializer, responses={200: FlagSerializer})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str) -> Response:
        if not request.user.has_perm(ACKNOWLEDGE_PERMISSION):
            raise PermissionDenied("Only scientists acknowledge flags.")
        flag = self.get_object()
        payload = AcknowledgeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        flag = flag_acknowledge(
            flag=flag, user=request.user, comment=payload.validated_data["comment"]
        )
        return Response(FlagSerializer(self.get_queryset().get(pk=flag.pk)).data)


class AnalysisListView(APIView):
    """The registered analyses: their parameters (with defaults) and the quantities stored."""

    @extend_schema(responses=AnalysisSerializer(many=True))
    def get(self, request: Request) -> Response:
        analyses = [
            {
                "key": a.key,
                "title": a.title,
                "full_version": a.full_version,
                "needs_file": a.needs_file,
                "params": [
                    {
                        "name": p.name,
                        "default": p.default,
                        "description": p.description,
                        "from_records": p.context is not None,
                    }
                    for p in a.params
                ],
                "quantities": list(a.quantities),
            }
            for a in sorted(registry().values(), key=lambda a: a.key)
        ]
        return Response(AnalysisSerializer(analyses, many=True).data)


class ColumnMappingTemplateViewSet(ServiceViewSet):
    """Named column mappings for instruments whose table headers are not recognised."""

    queryset = ColumnMappingTemplate.objects.select_related("instrument")
    serializer_class = ColumnMappingTemplateSerializer
    create_service = staticmethod(services.column_mapping_template_create)


class InspectView(APIView):
    """Read an uploaded file and say what it holds, without storing anything."""

    parser_classes = [MultiPartParser]

    @extend_schema(
        request=InspectSerializer, responses={200: OpenApiTypes.OBJECT, **UPLOAD_RESPONSES}
    )
    def post(self, request: Request) -> Response:
        payload = InspectSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        upload = payload.validated_data["file"]
        summary = services.raw_file_inspect(
            stream=upload, filename=upload.name, template=payload.validated_data.get("template")
        )
        return Response(summary)
