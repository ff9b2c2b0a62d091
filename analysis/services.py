"""Writes for measurements and their raw files."""

from __future__ import annotations

from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from analysis.models import ColumnMappingTemplate, Measurement
from lims.files import stored_file_create
from lims.services import acting_user, record_save_new


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


@transaction.atomic
def column_mapping_template_create(*, user: Any, **fields: Any) -> ColumnMappingTemplate:
    return record_save_new(instance=ColumnMappingTemplate(**fields), user=user)  # type: ignore[return-value]


def raw_file_inspect(
    *, stream: IO[bytes], filename: str, template: str | None = None
) -> dict[str, Any]:
    """What the readers make of a file: format, metadata, columns with units, row count.

    ``template`` is a saved :class:`ColumnMappingTemplate` name or a built-in one (``eis3``).
    Raises ``ValidationError`` on ``file`` (with the reader's line or byte offset) or
    ``template``. Nothing is stored.
    """
    # pandas loads on first use, not at start-up
    from analysis.readers import TEMPLATES, ColumnMapping, ReadError, read

    mapping: ColumnMapping | str | None = None
    if template:
        saved = ColumnMappingTemplate.objects.filter(name=template).first()
        if saved is not None:
            mapping = saved.column_mapping()
        elif template in TEMPLATES:
            mapping = template
        else:
            raise ValidationError({"template": f"No column mapping template named {template!r}."})
    try:
        dataset = read(stream, filename, mapping=mapping)
    except ReadError as exc:
        raise ValidationError({"file": str(exc)}) from exc
    return dataset.summary()
