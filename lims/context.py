"""Per-request context that services read without it being passed through every call."""

from __future__ import annotations

import uuid
from contextvars import ContextVar

_request_id: ContextVar[str] = ContextVar("request_id", default="")


def current_request_id() -> str:
    return _request_id.get()


def set_request_id(value: str | None = None) -> str:
    """Set (or make up) the id that ties together every change of one request or job."""
    value = value or uuid.uuid4().hex
    _request_id.set(value)
    return value
