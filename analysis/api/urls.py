from django.urls import path
from rest_framework.routers import SimpleRouter

from analysis.api import views

router = SimpleRouter()
router.register("measurements", views.MeasurementViewSet)
router.register("column-mappings", views.ColumnMappingTemplateViewSet)
urlpatterns = [
    path("readers/inspect/", views.InspectView.as_view(), name="reader-inspect"),
    *router.urls,
]
