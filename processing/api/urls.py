from rest_framework.routers import SimpleRouter

from processing.api import views

router = SimpleRouter()
router.register("lots", views.ChemicalLotViewSet)
router.register("equipment", views.EquipmentViewSet)
router.register("protocols", views.ProtocolTemplateViewSet)
router.register("glovebox-readings", views.GloveboxReadingViewSet)
router.register("batches", views.SynthesisBatchViewSet)
router.register("weighings", views.WeighingEntryViewSet)
router.register("process-steps", views.ProcessStepViewSet)
router.register("pellets", views.PelletViewSet)
router.register("separators", views.SeparatorViewSet)
router.register("foils", views.MetalFoilViewSet)
router.register("fold-passes", views.FoldPassViewSet)
router.register("electrodes", views.ElectrodePieceViewSet)
urlpatterns = router.urls
