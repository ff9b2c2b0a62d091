from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
    HttpResponseNotFound,
    JsonResponse,
)

from lims.context import set_request_id


class RequestIdMiddleware:
    """Give every request an id, echoed in ``X-Request-ID`` and stored on each history entry."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = set_request_id(incoming[:64] if incoming.isalnum() else None)
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class NulCharacterMiddleware:
    """Refuse a URL holding the NUL character before any of it reaches the database.

    PostgreSQL can neither store nor compare NUL in text, so a lookup such as
    ``/r/%00/`` would fail with a server error. No code, name or path has one: in the path
    the answer is 404, in a query parameter 400 naming it (JSON under ``/api/``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        api = request.path.startswith("/api/")
        if "\x00" in request.path:
            return (
                JsonResponse({"detail": "Not found."}, status=404)
                if api
                else HttpResponseNotFound()
            )
        for name, values in request.GET.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                message = "Contains a NUL character."
                if api:
                    return JsonResponse({name: [message]}, status=400)
                return HttpResponseBadRequest(f"{name}: {message}")
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """Send ``settings.CONTENT_SECURITY_POLICY`` with every response that has none of its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.CONTENT_SECURITY_POLICY:
            response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response


class LoginRequiredEverywhereMiddleware(LoginRequiredMiddleware):
    """Pages need a login; the API answers 401/403 itself (it also accepts tokens)."""

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponseBase | None:
        if request.path.startswith("/api/"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class UploadLimitMiddleware:
    """Refuse a request body over its limit from ``Content-Length``, before any of it is read
    (413): multipart bodies over ``LIMS_UPLOAD_MAX_BYTES`` plus 1 MiB of form fields, others
    over ``DATA_UPLOAD_MAX_MEMORY_SIZE``. After the response, delete the raw files the request
    stored whose database rows were rolled back (:func:`lims.files.stored_files_discard_orphans`).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from lims.files import stored_files_discard_orphans, stored_files_track_afresh

        refused = self.too_large(request)
        if refused is not None:
            return refused
        stored_files_track_afresh()
        try:
            return self.get_response(request)
        finally:
            stored_files_discard_orphans()

    @staticmethod
    def too_large(request: HttpRequest) -> HttpResponse | None:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None  # Django reads no body when the length is not a number
        if request.content_type == "multipart/form-data":
            limit: int | None = settings.LIMS_UPLOAD_MAX_BYTES + 1024 * 1024
            what = f"uploads are limited to {settings.LIMS_UPLOAD_MAX_BYTES:,} bytes a file"
            setting = "LIMS_UPLOAD_MAX_MB"
        else:
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            what = f"request bodies other than uploads are limited to {limit:,} bytes"
            setting = "DATA_UPLOAD_MAX_MEMORY_SIZE"
        if limit is None or length <= limit:
            return None
        message = (
            f"The request body is {length:,} bytes; {what} ({setting}). Nothing was read or stored."
        )
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message}, status=413)
        return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
