from django.urls import path

from lims.views import desk_pages, object_list
from processing import forms, tables

urlpatterns = [
    path("lots/", object_list, {"table": tables.ChemicalLotTable}, name="lot-list"),
    path("equipment/", object_list, {"table": tables.EquipmentTable}, name="equipment-list"),
    path("protocols/", object_list, {"table": tables.ProtocolTemplateTable}, name="protocol-list"),
    path(
        "glovebox-readings/",
        object_list,
        {"table": tables.GloveboxReadingTable},
        name="gloveboxreading-list",
    ),
    path("batches/", object_list, {"table": tables.SynthesisBatchTable}, name="batch-list"),
    path("pellets/", object_list, {"table": tables.PelletTable}, name="pellet-list"),
    path("separators/", object_list, {"table": tables.SeparatorTable}, name="separator-list"),
    path("foils/", object_list, {"table": tables.MetalFoilTable}, name="foil-list"),
    path("electrodes/", object_list, {"table": tables.ElectrodePieceTable}, name="electrode-list"),
    *desk_pages("lots", forms.ChemicalLotForm),
    *desk_pages("equipment", forms.EquipmentForm),
    *desk_pages("protocols", forms.ProtocolTemplateForm, by="int:pk"),
    *desk_pages("glovebox-readings", forms.GloveboxReadingForm),
    *desk_pages("batches", forms.SynthesisBatchForm),
    *desk_pages("pellets", forms.PelletForm),
    *desk_pages("separators", forms.SeparatorForm),
    *desk_pages("foils", forms.MetalFoilForm),
    *desk_pages("electrodes", forms.ElectrodePieceForm),
]
