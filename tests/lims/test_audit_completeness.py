"""Point 1: every tracked model × every write path → exactly one history entry per changed row,
with before and after; an update that changes nothing writes none.

The figure is the number of (model, path) cells walked and the missed and duplicate events over
them, which must both be 0. A model added later joins the walk by inheriting ``lims.Tracked``;
``tests.factories.build_chain`` must then make one of it.
"""

from __future__ import annotations

from collections import Counter
from io import StringIO
from typing import Any

import pytest
from django.db import models, transaction
from django.db.models import ProtectedError

from lims.history import tracked_models
from lims.models import HistoryEntry, Record, Tracked

pytestmark = pytest.mark.django_db

Key = tuple[str, str, str]  # (model label, object id, action)


class Tally:
    """Expected vs. written entries, per (model, path) cell of the walk."""

    def __init__(self) -> None:
        self.cells = 0
        self.missed: list[str] = []
        self.duplicates: list[str] = []

    def check(self, path: str, expected: Counter[Key], since: int) -> list[HistoryEntry]:
        entries = list(HistoryEntry.objects.filter(id__gt=since).order_by("id"))
        written = Counter((e.model, e.object_id, e.action) for e in entries)
        self.cells += 1
        for key in expected.keys() | written.keys():
            if written[key] < expected[key]:
                self.missed.append(f"{path}: {key} written {written[key]}, not {expected[key]}")
            elif written[key] > expected[key]:
                self.duplicates.append(f"{path}: {key} written {written[key]}, not {expected[key]}")
        return entries

    def assert_clean(self) -> None:
        figure = (
            f"{self.cells} model×path cells: {len(self.missed)} missed, "
            f"{len(self.duplicates)} duplicate events"
        )
        assert not self.missed and not self.duplicates, (
            figure + "\n" + "\n".join(self.missed + self.duplicates)
        )
        print(figure)


def _last_id() -> int:
    return HistoryEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _label(row: models.Model) -> str:
    return row._meta.label_lower


def _field_to_change(model: type[models.Model]) -> str:
    """A plain field of the model the walk can change: free text (``notes`` on records) or,
    failing that, a number that is not part of a unique sequence, or a flag (a revision's
    ``is_current``)."""
    in_constraints = {
        name
        for c in model._meta.constraints
        if isinstance(c, models.UniqueConstraint)
        for name in c.fields
    }
    candidates = [
        f
        for f in model._meta.concrete_fields
        if f.editable
        and not f.is_relation
        and not f.unique
        and not f.choices
        and f.name not in in_constraints | {"code", "label", "kind"}
    ]
    for kinds in (
        (models.CharField, models.TextField),
        (models.FloatField, models.DecimalField),
        (models.BooleanField,),
    ):
        for f in candidates:
            if isinstance(f, kinds):
                return f.name
    raise AssertionError(f"{model._meta.label} has no plain field for the walk to change")


def _changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    return f"{value}*" if isinstance(value, str) else (value or 0) + 1


def _snapshot_ids() -> dict[type[Tracked], set[Any]]:
    return {m: set(m.objects.values_list("pk", flat=True)) for m in tracked_models()}


