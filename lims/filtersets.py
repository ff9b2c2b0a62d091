"""FilterSets of the core, and the base every domain FilterSet extends."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField as _IsoDateTimeField

from lims.models import HistoryEntry, Record


class UTCIsoDateTimeField(_IsoDateTimeField):
    """An ISO 8601 date and time, in UTC: an offset may be up to 23:59 (RFC 3339), but
    PostgreSQL refuses one past 15:59, so the value reaches the database as UTC."""

    def to_python(self, value: object) -> dt.datetime | None:
        parsed: dt.datetime | None = super().to_python(value)
        return parsed.astimezone(dt.UTC) if parsed is not None and parsed.tzinfo else parsed


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """``?measured_after=2026-11-24T14:00:00+01:00``; every date-time filter is one of these."""

    field_class = UTCIsoDateTimeField


class IntegerFilter(django_filters.NumberFilter):
    """A whole number (django-filter's NumberFilter would take ``0.5`` for an integer field)."""

    field_class = forms.IntegerField


class RecordFilterSet(django_filters.FilterSet):
    """Filters every record has: code (exact or part), creation date range, creator."""

    code = django_filters.CharFilter(lookup_expr="iexact")
    code_contains = django_filters.CharFilter(field_name="code", lookup_expr="icontains")
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    created_by = django_filters.CharFilter(field_name="created_by__username")

    class Meta:
        model = Record
        fields = ["kind"]


class HistoryFilterSet(django_filters.FilterSet):
    after = IsoDateTimeFilter(field_name="at", lookup_expr="gte")
    before = IsoDateTimeFilter(field_name="at", lookup_expr="lt")
    user = django_filters.CharFilter(field_name="username")

    class Meta:
        model = HistoryEntry
        fields = ["action", "model", "request_id"]
