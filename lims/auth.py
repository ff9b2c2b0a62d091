"""Login rate limits: after too many failed logins an account, or an address, must wait.

Failures are counted in the cache under the account name and under the client address, each for
``LOGIN_FAILURE_WINDOW_S`` seconds. While either count is at its limit every password is refused,
the right one too, so guessing gains nothing; a successful login clears the account's count.
The check sits in the authentication backend (Django's, extended), so every login path (the
login page, the API's session login, the admin) is covered. API tokens are not passwords and are
not counted.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import forms
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest


def client_address(request: HttpRequest | None) -> str:
    """The client's address; behind the TLS proxy, the one the proxy appended last."""
    if request is None:
        return ""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if settings.SECURE_PROXY_SSL_HEADER and forwarded:
        return forwarded.split(",")[-1].strip()
    return str(request.META.get("REMOTE_ADDR", ""))


def _keys(request: HttpRequest | None, username: str | None) -> list[tuple[str, int]]:
    keys = [(f"login-fail:address:{client_address(request)}", settings.LOGIN_FAILURE_LIMIT_ADDRESS)]
    if username:
        keys.append(
            (f"login-fail:account:{username.lower()}", settings.LOGIN_FAILURE_LIMIT_ACCOUNT)
        )
    return keys


def login_blocked(request: HttpRequest | None, username: str | None) -> bool:
    return any((cache.get(key) or 0) >= limit for key, limit in _keys(request, username))


def login_failed(*, request: HttpRequest | None, username: str | None) -> None:
    for key, _ in _keys(request, username):
        cache.add(key, 0, timeout=settings.LOGIN_FAILURE_WINDOW_S)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW_S)


def login_succeeded(*, username: str) -> None:
    cache.delete(f"login-fail:account:{username.lower()}")


class LoginRateLimitBackend(ModelBackend):
    """Django's backend, refusing every login attempt for a blocked account or address."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if login_blocked(request, username):
            raise PermissionDenied("too many failed logins")
        return super().authenticate(request, username=username, password=password, **kwargs)


class RateLimitedAuthenticationForm(forms.AuthenticationForm):
    """The login form, saying why a blocked login is refused."""

    rate_limited = False

    def clean(self) -> dict[str, Any]:
        if login_blocked(self.request, self.data.get("username")):
            self.rate_limited = True
            minutes = max(1, settings.LOGIN_FAILURE_WINDOW_S // 60)
            raise ValidationError(
                f"Too many failed logins for this account or from this address. Try again in "
                f"{minutes} minutes.",
                code="rate_limited",
            )
        return super().clean()