def test_every_model_every_path_0_missed_0_duplicate_events(users: Any, client: Any) -> None:
    from tests.factories import build_chain

    tally = Tally()
    models_ = tracked_models()
    user = users["scientist"]

    # create (services, as the API, admin and imports use them)
    since = _last_id()
    build_chain(user=user)
    rows = {m: list(m.objects.all()) for m in models_}
    empty = [m._meta.label for m, r in rows.items() if not r]
    assert not empty, f"build_chain makes none of {empty}: add them so the walk covers them"
    created = Counter(
        (m._meta.label_lower, str(r.pk), "create") for m, rs in rows.items() for r in rs
    )
    # the chain's analysis run is claimed (running) and finished (done) as it is built
    from analysis.models import AnalysisRun

    lifecycle = Counter(
        {("analysis.analysisrun", str(r.pk), "update"): 2 for r in rows[AnalysisRun]}
    )
    tally.check("create", created + lifecycle, since)

    for model in models_:
        name = _field_to_change(model)
        row = rows[model][0]
        key = (model._meta.label_lower, str(row.pk), "update")

        # instance save, changing one field: one entry with the value before and after
        old = getattr(row, name)
        setattr(row, name, _changed(old))
        since = _last_id()
        row.save()
        entries = tally.check(f"{model.__name__}.save", Counter([key]), since)
        if entries:
            assert list(entries[0].changes) == [name]
            assert entries[0].changes[name][0] != entries[0].changes[name][1]

        # a save that changes nothing
        since = _last_id()
        row.save()
        tally.check(f"{model.__name__}.save (no change)", Counter(), since)

        # QuerySet.update(), then the same value again
        since = _last_id()
        new = _changed(_changed(old))
        model.objects.filter(pk=row.pk).update(**{name: new})
        tally.check(f"{model.__name__}.objects.update", Counter([key]), since)
        since = _last_id()
        model.objects.filter(pk=row.pk).update(**{name: new})
        tally.check(f"{model.__name__}.objects.update (no change)", Counter(), since)

        # bulk_update() of every row of the model
        rows[model] = list(model.objects.filter(pk__in=[r.pk for r in rows[model]]))
        for r in rows[model]:
            setattr(r, name, _changed(getattr(r, name)))
        since = _last_id()
        model.objects.bulk_update(rows[model], [name])
        tally.check(
            f"{model.__name__}.objects.bulk_update",
            Counter((model._meta.label_lower, str(r.pk), "update") for r in rows[model]),
            since,
        )

    # bulk_create: refused outright for kinds of record (multi-table); audited for the rest
    for model in models_:
        row = model.objects.first()
        copy = model(
            **{
                f.attname: getattr(row, f.attname)
                for f in model._meta.concrete_fields
                if not f.primary_key and not getattr(f, "parent_link", False)
            }
        )
        for f in model._meta.concrete_fields:
            if f.unique and isinstance(f, models.CharField) and not f.primary_key:
                setattr(copy, f.attname, f"{getattr(copy, f.attname)} copy")
        since = _last_id()
        if issubclass(model, Record):
            with pytest.raises(ValueError, match="multi-table"), transaction.atomic():
                model.objects.bulk_create([copy])
            tally.check(f"{model.__name__}.objects.bulk_create (refused)", Counter(), since)
            continue
        try:
            with transaction.atomic():
                created = model.objects.bulk_create([copy])
        except Exception:  # a unique sequence number: delete the original first
            row.delete()
            since = _last_id()
            created = model.objects.bulk_create([copy])
        tally.check(
            f"{model.__name__}.objects.bulk_create",
            Counter([(model._meta.label_lower, str(created[0].pk), "create")]),
            since,
        )

    # delete: one chain row by row (instance.delete()), one by QuerySet.delete()
    for path in ("instance.delete", "objects.delete"):
        before = _snapshot_ids()
        build_chain(user=user)
        fresh = {m: _snapshot_ids()[m] - before[m] for m in models_}
        since = _last_id()
        expected = Counter(
            (m._meta.label_lower, str(pk), "delete") for m, pks in fresh.items() for pk in pks
        )
        _delete_everything(fresh, by_instance=path == "instance.delete")
        tally.check(path, expected, since)

    # admin: a change and a delete, through the admin's forms
    client.force_login(users["admin"])
    from processing.models import ChemicalLot

    lot = ChemicalLot.objects.create(
        chemical="Ta2O5", supplier="Acme", lot_number="T1", code="LOT-9001"
    )
    since = _last_id()
    response = client.post(
        f"/admin/processing/chemicallot/{lot.pk}/change/",
        {
            "chemical": "Ta2O5",
            "supplier": "Acme GmbH",
            "lot_number": "T1",
            "notes": "",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    tally.check("admin change", Counter([("processing.chemicallot", str(lot.pk), "update")]), since)
    since = _last_id()
    response = client.post(f"/admin/processing/chemicallot/{lot.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    tally.check("admin delete", Counter([("processing.chemicallot", str(lot.pk), "delete")]), since)

    tally.assert_clean()


def _delete_everything(fresh: dict[type[Tracked], set[Any]], *, by_instance: bool) -> None:
    """Delete the given rows, models in whatever order the protections allow."""
    left = {m: set(pks) for m, pks in fresh.items() if pks}
    while left:
        progress = False
        for model in list(left):
            left[model] &= set(
                model.objects.filter(pk__in=left[model]).values_list("pk", flat=True)
            )
            if not left[model]:
                del left[model]
                continue
            try:
                with transaction.atomic():
                    if by_instance:
                        for row in model.objects.filter(pk__in=left[model]):
                            row.delete()
                    else:
                        model.objects.filter(pk__in=left[model]).delete()
                del left[model]
                progress = True
            except ProtectedError:
                continue
        assert progress or not left, f"cannot delete {[m.__name__ for m in left]}"


def test_import_path_seed_demo_logs_each_row_once_0_missed_0_duplicates() -> None:
    from django.core.management import call_command

    from lims.roles import ensure_roles

    ensure_roles()
    since = _last_id()
    call_command("seed_demo", stdout=StringIO())
    tally = Tally()
    expected = Counter(
        (m._meta.label_lower, str(pk), "create")
        for m in tracked_models()
        for pk in m.objects.values_list("pk", flat=True)
    )
    assert sum(expected.values()) > 50
    tally.check("seed_demo", expected, since)
    tally.assert_clean()
