"""``?format=csv|xlsx`` on every API list: the filtered rows as a streamed file."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from lims.api.query import query_value
from lims.exports import EXPORT_FORMATS, export_response
from lims.tables import default_columns, export_rows, table_for

#: What ``?format=`` of a list takes: a page of JSON (the default) or a file of every row.
LIST_FORMATS = ("csv", "json", "xlsx")

FORMAT_PARAMETER = OpenApiParameter(
    "format",
    OpenApiTypes.STR,
    enum=list(LIST_FORMATS),
    description=(
        "`csv` or `xlsx`: download every row that matches the filters (not one page) as a "
        "file. Text that a spreadsheet would run as a formula is escaped; numbers stay "
        "numbers. `json` (the default): one page of rows."
    ),
)


class ExportListMixin:
    """Lists answer ``?format=csv`` or ``?format=xlsx`` with a file of all filtered rows.

    The columns are those of the model's desk table (``<app>/tables.py``), or one per stored
    field where the model has none. Errors (a bad filter) still answer in JSON.
    """

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # DRF reads ?format= as a renderer name: it would refuse csv and xlsx, and render
        # "api" as a page. A list checks its format itself, in list(), and answers JSON.
        if getattr(self, "action", None) == "list" and "format" in request.query_params:
            return JSONRenderer(), JSONRenderer.media_type
        return super().perform_content_negotiation(request, force)  # type: ignore[misc]

    @extend_schema(parameters=[FORMAT_PARAMETER])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        fmt = query_value(request, "format")
        fmt = "json" if fmt is None else fmt
        if fmt not in LIST_FORMATS:
            raise ValidationError(
                {"format": [f"Unknown format {fmt!r}; use {', '.join(LIST_FORMATS)}."]}
            )
        if fmt not in EXPORT_FORMATS:
            return super().list(request, *args, **kwargs)  # type: ignore[misc]
        view: Any = self
        if view.paginator is not None:
            view.paginator.check_query(request)  # the file has every row, but say so if asked wrong
        model = view.get_queryset().model
        table = table_for(model)
        base = table.queryset() if table else view.get_queryset()
        rows = view.filter_queryset(base)
        columns = table.columns if table else default_columns(model)
        name = table.export_name() if table else str(model._meta.model_name)
        response: HttpResponseBase = export_response(
            fmt=fmt,
            filename=name,
            header=[c.header for c in columns],
            rows=export_rows(rows, columns),
        )
        return response
