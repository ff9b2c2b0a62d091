"""Materials and how they were made: chemical lots, equipment, LLZO synthesis, foils, pieces."""

from __future__ import annotations

import math
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from analysis.science.density import geometric_density
from lims.models import (
    FieldCheckConstraint,
    OwnedRow,
    Record,
    not_before_check,
    positive_check,
    record_ptr,
)

User = settings.AUTH_USER_MODEL


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


class ProtocolTemplate(models.Model):
    """Default parameters of a step type and the range each may take.

    ``parameters`` maps a parameter name (with its unit, as on the step) to
    ``{"default": x, "min": lo, "max": hi}``; a logged step whose value is outside the range is
    flagged, not refused. ``{"passes": {"default": 20, "min": 20}}`` on a fold protocol sets
    how many passes a foil needs.
    """

    name = models.CharField(max_length=200, unique=True)
    step_type = models.CharField(max_length=30)
    description = models.TextField(blank=True)
    parameters = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["step_type", "name"]

    def __str__(self) -> str:
        return self.name

    def default(self, parameter: str) -> Any:
        return (self.parameters.get(parameter) or {}).get("default")

    def out_of_range(self, values: dict[str, Any]) -> list[str]:
        """Human-readable flags for each value outside this protocol's range."""
        flags = []
        for name, spec in sorted(self.parameters.items()):
            value = values.get(name)
            if value is None or not isinstance(spec, dict):
                continue
            lo, hi = spec.get("min"), spec.get("max")
            if (lo is not None and float(value) < lo) or (hi is not None and float(value) > hi):
                span = f"{'' if lo is None else lo}–{'' if hi is None else hi}"
                flags.append(f"{name} {value} outside {span} ({self.name})")
        return flags


class ProtocolStep(OwnedRow):
    """A logged step that may follow a protocol template.

    Values outside the template's ranges are flagged, not refused; the flags are stored with the
    step (they record what was out of range against the template as it was when logged) and are
    recomputed whenever the step is saved through the services.
    """

    #: The step's fields that a protocol template may give ranges for.
    PROTOCOL_PARAMETERS: ClassVar[tuple[str, ...]] = ()

    protocol = models.ForeignKey(ProtocolTemplate, null=True, blank=True, on_delete=models.PROTECT)
    flags = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        abstract = True

    def refresh_derived(self) -> None:
        values = {name: getattr(self, name) for name in self.PROTOCOL_PARAMETERS}
        self.flags = self.protocol.out_of_range(values) if self.protocol else []


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
