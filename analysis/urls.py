from django.urls import path

from analysis import tables
from lims.views import object_list

urlpatterns = [
    path("measurements/", object_list, {"table": tables.MeasurementTable}, name="measurement-list"),
]
