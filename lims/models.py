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


class Record(models.Model):
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
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
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


class OwnedRow(models.Model):
    """A row that belongs to one record and has no code of its own: a weighing of a batch, a
    fold pass of a foil, an assembly step of a cell. Its history is filed under the owner's
    code and it may add lineage parents to its owner (a step's furnace, a pass's glovebox reading).
    """

    #: Name of the foreign key to the owning record.
    owner_field: ClassVar[str]

    class Meta:
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
    """One create, update or delete of any row, with who, when and the field values.

    Written explicitly by the services that make a change (never by signals), so imports,
    scripts and API calls are all recorded alike. Nothing in the application updates or deletes
    these rows, and database triggers refuse it (see migration ``0002_history_append_only``).
    ``record_code`` is plain text, not a foreign key, so history outlives a deleted record; for
    a sub-row (a weighing, a fold pass) it is the code of the record the row belongs to.
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
    record_code = models.CharField(max_length=CODE_MAX_LENGTH, db_index=True)
    object_repr = models.CharField(max_length=200)
    changes = models.JSONField(default=dict, help_text="{field: [old, new]}")
    request_id = models.CharField(max_length=64, blank=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "history entries"
        indexes = [models.Index(fields=["record_code", "-at"], name="history_code_at_idx")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action} {self.object_repr}"


def _stored_file_path(instance: StoredFile, filename: str) -> str:
    # Content-addressed: the path is the checksum, so a stored file is never overwritten.
    return f"raw/{instance.sha256[:2]}/{instance.sha256}"


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
