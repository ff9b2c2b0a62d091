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
