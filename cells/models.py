"""Cells assembled in the glovebox from one separator, two electrodes and current collectors."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from lims.models import FieldCheckConstraint, Record, positive_check, record_ptr
from processing.models import (
    ChemicalLot,
    ElectrodePiece,
    Equipment,
    GloveboxReading,
    ProtocolStep,
    Separator,
)


class Cell(Record):
    """A symmetric cell (LiNa|LLZO|LiNa, or the Li|LLZO|Li reference) and its state."""

    record_ptr = record_ptr("cell")

    code_prefix = "CELL"

    class Status(models.TextChoices):
        ASSEMBLED = "assembled"
        ON_TEST = "on_test", "on test"
        FAILED = "failed"
        RETIRED = "retired"

    cell_type = models.CharField(max_length=50, default="LiNa|LLZO|LiNa")
    separator = models.OneToOneField(
        Separator,
        on_delete=models.PROTECT,
        related_name="cell",
        error_messages={"unique": "This separator is already used by another cell."},
    )
    electrode_1 = models.OneToOneField(
        ElectrodePiece,
        on_delete=models.PROTECT,
        related_name="cell_as_1",
        error_messages={"unique": "This electrode piece is already used by another cell."},
    )
    electrode_2 = models.OneToOneField(
        ElectrodePiece,
        on_delete=models.PROTECT,
        related_name="cell_as_2",
        error_messages={"unique": "This electrode piece is already used by another cell."},
    )
    collector_lot = models.ForeignKey(
        ChemicalLot,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Lot of the Ni current collectors",
    )
    housing = models.CharField(max_length=100, default="Swagelok")
    stack_pressure_MPa = models.FloatField(default=0.1)
    mask_area_cm2 = models.FloatField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ASSEMBLED)
    assembled_at = models.DateTimeField(null=True, blank=True)
    glovebox = models.ForeignKey(
        Equipment, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            FieldCheckConstraint(
                field_name="electrode_2",
                condition=~Q(electrode_1=models.F("electrode_2")),
                name="cell_two_different_electrodes",
                violation_error_message="electrode_2 must be a different piece from electrode_1.",
            ),
            positive_check("stack_pressure_MPa"),
            positive_check("mask_area_cm2"),
        ]

    @property
    def electrode_area_cm2(self) -> float | None:
        """The area all current densities use: the mask if recorded, else the separator face."""
        return self.mask_area_cm2 or self.separator.face_area_cm2

    def describe(self) -> str:
        return f"{self.cell_type} on {self.separator.code}"

    def lineage_parents(self) -> list[tuple[Record, str]]:
        parents: list[tuple[Record, str]] = [
            (self.separator, "separator"),
            (self.electrode_1, "electrode"),
            (self.electrode_2, "electrode"),
        ]
        if self.collector_lot:
            parents.append((self.collector_lot, "current_collector"))
        if self.glovebox:
            parents.append((self.glovebox, "glovebox"))
        for step in self.assembly_steps.all():
            if step.glovebox_reading:
                parents.append((step.glovebox_reading, "atmosphere"))
            if step.equipment:
                parents.append((step.equipment, step.step_type))
        return parents


class AssemblyStep(ProtocolStep):
    """One step of building a cell: press foils onto the separator, melt-quench, seal."""

    owner_field = "cell"
    operator_logs = True

    class Type(models.TextChoices):
        POLISH = "polish"
        PRESS = "press"
        MELT_QUENCH = "melt_quench", "melt-quench"
        SEAL = "seal"
        OTHER = "other"

    cell = models.ForeignKey(Cell, on_delete=models.CASCADE, related_name="assembly_steps")
    sequence = models.PositiveIntegerField()
    step_type = models.CharField(max_length=20, choices=Type.choices)
    equipment = models.ForeignKey(
        Equipment, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    glovebox_reading = models.ForeignKey(
        GloveboxReading, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    performed_at = models.DateTimeField()
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    setpoint_C = models.FloatField(null=True, blank=True)
    measured_C = models.FloatField(null=True, blank=True)
    hold_time_s = models.FloatField(null=True, blank=True)
    quench_surface = models.CharField(max_length=100, blank=True)
    time_to_quench_s = models.FloatField(null=True, blank=True)
    pressure_MPa = models.FloatField(null=True, blank=True)
    notes = models.TextField(blank=True)

    PROTOCOL_PARAMETERS: ClassVar[tuple[str, ...]] = (
        "setpoint_C",
        "measured_C",
        "hold_time_s",
        "time_to_quench_s",
        "pressure_MPa",
    )

    class Meta:
        ordering = ["cell", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["cell", "sequence"],
                name="assemblystep_unique_sequence",
                violation_error_message="This cell already has a step with this sequence number.",
            ),
            positive_check("hold_time_s", allow_zero=True),
            positive_check("time_to_quench_s", allow_zero=True),
            positive_check("pressure_MPa"),
        ]

    def __str__(self) -> str:
        return f"{self.cell_id} step {self.sequence} {self.step_type}"
