from django.urls import path

from lims.views import object_list
from processing import tables

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
]
