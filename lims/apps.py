from django.apps import AppConfig


class LimsConfig(AppConfig):
    name = "lims"
    verbose_name = "LIMS core"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from lims.roles import ensure_roles

        # Infrastructure, not domain logic: permissions exist only after migrate has run.
        post_migrate.connect(ensure_roles, sender=self)
