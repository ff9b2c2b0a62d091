from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analysis import filtersets, services
from analysis.api.serializers import (
    ColumnMappingTemplateSerializer,
    InspectSerializer,
    MeasurementSerializer,
)
from analysis.models import ColumnMappingTemplate, Measurement
from lims.api.base import RecordViewSet, ServiceViewSet


class MeasurementViewSet(RecordViewSet):
    queryset = Measurement.objects.select_related(
        "created_by", "subject", "instrument", "operator", "raw_file"
    )
    serializer_class = MeasurementSerializer
    filterset_class = filtersets.MeasurementFilterSet
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    ordering_fields = ["measured_at", "code"]

    @staticmethod
    def create_service(*, user: Any, upload: Any = None, **fields: Any) -> Measurement:
        if upload is not None:
            fields.update(
                raw_stream=upload, raw_name=upload.name, raw_content_type=upload.content_type or ""
            )
        return services.measurement_create(user=user, **fields)


class ColumnMappingTemplateViewSet(ServiceViewSet):
    """Named column mappings for instruments whose table headers are not recognised."""

    queryset = ColumnMappingTemplate.objects.select_related("instrument")
    serializer_class = ColumnMappingTemplateSerializer
    create_service = staticmethod(services.column_mapping_template_create)


class InspectView(APIView):
    """Read an uploaded file and say what it holds, without storing anything."""

    parser_classes = [MultiPartParser]

    @extend_schema(request=InspectSerializer, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        payload = InspectSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        upload = payload.validated_data["file"]
        summary = services.raw_file_inspect(
            stream=upload, filename=upload.name, template=payload.validated_data.get("template")
        )
        return Response(summary)
