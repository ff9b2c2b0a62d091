from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from lims import views
from lims.auth import RateLimitedAuthenticationForm

urlpatterns = [
    path("", views.home, name="home"),
    path("r/<str:code>/", views.record_detail, name="record"),
    path(
        "login/",
        auth_views.LoginView.as_view(authentication_form=RateLimitedAuthenticationForm),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include("lims.api.urls")),
    path("api/auth/", include("rest_framework.urls")),
    # Desk pages: each domain app owns its lists (and the reports app its sheets and audits).
    path("", include("processing.urls")),
    path("", include("cells.urls")),
    path("", include("analysis.urls")),
    path("", include("reports.urls")),
    path("bench/", include("glovebox.urls")),
]

# An unknown URL under /api/ answers JSON, as the schema says every API error does.
handler404 = "lims.api.errors.not_found"
