"""Writes for measurements and their raw files; every new raw file is analysed on commit."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from analysis.models import ColumnMappingTemplate, Measurement
from analysis.registry import analysis_for
from analysis.runs import analysis_request

if TYPE_CHECKING:
    from analysis.readers import ColumnMapping
from lims.files import stored_file_create
from lims.services import acting_user, record_save_new, record_update
from lims.uploads import CheckedUpload, UploadRefused, upload_check


def raw_file_expect(measurement_type: str) -> Callable[[CheckedUpload, IO[bytes]], None]:
    """The check a measurement's raw file gets at the upload gate, after the gate's own: the
    readers must recognise it (:func:`analysis.readers.detect_format`, from its content), and
    it must be a format the measurement type's analysis reads (``Analysis.formats``)."""
    analysis = analysis_for(measurement_type)
    formats = analysis.formats if analysis is not None else ()

    def expect(checked: CheckedUpload, stream: IO[bytes]) -> None:
        from analysis.readers import ReadError, detect_format

        try:
            found = detect_format(stream, checked.name)
        except ReadError as exc:
            raise UploadRefused(str(exc), status=415) from exc
        if formats and found not in formats:
            raise UploadRefused(
                f"{checked.name}: a {found} file; a {measurement_type} measurement's analysis "
                f"reads {' or '.join(formats)} files.",
                status=415,
            )

    return expect


@transaction.atomic
def measurement_create(
    *,
    user: Any,
    raw_stream: IO[bytes] | None = None,
    raw_name: str = "",
    **fields: Any,
) -> Measurement:
    """Record a measurement; a raw file given as a stream passes the upload gate and is stored
    under its SHA-256 first."""
    if raw_stream is not None:
        fields["raw_file"] = stored_file_create(
            stream=raw_stream,
            original_name=raw_name,
            user=user,
            expect=raw_file_expect(fields.get("measurement_type", "")),
        )
    fields.setdefault("operator", acting_user(user))
    fields.setdefault("measured_at", timezone.now())
    measurement: Measurement = record_save_new(instance=Measurement(**fields), user=user)  # type: ignore[assignment]
    analysis_request(measurement=measurement, user=user)
    return measurement


@transaction.atomic
def measurement_attach_file(
    *, measurement: Measurement, user: Any, stream: IO[bytes], name: str
) -> Measurement:
    """Give a measurement its raw file (once: a raw file is never replaced) and analyse it."""
    locked = Measurement.objects.select_for_update(no_key=True).get(pk=measurement.pk)
    if locked.raw_file_id is not None:
        raise ValidationError(
            {"upload": f"{locked.code} already has its raw file; record a new measurement."}
        )
    stored = stored_file_create(
        stream=stream,
        original_name=name,
        user=user,
        expect=raw_file_expect(locked.measurement_type),
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
    The file passes the upload gate first (:class:`~lims.uploads.UploadRefused` on ``file``).
    Raises ``ValidationError`` on ``file`` (with the reader's line or byte offset) or
    ``template``. Nothing is stored.
    """
    from analysis.readers import ReadError, read

    checked = upload_check(stream=stream, name=filename, field="file")
    filename = checked.name
    try:
        mapping = column_mapping(template)
    except ValueError as exc:
        raise ValidationError({"template": str(exc)}) from exc
    try:
        dataset = read(stream, filename, mapping=mapping)
    except ReadError as exc:
        raise ValidationError({"file": str(exc)}) from exc
    return dataset.summary()
