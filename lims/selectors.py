"""Reads the record page needs: fields, parents, children, sub-rows and history of a code."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import models
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.module_loading import import_string

from lims.models import HistoryEntry, Link, OwnedRow, Record

HIDDEN_FIELDS = {
    "id",
    "record_ptr",
    "kind",
    "label",
    "code",
    "notes",
    "created_at",
    "updated_at",
    "created_by",
}


@dataclass
class FieldRow:
    name: str
    value: Any
    url: str = ""


@dataclass
class SubTable:
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)


@dataclass
class Panel:
    """A section another app adds to the record page or the home page: a template and its
    context; on the home page also a title, how many rows it is about, and where they are all
    listed."""

    template: str
    context: dict[str, Any]
    title: str = ""
    count: int | None = None
    link: str = ""
    #: Across the whole home page rather than one column.
    wide: bool = False


@functools.cache
def panel_providers() -> list[Callable[[HttpRequest, Record], list[Panel]]]:
    """The functions named in ``settings.RECORD_PAGE_PANELS``: each returns the panels its app
    shows on a record's page (the analysis app: flags, results, runs), so the core page
    frame never imports the apps above it."""
    return [import_string(path) for path in settings.RECORD_PAGE_PANELS]


@functools.cache
def home_panel_providers() -> list[Callable[[HttpRequest], list[Panel]]]:
    """The functions named in ``settings.HOME_PANELS``: each returns its app's sections of the
    home page ("what needs me today"), so the core never imports the apps above it."""
    return [import_string(path) for path in settings.HOME_PANELS]


def home_panels(request: HttpRequest) -> list[Panel]:
    return [panel for provider in home_panel_providers() for panel in provider(request)]


#: History entries each list of recent activity shows.
ACTIVITY_ROWS = 12


def activity_panels(request: HttpRequest) -> list[Panel]:
    """Recent activity: the signed-in user's own latest changes, and other people's."""
    user_id: Any = request.user.pk  # pages need a login
    mine = list(HistoryEntry.objects.filter(user_id=user_id)[:ACTIVITY_ROWS])
    # People's changes: the workers' own bookkeeping of runs is left out.
    everyone = list(
        HistoryEntry.objects.exclude(user_id=user_id).exclude(user=None)[:ACTIVITY_ROWS]
    )
    return [
        Panel(
            "lims/home_activity.html",
            {"mine": mine, "everyone": everyone},
            title="Recent activity",
            wide=True,
        )
    ]


@dataclass
class RecordPage:
    record: Record
    fields: list[FieldRow]
    parents: list[Link]
    children: list[Link]
    measurements: list[Link]
    tables: list[SubTable]
    history: list[HistoryEntry]
    panels: list[Panel] = field(default_factory=list)


def _display(instance: models.Model, f: Any) -> FieldRow:
    label = f.name  # the field name carries the unit (thickness_um), so show it as it is
    if f.is_relation:
        related = getattr(instance, f.name)
        url = related.get_absolute_url() if isinstance(related, Record) else ""
        return FieldRow(label, "" if related is None else str(related), url)
    if f.choices:
        return FieldRow(label, getattr(instance, f"get_{f.name}_display")())
    value = getattr(instance, f.attname)
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    return FieldRow(label, "" if value is None else value)


def _sub_tables(record: Record) -> list[SubTable]:
    tables = []
    for rel in record._meta.related_objects:
        model = rel.related_model
        if not rel.one_to_many or not issubclass(model, OwnedRow) or not model.part_of_owner:
            continue
        shown = [
            f for f in model._meta.concrete_fields if f.name != "id" and f.name != rel.field.name
        ]
        relations = [f.name for f in shown if f.is_relation]
        rows = getattr(record, rel.get_accessor_name() or "").select_related(*relations)
        tables.append(
            SubTable(
                title=str(model._meta.verbose_name_plural),
                columns=[f.name for f in shown],
                rows=[[_display(row, f).value for f in shown] for row in rows],
            )
        )
    return tables


def record_page(*, code: str, request: HttpRequest | None = None) -> RecordPage:
    record = get_object_or_404(Record, code=code).concrete()
    panels = (
        [panel for provider in panel_providers() for panel in provider(request, record)]
        if request is not None
        else []
    )
    fields = [
        _display(record, f) for f in record._meta.concrete_fields if f.name not in HIDDEN_FIELDS
    ]
    parents = list(
        Link.objects.filter(child=record).select_related("parent").order_by("role", "parent__code")
    )
    children = list(
        Link.objects.filter(parent=record)
        .select_related("child")
        .order_by("role", "child__code")[:500]
    )
    return RecordPage(
        record=record,
        fields=fields,
        parents=parents,
        children=[c for c in children if c.role != "measurement"],
        measurements=[c for c in children if c.role == "measurement"],
        tables=_sub_tables(record),
        history=list(HistoryEntry.objects.filter(record_id=record.pk)[:200]),
        panels=panels,
    )
