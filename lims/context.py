"""Per-request context that services read without it being passed through every call."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_request_id: ContextVar[str] = ContextVar("request_id", default="")
_acting_user: ContextVar[Any] = ContextVar("acting_user", default=None)


def current_request_id() -> str:
    return _request_id.get()


def set_request_id(value: str | None = None) -> str:
    """Set (or make up) the id that ties together every change of one request or job."""
    value = value or uuid.uuid4().hex
    _request_id.set(value)
    return value


def current_user() -> Any:
    """The user whose changes are being written (None: a script or the system)."""
    return _acting_user.get()


@contextmanager
def acting_as(user: Any) -> Iterator[None]:
    """Attribute every history entry written inside the block to ``user``."""
    token = _acting_user.set(user if getattr(user, "is_authenticated", False) else None)
    try:
        yield
    finally:
        _acting_user.reset(token)
