"""Writes for measurements and their raw files."""

from __future__ import annotations

from typing import IO, Any

from django.db import transaction
from django.utils import timezone

from analysis.models import Measurement
from lims.services import acting_user, record_save_new, stored_file_create


@transaction.atomic
def measurement_create(
    *,
    user: Any,
    raw_stream: IO[bytes] | None = None,
    raw_name: str = "",
    raw_content_type: str = "",
    **fields: Any,
) -> Measurement:
    """Record a measurement; a raw file given as a stream is stored under its SHA-256 first."""
    if raw_stream is not None:
        fields["raw_file"] = stored_file_create(
            stream=raw_stream, original_name=raw_name, content_type=raw_content_type, user=user
        )
    fields.setdefault("operator", acting_user(user))
    fields.setdefault("measured_at", timezone.now())
    return record_save_new(instance=Measurement(**fields), user=user)  # type: ignore[return-value]
