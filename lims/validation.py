"""Checks every write path shares, whatever it reads from."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models


def nul_path(value: Any, path: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
    """The keys leading to the first NUL character in ``value`` (in a text or a key), or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if not isinstance(value, dict | list):
        return None
    for key, item in value.items() if isinstance(value, dict) else enumerate(value):
        if isinstance(key, str) and "\x00" in key:
            return path
        found = nul_path(item, (*path, key))
        if found is not None:
            return found
    return None


def json_fields_check(instance: models.Model) -> None:
    """Refuse a NUL character in a JSON field's keys or texts, naming the field and where:
    PostgreSQL stores none in ``jsonb``, and a form or multipart field can carry one that no
    JSON parser saw (``conditions`` sent with an upload, a protocol's parameters typed in)."""
    errors = {}
    for field in instance._meta.concrete_fields:
        if isinstance(field, models.JSONField):
            path = nul_path(getattr(instance, field.attname))
            if path is not None:
                where = ".".join(str(key) for key in (field.name, *path))
                errors[field.name] = f"{where} holds a NUL character; remove it."
    if errors:
        raise ValidationError(errors)
