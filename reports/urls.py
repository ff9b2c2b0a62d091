from django.urls import path

from reports import views

urlpatterns = [
    path("trace/<str:code>/", views.trace_page, name="trace-page"),
    path("impact/<str:code>/", views.impact_page, name="impact"),
    path("history/<str:code>/", views.history_page, name="lineage-history"),
    path("sheet/<str:code>/", views.sheet_pdf, name="sheet"),
    path("labels/", views.labels_pdf, name="labels"),
    path("sign/<str:code>/", views.sign_page, name="sign"),
    path("eln/<str:code>/", views.eln_export, name="eln"),
    path("battinfo/<str:code>/", views.battinfo_export, name="battinfo"),
    path("results-table/", views.results_table_page, name="results-table"),
]
