"""``Idempotency-Key``: a create sent twice is stored once.

A client (an instrument script, the glovebox tablet's outbox) that may send the same create
again after a lost response picks a unique key for it and sends it with every attempt:

- the first attempt claims the key (committed at once, so parallel attempts see it), does the
  work and stores its response in the same transaction as the work;
- a later attempt with the same body gets the first response again (``replayed``);
- the same key with a different body is refused (422), and a key whose first attempt is still
  running answers 409, so the client retries later.

Only successful responses are kept: when the work fails (a validation error, a crash) the claim
is released, nothing was saved, and the corrected request may use the key again. A claim left
behind by a process that died is taken over after ``IN_FLIGHT_TIMEOUT``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from lims.models import IdempotencyKey

KEY_HEADER = "Idempotency-Key"
KEY_MAX_LENGTH = 255
IN_FLIGHT_TIMEOUT = dt.timedelta(minutes=2)


class IdempotencyError(Exception):
    """The key cannot be used for this request; ``status`` says why (400, 409 or 422)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Outcome:
    status: int
    body: Any
    replayed: bool


def request_fingerprint(*, method: str, path: str, body: bytes) -> str:
    """What makes two attempts "the same request": method, path and the exact body."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _check_key(key: str) -> None:
    if not key or len(key) > KEY_MAX_LENGTH or not key.isprintable() or key.strip() != key:
        raise IdempotencyError(
            400,
            f"{KEY_HEADER} must be 1 to {KEY_MAX_LENGTH} printable characters without "
            "surrounding spaces (a UUID is a good choice).",
        )


def _claim(*, user: Any, key: str, fingerprint: str) -> tuple[IdempotencyKey, bool]:
    """The key's row, and whether this attempt now owns it."""
    try:
        with transaction.atomic():
            return IdempotencyKey.objects.create(user=user, key=key, fingerprint=fingerprint), True
    except IntegrityError:
        pass
    existing = IdempotencyKey.objects.get(user=user, key=key)
    stale = existing.response_status is None and existing.created_at < (
        timezone.now() - IN_FLIGHT_TIMEOUT
    )
    if stale and existing.fingerprint == fingerprint:
        # Take over an abandoned claim; the filter makes sure only one attempt does.
        taken = IdempotencyKey.objects.filter(
            pk=existing.pk, response_status__isnull=True, created_at=existing.created_at
        ).update(created_at=timezone.now())
        return existing, taken == 1
    return existing, False


def idempotency_run(
    *, user: Any, key: str, fingerprint: str, work: Callable[[], tuple[int, Any]]
) -> Outcome:
    """Run ``work`` (returning ``(status, JSON body)``) once per ``(user, key)``.

    Raises :class:`IdempotencyError` for a malformed key, a key in flight (409) or a key reused
    with another body (422). Exceptions of ``work`` propagate after the claim is released.
    """
    _check_key(key)
    row, owned = _claim(user=user, key=key, fingerprint=fingerprint)
    if not owned:
        if row.fingerprint != fingerprint:
            raise IdempotencyError(
                422,
                f"{KEY_HEADER} {key!r} was already used for a different request; "
                "use a new key for a new entry.",
            )
        if row.response_status is None:
            raise IdempotencyError(
                409, f"The first request with {KEY_HEADER} {key!r} is still running; retry later."
            )
        return Outcome(row.response_status, row.response_body, replayed=True)
    try:
        with transaction.atomic():
            status, body = work()
            if status >= 400:
                raise _Failed(status, body)
            body = json.loads(json.dumps(body, cls=DjangoJSONEncoder))
            IdempotencyKey.objects.filter(pk=row.pk).update(
                response_status=status, response_body=body, completed_at=timezone.now()
            )
    except _Failed as failed:
        _release(row)
        return Outcome(failed.status, failed.body, replayed=False)
    except BaseException:
        _release(row)
        raise
    return Outcome(status, body, replayed=False)


class _Failed(Exception):
    def __init__(self, status: int, body: Any) -> None:
        self.status, self.body = status, body


def _release(row: IdempotencyKey) -> None:
    IdempotencyKey.objects.filter(pk=row.pk, response_status__isnull=True).delete()
