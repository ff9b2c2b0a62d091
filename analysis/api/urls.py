from django.urls import path
from rest_framework.routers import SimpleRouter

from analysis.api import rollups, views

router = SimpleRouter()
router.register("measurements", views.MeasurementViewSet)
router.register("column-mappings", views.ColumnMappingTemplateViewSet)
router.register("runs", views.AnalysisRunViewSet)
router.register("revisions", views.ResultRevisionViewSet)
router.register("result-values", views.ResultValueViewSet)
router.register("flags", views.FlagViewSet)
urlpatterns = [
    path("readers/inspect/", views.InspectView.as_view(), name="reader-inspect"),
    path(
        "revisions/<int:pk>/plots/<slug:name>.svg",
        rollups.RevisionPlotView.as_view(),
        name="revision-plot",
    ),
    path("rollups/ccd/", rollups.CCDComparisonView.as_view(), name="rollup-ccd"),
    path(
        "rollups/batches/<str:code>/density/",
        rollups.BatchDensityView.as_view(),
        name="rollup-density",
    ),
    path(
        "rollups/batches/<str:code>/density.svg",
        rollups.BatchDensityPlotView.as_view(),
        name="rollup-density-plot",
    ),
    path(
        "rollups/foils/<str:code>/hardness/",
        rollups.FoilHardnessView.as_view(),
        name="rollup-hardness",
    ),
    path(
        "rollups/foils/<str:code>/hardness.svg",
        rollups.FoilHardnessPlotView.as_view(),
        name="rollup-hardness-plot",
    ),
    path(
        "rollups/cells/<str:code>/resistance/",
        rollups.CellResistanceView.as_view(),
        name="rollup-resistance",
    ),
    path(
        "rollups/cells/<str:code>/resistance.svg",
        rollups.CellResistancePlotView.as_view(),
        name="rollup-resistance-plot",
    ),
    path("analyses/", views.AnalysisListView.as_view(), name="analyses"),
    *router.urls,
]
