"""The desk lists of measurements, results and flags."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from analysis import filtersets
from analysis.models import Flag, Measurement, ResultValue
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


class FlagTable(Table):
    """Flags on every record: the desk's list of what needs a look (``?open=true``)."""

    model = Flag
    filterset_class = filtersets.FlagFilterSet
    default_sort = ("-raised_at", "-id")
    title = "Flags"
    columns = (
        Column("record", "record", sort="record__code"),
        Column("kind", "get_kind_display", sort="kind"),
        Column("message", "message"),
        Column("raised_at", "raised_at", sort="raised_at"),
        Column("acknowledged_by", "acknowledged_by", sort="acknowledged_by__username"),
        Column("acknowledgement", "acknowledgement"),
        Column("cleared_at", "cleared_at", sort="cleared_at"),
        Column("cleared_reason", "cleared_reason"),
    )

    @classmethod
    def queryset(cls) -> QuerySet[Any]:
        return Flag.objects.select_related("record", "acknowledged_by")


class ResultValueTable(Table):
    """Computed results, one quantity a row (current revisions unless ``?is_current=false``),
    to filter and sort on: ``?name=asr_interface_ohm_cm2&value_min=20&sort=-value``."""

    model = ResultValue
    filterset_class = filtersets.ResultValueFilterSet
    default_sort = ("-measurement__measured_at", "name")
    title = "Results"
    columns = (
        Column("subject", "subject", sort="subject__code"),
        Column("measurement", "measurement", sort="measurement__code"),
        Column("name", "name", sort="name"),
        Column("value", "value", sort="value"),
        Column("std_error", "std_error"),
        Column("sd", "sd"),
        Column("n", "n"),
        Column("is_lower_bound", "is_lower_bound", sort="is_lower_bound"),
        Column("revision", "revision.number"),
        Column("measured_at", "measurement.measured_at", sort="measurement__measured_at"),
    )

    @classmethod
    def queryset(cls) -> QuerySet[Any]:
        return ResultValue.objects.select_related("subject", "measurement", "revision")
