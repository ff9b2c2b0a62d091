"""Writes for measurements and their raw files; every new raw file is analysed on commit."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from analysis.models import ColumnMappingTemplate, Measurement
from analysis.runs import analysis_request

if TYPE_CHECKING:
    from analysis.readers import ColumnMapping
from lims.files import stored_file_create
from lims.services import acting_user, record_save_new, record_update


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
    measurement: Measurement = record_save_new(instance=Measurement(**fields), user=user)  # type: ignore[assignment]
    analysis_request(measurement=measurement, user=user)
    return measurement


@transaction.atomic
def measurement_attach_file(
    *, measurement: Measurement, user: Any, stream: IO[bytes], name: str, content_type: str = ""
) -> Measurement:
    """Give a measurement its raw file (once: a raw file is never replaced) and analyse it."""
    locked = Measurement.objects.select_for_update().get(pk=measurement.pk)
    if locked.raw_file_id is not None:
        raise ValidationError(
            {"upload": f"{locked.code} already has its raw file; record a new measurement."}
        )
    stored = stored_file_create(
        stream=stream, original_name=name, content_type=content_type, user=user
    )
    updated: Measurement = record_update(instance=locked, data={"raw_file": stored}, user=user)  # type: ignore[assignment]
    analysis_request(measurement=updated, user=user)
    return updated


@transaction.atomic
def column_mapping_template_create(*, user: Any, **fields: Any) -> ColumnMappingTemplate:
    return record_save_new(instance=ColumnMappingTemplate(**fields), user=user)  # type: ignore[return-value]


def column_mapping(name: str | None) -> ColumnMapping | str | None:
    """A built-in template's name (``eis3``), or a saved :class:`ColumnMappingTemplate`."""
    from analysis.readers import TEMPLATES  # pandas loads on first use, not at start-up

    if not name or name in TEMPLATES:
        return name or None
    saved = ColumnMappingTemplate.objects.filter(name=name).first()
    if saved is not None:
        return saved.column_mapping()
    raise ValueError(f"No column mapping template named {name!r}.")


def raw_file_inspect(
    *, stream: IO[bytes], filename: str, template: str | None = None
) -> dict[str, Any]:
    """What the readers make of a file: format, metadata, columns with units, row count.

    ``template`` is a saved :class:`ColumnMappingTemplate` name or a built-in one (``eis3``).
    Raises ``ValidationError`` on ``file`` (with the reader's line or byte offset) or
    ``template``. Nothing is stored.
    """
    from analysis.readers import ReadError, read

    try:
        mapping = column_mapping(template)
    except ValueError as exc:
        raise ValidationError({"template": str(exc)}) from exc
    try:
        dataset = read(stream, filename, mapping=mapping)
    except ReadError as exc:
        raise ValidationError({"file": str(exc)}) from exc
    return dataset.summary()
