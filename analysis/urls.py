from django.urls import path

from analysis import views

app_name = "analysis"
urlpatterns = [
    path("measurements/<str:code>/rerun/", views.rerun, name="rerun"),
    path("flags/<int:pk>/acknowledge/", views.acknowledge, name="flag-acknowledge"),
]
