"""The change history: one entry per changed row, written by the tracked models themselves.

Every write path of a :class:`~lims.models.Tracked` model ends here: ``save()`` and ``delete()``
of an instance (services, admin, API, imports, scripts) and the bulk paths of its QuerySet
(``update()``, ``delete()``, ``bulk_create()``, ``bulk_update()``). Each changed row gets exactly
one entry with its values before and after; an update that changes nothing gets none. Rows that a
delete cascades to (a cell's assembly steps) get their own entries, and a deleted record leaves a
:class:`~lims.models.Tombstone`. Entries are chained by ``lims.chain``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from django.apps import apps
from django.db import models, router, transaction
from django.db.models.deletion import Collector
from django.utils import timezone

from lims.chain import chain_append
from lims.context import current_request_id, current_user
from lims.models import HistoryEntry, OwnedRow, Record, Tombstone, Tracked, TrackedQuerySet


def tracked_models() -> list[type[Tracked]]:
    """Every model whose rows carry their own history: the concrete :class:`Tracked` models
    (the bare ``Record`` is only the shared part of the kinds of record)."""
    return sorted(
        (m for m in apps.get_models() if issubclass(m, Tracked) and m is not Record),
        key=lambda m: m._meta.label,
    )


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
    excluded = _UNTRACKED | getattr(instance, "history_exclude", frozenset())
    return {
        f.name: _field_value(instance, f)
        for f in instance._meta.concrete_fields
        if f.name not in excluded and not getattr(f, "parent_link", False)
    }


def snapshot_field(instance: models.Model, name: str) -> Any:
    """One field of :func:`snapshot`: how the history writes that value."""
    return _field_value(instance, instance._meta.get_field(name))


def _field_value(instance: models.Model, f: Any) -> Any:
    if f.is_relation:
        related = getattr(instance, f.name)
        return None if related is None else str(related)
    if isinstance(f, models.FileField):
        return getattr(instance, f.attname).name or None
    return _jsonable(f.value_from_object(instance))


def history_owner(instance: models.Model) -> Record | None:
    """The record a row's history is filed under: itself, or its owner for a sub-row."""
    if isinstance(instance, Record):
        return instance
    return instance.history_owner if isinstance(instance, OwnedRow) else None


def history_owner_code(instance: models.Model) -> str:
    owner = history_owner(instance)
    return owner.code if owner is not None else ""


def _model_label(instance: models.Model) -> str:
    """``processing.chemicallot`` even for the ``Record`` part of a chemical lot."""
    if isinstance(instance, Record) and instance.kind:
        from lims.models import record_model

        model = record_model(instance.kind)
        if model is not None:
            return model._meta.label_lower
    return instance._meta.label_lower


def history_log(
    *,
    instance: models.Model,
    action: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    filed_under: tuple[Any, str] | None = None,
    object_id: Any = None,
) -> HistoryEntry | None:
    """Write one history entry for a change just made to ``instance``, by the acting user.

    ``before``/``after`` are :func:`snapshot` s (``after`` is taken now unless given; a delete has
    none). ``filed_under`` (the owning record's id and code) and ``object_id`` are given for a
    row that is already deleted. An update
    that changed nothing writes nothing.
    """
    if after is None:
        after = {} if action == HistoryEntry.Action.DELETE else snapshot(instance)
    before = before or {}
    keys = list(dict.fromkeys([*before, *after]))
    changes = {k: [before.get(k), after.get(k)] for k in keys if before.get(k) != after.get(k)}
    if action == HistoryEntry.Action.CREATE:
        # A new row lists the values it was given, not every field left blank.
        changes = {k: v for k, v in changes.items() if v[1] not in ("", [], {}, None)}
    if action == HistoryEntry.Action.UPDATE and not changes:
        return None
    if filed_under is None:
        filed_under = _filed_under(instance)
    user = current_user()
    entry = HistoryEntry(
        at=timezone.now(),
        user=user,
        username=user.get_username() if user else "system",
        action=action,
        model=_model_label(instance),
        object_id=str(instance.pk if object_id is None else object_id),
        record_id=filed_under[0],
        record_code=filed_under[1],
        object_repr=str(instance)[:200],
        changes=changes,
        request_id=current_request_id(),
    )
    return chain_append(entry)


