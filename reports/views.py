"""The desk's audit pages: trace trees, impact reports and the history of a whole lineage."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from cells.filtersets import CellFilterSet
from cells.models import Cell
from lims.exports import EXPORT_FORMATS, export_response
from lims.models import Record
from lims.pdf import pdf_response, qr_data_uri, render_pdf
from lims.state import lineage_state_hash
from lims.tables import display, export_rows
from processing.models import SynthesisBatch
from reports import interchange, results_table, services, sheets
from reports import traceability as t
from reports.models import Signature

#: The IANA media type of .eln archives.
ELN_CONTENT_TYPE = "application/vnd.eln+zip"
#: Ten A4 sheets of 21 labels.
MAX_LABELS = 210


def _record(request: HttpRequest, code: str) -> Record | HttpResponse:
    """The record with ``code``, or a 404 page that says which code was not found."""
    record = Record.objects.filter(code=code).first()
    if record is None:
        return _problem(request, f"No record has the code “{code}”.", status=404)
    return record


def _problem(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return render(request, "reports/problem.html", {"message": message}, status=status)


def trace_page(request: HttpRequest, code: str) -> HttpResponseBase:
    """``/trace/<code>/?direction=backward|forward``; ``&format=csv`` lists every node."""
    record = _record(request, code)
    if isinstance(record, HttpResponse):
        return record
    direction = request.GET.get("direction", "backward")
    if direction not in {"backward", "forward"}:
        return _problem(request, "direction must be “backward” or “forward”.", status=400)
    tree = t.trace_tree(root=record, direction=direction)
    if request.GET.get("format") in EXPORT_FORMATS:
        return export_response(
            fmt=request.GET["format"],
            filename=f"trace-{direction}-{record.code}",
            header=["code", "kind", "description", "url"],
            rows=(
                [n["code"], n["kind"], n["label"], request.build_absolute_uri(n["url"])]
                for n in tree.trace.nodes
            ),
        )
    return render(
        request, "reports/trace.html", {"record": record, "direction": direction, "tree": tree}
    )


def impact_page(request: HttpRequest, code: str) -> HttpResponseBase:
    """``/impact/<code>/``: what a lot, a piece of equipment or a glovebox reading touched."""
    record = _record(request, code)
    if isinstance(record, HttpResponse):
        return record
    if record.kind not in t.IMPACT_KINDS:
        kinds = ", ".join(t.kind_name(k) for k in t.IMPACT_KINDS)
        return _problem(
            request,
            f"{record.code} is a {t.kind_name(record.kind)}: an impact report starts from a "
            f"{kinds}. Its forward trace shows what was made from it.",
            status=400,
        )
    impact = t.impact_report(root=record)
    fmt = request.GET.get("format", "")
    if fmt == "pdf":
        pdf = render_pdf(
            template="reports/impact_pdf.html",
            context={"impact": impact, "record": record},
            request=request,
        )
        return pdf_response(pdf, filename=f"impact-{record.code}.pdf")
    if fmt in EXPORT_FORMATS:
        return export_response(
            fmt=fmt,
            filename=f"impact-{record.code}",
            header=list(t.IMPACT_COLUMNS),
            rows=t.impact_rows(impact),
        )
    return render(request, "reports/impact.html", {"impact": impact, "record": record})


def history_page(request: HttpRequest, code: str) -> HttpResponseBase:
    """``/history/<code>/``: every change to a record and its ancestors, oldest first."""
    record = _record(request, code)
    if isinstance(record, HttpResponse):
        return record
    entries = t.lineage_history(root=record)
    fmt = request.GET.get("format", "")
    if fmt in EXPORT_FORMATS:
        return export_response(
            fmt=fmt,
            filename=f"history-{record.code}",
            header=[c.header for c in t.HISTORY_COLUMNS],
            rows=export_rows(entries, t.HISTORY_COLUMNS),
        )
    shown = list(entries[: t.MAX_TREE_NODES])
    return render(
        request,
        "reports/history.html",
        {
            "record": record,
            "entries": shown,
            "total": entries.count() if len(shown) == t.MAX_TREE_NODES else len(shown),
        },
    )


def sheet_pdf(request: HttpRequest, code: str) -> HttpResponseBase:
    """``/sheet/<code>/``: the build sheet of a cell or the report of a batch, as a PDF."""
    record = _record(request, code)
    if isinstance(record, HttpResponse):
        return record
    record = record.concrete()
    url = request.build_absolute_uri(record.get_absolute_url())
    context: dict[str, Any] = {"record": record, "record_url": url, "qr": qr_data_uri(url)}
    if isinstance(record, Cell):
        context["s"] = sheets.cell_sheet(cell=record)
        template, name = "reports/cell_sheet.html", f"build-sheet-{record.code}.pdf"
    elif isinstance(record, SynthesisBatch):
        context["s"] = sheets.batch_report(batch=record)
        template, name = "reports/batch_report.html", f"batch-report-{record.code}.pdf"
    else:
        return _problem(
            request,
            f"{record.code} is a {t.kind_name(record.kind)}: sheets are printed for cells "
            "(build sheet) and synthesis batches (batch report).",
            status=400,
        )
    pdf = render_pdf(template=template, context=context, request=request)
    return pdf_response(pdf, filename=name)


def labels_pdf(request: HttpRequest) -> HttpResponseBase:
    """``/labels/?codes=CELL-0001,SEP-0001-01-01``: a sheet of QR labels, in the order given."""
    codes = [
        c.strip()
        for value in request.GET.getlist("codes")
        for c in value.replace("\n", ",").split(",")
        if c.strip()
    ]
    if not codes:
        return _problem(request, "Name the records to label: ?codes=CELL-0001,CELL-0002.", 400)
    if len(codes) > MAX_LABELS:
        return _problem(request, f"At most {MAX_LABELS} labels a sheet; {len(codes)} asked.", 400)
    records, unknown = sheets.label_records(codes)
    if unknown:
        return _problem(request, f"No record has the code {', '.join(unknown)}.", status=404)
    labels = []
    for record in records:
        url = request.build_absolute_uri(record.get_absolute_url())
        labels.append(
            {"record": record, "url": url, "qr": qr_data_uri(url), "kind": t.kind_name(record.kind)}
        )
    pdf = render_pdf(template="reports/labels.html", context={"labels": labels}, request=request)
    return pdf_response(pdf, filename="labels.pdf")


class SignForm(forms.Form):
    meaning = forms.ChoiceField(choices=Signature.Meaning.choices)
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Your password again: the signature is yours alone.",
    )


def sign_page(request: HttpRequest, code: str) -> HttpResponseBase:
    """``/sign/<code>/``: the signatures of a cell or a batch, valid or void, and signing."""
    record = _record(request, code)
    if isinstance(record, HttpResponse):
        return record
    form = SignForm(request.POST or None)
    status, error = 200, ""
    if request.method == "POST" and form.is_valid():
        try:
            services.signature_sign(
                record=record,
                user=request.user,
                password=form.cleaned_data["password"],
                meaning=form.cleaned_data["meaning"],
            )
        except services.SignatureRefused as refused:
            status, error = refused.status, refused.message
        else:
            return redirect("sign", code=record.code)
    current = lineage_state_hash(record)
    signatures = [
        (s, services.signature_is_valid(s, current))
        for s in Signature.objects.filter(record=record).select_related("signer")
    ]
    return render(
        request,
        "reports/sign.html",
        {"record": record, "form": form, "signatures": signatures, "error": error},
        status=status,
    )


def eln_export(request: HttpRequest, code: str) -> HttpResponseBase:
    """``/eln/<code>/``: the record with its lineage and raw files as an ``.eln`` archive."""
    record = _record(request, code)
    if isinstance(record, HttpResponse):
        return record
    archive = interchange.eln_archive(root=record, base_url=request.build_absolute_uri("/")[:-1])
    return FileResponse(
        archive, as_attachment=True, filename=f"{record.code}.eln", content_type=ELN_CONTENT_TYPE
    )


def battinfo_export(request: HttpRequest, code: str) -> HttpResponseBase:
    """``/battinfo/<code>/``: a cell as BattINFO JSON-LD."""
    record = _record(request, code)
    if isinstance(record, HttpResponse):
        return record
    record = record.concrete()
    if not isinstance(record, Cell):
        return _problem(request, f"{record.code} is not a cell: BattINFO describes cells.", 400)
    document = interchange.battinfo_cell(cell=record, base_url=request.build_absolute_uri("/")[:-1])
    response = JsonResponse(document, json_dumps_params={"indent": 1, "ensure_ascii": False})
    response["Content-Type"] = "application/ld+json"
    response["Content-Disposition"] = f'attachment; filename="{record.code}.battinfo.jsonld"'
    return response


def results_table_page(request: HttpRequest) -> HttpResponseBase:
    """``/results-table/``: one row per cell with its lineage and current results, filtered as
    the cell list is (same FilterSet); ``?format=csv|xlsx`` downloads every matching row."""
    filterset = CellFilterSet(request.GET, queryset=results_table.cells_queryset())
    valid = filterset.is_valid()
    fmt = request.GET.get("format", "")
    if fmt:
        if fmt not in EXPORT_FORMATS:
            return _problem(request, f"Unknown export format “{fmt}”: use csv or xlsx.", 400)
        if not valid:
            errors = "; ".join(f"{k}: {' '.join(v)}" for k, v in filterset.errors.items())
            return _problem(request, f"Nothing exported, a filter is wrong: {errors}", 400)
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        return export_response(
            fmt=fmt,
            filename=f"results-table-{stamp}",
            header=results_table.HEADER,
            rows=results_table.export_rows(filterset.qs),
        )
    cells = filterset.qs if valid else filterset.queryset.none()
    page = Paginator(cells, 50).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "reports/results_table.html",
        {
            "filterset": filterset,
            "page": page,
            "columns": results_table.COLUMNS,
            "rows": [
                [_shown(row[c.name]) for c in results_table.COLUMNS]
                for row in results_table.rows_for(list(page))
            ],
            "params": params.urlencode(),
        },
    )


def _shown(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return display(value)
