"""FilterSets of the core, and the base every domain FilterSet extends."""

from __future__ import annotations

import django_filters

from lims.models import HistoryEntry, Record


class RecordFilterSet(django_filters.FilterSet):
    """Filters every record has: code (exact or part), creation date range, creator."""

    code = django_filters.CharFilter(lookup_expr="iexact")
    code_contains = django_filters.CharFilter(field_name="code", lookup_expr="icontains")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    created_by = django_filters.CharFilter(field_name="created_by__username")

    class Meta:
        model = Record
        fields = ["kind"]


class HistoryFilterSet(django_filters.FilterSet):
    after = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte")
    before = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="lt")
    user = django_filters.CharFilter(field_name="username")

    class Meta:
        model = HistoryEntry
        fields = ["action", "model", "request_id"]
