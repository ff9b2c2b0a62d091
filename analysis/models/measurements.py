"""Measurements on any record, with their raw files, and saved column mappings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from lims.models import Record, StoredFile, Tracked, record_ptr

if TYPE_CHECKING:
    from analysis.readers import ColumnMapping
from processing.models import Equipment, ProtocolTemplate


class Measurement(Record):
    """A measurement made on any record (density of a pellet, hardness of a foil, EIS of a cell).

    The raw file is kept immutably (content-addressed by SHA-256); ``conditions`` holds the
    settings of the run (keys carry units, e.g. ``{"current_density_mA_cm2": 0.1}``). ``protocol``
    is the test protocol whose parameters (cut-off voltage, thresholds ...) its analysis uses
    unless ``conditions`` or a re-run says otherwise.
    """

    record_ptr = record_ptr("measurement")
    code_prefix = "MEAS"
    code_digits = 6
    operator_logs = True

    class Type(models.TextChoices):
        DENSITY = "density"
        HARDNESS = "hardness"
        XRD = "xrd", "XRD"
        EIS = "eis", "impedance"
        CCD = "ccd", "critical current density"
        CYCLING = "cycling", "galvanostatic cycling"
        STRIPPING = "stripping", "total stripping"
        OTHER = "other"

    subject = models.ForeignKey(Record, on_delete=models.PROTECT, related_name="measurements")
    measurement_type = models.CharField(max_length=20, choices=Type.choices)
    instrument = models.ForeignKey(
        Equipment, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    temperature_C = models.FloatField(null=True, blank=True)
    conditions = models.JSONField(default=dict, blank=True)
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    measured_at = models.DateTimeField()
    raw_file = models.ForeignKey(
        StoredFile, null=True, blank=True, on_delete=models.PROTECT, related_name="measurements"
    )
    protocol = models.ForeignKey(
        ProtocolTemplate, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-measured_at", "code"]
        indexes = [
            models.Index(fields=["subject", "measurement_type"], name="meas_subject_type_idx"),
            # The list's default order: without it every page sorts all the measurements.
            models.Index(fields=["-measured_at"], name="meas_measured_at_idx"),
        ]

    #: What a ``conditions`` that is not an object is told (the API says the same).
    CONDITIONS_MESSAGE = "An object of named settings, units in the names."

    def clean(self) -> None:
        if not isinstance(self.conditions, dict):
            raise ValidationError({"conditions": self.CONDITIONS_MESSAGE})

    def describe(self) -> str:
        return f"{self.get_measurement_type_display()} of {self.subject.code}"

    def lineage_parents(self) -> list[tuple[Record, str]]:
        parents: list[tuple[Record, str]] = [(self.subject, "measurement")]
        if self.instrument:
            parents.append((self.instrument, "instrument"))
        return parents


class ColumnMappingTemplate(Tracked):
    """A saved column mapping for an instrument's CSV/TSV/XLSX exports, by name.

    ``mapping`` is :class:`analysis.readers.ColumnMapping` as JSON (``to_dict``); the reader
    refuses unknown canonical columns and units, so a saved template is always usable.
    """

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    instrument = models.ForeignKey(
        Equipment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    mapping = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        try:
            self.column_mapping()
        except (TypeError, ValueError) as exc:
            raise ValidationError({"mapping": str(exc)}) from exc

    def column_mapping(self) -> ColumnMapping:
        from analysis.readers import ColumnMapping  # pandas loads on first use, not at start-up

        if not isinstance(self.mapping, dict):
            raise ValueError("mapping must be an object")
        return ColumnMapping.from_dict({**self.mapping, "name": self.name})
