from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseBase
from django.shortcuts import redirect, render

from lims.exports import EXPORT_FORMATS, export_response
from lims.models import Record
from lims.qr import qr_svg
from lims.roles import user_roles
from lims.selectors import home_panels, record_page
from lims.tables import Column, Table, display


def home(request: HttpRequest) -> HttpResponse:
    """What needs the signed-in user today (open flags, failed runs, cells on test, recent
    activity: the panels of ``settings.HOME_PANELS``), and the code search of the header."""
    query = request.GET.get("q", "").strip()
    if query and Record.objects.filter(code__iexact=query).exists():
        return redirect("record", code=Record.objects.get(code__iexact=query).code)
    context: dict[str, Any] = {"query": query, "roles": user_roles(request.user)}
    if query:
        records = Record.objects.order_by("-created_at")
        context["records"] = (
            records.filter(code__icontains=query) | records.filter(label__icontains=query)
        )[:50]
    else:
        context["panels"] = home_panels(request)
    return render(request, "lims/home.html", context)


def record_detail(request: HttpRequest, code: str) -> HttpResponse:
    page = record_page(code=code, request=request)
    return render(
        request, "lims/record_detail.html", {"page": page, "qr_svg": qr_svg(page.record.code)}
    )


def _cell(column: Column, row: Any) -> tuple[Any, str]:
    """What a page shows in one cell, and where it links to."""
    value = column.get(row)
    if isinstance(value, Record):
        return value.code, value.get_absolute_url()
    url = row.get_absolute_url() if column.link else ""
    return display(value), url


def object_list(request: HttpRequest, *, table: type[Table]) -> HttpResponseBase:
    """The desk list of any kind: filters, sortable columns, pages; ``?format=`` exports."""
    filterset, rows, sort = table.filtered(request.GET)
    fmt = request.GET.get("format", "")
    if fmt:
        if fmt not in EXPORT_FORMATS:
            return HttpResponseBadRequest(
                f"Unknown export format {fmt!r}: use {' or '.join(EXPORT_FORMATS)}.",
                content_type="text/plain",
            )
        return export_response(
            fmt=fmt,
            filename=table.export_name(),
            header=table.header(),
            rows=table.export_rows(rows),
        )
    page = Paginator(rows, table.per_page).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    unsorted = params.copy()
    unsorted.pop("sort", None)
    headers = []
    for column in table.columns:
        link = ""
        if column.sort:
            unsorted["sort"] = f"-{column.key}" if sort == column.key else column.key
            link = "?" + unsorted.urlencode()
        arrow = {column.key: "▲", f"-{column.key}": "▼"}.get(sort, "")
        headers.append({"title": column.header, "link": link, "arrow": arrow})
    meta = table.model._meta
    return render(
        request,
        [f"{meta.app_label}/{meta.model_name}_list.html", "lims/list.html"],
        {
            "table": table,
            "title": table.heading(),
            "filterset": filterset,
            "page": page,
            "headers": headers,
            "rows": [[_cell(c, row) for c in table.columns] for row in page],
            "params": params.urlencode(),
        },
    )
