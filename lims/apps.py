from django.apps import AppConfig


class LimsConfig(AppConfig):
    name = "lims"
    verbose_name = "LIMS core"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_login_failed
        from django.db.models.signals import post_migrate
        from django.utils.module_loading import autodiscover_modules

        from lims.auth import login_failed, login_succeeded
        from lims.roles import ensure_roles

        # Each app's tables.py registers its lists (like admin.py), for the API's exports.
        autodiscover_modules("tables")

        # Infrastructure, not domain logic: permissions exist only after migrate has run.
        post_migrate.connect(ensure_roles, sender=self)
        # Login rate limits count what Django's authentication reports.
        user_login_failed.connect(
            lambda sender, credentials, request=None, **kw: login_failed(
                request=request, username=credentials.get("username")
            ),
            weak=False,
            dispatch_uid="lims-login-failed",
        )
        user_logged_in.connect(
            lambda sender, request, user, **kw: login_succeeded(username=user.get_username()),
            weak=False,
            dispatch_uid="lims-login-succeeded",
        )
