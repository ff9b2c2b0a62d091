from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from lims.models import Record
from lims.qr import qr_svg
from lims.roles import user_roles
from lims.selectors import record_page


def home(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    if query and Record.objects.filter(code__iexact=query).exists():
        return redirect("record", code=Record.objects.get(code__iexact=query).code)
    records = Record.objects.order_by("-created_at")
    if query:
        records = records.filter(code__icontains=query) | records.filter(label__icontains=query)
    return render(
        request,
        "lims/home.html",
        {"query": query, "records": records[:50], "roles": user_roles(request.user)},
    )


def record_detail(request: HttpRequest, code: str) -> HttpResponse:
    page = record_page(code=code)
    return render(
        request, "lims/record_detail.html", {"page": page, "qr_svg": qr_svg(page.record.code)}
    )
