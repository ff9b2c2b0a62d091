"""Flags: something about a record a person should look at, and their acknowledgements."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from analysis.models.runs import ResultRevision
from lims.models import OwnedRow, Record


class Flag(OwnedRow):
    """A deviation found by an analysis or a record check (documented in ``analysis/flags.py``).

    Flags are never deleted. One that no longer holds (a re-run superseded its revision, a pass
    was logged after all) is *cleared*: ``cleared_at`` and ``cleared_reason`` say when and why.
    A person *acknowledges* a flag with a comment; both are kept in the record's history.
    ``key`` tells apart flags of one kind on one record (the step or reading concerned), so a
    repeated check raises each once.
    """

    owner_field = "record"
    part_of_owner = False

    class Kind(models.TextChoices):
        DENSITY_LOW = "density_low", "relative density below minimum"
        PASSES_SHORT = "passes_short", "foil used with too few passes"
        ATMOSPHERE = "atmosphere", "glovebox atmosphere above limit or unknown"
        KK_FAILED = "kk_failed", "impedance spectrum fails Kramers–Kronig"
        NOT_IDENTIFIABLE = "not_identifiable", "fit parameters not identifiable"
        ASR_RISE = "asr_rise", "interface ASR rose during the test"
        CCD_LOWER_BOUND = "ccd_lower_bound", "CCD is a lower bound"
        PHASE = "phase", "XRD phase is not cubic garnet"

    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="flags")
    revision = models.ForeignKey(
        ResultRevision, null=True, blank=True, on_delete=models.CASCADE, related_name="flags"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    key = models.CharField(max_length=80, blank=True)
    message = models.TextField()
    threshold = models.JSONField(
        default=dict, blank=True, help_text="The limit applied and where it came from"
    )
    raised_at = models.DateTimeField(db_index=True)
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_reason = models.CharField(max_length=200, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledgement = models.TextField(blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["record", "kind", "key"],
                condition=Q(cleared_at__isnull=True, revision__isnull=True),
                name="flag_one_open_check_per_key",
                violation_error_message="This record already has this flag open.",
            ),
        ]
        indexes = [models.Index(fields=["record", "kind"], name="flag_record_kind_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.message}"

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None and self.acknowledged_at is None
