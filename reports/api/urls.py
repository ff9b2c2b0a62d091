from django.urls import path

from reports.api import views

urlpatterns = [
    path("results-table/", views.ResultsTableView.as_view(), name="api-results-table"),
]