def _write_and_log(using: str) -> transaction.Atomic:
    """The transaction a write and its entries share. Inside a caller's transaction it adds no
    savepoint (two statements saved per write): if either fails, the caller's transaction or
    savepoint rolls back whole, so a row is never kept without its entry, nor the reverse."""
    return transaction.atomic(using=using, savepoint=False)


def _names(model: type[models.Model], fields: Iterable[str]) -> set[str]:
    """Field names for ``update_fields``-style names that may be attnames (``batch_id``)."""
    by_attname = {f.attname: f.name for f in model._meta.concrete_fields}
    return {by_attname.get(name, name) for name in fields}


def tracked_save(instance: Tracked, save: Callable[..., None], *args: Any, **kwargs: Any) -> None:
    """Save ``instance`` and log it: a create, or an update with the values it replaced.

    The values before come from ``instance._history_before`` when the caller already read them
    under a row lock (``record_update``), else from the row, locked here.
    """
    using = kwargs.get("using") or router.db_for_write(type(instance), instance=instance)
    with _write_and_log(using):
        if instance._state.adding:
            save(*args, **kwargs)
            history_log(instance=instance, action=HistoryEntry.Action.CREATE)
            return
        before = instance.__dict__.pop("_history_before", None)
        if before is None:
            current = (
                type(instance)
                ._base_manager.using(using)
                .select_for_update(no_key=True)
                .filter(pk=instance.pk)
            ).first()
            before = snapshot(current) if current is not None else {}
        save(*args, **kwargs)
        after = snapshot(instance)
        if kwargs.get("update_fields") is not None:
            written = _names(type(instance), kwargs["update_fields"])
            after = {k: v for k, v in after.items() if k in written}
            before = {k: v for k, v in before.items() if k in written}
        history_log(
            instance=instance, action=HistoryEntry.Action.UPDATE, before=before, after=after
        )


def tracked_delete(objs: Any, *, using: str) -> tuple[int, dict[str, int]]:
    """Delete ``objs`` (instances or a QuerySet) with everything they cascade to, logging a
    delete entry per tracked row and leaving a tombstone per record.

    Protected rows stop the whole delete (``ProtectedError``) before anything is written; the
    delete keeps its own savepoint, so a caller that catches that error (``record_delete``
    names the rows in the way) may go on using its transaction.
    """
    with transaction.atomic(using=using):
        collector = Collector(using=using, origin=objs)
        collector.collect(objs)
        doomed = _tracked_rows(collector)
        # Read before the rows go (the collector clears their ids, and a sub-row's owner may
        # go in the same cascade).
        logged = [(row, snapshot(row), _filed_under(row), row.pk) for row in doomed]
        result = collector.delete()
        now = timezone.now()
        user = current_user()
        for row, before, filed_under, pk in logged:
            history_log(
                instance=row,
                action=HistoryEntry.Action.DELETE,
                before=before,
                filed_under=filed_under,
                object_id=pk,
            )
            if isinstance(row, Record):
                Tombstone.objects.using(using).create(
                    code=row.code,
                    kind=row.kind,
                    record_id=pk,
                    deleted_at=now,
                    deleted_by=user.get_username() if user else "system",
                )
        return result


def _filed_under(row: models.Model) -> tuple[Any, str]:
    owner = history_owner(row)
    return (owner.pk, owner.code) if owner is not None else (None, "")


def _tracked_rows(collector: Collector) -> list[Tracked]:
    """Every tracked row the collector will delete, once each: a cell, not also its ``Record``
    part; rows the collector would delete in bulk (fast deletes) are read first."""
    rows: list[Any] = []
    for model, instances in collector.data.items():
        if issubclass(model, Tracked):
            rows.extend(instances)
    for qs in collector.fast_deletes:
        if issubclass(qs.model, Tracked):
            rows.extend(qs)
    covered = {(parent, row.pk) for row in rows for parent in type(row)._meta.get_parent_list()}
    return sorted(
        (row for row in rows if (type(row), row.pk) not in covered),
        key=lambda row: (type(row)._meta.label, row.pk),
    )


