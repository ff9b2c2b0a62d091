"""Glovebox atmosphere readings."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models

from lims.models import (
    Record,
    positive_check,
    record_ptr,
)
from processing.models.materials import Equipment

User = settings.AUTH_USER_MODEL


class GloveboxReading(Record):
    """The glovebox atmosphere at a moment: what every step done in that glovebox links to."""

    record_ptr = record_ptr("gloveboxreading")

    code_prefix = "GB"
    code_digits = 6
    operator_logs = True

    glovebox = models.ForeignKey(
        Equipment,
        on_delete=models.PROTECT,
        related_name="readings",
        limit_choices_to={"equipment_type": Equipment.Type.GLOVEBOX},
    )
    measured_at = models.DateTimeField()
    o2_ppm = models.FloatField()
    h2o_ppm = models.FloatField()
    operator = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    #: Target atmosphere of DOMAIN.md: both below 0.1 ppm.
    TARGET_PPM: ClassVar[float] = 0.1

    class Meta:
        ordering = ["-measured_at"]
        constraints = [
            positive_check("o2_ppm", allow_zero=True),
            positive_check("h2o_ppm", allow_zero=True),
        ]

    @property
    def within_target(self) -> bool:
        return self.o2_ppm < self.TARGET_PPM and self.h2o_ppm < self.TARGET_PPM

    def describe(self) -> str:
        return f"O2 {self.o2_ppm:g} ppm, H2O {self.h2o_ppm:g} ppm"

    def lineage_parents(self) -> list[tuple[Record, str]]:
        return [(self.glovebox, "glovebox")]
