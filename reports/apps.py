from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """The desk's sheets, audits and exports: composes every domain app; none imports it."""

    name = "reports"
    verbose_name = "Reports and audits"
