from django.apps import AppConfig


class GloveboxConfig(AppConfig):
    """The glovebox tablet pages at ``/bench/``: they compose processing and cells for people
    in gloves, so nothing below imports this app."""

    name = "glovebox"
    verbose_name = "Glovebox tablet"
