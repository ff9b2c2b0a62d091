"""PDFs from Django templates (WeasyPrint), and QR codes (segno) to print on them.

Templates extend ``pdf/base.html`` (A4, page numbers, the lab's header). Nothing is fetched
while rendering: QR codes and images are inlined as data URIs, so a sheet renders the same on
the lab's offline network.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone


def render_pdf(*, template: str, context: dict[str, Any], request: HttpRequest) -> bytes:
    """The PDF of ``template`` rendered with ``context`` (plus who printed it and when)."""
    from weasyprint import HTML  # pango loads on the first PDF, not at start-up
    from weasyprint.urls import URLFetcher

    context = {"printed_at": timezone.localtime(), "printed_by": request.user, **context}
    html = render_to_string(template, context, request=request)
    # Only data: URIs: a template never makes the server fetch a URL (or a local file).
    fetcher = URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
    pdf: bytes = HTML(string=html, url_fetcher=fetcher).write_pdf()
    return pdf


def pdf_response(pdf: bytes, *, filename: str) -> HttpResponse:
    """Shown in the browser's viewer; saved as ``filename`` when downloaded."""
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def qr_data_uri(text: str, *, scale: int = 4) -> str:
    """A QR code of ``text`` (a record's URL) as an SVG data URI for an ``<img>``.

    Error correction "M" survives a smudged label; the quiet zone is the standard 4 modules.
    """
    import segno

    uri: str = segno.make(text, error="m", micro=False).svg_data_uri(scale=scale, border=4)
    return uri


def svg_data_uri(svg: bytes) -> str:
    """An SVG (a cached plot) as a base64 ``data:`` URI: the only kind of image WeasyPrint
    reads here (see :func:`render_pdf`)."""
    import base64

    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
