"""The desk list of measurements."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from analysis import filtersets
from analysis.models import Measurement
from lims.tables import Column, Table


class MeasurementTable(Table):
    model = Measurement
    filterset_class = filtersets.MeasurementFilterSet
    default_sort = ("-measured_at", "code")
    columns = (
        Column("code", "code", sort="code", link=True),
        Column("measurement_type", "get_measurement_type_display", sort="measurement_type"),
        Column("subject", "subject", sort="subject__code"),
        Column("instrument", "instrument", sort="instrument__code"),
        Column("temperature_C", "temperature_C", sort="temperature_C"),
        Column("measured_at", "measured_at", sort="measured_at"),
        Column("operator", "operator", sort="operator__username"),
        Column("raw_file", "raw_file.original_name"),
    )

    @classmethod
    def queryset(cls) -> QuerySet[Any]:
        # The longest list in the lab (100,000 rows and more): only the columns it shows are
        # loaded, which halves the time to export it (bench/reports.py).
        return Measurement.objects.select_related(
            "subject", "instrument", "operator", "raw_file"
        ).only(
            "code",
            "measurement_type",
            "temperature_C",
            "measured_at",
            "subject__code",
            "instrument__code",
            "operator__username",
            "raw_file__original_name",
        )
