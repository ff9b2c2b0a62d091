"""The results table in the API: ``GET /api/results-table/`` (JSON pages, or every row as a
file with ``?format=csv|xlsx``), filtered with the cell list's FilterSet."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from cells.filtersets import CellFilterSet
from lims.api.exports import FORMAT_PARAMETER
from lims.exports import EXPORT_FORMATS, export_response
from reports import results_table
from reports.api.serializers import ResultsTableRowSerializer


class ResultsTableView(GenericAPIView):
    """One row per cell: its lineage flattened (batch, pellet, separator, each electrode's
    foil with its composition and pass count) and its current results (interface resistance
    and ASR of the earliest and latest spectrum, the earliest CCD test with its lower-bound
    marker and test temperature, the separator's relative density). Filters are the cell
    list's."""

    queryset = results_table.cells_queryset()
    serializer_class = ResultsTableRowSerializer
    filterset_class = CellFilterSet
    ordering_fields = ["code", "assembled_at", "status"]
    ordering = ["code"]
    #: Its 200 answer is also CSV or XLSX (``?format=``): the schema says so (lims.api.schema).
    exports_files = True

    def _export_format(self, request: Request) -> str:
        fmt: str = request.query_params.get("format", "")
        return fmt if fmt in EXPORT_FORMATS else ""

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # DRF reads ?format= as a renderer name and would answer 404 for csv and xlsx.
        if self._export_format(request):
            return JSONRenderer(), JSONRenderer.media_type
        return super().perform_content_negotiation(request, force)

    @extend_schema(parameters=[FORMAT_PARAMETER], responses=ResultsTableRowSerializer(many=True))
    def get(self, request: Request) -> Any:
        cells = self.filter_queryset(self.get_queryset())
        fmt = self._export_format(request)
        if fmt:
            stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
            return export_response(
                fmt=fmt,
                filename=f"results-table-{stamp}",
                header=results_table.HEADER,
                rows=results_table.export_rows(cells),
            )
        page = self.paginate_queryset(cells)
        rows = results_table.rows_for(list(page if page is not None else cells))
        data = self.get_serializer(rows, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)
