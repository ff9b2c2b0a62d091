from django.urls import path

from cells import tables
from lims.views import object_list

urlpatterns = [
    path("cells/", object_list, {"table": tables.CellTable}, name="cell-list"),
]
