from django.apps import AppConfig


class LimsConfig(AppConfig):
    name = "lims"
    verbose_name = "LIMS core"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate
        from django.utils.module_loading import autodiscover_modules

        from lims.roles import ensure_roles

        # Each app's tables.py registers its lists (like admin.py), for the API's exports.
        autodiscover_modules("tables")

        # Infrastructure, not domain logic: permissions exist only after migrate has run.
        post_migrate.connect(ensure_roles, sender=self)
