"""The desk's create and edit forms of lots, equipment, protocols, readings, batches, pellets,
separators, foils and electrode pieces: each saves through the service the API uses."""

from __future__ import annotations

from typing import Any

from lims.forms import DeskForm
from processing import services
from processing.models import (
    ChemicalLot,
    ElectrodePiece,
    Equipment,
    GloveboxReading,
    MetalFoil,
    Pellet,
    ProtocolTemplate,
    Separator,
    SynthesisBatch,
)

#: Equipment is a short list: chosen from a menu, not typed as a code.
EQUIPMENT = ("glovebox", "calender", "balance", "equipment", "instrument")


class ChemicalLotForm(DeskForm):
    create_service = staticmethod(services.chemical_lot_create)
    list_view = "lot-list"

    class Meta:
        model = ChemicalLot
        fields = [
            "chemical",
            "name",
            "supplier",
            "product_number",
            "lot_number",
            "purity_percent",
            "received_on",
            "opened_on",
            "notes",
        ]


class EquipmentForm(DeskForm):
    create_service = staticmethod(services.equipment_create)
    list_view = "equipment-list"

    class Meta:
        model = Equipment
        fields = [
            "equipment_type",
            "name",
            "manufacturer",
            "model_name",
            "serial_number",
            "location",
            "calibration_due_on",
            "notes",
        ]


class ProtocolTemplateForm(DeskForm):
    create_service = staticmethod(services.protocol_create)
    list_view = "protocol-list"

    class Meta:
        model = ProtocolTemplate
        fields = ["name", "step_type", "description", "parameters"]
        help_texts = {
            "parameters": (
                'JSON: {"setpoint_C": {"default": 300, "min": 280, "max": 320}}, one entry per '
                "parameter, named with its unit as on the steps."
            )
        }


class GloveboxReadingForm(DeskForm):
    create_service = staticmethod(services.glovebox_reading_log)
    list_view = "gloveboxreading-list"
    selects = EQUIPMENT

    class Meta:
        model = GloveboxReading
        fields = ["glovebox", "measured_at", "o2_ppm", "h2o_ppm", "notes"]
        help_texts = {"measured_at": "Now, when left empty."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.editing:
            self.fields["measured_at"].required = False


class SynthesisBatchForm(DeskForm):
    create_service = staticmethod(services.batch_create)
    list_view = "batch-list"

    class Meta:
        model = SynthesisBatch
        fields = ["target_formula", "batch_size_g", "li_excess_percent", "started_on", "notes"]


class PelletForm(DeskForm):
    create_service = staticmethod(services.pellet_create)
    list_view = "pellet-list"
    # The batch is part of the pellet's code (PEL-0007-03): chosen once, when it is made.
    create_only = ("batch",)

    class Meta:
        model = Pellet
        fields = ["batch", "diameter_mm", "thickness_mm", "mass_g", "notes"]


class SeparatorForm(DeskForm):
    create_service = staticmethod(services.separator_create)
    list_view = "separator-list"
    create_only = ("pellet",)
    units = {"polish_grit": "grit"}

    class Meta:
        model = Separator
        fields = [
            "pellet",
            "thickness_um",
            "diameter_mm",
            "polish_grit",
            "polished_in",
            "polished_at",
            "notes",
        ]
        help_texts = {"polish_grit": "FEPA P number of the last polishing paper, e.g. 1200."}


class MetalFoilForm(DeskForm):
    create_service = staticmethod(services.foil_create)
    list_view = "foil-list"
    selects = EQUIPMENT
    suggest = {
        "li_lot": lambda lots: lots.filter(chemical__iexact="Li"),
        "na_lot": lambda lots: lots.filter(chemical__iexact="Na"),
    }

    class Meta:
        model = MetalFoil
        fields = [
            "foil_type",
            "li_lot",
            "na_lot",
            "target_na_mol_percent",
            "li_mass_g",
            "na_mass_g",
            "target_thickness_um",
            "protocol",
            "glovebox",
            "notes",
        ]


class ElectrodePieceForm(DeskForm):
    create_service = staticmethod(services.electrode_cut)
    list_view = "electrode-list"
    create_only = ("foil",)

    class Meta:
        model = ElectrodePiece
        fields = ["foil", "diameter_mm", "mass_mg", "notes"]
