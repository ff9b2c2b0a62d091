"""The shared core every domain record stands on: identity, lineage, history and raw files."""

from __future__ import annotations

import functools
from typing import Any, ClassVar

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, models
from django.db.models import F, Q

CODE_MAX_LENGTH = 40


class TrackedQuerySet(models.QuerySet):
    """The bulk paths of a tracked model, each audited row by row (see ``lims.history``).

    ``update()``, ``delete()``, ``bulk_create()`` and ``bulk_update()`` write one history entry
    per changed row, with before and after, exactly like a service edit; nothing can change a
    tracked row through the ORM without leaving an entry.
    """

    def update(self, **kwargs: Any) -> int:
        from lims.history import tracked_update

        return tracked_update(self, kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        from lims.history import tracked_delete

        if self.query.is_sliced:
            raise TypeError("Cannot use 'limit' or 'offset' with delete().")
        return tracked_delete(self.all(), using=self.db)

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[Any]:
        from lims.history import tracked_bulk_create

        return tracked_bulk_create(self, list(objs), *args, **kwargs)

    def bulk_update(self, objs: Any, fields: Any, *args: Any, **kwargs: Any) -> int:
        from lims.history import tracked_bulk_update

        return tracked_bulk_update(self, list(objs), list(fields), *args, **kwargs)

    def _plain(self) -> models.QuerySet[Any]:
        """The same rows through Django's own QuerySet, for the audited paths themselves."""
        return models.QuerySet(self.model, using=self.db)


class Tracked(models.Model):
    """Base of every model whose rows are audited: inherit it and every write path is covered.

    ``save()`` and ``delete()`` of an instance and the bulk paths of its QuerySet
    (:class:`TrackedQuerySet`) write exactly one :class:`HistoryEntry` per changed row, with the
    field values before and after, chained into the tamper-evident history; an update that
    changes nothing writes nothing. The acting user comes from ``lims.context.acting_as``, which
    the services set. The row's version (optimistic locking) is the number of its entries.
    """

    objects = TrackedQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        from lims.history import tracked_save

        tracked_save(self, super().save, *args, **kwargs)

    def delete(self, using: Any = None, keep_parents: bool = False) -> tuple[int, dict[str, int]]:
        from lims.history import tracked_delete

        if keep_parents:
            raise ValueError("A tracked row is deleted whole (keep_parents is not audited).")
        return tracked_delete([self], using=using or self._state.db or DEFAULT_DB_ALIAS)


class FieldCheckConstraint(models.CheckConstraint):
    """A check constraint whose violation is reported against one field.

    The database enforces it; model validation reports it as ``{field: [message]}`` so an API
    client sees which field was wrong, not a bare non-field error.
    """

    def __init__(self, *, field_name: str, **kwargs: Any) -> None:
        self.field_name = field_name
        super().__init__(**kwargs)

    def validate(
        self, model: Any, instance: Any, exclude: Any = None, using: str = DEFAULT_DB_ALIAS
    ) -> None:
        try:
            super().validate(model, instance, exclude=exclude, using=using)
        except ValidationError as exc:
            raise ValidationError({self.field_name: exc.messages}) from exc

    def deconstruct(self) -> Any:
        path, args, kwargs = super().deconstruct()
        kwargs["field_name"] = self.field_name
        return path, args, kwargs

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, FieldCheckConstraint)
            and self.field_name == other.field_name
            and super().__eq__(other)
        )


def positive_check(field: str, *, allow_zero: bool = False) -> FieldCheckConstraint:
    """The database refuses a negative (or zero) ``field``; empty stays allowed."""
    condition = Q(**{f"{field}__gte": 0}) if allow_zero else Q(**{f"{field}__gt": 0})
    return FieldCheckConstraint(
        field_name=field,
        condition=condition | Q(**{f"{field}__isnull": True}),
        name=f"%(app_label)s_%(class)s_{field}_positive",
        violation_error_message=f"{field} must be {'zero or more' if allow_zero else 'positive'}.",
    )


