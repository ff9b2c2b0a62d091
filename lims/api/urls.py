from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from lims.api import views

router = SimpleRouter()
router.register("records", views.AnyRecordViewSet)
router.register("files", views.StoredFileViewSet)

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view loads Swagger UI's start-up script as a file: no inline script (CSP).
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("trace/<str:code>/", views.TraceView.as_view(), name="trace"),
    path("history/<str:code>/", views.HistoryView.as_view(), name="history"),
    path("", include(router.urls)),
    path("", include("processing.api.urls")),
    path("", include("cells.api.urls")),
    path("", include("analysis.api.urls")),
    path("", include("reports.api.urls")),
]
