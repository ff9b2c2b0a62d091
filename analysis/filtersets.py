from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q

from analysis.models import AnalysisRun, Flag, Measurement, ResultRevision, ResultValue
from lims.filtersets import IntegerFilter, IsoDateTimeFilter, RecordFilterSet


class MeasurementFilterSet(RecordFilterSet):
    subject = django_filters.CharFilter(field_name="subject__code")
    instrument = django_filters.CharFilter(field_name="instrument__code")
    operator = django_filters.CharFilter(field_name="operator__username")
    measured_after = IsoDateTimeFilter(field_name="measured_at", lookup_expr="gte")
    measured_before = IsoDateTimeFilter(field_name="measured_at", lookup_expr="lt")

    class Meta(RecordFilterSet.Meta):
        model = Measurement
        fields = ["measurement_type"]


class AnalysisRunFilterSet(django_filters.FilterSet):
    measurement = django_filters.CharFilter(field_name="measurement__code")
    subject = django_filters.CharFilter(field_name="measurement__subject__code")
    queued_after = IsoDateTimeFilter(field_name="queued_at", lookup_expr="gte")
    queued_before = IsoDateTimeFilter(field_name="queued_at", lookup_expr="lt")

    class Meta:
        model = AnalysisRun
        fields = ["status", "analysis"]


class ResultRevisionFilterSet(django_filters.FilterSet):
    measurement = django_filters.CharFilter(field_name="measurement__code")
    subject = django_filters.CharFilter(field_name="measurement__subject__code")
    analysis = django_filters.CharFilter(field_name="run__analysis")
    measurement_type = django_filters.CharFilter(field_name="measurement__measurement_type")
    number = IntegerFilter()

    class Meta:
        model = ResultRevision
        fields = ["is_current", "number"]


class ResultValueFilterSet(django_filters.FilterSet):
    """``?name=asr_interface_ohm_cm2&value_min=50&ordering=-value``: current values by default."""

    measurement = django_filters.CharFilter(field_name="measurement__code")
    subject = django_filters.CharFilter(field_name="subject__code")
    subject_kind = django_filters.CharFilter(field_name="subject__kind")
    measurement_type = django_filters.CharFilter(field_name="measurement__measurement_type")
    value_min = django_filters.NumberFilter(field_name="value", lookup_expr="gte")
    value_max = django_filters.NumberFilter(field_name="value", lookup_expr="lte")
    is_current = django_filters.BooleanFilter(
        method="filter_current", help_text="Current revisions only (default true)"
    )

    class Meta:
        model = ResultValue
        fields = ["name", "is_lower_bound"]

    @property
    def qs(self) -> Any:
        queryset = super().qs
        if "is_current" not in self.data:
            queryset = queryset.filter(is_current=True)
        return queryset

    # ``value: bool`` types the parameter in the schema; django-filter skips an absent one.
    def filter_current(self, queryset: Any, name: str, value: bool) -> Any:
        return queryset.filter(is_current=value)


class FlagFilterSet(django_filters.FilterSet):
    record = django_filters.CharFilter(field_name="record__code")
    record_kind = django_filters.CharFilter(field_name="record__kind")
    measurement = django_filters.CharFilter(field_name="revision__measurement__code")
    open = django_filters.BooleanFilter(
        method="filter_open", help_text="Neither cleared nor acknowledged"
    )
    cleared = django_filters.BooleanFilter(
        field_name="cleared_at", lookup_expr="isnull", exclude=True
    )
    acknowledged = django_filters.BooleanFilter(
        field_name="acknowledged_at", lookup_expr="isnull", exclude=True
    )
    raised_after = IsoDateTimeFilter(field_name="raised_at", lookup_expr="gte")

    class Meta:
        model = Flag
        fields = ["kind"]

    def filter_open(self, queryset: Any, name: str, value: bool) -> Any:
        is_open = Q(cleared_at__isnull=True, acknowledged_at__isnull=True)
        return queryset.filter(is_open if value else ~is_open)
