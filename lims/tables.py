"""One small table layer for every list: columns, sorting, paging and exports of a FilterSet.

A domain app declares a :class:`Table` per model in its ``tables.py`` (found at start-up, like
``admin.py``): the queryset (with the joins its columns need), the FilterSet the API uses, and
the columns. The desk list page (:func:`lims.views.object_list`), the API's
``?format=csv|xlsx`` and any report reuse it, so a column means the same thing everywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone
from django_filters import FilterSet

from lims.models import Record

#: Rows fetched per database round trip while an export streams.
EXPORT_CHUNK_ROWS = 2000


@dataclass(frozen=True)
class Column:
    """One column: its header (with the unit), where its value comes from, how it sorts.

    ``value`` is a dotted attribute path (``separator.pellet.batch``; a method at the end is
    called, e.g. ``get_status_display``) or a function of the row. ``sort`` is the ORM
    ordering that sorts by it; columns without one do not sort.
    """

    header: str
    value: str | Callable[[Any], Any]
    sort: str | None = None
    link: bool = False

    def get(self, row: Any) -> Any:
        if callable(self.value):
            return self.value(row)
        current = row
        for part in self.value.split("."):
            if current is None:
                return None
            current = getattr(current, part)
        return current() if callable(current) else current

    def export_value(self, row: Any) -> Any:
        value = self.get(row)
        if isinstance(value, Record):
            return value.code
        if isinstance(value, models.Model):
            return str(value)
        return value

    @property
    def key(self) -> str:
        """The name used in ``?sort=``: the header with underscores for spaces."""
        return self.header.replace(" ", "_")


_registry: dict[type[models.Model], type[Table]] = {}


class Table:
    """A list of one model: subclass it, set ``model``, ``filterset_class`` and ``columns``."""

    model: ClassVar[type[models.Model]]
    filterset_class: ClassVar[type[FilterSet]]
    columns: ClassVar[Sequence[Column]]
    #: Ordering when the request names none.
    default_sort: ClassVar[Sequence[str]] = ("code",)
    #: Page title; the model's plural name when left out.
    title: ClassVar[str] = ""
    #: Rows per desk page.
    per_page: ClassVar[int] = 50

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "model" in cls.__dict__:
            _registry[cls.model] = cls

    @classmethod
    def queryset(cls) -> QuerySet[Any]:
        """The rows with what the columns read joined in; override to add joins."""
        return cls.model._default_manager.all()

    @classmethod
    def heading(cls) -> str:
        return cls.title or str(cls.model._meta.verbose_name_plural).capitalize()

    @classmethod
    def sort_orders(cls) -> dict[str, str]:
        return {c.key: c.sort for c in cls.columns if c.sort}

    @classmethod
    def filtered(cls, params: QueryDict) -> tuple[FilterSet, QuerySet[Any], str]:
        """The FilterSet bound to ``params``, its rows sorted by ``?sort=``, and that sort.

        An invalid filter gives no rows (the form shows what was wrong), never every row.
        """
        filterset = cls.filterset_class(params, queryset=cls.queryset())
        rows = filterset.qs if filterset.is_valid() else cls.queryset().none()
        sort = params.get("sort", "")
        order = cls.sort_orders().get(sort.lstrip("-"))
        if order is None:
            return filterset, rows.order_by(*cls.default_sort), ""
        descending = sort.startswith("-")
        # The primary key breaks ties, so pages never repeat or skip a row.
        return filterset, rows.order_by(f"-{order}" if descending else order, "pk"), sort

    @classmethod
    def header(cls) -> list[str]:
        return [c.header for c in cls.columns]

    @classmethod
    def export_rows(cls, rows: QuerySet[Any]) -> Iterator[list[Any]]:
        return export_rows(rows, cls.columns)

    @classmethod
    def export_name(cls) -> str:
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        return f"{cls.model._meta.model_name}-{stamp}"


def export_rows(rows: QuerySet[Any], columns: Sequence[Column]) -> Iterator[list[Any]]:
    """Values of every row, fetched in chunks so an export of any size stays small.

    When every column reads a stored field (through foreign keys, a record's code, a user's
    name, a choice's label), the rows are fetched as plain tuples of those fields instead of
    model instances: building four instances per row was most of an export's time (see
    bench/reports.py). Otherwise each row is an instance and the columns read it as the pages do.
    """
    lookups = [_lookup(rows, c) for c in columns]
    if all(lookups):
        found = [lookup for lookup in lookups if lookup is not None]
        names = list(dict.fromkeys(name for name, _ in found))
        where = [names.index(name) for name, _ in found]
        plain = [convert for _, convert in found]
        for values in rows.values_list(*names).iterator(chunk_size=EXPORT_CHUNK_ROWS):
            yield [
                convert(values[i]) if convert else values[i]
                for i, convert in zip(where, plain, strict=True)
            ]
        return
    for row in rows.iterator(chunk_size=EXPORT_CHUNK_ROWS):
        yield [c.export_value(row) for c in columns]


def _lookup(rows: QuerySet[Any], column: Column) -> tuple[str, Callable[[Any], Any] | None] | None:
    """The ORM lookup that reads ``column`` of ``rows`` straight from the database, with the
    conversion its value needs; None when only a model instance can tell (a property, a
    method, a function, a related object shown by its ``str``)."""
    if callable(column.value):
        return None
    parts = column.value.split(".")
    if len(parts) == 1 and parts[0] in rows.query.annotations:
        return parts[0], None
    model: Any = rows.model
    path: list[str] = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if last and part.startswith("get_") and part.endswith("_display"):
            try:
                field = model._meta.get_field(part[4:-8])
            except FieldDoesNotExist:
                return None
            labels = {key: str(label) for key, label in field.flatchoices}
            return "__".join([*path, field.name]), lambda v, labels=labels: labels.get(v, v)
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return None
        if not field.is_relation:
            return ("__".join([*path, part]), None) if last else None
        if not (field.many_to_one or field.one_to_one) or field.auto_created:
            return None
        path.append(part)
        model = field.related_model
        if last:
            # export_value shows a record by its code and any other object by its str: a user's
            # str is the user name; other models' are not stored fields.
            if issubclass(model, Record):
                return "__".join([*path, "code"]), None
            if model is get_user_model():
                return "__".join([*path, model.USERNAME_FIELD]), None
            return None
    return None


def default_columns(model: type[models.Model]) -> list[Column]:
    """A column per stored field, for rows no table was declared for (weighings, steps ...)."""
    skip = {"id", "record_ptr", "kind", "label"}
    return [
        Column(f.name, f"get_{f.name}_display" if f.choices else f.name)
        for f in model._meta.concrete_fields
        if f.name not in skip
    ]


@dataclass(frozen=True)
class RelatedExport:
    """A download another app offers beside a list, with the list's filters (e.g. the reports
    app's results table beside the cell list); its URL name takes no arguments."""

    title: str
    url_name: str


_related_exports: dict[type[models.Model], list[RelatedExport]] = {}


def register_related_export(model: type[models.Model], export: RelatedExport) -> None:
    """Offer ``export`` on the list of ``model``: apps above the core call this from their
    ``AppConfig.ready()``, so the core never imports them."""
    exports = _related_exports.setdefault(model, [])
    if export not in exports:
        exports.append(export)


def related_exports(model: type[models.Model]) -> list[RelatedExport]:
    return list(_related_exports.get(model, ()))


def table_for(model: type[models.Model]) -> type[Table] | None:
    """The table registered for ``model`` (or its nearest parent model), if any."""
    for candidate in model.__mro__:
        if candidate in _registry:
            return _registry[candidate]
    return None


def display(value: Any) -> Any:
    """A cell value as a page shows it: local time to the minute, the code of a record."""
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float):
        return f"{value:.4g}"
    return value
