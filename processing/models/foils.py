"""LiNa metal foils, their fold/calender passes, and the electrode pieces cut from them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from lims.models import (
    FieldCheckConstraint,
    OwnedRow,
    Record,
    positive_check,
    record_ptr,
)
from processing.models.atmosphere import GloveboxReading
from processing.models.materials import ChemicalLot, Equipment
from processing.models.protocols import ProtocolTemplate

User = settings.AUTH_USER_MODEL


class MetalFoil(Record):
    """A Li or LiNa foil made by calendering and repeated cut/fold/calender passes."""

    record_ptr = record_ptr("metalfoil")

    code_prefix = "FOIL"

    class Type(models.TextChoices):
        LINA = "lina", "LiNa, folded"
        LI_ROLLED = "li_rolled", "pure Li, rolled only"
        LI_FOLDED = "li_folded", "pure Li, folded"

    foil_type = models.CharField(max_length=20, choices=Type.choices, default=Type.LINA)
    li_lot = models.ForeignKey(ChemicalLot, on_delete=models.PROTECT, related_name="+")
    na_lot = models.ForeignKey(
        ChemicalLot, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    target_na_mol_percent = models.FloatField(default=0)
    li_mass_g = models.FloatField(null=True, blank=True)
    na_mass_g = models.FloatField(null=True, blank=True)
    target_thickness_um = models.FloatField(null=True, blank=True)
    protocol = models.ForeignKey(ProtocolTemplate, null=True, blank=True, on_delete=models.PROTECT)
    glovebox = models.ForeignKey(
        Equipment, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            FieldCheckConstraint(
                field_name="target_na_mol_percent",
                condition=Q(target_na_mol_percent__gte=0, target_na_mol_percent__lte=100),
                name="metalfoil_na_percent_range",
                violation_error_message="target_na_mol_percent must be between 0 and 100.",
            ),
            FieldCheckConstraint(
                field_name="na_lot",
                condition=Q(target_na_mol_percent=0) | Q(na_lot__isnull=False),
                name="metalfoil_na_needs_lot",
                violation_error_message="A foil with sodium needs na_lot.",
            ),
            positive_check("li_mass_g"),
            positive_check("na_mass_g"),
            positive_check("target_thickness_um"),
        ]

    @property
    def required_passes(self) -> int | None:
        value = self.protocol.default("passes") if self.protocol else None
        return None if value is None else int(value)

    def describe(self) -> str:
        if self.target_na_mol_percent:
            return f"LiNa {self.target_na_mol_percent:g} mol% Na"
        return self.get_foil_type_display()

    def lineage_parents(self) -> list[tuple[Record, str]]:
        parents: list[tuple[Record, str]] = [(self.li_lot, "li")]
        if self.na_lot:
            parents.append((self.na_lot, "na"))
        if self.glovebox:
            parents.append((self.glovebox, "glovebox"))
        parents += [
            (p.glovebox_reading, "atmosphere") for p in self.passes.all() if p.glovebox_reading
        ]
        parents += [(p.calender, "calender") for p in self.passes.all() if p.calender]
        return parents


class FoldPass(OwnedRow):
    """One cut/fold/calender pass of a foil, logged at the glovebox. Numbers run 1, 2, 3 ..."""

    owner_field = "foil"
    operator_logs = True

    foil = models.ForeignKey(MetalFoil, on_delete=models.CASCADE, related_name="passes")
    pass_number = models.PositiveIntegerField()
    thickness_after_um = models.FloatField()
    performed_at = models.DateTimeField()
    operator = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    calender = models.ForeignKey(
        Equipment, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    glovebox_reading = models.ForeignKey(
        GloveboxReading, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["foil", "pass_number"]
        verbose_name_plural = "fold passes"
        constraints = [
            models.UniqueConstraint(
                fields=["foil", "pass_number"],
                name="foldpass_unique_number",
                violation_error_message="This foil already has a pass with this number.",
            ),
            FieldCheckConstraint(
                field_name="pass_number",
                condition=Q(pass_number__gte=1),
                name="foldpass_number_from_one",
                violation_error_message="pass_number starts at 1.",
            ),
            positive_check("thickness_after_um"),
        ]

    def __str__(self) -> str:
        return f"pass {self.pass_number}"


class ElectrodePiece(Record):
    """A piece cut from a foil to become one electrode of a cell."""

    record_ptr = record_ptr("electrodepiece")

    code_prefix = "EL"

    foil = models.ForeignKey(MetalFoil, on_delete=models.PROTECT, related_name="pieces")
    diameter_mm = models.FloatField(null=True, blank=True)
    mass_mg = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [positive_check("diameter_mm"), positive_check("mass_mg")]

    @property
    def code_parent(self) -> Record:
        return self.foil

    def describe(self) -> str:
        return f"piece of {self.foil.code}"

    def lineage_parents(self) -> list[tuple[Record, str]]:
        return [(self.foil, "piece")]