class Record(Tracked):
    """Anything the lab tracks by a code: a lot, a batch, a pellet, a foil, a cell, a measurement.

    Concrete base of every domain record (multi-table inheritance), so that one table holds every
    code and lineage edges can join any record to any other. ``code`` is what people type, scan
    and print (``LLZO-0007``, ``PEL-0007-03``, ``CELL-0031``); it is unique across all kinds.
    ``kind`` names the concrete model in the lab's words and ``label`` is a one-line description
    kept by the services, so a trace can show nodes without touching the per-kind tables.
    """

    #: Prefix for generated codes; each subclass sets its own.
    code_prefix: ClassVar[str] = "REC"
    #: Digits of the running number in generated codes.
    code_digits: ClassVar[int] = 4

    code = models.CharField(max_length=CODE_MAX_LENGTH, unique=True)
    kind = models.CharField(max_length=40, db_index=True, editable=False)
    label = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    # PROTECT: clearing it on a user's deletion would change the record with no history entry
    # (the collector's bulk update bypasses it); accounts of people who made records are
    # deactivated instead, as Part 11 expects.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(code=""),
                name="record_code_not_empty",
                violation_error_message="A record needs a code.",
            )
        ]

    def __str__(self) -> str:
        return self.code

    def get_absolute_url(self) -> str:
        return f"/r/{self.code}/"

    def concrete(self) -> Record:
        """The most specific object behind this row (a ``Cell``, not its ``Record`` part)."""
        model = record_model(self.kind)
        if model is None or isinstance(self, model):
            return self
        return model.objects.get(pk=self.pk)

    def describe(self) -> str:
        """The one-line label shown in lists and traces; each kind says what matters about it."""
        return ""

    def refresh_derived(self) -> None:
        """Recompute the stored fields that follow from the others (here: the label)."""
        self.label = self.describe()[:200]

    def lineage_parents(self) -> list[tuple[Record, str]]:
        """The records this one was made from, with the role each played.

        Derived from the record's own foreign keys and sub-rows (weighings, steps ...); the
        lineage service writes them as edges, so the graph never disagrees with the records.
        """
        return []


def not_before_check(later: str, earlier: str, *, name: str) -> FieldCheckConstraint:
    """The database refuses ``later`` before ``earlier`` when both are set."""
    return FieldCheckConstraint(
        field_name=later,
        condition=Q(**{f"{later}__gte": F(earlier)})
        | Q(**{f"{later}__isnull": True})
        | Q(**{f"{earlier}__isnull": True}),
        name=name,
        violation_error_message=f"{later} cannot be before {earlier}.",
    )


def record_ptr(kind: str) -> models.OneToOneField:
    """The link of a concrete record to its ``Record`` row, under a name that cannot clash
    with a field of another record (``Cell.separator`` vs ``Record.separator``)."""
    return models.OneToOneField(
        Record,
        parent_link=True,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name=f"as_{kind}",
    )


@functools.cache
def record_models() -> dict[str, type[Record]]:
    """Every concrete kind of record, by its ``kind``."""
    return {
        m._meta.model_name or "": m
        for m in apps.get_models()
        if issubclass(m, Record) and m is not Record
    }


def record_model(kind: str) -> type[Record] | None:
    return record_models().get(kind)


class OwnedRow(Tracked):
    """A row that belongs to one record and has no code of its own: a weighing of a batch, a
    fold pass of a foil, an assembly step of a cell. Its history is filed under the owner's
    code and it may add lineage parents to its owner (a step's furnace, a pass's glovebox reading).
    """

    #: Name of the foreign key to the owning record.
    owner_field: ClassVar[str]
    #: Part of the owner's own state (a fold pass, an assembly step): changing it may change the
    #: owner's lineage, what its checks read and the state a signature covers, and the record
    #: page lists it. False for rows *about* the owner (its flags, analysis runs, result
    #: revisions), which their app shows itself.
    part_of_owner: ClassVar[bool] = True
    #: Fields the history leaves out (bulky derived data kept in the row itself).
    history_exclude: ClassVar[frozenset[str]] = frozenset()

    class Meta(Tracked.Meta):
        abstract = True

    @property
    def history_owner(self) -> Record:
        owner: Record = getattr(self, self.owner_field)
        return owner

    def refresh_derived(self) -> None:
        """Recompute the stored fields that follow from the others; none by default."""


class Link(models.Model):
    """A lineage edge: ``child`` was made from, or by, ``parent`` in ``role``.

    One generic graph for every kind of record, so a backward or forward trace is one
    recursive query whatever the depth and the kinds on the way.
    """

    parent = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="child_links")
    child = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="parent_links")
    role = models.CharField(max_length=40)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "child", "role"],
                name="link_unique_parent_child_role",
                violation_error_message="This link already exists.",
            ),
            models.CheckConstraint(
                condition=~Q(parent=F("child")),
                name="link_not_to_itself",
                violation_error_message="A record cannot be its own parent.",
            ),
        ]
        indexes = [models.Index(fields=["child", "parent"], name="link_child_parent_idx")]

    def __str__(self) -> str:
        return f"{self.parent_id} -[{self.role}]-> {self.child_id}"


