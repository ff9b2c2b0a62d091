"""The change history: one entry per create, update or delete, written by the services."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

from django.db import models
from django.utils import timezone

from lims.context import current_request_id
from lims.models import HistoryEntry, OwnedRow, Record


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict | list):
        return value
    return str(value)


_UNTRACKED = {"created_at", "updated_at", "record_ptr", "id", "kind", "label"}


def snapshot(instance: models.Model) -> dict[str, Any]:
    """Field values of ``instance`` as JSON; related rows by their code or text, not their id."""
    values: dict[str, Any] = {}
    excluded = _UNTRACKED | getattr(instance, "history_exclude", frozenset())
    for f in instance._meta.concrete_fields:
        if f.name in excluded or getattr(f, "parent_link", False):
            continue
        if f.is_relation:
            related = getattr(instance, f.name)
            values[f.name] = None if related is None else str(related)
        elif isinstance(f, models.FileField):
            values[f.name] = getattr(instance, f.attname).name or None
        else:
            values[f.name] = _jsonable(f.value_from_object(instance))
    return values


def history_owner_code(instance: models.Model) -> str:
    """The record code a row's history is filed under: its own, or its owner's."""
    if isinstance(instance, Record):
        return instance.code
    return instance.history_owner.code if isinstance(instance, OwnedRow) else ""


def history_log(
    *,
    instance: models.Model,
    action: str,
    user: Any,
    before: dict[str, Any] | None = None,
    object_id: Any = None,
) -> HistoryEntry | None:
    """Write one history entry for a change the caller has just made.

    ``before`` is the :func:`snapshot` taken before an update or delete. An update that
    changed nothing writes nothing.
    """
    after = {} if action == HistoryEntry.Action.DELETE else snapshot(instance)
    before = before or {}
    keys = list(dict.fromkeys([*before, *after]))
    changes = {k: [before.get(k), after.get(k)] for k in keys if before.get(k) != after.get(k)}
    if action == HistoryEntry.Action.CREATE:
        # A new row lists the values it was given, not every field left blank.
        changes = {k: v for k, v in changes.items() if v[1] not in ("", [], {}, None)}
    if action == HistoryEntry.Action.UPDATE and not changes:
        return None
    user = user if getattr(user, "is_authenticated", False) else None
    return HistoryEntry.objects.create(
        at=timezone.now(),
        user=user,
        username=user.get_username() if user else "system",
        action=action,
        model=instance._meta.label_lower,
        object_id=str(instance.pk if object_id is None else object_id),
        record_code=history_owner_code(instance),
        object_repr=str(instance)[:200],
        changes=changes,
        request_id=current_request_id(),
    )