def tracked_update(qs: TrackedQuerySet, values: dict[str, Any]) -> int:
    """``QuerySet.update()`` that logs each row it changed, with before and after."""
    with _write_and_log(qs.db):
        rows = list(qs.select_for_update(no_key=True))
        before = {row.pk: snapshot(row) for row in rows}
        count = qs._plain().filter(pk__in=list(before)).update(**values)
        old = {row.pk: row for row in rows}
        for row in qs._plain().filter(pk__in=list(before)):
            _reuse_related(old[row.pk], row)
            history_log(instance=row, action=HistoryEntry.Action.UPDATE, before=before[row.pk])
        return count


def _reuse_related(old: models.Model, new: models.Model) -> None:
    """Give ``new`` the related rows ``old`` already loaded (for its snapshot and the record
    its history is filed under) where the key did not change, instead of a query each."""
    for field in new._meta.concrete_fields:
        if (
            isinstance(field, models.ForeignKey)
            and field.is_cached(old)
            and getattr(old, field.attname) == getattr(new, field.attname)
        ):
            field.set_cached_value(new, field.get_cached_value(old))


def tracked_bulk_create(
    qs: TrackedQuerySet, objs: list[Tracked], *args: Any, **kwargs: Any
) -> list[Any]:
    """``bulk_create()`` that logs each row it inserted."""
    if kwargs.get("ignore_conflicts") or kwargs.get("update_conflicts"):
        raise ValueError("bulk_create with conflict handling cannot be audited row by row.")
    with _write_and_log(qs.db):
        created = qs._plain().bulk_create(objs, *args, **kwargs)
        for row in created:
            history_log(instance=row, action=HistoryEntry.Action.CREATE)
        return created


def tracked_bulk_update(
    qs: TrackedQuerySet, objs: list[Tracked], fields: list[str], *args: Any, **kwargs: Any
) -> int:
    """``bulk_update()`` that logs each row whose ``fields`` changed."""
    names = _names(qs.model, fields)
    with _write_and_log(qs.db):
        current = qs._plain().select_for_update(no_key=True).in_bulk([o.pk for o in objs])
        count = qs._plain().bulk_update(objs, fields, *args, **kwargs)
        for obj in objs:
            before = {k: v for k, v in snapshot(current[obj.pk]).items() if k in names}
            after = {k: v for k, v in snapshot(obj).items() if k in names}
            history_log(instance=obj, action=HistoryEntry.Action.UPDATE, before=before, after=after)
        return count


def history_version(instance: models.Model) -> int:
    """The row's version for optimistic locking: how many history entries it has.

    Every audited change adds exactly one entry and the history is append-only, so the count
    only grows, and it needs no version column in any app's table.
    """
    return HistoryEntry.objects.filter(
        model=_model_label(instance), object_id=str(instance.pk)
    ).count()


def history_since(instance: models.Model, version: int) -> models.QuerySet[HistoryEntry]:
    """The row's entries after ``version`` (its first ``version`` entries skipped), oldest
    first: what others changed since an editor opened it at that version."""
    return HistoryEntry.objects.filter(
        model=_model_label(instance), object_id=str(instance.pk)
    ).order_by("id")[version:]


def history_of(*, code: str) -> models.QuerySet[HistoryEntry]:
    """The history of the one record that has (or had) ``code``: its own entries and those of
    its sub-rows, by the record's identity, never merged with another record's."""
    record_id = (
        Record.objects.filter(code=code).values_list("pk", flat=True).first()
        or Tombstone.objects.filter(code=code).values_list("record_id", flat=True).first()
    )
    if record_id is None:
        return HistoryEntry.objects.none()
    return HistoryEntry.objects.filter(record_id=record_id)
