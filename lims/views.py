from __future__ import annotations

import hashlib
import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.paginator import Paginator
from django.db import IntegrityError, models
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, path, reverse

from lims.exports import EXPORT_FORMATS, export_response
from lims.forms import DeskForm
from lims.idempotency import IdempotencyError, idempotency_run, request_fingerprint
from lims.models import Record
from lims.qr import qr_svg
from lims.roles import user_roles
from lims.selectors import home_panels, record_page
from lims.tables import Column, Table, display, related_exports


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
        request,
        "lims/record_detail.html",
        {
            "page": page,
            "qr_svg": qr_svg(page.record.code),
            "edit_url": edit_url(request, page.record),
        },
    )


def _allowed(request: HttpRequest, model: type[models.Model], action: str) -> bool:
    """The model permission the API's ``RolePermission`` asks for the same write."""
    meta = model._meta
    return request.user.has_perm(f"{meta.app_label}.{action}_{meta.model_name}")


def create_url(request: HttpRequest, model: type[models.Model]) -> str:
    """The desk's "New …" page of ``model`` if it has one and the user may create; else ``""``.

    Desk forms are found by their URL names, ``<model_name>-create`` and ``<model_name>-edit``.
    """
    if not _allowed(request, model, "add"):
        return ""
    try:
        return reverse(f"{model._meta.model_name}-create")
    except NoReverseMatch:
        return ""


def edit_url(request: HttpRequest, row: models.Model) -> str:
    """The desk's edit page of ``row`` if it has one and the user may edit; else ``""``."""
    model = type(row)
    if not _allowed(request, model, "change"):
        return ""
    try:
        return reverse(
            f"{model._meta.model_name}-edit",
            args=[row.code if isinstance(row, Record) else row.pk],
        )
    except NoReverseMatch:
        return ""


def _form_fingerprint(request: HttpRequest) -> str:
    """What makes two submits of a form "the same": its fields (the CSRF token aside) and the
    SHA-256 of each file. Read from the parsed form, not the raw body, which Django refuses to
    hold in memory for large uploads."""
    fields = sorted(
        (name, values) for name, values in request.POST.lists() if name != "csrfmiddlewaretoken"
    )
    files = []
    for name, upload in sorted(request.FILES.items()):
        assert isinstance(upload, UploadedFile)
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        files.append((name, upload.name, digest.hexdigest()))
    body = json.dumps({"fields": fields, "files": files}, sort_keys=True).encode()
    return request_fingerprint(method="POST", path=request.path, body=body)


def _form_page(
    request: HttpRequest, form: DeskForm, *, title: str, cancel: str, status: int = 200
) -> HttpResponse:
    meta = form._meta.model._meta
    return render(
        request,
        [f"{meta.app_label}/{meta.model_name}_form.html", "lims/form.html"],
        {"form": form, "title": title, "cancel": cancel, "model_name": meta.verbose_name},
        status=status,
    )


def object_create(request: HttpRequest, *, form_class: type[DeskForm]) -> HttpResponse:
    """The desk's "New …" page of any kind: the form, then its create service, once per opened
    form however often it is submitted. Needs the permission the API's POST needs."""
    model = form_class._meta.model
    meta = model._meta
    if not _allowed(request, model, "add"):
        raise PermissionDenied(f"Your role cannot create {meta.verbose_name_plural}.")
    title = f"New {meta.verbose_name}"
    cancel = _list_url(form_class)
    if request.method != "POST":
        # ``?batch=LLZO-0007`` fills in a field, for "New pellet" links from a batch.
        form = form_class(initial={k: v for k, v in request.GET.items() if k != "idempotency_key"})
        return _form_page(request, form, title=title, cancel=cancel)
    form = form_class(request.POST, request.FILES)

    def work() -> tuple[int, Any]:
        if not form.is_valid():
            return 400, {}
        try:
            row = form.save_new(user=request.user)
        except ValidationError as exc:
            form.show_errors(exc)
            return 400, {}
        except IntegrityError as exc:  # a race past validation: rolled back, nothing saved
            form.add_error(None, f"Conflicting change, nothing was saved: {exc}".strip())
            return 409, {}
        return 201, {"url": _row_url(row, form_class), "name": str(row)}

    key = request.POST.get("idempotency_key", "")
    try:
        if key:
            fingerprint = _form_fingerprint(request)
            outcome = idempotency_run(
                user=request.user, key=key, fingerprint=fingerprint, work=work
            )
            status, body, replayed = outcome.status, outcome.body, outcome.replayed
        else:
            (status, body), replayed = work(), False
    except IdempotencyError as exc:
        form.add_error(None, exc.message)
        return _form_page(request, form, title=title, cancel=cancel, status=exc.status)
    if status == 201:
        verb = "was already saved" if replayed else "created"
        messages.success(request, f"{body['name']} {verb}.")
        return redirect(body["url"])
    return _form_page(request, form, title=title, cancel=cancel, status=status)


