from __future__ import annotations

from typing import Any

from rest_framework.parsers import FormParser, JSONParser, MultiPartParser

from analysis import filtersets, services
from analysis.api.serializers import MeasurementSerializer
from analysis.models import Measurement
from lims.api.base import RecordViewSet


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
