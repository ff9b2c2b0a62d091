"""The API's JSON parser: DRF's, refusing the NUL character anywhere in the body."""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ValidationError

from lims.validation import nul_path


class JSONParser(parsers.JSONParser):
    """PostgreSQL stores no NUL in text or ``jsonb``, so a body holding one (``"\\u0000"``) is
    refused with 400 naming the field, before it can fail in the database. DRF's text fields
    refuse it themselves; this also covers the keys and values of JSON fields
    (``conditions``, ``parameters``, ``mapping``)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        path = nul_path(data)
        if path is not None:
            field = str(path[0]) if path else "non_field_errors"
            where = ".".join(str(key) for key in path) or "The body"
            raise ValidationError({field: [f"{where} holds a NUL character; remove it."]})
        return data