def object_edit(
    request: HttpRequest,
    *,
    form_class: type[DeskForm],
    code: str | None = None,
    pk: int | None = None,
) -> HttpResponse:
    """The desk's edit page of any row (by code, or by id for rows without one): the changed
    values go through ``record_update`` with the version the form was opened at, so an edit
    made in between is shown with both values instead of being overwritten. Needs the
    permission the API's PATCH needs."""
    model = form_class._meta.model
    meta = model._meta
    if not _allowed(request, model, "change"):
        raise PermissionDenied(f"Your role cannot edit {meta.verbose_name_plural}.")
    row = get_object_or_404(model, **({"code": code} if code is not None else {"pk": pk}))
    title = f"Edit {meta.verbose_name} {row}"
    cancel = _row_url(row, form_class)
    if request.method != "POST":
        return _form_page(request, form_class(instance=row), title=title, cancel=cancel)
    form = form_class(request.POST, request.FILES, instance=row)
    try:
        saved = form.save_as(user=request.user)
    except ValidationError as exc:
        form.show_errors(exc)
        saved = None
    except IntegrityError as exc:
        form.add_error(None, f"Conflicting change, nothing was saved: {exc}".strip())
        saved = None
    if saved is None:
        status = 409 if form.conflict is not None else 400
        return _form_page(request, form, title=title, cancel=cancel, status=status)
    changed = [name for name in form.changed_data if name != "version"]
    messages.success(
        request,
        f"{saved} saved: {', '.join(changed)} changed."
        if changed
        else f"{saved}: nothing changed.",
    )
    return redirect(_row_url(saved, form_class))


def desk_pages(prefix: str, form_class: type[DeskForm], *, by: str = "str:code") -> list[Any]:
    """URL patterns of one kind's "New …" and edit pages, ``<prefix>/new/`` and
    ``<prefix>/<code>/edit/`` (``by="int:pk"`` for rows without a code), named
    ``<model_name>-create`` and ``<model_name>-edit`` so lists and record pages find them."""
    kind = form_class._meta.model._meta.model_name
    return [
        path(f"{prefix}/new/", object_create, {"form_class": form_class}, name=f"{kind}-create"),
        path(
            f"{prefix}/<{by}>/edit/",
            object_edit,
            {"form_class": form_class},
            name=f"{kind}-edit",
        ),
    ]


def _list_url(form_class: type[DeskForm]) -> str:
    return reverse(form_class.list_view) if form_class.list_view else "/"


def _row_url(row: models.Model, form_class: type[DeskForm]) -> str:
    if isinstance(row, Record):
        return row.get_absolute_url()
    return _list_url(form_class)


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
    objects = list(page)
    shown = [_Row(_cell(c, obj) for c in table.columns) for obj in objects]
    # Rows without a record page of their own (protocols) link to their edit page here.
    if not issubclass(table.model, Record):
        for row, obj in zip(shown, objects, strict=True):
            row.edit_url = edit_url(request, obj)
    return render(
        request,
        [f"{meta.app_label}/{meta.model_name}_list.html", "lims/list.html"],
        {
            "table": table,
            "title": table.heading(),
            "filterset": filterset,
            "page": page,
            "headers": headers,
            "rows": shown,
            "params": params.urlencode(),
            "related_exports": related_exports(table.model),
            "create_url": create_url(request, table.model),
            "model_name": meta.verbose_name,
            "row_edits": any(row.edit_url for row in shown),
        },
    )


class _Row(list[tuple[Any, str]]):
    """A list row's cells (value, link), and the row's edit page where it has no record page."""

    edit_url = ""
