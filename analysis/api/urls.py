from rest_framework.routers import SimpleRouter

from analysis.api import views

router = SimpleRouter()
router.register("measurements", views.MeasurementViewSet)
urlpatterns = router.urls
