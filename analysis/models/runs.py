"""Analysis runs and the result revisions they produce.

A run is one attempt at one analysis of one measurement: queued, running, done or failed, with
the exact parameters, the analysis version and the input file's checksum. A run that is done
adds a result revision; revisions are never overwritten, and one per measurement is current.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from analysis.models.measurements import Measurement
from lims.models import OwnedRow, Record


class AnalysisRun(OwnedRow):
    """One attempt at analysing a measurement; its history is filed under the measurement.

    ``parameters`` are the values the analysis ran with, ``parameter_sources`` where each came
    from (``rerun``, ``conditions``, ``protocol <name>``, ``record``, ``default``).
    ``timings_s`` splits the run's time into reading, analysing and storing, for the benchmark.
    """

    owner_field = "measurement"
    part_of_owner = False
    history_exclude = frozenset({"timings_s"})

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    measurement = models.ForeignKey(Measurement, on_delete=models.CASCADE, related_name="runs")
    analysis = models.CharField(max_length=40, help_text="Registry key, e.g. eis")
    analysis_version = models.CharField(
        max_length=80, help_text="Analysis version and code version, e.g. eis/1 lims/0.2.0"
    )
    parameters = models.JSONField(default=dict, blank=True)
    parameter_sources = models.JSONField(default=dict, blank=True)
    input_sha256 = models.CharField(max_length=64, blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    attempt = models.PositiveSmallIntegerField(default=1)
    queued_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, help_text="What went wrong, in words a person can act on")
    worker = models.CharField(max_length=120, blank=True, help_text="host:pid that ran it")
    timings_s = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-queued_at", "-id"]
        indexes = [
            models.Index(fields=["measurement", "-queued_at"], name="run_measurement_idx"),
            models.Index(fields=["status", "started_at"], name="run_status_started_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.analysis} run {self.pk} ({self.status})"


class ResultRevision(OwnedRow):
    """The results one done run computed for a measurement: revision 1, 2, 3 ...

    ``summary`` holds everything the run computed (fitted parameters, steps, the curves the
    plots draw) as JSON; the numbers people filter and sort on are :class:`ResultValue` rows.
    Exactly one revision of a measurement is current (a database constraint).
    """

    owner_field = "measurement"
    part_of_owner = False
    history_exclude = frozenset({"summary"})  # the revision keeps it, never changed

    measurement = models.ForeignKey(Measurement, on_delete=models.CASCADE, related_name="revisions")
    run = models.OneToOneField(AnalysisRun, on_delete=models.PROTECT, related_name="revision")
    number = models.PositiveIntegerField()
    is_current = models.BooleanField(default=False)
    summary = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["measurement", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["measurement", "number"],
                name="revision_unique_number",
                violation_error_message="This measurement already has a revision with this number.",
            ),
            models.UniqueConstraint(
                fields=["measurement"],
                condition=Q(is_current=True),
                name="revision_one_current",
                violation_error_message="A measurement has one current revision.",
            ),
        ]

    def __str__(self) -> str:
        return f"revision {self.number}{' (current)' if self.is_current else ''}"


class ResultValue(models.Model):
    """One computed quantity of a revision: ``name`` carries the unit (``asr_interface_ohm_cm2``).

    ``value`` is the estimate; ``std_error`` its standard error (fit uncertainty, or the error of
    a mean); ``sd`` and ``n`` the spread and count of a mean over many points (hardness indents);
    ``is_lower_bound`` marks a value to be reported as "> value" (a CCD no step failed at).
    ``measurement``, ``subject`` and ``is_current`` repeat the revision's, so lists filter and
    sort on values without joins.
    """

    revision = models.ForeignKey(ResultRevision, on_delete=models.CASCADE, related_name="values")
    measurement = models.ForeignKey(
        Measurement, on_delete=models.CASCADE, related_name="computed_values"
    )
    subject = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="result_values")
    is_current = models.BooleanField(default=False)
    name = models.CharField(max_length=60)
    value = models.FloatField(null=True, blank=True)
    std_error = models.FloatField(null=True, blank=True, help_text="Same unit as the value")
    sd = models.FloatField(null=True, blank=True, help_text="Same unit as the value")
    n = models.PositiveIntegerField(null=True, blank=True)
    is_lower_bound = models.BooleanField(default=False)

    class Meta:
        ordering = ["revision", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["revision", "name"],
                name="resultvalue_unique_name",
                violation_error_message="This revision already has a value of this name.",
            )
        ]
        indexes = [
            models.Index(fields=["name", "is_current", "value"], name="resultvalue_name_idx"),
            models.Index(fields=["subject", "name"], name="resultvalue_subject_idx"),
        ]

    def __str__(self) -> str:
        bound = "> " if self.is_lower_bound else ""
        return f"{self.name} = {bound}{self.value:g}" if self.value is not None else self.name
