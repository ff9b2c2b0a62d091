"""Generic record edits: the building blocks of every domain service.

Every write in the project goes through a service: a keyword-only function wrapped in a
transaction that validates, saves and keeps the lineage graph in step (``lims.lineage``). The
history entry is written by the tracked model itself (``lims.history``), attributed to the user the
service acts for, so web edits, imports and scripts are recorded alike. Edits and deletes take the
``expected_version`` the editor saw (optimistic locking): a change made in between raises
:class:`VersionConflict` instead of being overwritten. Codes are handed out by ``lims.codes``,
raw files kept by ``lims.files``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction
from django.db.models import ProtectedError
from django.utils.module_loading import import_string

from lims.codes import code_allocate, code_check_typed
from lims.context import acting_as
from lims.history import history_owner_code, history_version, snapshot
from lims.lineage import lineage_sync
from lims.models import OwnedRow, Record
from lims.validation import json_fields_check


class VersionConflict(Exception):
    """The row changed since the editor read it: ``expected`` is the version they saw,
    ``current`` the one in the database. Nothing was saved."""

    def __init__(self, *, instance: models.Model, expected: int, current: int) -> None:
        self.instance, self.expected, self.current = instance, expected, current
        super().__init__(
            f"{instance} was changed by someone else since you opened it (you edited version "
            f"{expected}, it is now at version {current}); nothing was saved. Reload it and "
            "apply your change again."
        )


def check_version(instance: models.Model, expected_version: int | None) -> None:
    """Raise :class:`VersionConflict` unless ``instance`` is at ``expected_version`` (None: any)."""
    if expected_version is None:
        return
    current = history_version(instance)
    if current != expected_version:
        raise VersionConflict(instance=instance, expected=expected_version, current=current)


def system_row_check(instance: models.Model) -> None:
    """The whole check of a row the system makes itself from values it computed under its own
    locks (an analysis' revision and flags): JSON without NUL and every field valid. Its unique
    and constraint checks are left to the database, which enforces them too; a violation there
    is a bug, and rolls the caller back."""
    json_fields_check(instance)
    _fields_check(instance)


def _validate(instance: models.Model) -> None:
    """``full_clean()``: the fields, then the unique and constraint checks on every field that
    passed, all errors gathered (constraints name their field). A NUL in JSON stops it first,
    before any query could carry it."""
    json_fields_check(instance)
    errors: dict[str, Any] = {}
    try:
        _fields_check(instance)
    except ValidationError as exc:
        errors = exc.update_error_dict(errors)
    failed = set(errors) - {NON_FIELD_ERRORS}
    for check in (instance.validate_unique, instance.validate_constraints):
        try:
            check(exclude=failed)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)


def _fields_check(instance: models.Model) -> None:
    """Every field of the row, less the existence query of each foreign key whose row the
    caller already loaded (a serializer, a form or a service fetched it to set it; the
    database's foreign-key constraint still stands behind it)."""
    instance.full_clean(
        exclude=_loaded_relations(instance), validate_unique=False, validate_constraints=False
    )


def _loaded_relations(instance: models.Model) -> list[str]:
    """Foreign keys set to a row read from the database (cached on ``instance`` under the same
    key), whose choices are not limited (``limit_choices_to`` is checked by that query)."""
    loaded = []
    for field in instance._meta.concrete_fields:
        if not (isinstance(field, models.ForeignKey) and field.is_cached(instance)):
            continue
        related = field.get_cached_value(instance)
        if (
            related is not None
            and not related._state.adding
            and related.pk == getattr(instance, field.attname)
            and not field.remote_field.limit_choices_to
        ):
            loaded.append(field.name)
    return loaded


def record_save_new(*, instance: models.Model, user: Any) -> models.Model:
    """Validate and insert a new row, fill in its code and label, link it, log it.

    The building block of every create service; call it inside the service's transaction.
    """
    if isinstance(instance, Record):
        instance.kind = instance._meta.model_name or ""
        if instance.code:
            code_check_typed(model=type(instance), code=instance.code)
        else:
            instance.code = code_allocate(model=type(instance), parent_code=_code_parent(instance))
        if user is not None and getattr(user, "is_authenticated", False):
            instance.created_by = user
    if isinstance(instance, Record | OwnedRow):
        instance.refresh_derived()
    _validate(instance)
    with acting_as(user):
        instance.save()
    _after_change(instance)
    return instance


@transaction.atomic
def record_update(
    *,
    instance: models.Model,
    data: dict[str, Any],
    user: Any,
    expected_version: int | None = None,
) -> models.Model:
    """Apply ``data`` to ``instance``, validate, save the changed fields and log old → new.

    With ``expected_version`` (the :func:`~lims.history.history_version` the editor saw), a row
    changed in between raises :class:`VersionConflict`; the check runs under the row lock.
    """
    # FOR NO KEY UPDATE, here and in every service: it serializes editors of the row but lets
    # rows that point at it (a flag raised on it) pass their foreign-key checks, which take
    # FOR KEY SHARE. A plain FOR UPDATE blocked them until this transaction ended, while it
    # waited for the history's append lock held by theirs: a deadlock (lims.chain).
    locked = type(instance)._default_manager.select_for_update(no_key=True).get(pk=instance.pk)
    check_version(locked, expected_version)
    before = snapshot(locked)
    for name, value in data.items():
        setattr(locked, name, value)
    if isinstance(locked, Record | OwnedRow):
        locked.refresh_derived()
    _validate(locked)
    locked._history_before = before  # type: ignore[attr-defined]  # read under the lock above
    with acting_as(user):
        locked.save()
    _after_change(locked)
    return locked


@transaction.atomic
def record_delete(
    *, instance: models.Model, user: Any, expected_version: int | None = None
) -> None:
    """Delete a row that nothing else was made from; refuse (``ValidationError``) otherwise.

    A deleted record leaves a tombstone that keeps its code taken. ``expected_version`` as for
    :func:`record_update`.
    """
    if expected_version is not None:
        locked = type(instance)._default_manager.select_for_update(no_key=True).get(pk=instance.pk)
        check_version(locked, expected_version)
    code = history_owner_code(instance)
    if isinstance(instance, Record) and instance.child_links.exists():
        children = ", ".join(
            Record.objects.filter(parent_links__parent=instance)
            .values_list("code", flat=True)
            .distinct()[:10]
        )
        raise ValidationError(f"{code} cannot be deleted: {children} were made from it.")
    try:
        with acting_as(user):
            instance.delete()
    except ProtectedError as exc:
        used_by = ", ".join(sorted({str(o) for o in exc.protected_objects})[:10])
        raise ValidationError(f"{instance} cannot be deleted: used by {used_by}.") from exc
    if isinstance(instance, OwnedRow):
        _after_change(instance)


def _code_parent(instance: Record) -> str | None:
    parent = getattr(instance, "code_parent", None)
    return parent.code if parent is not None else None


def _after_change(instance: models.Model) -> None:
    if isinstance(instance, OwnedRow) and not instance.part_of_owner:
        return  # a flag or an analysis run changes neither its owner's lineage nor its checks
    record = instance.history_owner if isinstance(instance, OwnedRow) else instance
    if isinstance(record, Record):
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
