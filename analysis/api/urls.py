from django.urls import path
from rest_framework.routers import SimpleRouter

from analysis.api import views

router = SimpleRouter()
router.register("measurements", views.MeasurementViewSet)
router.register("column-mappings", views.ColumnMappingTemplateViewSet)
router.register("runs", views.AnalysisRunViewSet)
router.register("revisions", views.ResultRevisionViewSet)
router.register("result-values", views.ResultValueViewSet)
router.register("flags", views.FlagViewSet)
urlpatterns = [
    path("readers/inspect/", views.InspectView.as_view(), name="reader-inspect"),
    path("analyses/", views.AnalysisListView.as_view(), name="analyses"),
    *router.urls,
]
