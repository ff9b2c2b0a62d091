from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """The desk's sheets, audits and exports: composes every domain app; none imports it."""

    name = "reports"
    verbose_name = "Reports and audits"

    def ready(self) -> None:
        from cells.models import Cell
        from lims.tables import RelatedExport, register_related_export

        # The cell list links to the results table with its filters.
        register_related_export(Cell, RelatedExport("Results table", "results-table"))
