"""Generic record edits: the building blocks of every domain service.

Every write in the project goes through a service: a keyword-only function wrapped in a
transaction that validates, saves, keeps the lineage graph in step (``lims.lineage``) and writes
the history entry itself (``lims.history``), so web edits, imports and scripts are recorded alike.
Codes are handed out by ``lims.codes``, raw files kept by ``lims.files``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import ProtectedError
from django.utils.module_loading import import_string

from lims.codes import code_allocate
from lims.history import history_log, history_owner_code, snapshot
from lims.lineage import lineage_sync
from lims.models import HistoryEntry, OwnedRow, Record


def _validate(instance: models.Model) -> None:
    instance.full_clean(validate_unique=True, validate_constraints=True)


def record_save_new(*, instance: models.Model, user: Any) -> models.Model:
    """Validate and insert a new row, fill in its code and label, link it, log it.

    The building block of every create service; call it inside the service's transaction.
    """
    if isinstance(instance, Record):
        instance.kind = instance._meta.model_name or ""
        if not instance.code:
            instance.code = code_allocate(model=type(instance), parent_code=_code_parent(instance))
        if user is not None and getattr(user, "is_authenticated", False):
            instance.created_by = user
    if isinstance(instance, Record | OwnedRow):
        instance.refresh_derived()
    _validate(instance)
    instance.save()
    history_log(instance=instance, action=HistoryEntry.Action.CREATE, user=user)
    _after_change(instance)
    return instance


@transaction.atomic
def record_update(*, instance: models.Model, data: dict[str, Any], user: Any) -> models.Model:
    """Apply ``data`` to ``instance``, validate, save the changed fields and log old → new."""
    locked = type(instance)._default_manager.select_for_update().get(pk=instance.pk)
    before = snapshot(locked)
    for name, value in data.items():
        setattr(locked, name, value)
    if isinstance(locked, Record | OwnedRow):
        locked.refresh_derived()
    _validate(locked)
    locked.save()
    history_log(instance=locked, action=HistoryEntry.Action.UPDATE, user=user, before=before)
    _after_change(locked)
    return locked


@transaction.atomic
def record_delete(*, instance: models.Model, user: Any) -> None:
    """Delete a row that nothing else was made from; refuse (``ValidationError``) otherwise."""
    before = snapshot(instance)
    code, pk = history_owner_code(instance), instance.pk
    if isinstance(instance, Record) and instance.child_links.exists():
        children = ", ".join(
            Record.objects.filter(parent_links__parent=instance)
            .values_list("code", flat=True)
            .distinct()[:10]
        )
        raise ValidationError(f"{code} cannot be deleted: {children} were made from it.")
    try:
        instance.delete()
    except ProtectedError as exc:
        used_by = ", ".join(sorted({str(o) for o in exc.protected_objects})[:10])
        raise ValidationError(f"{instance} cannot be deleted: used by {used_by}.") from exc
    history_log(
        instance=instance, action=HistoryEntry.Action.DELETE, user=user, before=before, object_id=pk
    )
    if isinstance(instance, OwnedRow):
        _after_change(instance)


def _code_parent(instance: Record) -> str | None:
    parent = getattr(instance, "code_parent", None)
    return parent.code if parent is not None else None


def _after_change(instance: models.Model) -> None:
    record = instance.history_owner if isinstance(instance, OwnedRow) else instance
    if isinstance(record, Record):
        # A row owned through a plain Record key (a flag) must not sync the owner's lineage
        # from the base class, which declares no parents: that would drop every edge.
        lineage_sync(record=record.concrete())
        for hook in record_change_hooks():
            transaction.on_commit(functools.partial(hook, record.pk))


@functools.cache
def record_change_hooks() -> list[Callable[[int], None]]:
    """The functions named in ``settings.RECORD_CHANGE_HOOKS``, called with a record's id after
    the transaction that changed it (or one of its sub-rows) commits. The layers above the core
    follow changes through them (the analysis app re-checks cells and foils) without the core
    importing them."""
    return [import_string(path) for path in settings.RECORD_CHANGE_HOOKS]


def acting_user(user: Any) -> Any:
    """The signed-in user, or None for scripts and anonymous callers."""
    return user if getattr(user, "is_authenticated", False) else None
