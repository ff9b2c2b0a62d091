from rest_framework.routers import SimpleRouter

from cells.api import views

router = SimpleRouter()
router.register("cells", views.CellViewSet)
router.register("assembly-steps", views.AssemblyStepViewSet)
urlpatterns = router.urls
