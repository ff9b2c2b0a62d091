"""Django's JSON serializer, keeping times to the microsecond (format ``limsjson``).

Django's own JSON encoder cuts datetimes to milliseconds, so a dump and load would change every
timestamp and break the history's hashes; backups use this format instead.

Two things make it fit a whole lab (bench/integrity.py: ~940,000 rows, a 300 MiB file):

- natural keys of foreign keys are looked up once per related row, not once per row that
  points at it (Django fetches the related user for every history entry, cell and step it
  serializes: one query each);
- loading reads the file one object at a time, never the whole JSON document into memory
  (Django's ``json.loads`` of the file took gigabytes), and resolves each natural key once.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from typing import IO, Any

from django.core.serializers import base
from django.core.serializers import json as django_json
from django.core.serializers.json import DjangoJSONEncoder
from django.core.serializers.python import Deserializer as PythonDeserializer
from django.db import models

FORMAT = "limsjson"
#: How much of the file is read at a time when loading.
READ_CHUNK = 1024 * 1024


class ExactJSONEncoder(DjangoJSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, dt.datetime | dt.time):
            return o.isoformat()
        return super().default(o)


class Serializer(django_json.Serializer):
    def _init_options(self) -> None:
        self.options["cls"] = ExactJSONEncoder
        self.natural_keys: dict[tuple[Any, ...], Any] = {}
        super()._init_options()  # type: ignore[misc]  # untyped in django-stubs

    def handle_fk_field(self, obj: models.Model, field: Any) -> None:
        model = field.remote_field.model
        if not (self.use_natural_foreign_keys and hasattr(model, "natural_key")):
            super().handle_fk_field(obj, field)
            return
        value = getattr(obj, field.attname)
        if value is not None:
            key = (model, field.remote_field.field_name, value)
            if key not in self.natural_keys:
                self.natural_keys[key] = getattr(obj, field.name).natural_key()
            value = self.natural_keys[key]
        self._current[field.name] = value  # type: ignore[attr-defined]  # untyped in django-stubs


def json_array_items(stream: IO[Any]) -> Iterator[Any]:
    """The items of a JSON array, decoded one at a time from a text or binary stream."""
    text = (
        io.TextIOWrapper(stream, encoding="utf-8") if isinstance(stream.read(0), bytes) else stream
    )
    decoder = json.JSONDecoder()
    buffer, at, ended, opened = "", 0, False, False

    def read_more() -> None:
        nonlocal buffer, at, ended
        chunk = text.read(READ_CHUNK)
        ended = not chunk
        buffer, at = buffer[at:] + chunk, 0

    while True:
        while at < len(buffer) and buffer[at] in " \t\r\n" + ("," if opened else ""):
            at += 1
        if at == len(buffer):
            if ended:
                raise base.DeserializationError("The file ends inside its JSON array.")
            read_more()
            continue
        if not opened:
            if buffer[at] != "[":
                raise base.DeserializationError("The file is not a JSON array.")
            opened, at = True, at + 1
            continue
        if buffer[at] == "]":
            return
        try:
            item, end = decoder.raw_decode(buffer, at)
        except json.JSONDecodeError as exc:
            if ended:
                raise base.DeserializationError(f"Invalid JSON: {exc}") from exc
            read_more()  # an item cut by the end of the buffer
            continue
        at = end
        yield item


class Deserializer(PythonDeserializer):
    """Objects from a ``limsjson`` stream, read one at a time (see the module docstring)."""

    def __init__(self, stream_or_string: Any, **options: Any) -> None:
        if isinstance(stream_or_string, bytes):
            stream_or_string = stream_or_string.decode()
        if isinstance(stream_or_string, str):
            stream_or_string = io.StringIO(stream_or_string)
        super().__init__(json_array_items(stream_or_string), **options)
        self.natural_values: dict[tuple[Any, ...], Any] = {}

    def _handle_object(self, obj: Any) -> Any:
        try:
            yield from super()._handle_object(obj)  # type: ignore[misc]  # untyped in django-stubs
        except (GeneratorExit, base.DeserializationError):
            raise
        except Exception as exc:
            raise base.DeserializationError(f"Error deserializing object: {exc}") from exc

    def _handle_fk_field_node(self, field: Any, field_value: Any) -> Any:
        if not isinstance(field_value, list):
            return super()._handle_fk_field_node(field, field_value)  # type: ignore[misc]
        key = (field.remote_field.model, field.remote_field.field_name, json.dumps(field_value))
        if key not in self.natural_values:
            value = super()._handle_fk_field_node(field, field_value)  # type: ignore[misc]
            if value == base.DEFER_FIELD:
                return value  # not loaded yet: resolved later, never cached
            self.natural_values[key] = value
        return self.natural_values[key]