class CodeSequence(models.Model):
    """The last running number handed out under a code prefix (``PEL-0007`` → 3)."""

    prefix = models.CharField(max_length=CODE_MAX_LENGTH, unique=True)
    last_value = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.prefix}: {self.last_value}"


class HistoryEntry(models.Model):
    """One create, update or delete of a tracked row, with who, when and the field values.

    Written by the tracked models themselves (:class:`Tracked`), whichever path made the change,
    so web edits, imports, scripts and bulk updates are recorded alike. The table is append-only
    in the database (``lims.append_only``) and each entry is chained to the one before by
    SHA-256 (``prev_hash``, ``entry_hash``; ``lims.chain``), so an altered, inserted or removed
    entry is found by ``manage.py verify_history``.

    ``record_id`` is the identity of the record the entry is filed under (the row's own, or its
    owner's for a sub-row) and ``record_code`` its code as text: neither is a foreign key, so
    history outlives a deleted record, and ``username`` outlives a deleted user.
    """

    class Action(models.TextChoices):
        CREATE = "create", "created"
        UPDATE = "update", "updated"
        DELETE = "delete", "deleted"

    at = models.DateTimeField(db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=10, choices=Action.choices)
    model = models.CharField(max_length=100, help_text="app_label.model of the changed row")
    object_id = models.CharField(max_length=64)
    record_id = models.BigIntegerField(
        null=True, blank=True, db_index=True, help_text="id of the record it is filed under"
    )
    record_code = models.CharField(max_length=CODE_MAX_LENGTH, db_index=True)
    object_repr = models.CharField(max_length=200)
    changes = models.JSONField(default=dict, help_text="{field: [old, new]}")
    request_id = models.CharField(max_length=64, blank=True, db_index=True)
    prev_hash = models.CharField(max_length=64, help_text="entry_hash of the entry before")
    entry_hash = models.CharField(max_length=64, help_text="SHA-256 of prev_hash and content")

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "history entries"
        indexes = [
            models.Index(fields=["record_code", "-at"], name="history_code_at_idx"),
            models.Index(fields=["model", "object_id"], name="history_model_object_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action} {self.object_repr}"


class Tombstone(models.Model):
    """What is left of a deleted record: its code stays taken and its history findable.

    A code is printed on labels and notebooks, so it must never name a second thing: creating a
    record with a retired code is refused by the services and by a database trigger.
    """

    code = models.CharField(max_length=CODE_MAX_LENGTH, unique=True)
    kind = models.CharField(max_length=40)
    record_id = models.BigIntegerField(unique=True)
    deleted_at = models.DateTimeField()
    deleted_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} ({self.kind}, deleted {self.deleted_at:%Y-%m-%d})"


def _stored_file_path(instance: StoredFile, filename: str) -> str:
    # Content-addressed: the path is the checksum, so a stored file is never overwritten.
    return f"raw/{instance.sha256[:2]}/{instance.sha256}"


class StoredFileManager(models.Manager["StoredFile"]):
    def get_by_natural_key(self, sha256: str) -> StoredFile:
        return self.get(sha256=sha256)


class StoredFile(models.Model):
    """A raw file kept exactly as it arrived, identified by its SHA-256 checksum."""

    sha256 = models.CharField(max_length=64, unique=True)
    file = models.FileField(upload_to=_stored_file_path, editable=False)
    original_name = models.CharField(max_length=255)
    size_bytes = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100, blank=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = StoredFileManager()

    def __str__(self) -> str:
        return f"{self.original_name} ({self.sha256[:12]})"

    def natural_key(self) -> tuple[Any, ...]:
        return (self.sha256,)


class IdempotencyKey(models.Model):
    """One client-chosen ``Idempotency-Key`` of one user, and the first response it got.

    A create sent twice (a retry after a lost response, a tablet's outbox replayed) is stored
    once: the row is claimed before the work starts (``response_status`` empty: in flight) and
    completed in the same transaction as the work, so a key never says "done" for a change that
    rolled back. See ``lims.idempotency``.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "key"],
                name="idempotencykey_unique_user_key",
                violation_error_message="This idempotency key is already used.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.response_status or 'in flight'})"
