from django.urls import path

from analysis import forms, tables, views
from lims.views import desk_pages, object_list

urlpatterns = [
    path("measurements/", object_list, {"table": tables.MeasurementTable}, name="measurement-list"),
    *desk_pages("measurements", forms.MeasurementForm),
    path("results/", object_list, {"table": tables.ResultValueTable}, name="result-list"),
    path("flags/", object_list, {"table": tables.FlagTable}, name="flag-list"),
    path("analysis/measurements/<str:code>/rerun/", views.rerun, name="analysis-rerun"),
    path("analysis/flags/<int:pk>/acknowledge/", views.acknowledge, name="flag-acknowledge"),
]
