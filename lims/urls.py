from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from lims import views

urlpatterns = [
    path("", views.home, name="home"),
    path("r/<str:code>/", views.record_detail, name="record"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include("lims.api.urls")),
    path("api/auth/", include("rest_framework.urls")),
    path("bench/", include("glovebox.urls")),
]
