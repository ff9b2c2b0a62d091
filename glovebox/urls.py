from django.urls import path

from glovebox import views

app_name = "bench"
urlpatterns = [
    path("", views.home, name="home"),
    path("find/", views.find, name="find"),
    path("sw.js", views.service_worker, name="service-worker"),
    path("switch/", views.switch, name="switch"),
    path("switch/badge/", views.switch_badge, name="switch-badge"),
    path("switch/<str:username>/", views.switch_pin, name="switch-pin"),
    path("device/", views.device_enrol, name="device"),
    path("assemble/", views.assemble, name="assemble"),
    path("r/<str:code>/", views.record, name="record"),
    path("r/<str:code>/passes/", views.pass_log, name="pass-log"),
    path("r/<str:code>/passes/undo/", views.pass_undo, name="pass-undo"),
    path("r/<str:code>/readings/", views.reading_log, name="reading-log"),
    path("r/<str:code>/steps/", views.step_log, name="step-log"),
    path("r/<str:code>/polish/", views.separator_polish, name="polish"),
    path("r/<str:code>/weighings/", views.weighing_log, name="weighing-log"),
    path("r/<str:code>/melt-quench/", views.melt_quench, name="melt-quench"),
]
