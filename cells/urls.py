from django.urls import path

from cells import forms, tables
from lims.views import desk_pages, object_list

urlpatterns = [
    path("cells/", object_list, {"table": tables.CellTable}, name="cell-list"),
    *desk_pages("cells", forms.CellForm),
]
