"""Chemical lots and equipment: what the lab buys and what it runs."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from lims.models import (
    FieldCheckConstraint,
    Record,
    not_before_check,
    record_ptr,
)


class ChemicalLot(Record):
    """A purchased lot of a chemical or metal (LiOH·H2O, La2O3, Li metal, Ni foil ...)."""

    record_ptr = record_ptr("chemicallot")

    code_prefix = "LOT"

    chemical = models.CharField(
        max_length=100, help_text="Formula as written on the label, e.g. La2O3"
    )
    name = models.CharField(max_length=200, blank=True)
    supplier = models.CharField(max_length=200)
    product_number = models.CharField(max_length=100, blank=True)
    lot_number = models.CharField(max_length=100)
    purity_percent = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)
    received_on = models.DateField(null=True, blank=True)
    opened_on = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "lot_number", "chemical"],
                name="chemicallot_unique_supplier_lot",
                violation_error_message="This supplier's lot of this chemical is already recorded.",
            ),
            FieldCheckConstraint(
                field_name="purity_percent",
                condition=Q(purity_percent__gt=0, purity_percent__lte=100)
                | Q(purity_percent__isnull=True),
                name="chemicallot_purity_range",
                violation_error_message="purity_percent must be above 0 and at most 100.",
            ),
            not_before_check("opened_on", "received_on", name="chemicallot_opened_after_received"),
        ]

    def describe(self) -> str:
        return f"{self.chemical} {self.supplier} lot {self.lot_number}"


class Equipment(Record):
    """An instrument or machine whose use is part of a record (furnace, glovebox, indenter ...)."""

    record_ptr = record_ptr("equipment")

    code_prefix = "EQ"

    class Type(models.TextChoices):
        FURNACE = "furnace"
        MIXER = "mixer"
        GRINDER = "grinder"
        PRESS = "press"
        CALENDER = "calender"
        SAW = "saw"
        POLISHER = "polisher"
        INDENTER = "indenter"
        POTENTIOSTAT = "potentiostat"
        GLOVEBOX = "glovebox"
        HOTPLATE = "hotplate"
        DIFFRACTOMETER = "diffractometer"
        BALANCE = "balance"
        OTHER = "other"

    equipment_type = models.CharField(max_length=20, choices=Type.choices)
    name = models.CharField(max_length=200)
    manufacturer = models.CharField(max_length=200, blank=True)
    model_name = models.CharField(max_length=200, blank=True)
    serial_number = models.CharField(max_length=100, blank=True)
    location = models.CharField(max_length=200, blank=True)
    calibration_due_on = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "equipment"

    def describe(self) -> str:
        return f"{self.get_equipment_type_display()} {self.name}"
