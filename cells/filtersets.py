from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from cells.models import AssemblyStep, Cell
from lims.filtersets import IsoDateTimeFilter, RecordFilterSet


class CellFilterSet(RecordFilterSet):
    separator = django_filters.CharFilter(field_name="separator__code")
    batch = django_filters.CharFilter(field_name="separator__pellet__batch__code")
    foil = django_filters.CharFilter(method="filter_foil")
    assembled_after = IsoDateTimeFilter(field_name="assembled_at", lookup_expr="gte")
    assembled_before = IsoDateTimeFilter(field_name="assembled_at", lookup_expr="lt")

    class Meta(RecordFilterSet.Meta):
        model = Cell
        fields = ["status", "cell_type"]

    def filter_foil(self, queryset: QuerySet[Cell], name: str, value: str) -> QuerySet[Cell]:
        return queryset.filter(Q(electrode_1__foil__code=value) | Q(electrode_2__foil__code=value))


class AssemblyStepFilterSet(django_filters.FilterSet):
    cell = django_filters.CharFilter(field_name="cell__code")
    operator = django_filters.CharFilter(field_name="operator__username")
    performed_after = IsoDateTimeFilter(field_name="performed_at", lookup_expr="gte")
    performed_before = IsoDateTimeFilter(field_name="performed_at", lookup_expr="lt")

    class Meta:
        model = AssemblyStep
        fields = ["step_type"]
