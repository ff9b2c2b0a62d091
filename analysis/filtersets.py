from __future__ import annotations

import django_filters

from analysis.models import Measurement
from lims.filtersets import RecordFilterSet


class MeasurementFilterSet(RecordFilterSet):
    subject = django_filters.CharFilter(field_name="subject__code")
    instrument = django_filters.CharFilter(field_name="instrument__code")
    operator = django_filters.CharFilter(field_name="operator__username")
    measured_after = django_filters.IsoDateTimeFilter(field_name="measured_at", lookup_expr="gte")
    measured_before = django_filters.IsoDateTimeFilter(field_name="measured_at", lookup_expr="lt")

    class Meta(RecordFilterSet.Meta):
        model = Measurement
        fields = ["measurement_type"]
