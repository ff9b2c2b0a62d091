"""LLZO synthesis: batches, weighings, process steps, pellets and separators."""

from __future__ import annotations

import math
from typing import ClassVar

from django.conf import settings
from django.db import models

from analysis.science.density import geometric_density
from lims.models import (
    OwnedRow,
    Record,
    not_before_check,
    positive_check,
    record_ptr,
)
from processing.models.materials import ChemicalLot, Equipment
from processing.models.protocols import ProtocolStep

User = settings.AUTH_USER_MODEL


class SynthesisBatch(Record):
    """An LLZO solid-state synthesis: weighing → mix → press → calcine → grind → ... → sinter."""

    record_ptr = record_ptr("synthesisbatch")

    code_prefix = "LLZO"

    target_formula = models.CharField(max_length=100)
    batch_size_g = models.FloatField()
    li_excess_percent = models.FloatField(default=0)
    started_on = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "synthesis batches"
        constraints = [
            positive_check("batch_size_g"),
            positive_check("li_excess_percent", allow_zero=True),
        ]

    def describe(self) -> str:
        return f"{self.target_formula}, {self.batch_size_g:g} g"

    def lineage_parents(self) -> list[tuple[Record, str]]:
        parents: list[tuple[Record, str]] = [(w.lot, "precursor") for w in self.weighings.all()]
        parents += [(w.balance, "balance") for w in self.weighings.all() if w.balance]
        parents += [(s.equipment, s.step_type) for s in self.steps.all() if s.equipment]
        return parents


class WeighingEntry(OwnedRow):
    """One precursor weighed into a batch: which lot, how much was wanted and how much went in."""

    owner_field = "batch"
    operator_logs = True

    batch = models.ForeignKey(SynthesisBatch, on_delete=models.CASCADE, related_name="weighings")
    lot = models.ForeignKey(ChemicalLot, on_delete=models.PROTECT, related_name="weighings")
    target_mass_g = models.FloatField()
    actual_mass_g = models.FloatField()
    balance = models.ForeignKey(
        Equipment, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    weighed_at = models.DateTimeField(null=True, blank=True)
    operator = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name_plural = "weighing entries"
        ordering = ["batch", "id"]
        constraints = [
            positive_check("target_mass_g"),
            positive_check("actual_mass_g"),
            models.UniqueConstraint(
                fields=["batch", "lot"],
                name="weighing_unique_batch_lot",
                violation_error_message="This lot is already weighed into this batch.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}: {self.lot_id} {self.actual_mass_g:g} g"

    @property
    def deviation_g(self) -> float:
        return self.actual_mass_g - self.target_mass_g

    @property
    def deviation_percent(self) -> float:
        return 100.0 * self.deviation_g / self.target_mass_g


class ProcessStep(ProtocolStep):
    """One ordered step of a synthesis batch (mix, press, calcine, grind, sinter ...)."""

    owner_field = "batch"
    operator_logs = True

    class Type(models.TextChoices):
        DRY = "dry"
        MIX = "mix"
        PRESS = "press"
        CALCINE = "calcine"
        GRIND = "grind"
        SINTER = "sinter"
        OTHER = "other"

    batch = models.ForeignKey(SynthesisBatch, on_delete=models.CASCADE, related_name="steps")
    sequence = models.PositiveIntegerField()
    step_type = models.CharField(max_length=20, choices=Type.choices)
    equipment = models.ForeignKey(
        Equipment, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    setpoint_C = models.FloatField(null=True, blank=True)
    ramp_up_C_min = models.FloatField(null=True, blank=True)
    ramp_down_C_min = models.FloatField(null=True, blank=True)
    dwell_h = models.FloatField(null=True, blank=True)
    pressure_MPa = models.FloatField(null=True, blank=True)
    atmosphere = models.CharField(max_length=50, blank=True)
    crucible = models.CharField(max_length=100, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    operator = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    notes = models.TextField(blank=True)

    PROTOCOL_PARAMETERS: ClassVar[tuple[str, ...]] = (
        "setpoint_C",
        "ramp_up_C_min",
        "ramp_down_C_min",
        "dwell_h",
        "pressure_MPa",
    )

    class Meta:
        ordering = ["batch", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "sequence"],
                name="processstep_unique_sequence",
                violation_error_message="This batch already has a step with this sequence number.",
            ),
            positive_check("ramp_up_C_min"),
            positive_check("ramp_down_C_min"),
            positive_check("dwell_h", allow_zero=True),
            positive_check("pressure_MPa"),
            not_before_check("ended_at", "started_at", name="processstep_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id} step {self.sequence} {self.step_type}"


class Pellet(Record):
    """A pressed and sintered LLZO pellet from a synthesis batch."""

    record_ptr = record_ptr("pellet")

    code_prefix = "PEL"

    batch = models.ForeignKey(SynthesisBatch, on_delete=models.PROTECT, related_name="pellets")
    diameter_mm = models.FloatField(null=True, blank=True)
    thickness_mm = models.FloatField(null=True, blank=True)
    mass_g = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [
            positive_check("diameter_mm"),
            positive_check("thickness_mm"),
            positive_check("mass_g"),
        ]

    @property
    def code_parent(self) -> Record:
        return self.batch

    @property
    def geometric_density_g_cm3(self) -> float | None:
        if not (self.diameter_mm and self.thickness_mm and self.mass_g):
            return None
        return geometric_density(self.mass_g, self.diameter_mm, self.thickness_mm)

    def describe(self) -> str:
        size = f"Ø{self.diameter_mm:g} mm" if self.diameter_mm else "pellet"
        return f"{size} from {self.batch.code}"

    def lineage_parents(self) -> list[tuple[Record, str]]:
        return [(self.batch, "pellet")]


class Separator(Record):
    """A slice cut from a pellet, polished, that becomes the electrolyte of one cell."""

    record_ptr = record_ptr("separator")

    code_prefix = "SEP"

    class PolishedIn(models.TextChoices):
        AIR = "air"
        GLOVEBOX = "glovebox"

    pellet = models.ForeignKey(Pellet, on_delete=models.PROTECT, related_name="separators")
    thickness_um = models.FloatField(null=True, blank=True)
    diameter_mm = models.FloatField(null=True, blank=True, help_text="Defaults to the pellet's")
    polish_grit = models.PositiveIntegerField(null=True, blank=True)
    polished_in = models.CharField(max_length=20, choices=PolishedIn.choices, blank=True)
    polished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [positive_check("thickness_um"), positive_check("diameter_mm")]

    @property
    def code_parent(self) -> Record:
        return self.pellet

    @property
    def face_diameter_mm(self) -> float | None:
        return self.diameter_mm or self.pellet.diameter_mm

    @property
    def face_area_cm2(self) -> float | None:
        d = self.face_diameter_mm
        return None if d is None else math.pi * (d / 10) ** 2 / 4

    def describe(self) -> str:
        thickness = f"{self.thickness_um:g} µm slice" if self.thickness_um else "slice"
        return f"{thickness} of {self.pellet.code}"

    def lineage_parents(self) -> list[tuple[Record, str]]:
        return [(self.pellet, "slice")]
