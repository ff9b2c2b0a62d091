"""Point 4: history outlives its record and its user; a code is never reused; history is shown
for one record identity, never merged across two."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction

from lims.history import history_of
from lims.models import HistoryEntry, Record, Tombstone
from lims.services import record_delete

pytestmark = pytest.mark.django_db


def _lot_fields() -> dict[str, Any]:
    return {"chemical": "La2O3", "supplier": "Alfa", "lot_number": "L1"}


def test_deleted_cell_code_is_never_reused_0_reuses_of_3_attempts(users: Any, lab: Any) -> None:
    from cells.services import cell_assemble
    from processing.models import ChemicalLot
    from processing.services import chemical_lot_create, electrode_cut

    cell = lab.cell
    code, pk = cell.code, cell.pk
    steps = list(cell.assembly_steps.values_list("pk", flat=True))
    record_delete(instance=lab.measurement, user=users["scientist"])
    record_delete(instance=cell, user=users["scientist"])
    tomb = Tombstone.objects.get(code=code)
    assert (tomb.kind, tomb.record_id, tomb.deleted_by) == ("cell", pk, "scientist")

    reused = 0
    attempts = [
        # a lot typed in with the deleted cell's code: wrong kind
        lambda: chemical_lot_create(user=users["scientist"], code=code, **_lot_fields()),
        # a new cell typed in with the deleted cell's code: retired
        lambda: cell_assemble(
            user=users["scientist"],
            code=code,
            separator=lab.separators[1],
            electrode_1=lab.pieces[2],
            electrode_2=electrode_cut(user=users["scientist"], foil=lab.foil),
        ),
    ]
    messages = []
    for attempt in attempts:
        try:
            with transaction.atomic():
                attempt()
            reused += 1
        except ValidationError as exc:
            messages.append(exc.message_dict["code"][0])
    # the database itself refuses the retired code, whatever the client
    try:
        with transaction.atomic():
            Record.objects.bulk_create([Record(code=code, kind="cell")])
        reused += 1
    except DatabaseError as exc:
        assert "never reused" in str(exc)
    # the generated numbers skip it too
    from lims.codes import code_allocate
    from lims.models import CodeSequence

    CodeSequence.objects.filter(prefix="CELL").update(last_value=int(code.split("-")[1]) - 1)
    assert code_allocate(model=type(cell)) != code
    assert reused == 0, f"{reused} of 3 attempts reused a deleted code"
    assert "A chemical lot code starts with LOT-" in messages[0]
    assert f"{code} belonged to a cell deleted on" in messages[1]
    assert not ChemicalLot.objects.filter(code=code).exists()

    # The deleted cell's history, and its cascaded assembly steps', stays readable by its code.
    entries = list(history_of(code=code).order_by("id"))
    assert [e.action for e in entries if e.model == "cells.cell"] == ["create", "delete"]
    step_deletes = [e for e in entries if e.model == "cells.assemblystep" and e.action == "delete"]
    assert sorted(int(e.object_id) for e in step_deletes) == sorted(steps)
    assert {e.record_id for e in entries} == {pk}


def test_typed_code_must_carry_its_kind_prefix(api: Any) -> None:
    client = api("scientist")
    wrong = client.post("/api/lots/", {**_lot_fields(), "code": "CELL-0999"})
    assert wrong.status_code == 400
    assert "starts with LOT-" in wrong.json()["code"][0]
    right = client.post("/api/lots/", {**_lot_fields(), "code": "LOT-0999"})
    assert right.status_code == 201, right.json()


def test_history_is_shown_for_one_identity_0_entries_merged(users: Any, lab: Any) -> None:
    """Two records filed under one code by old data (before tombstones) are still told apart:
    history goes by the record's identity, not its code text."""
    from processing.services import chemical_lot_create

    lot = chemical_lot_create(user=users["scientist"], **_lot_fields())
    # An entry of another identity that carries the same code text (as legacy data could).
    stranger = HistoryEntry.objects.filter(record_id=lab.cell.pk).first()
    assert stranger is not None
    from lims.chain import chain_append

    forged = HistoryEntry(
        **{
            f.name: getattr(stranger, f.name)
            for f in HistoryEntry._meta.concrete_fields
            if f.name not in {"id", "prev_hash", "entry_hash"}
        }
    )
    forged.record_code = lot.code
    with transaction.atomic():
        chain_append(forged)
    shown = list(history_of(code=lot.code))
    merged = [e for e in shown if e.record_id != lot.pk]
    assert not merged, f"{len(merged)} entries of another record shown in {lot.code}'s history"
    assert [e.action for e in shown] == ["create"]


def test_history_outlives_its_record_and_its_user(api: Any, make_user: Any) -> None:
    from django.test import Client

    from processing.services import chemical_lot_create

    temp = make_user("scientist", username="temp")
    lot = chemical_lot_create(user=temp, **_lot_fields())
    lot_pk = lot.pk
    record_delete(instance=lot, user=temp)
    temp.delete()
    entries = list(HistoryEntry.objects.filter(record_id=lot_pk).order_by("id"))
    assert [(e.action, e.username, e.user_id) for e in entries] == [
        ("create", "temp", None),
        ("delete", "temp", None),
    ]
    shown = api("operator").get(f"/api/history/{lot.code}/").json()["results"]
    assert [(h["action"], h["username"]) for h in shown] == [("delete", "temp"), ("create", "temp")]
    assert Client().get(f"/r/{lot.code}/").status_code in (302, 404)


def test_a_user_who_made_records_is_deactivated_not_deleted(make_user: Any) -> None:
    """Deleting the account would clear ``created_by`` with no history entry (Django's
    collector updates in bulk); the database refuses, and the record keeps its creator."""
    from django.db.models import ProtectedError

    from processing.services import chemical_lot_create

    maker = make_user("scientist", username="maker")
    lot = chemical_lot_create(user=maker, **_lot_fields())
    entries = HistoryEntry.objects.count()
    with pytest.raises(ProtectedError):
        maker.delete()
    maker.is_active = False
    maker.save(update_fields=["is_active"])
    lot.refresh_from_db()
    assert lot.created_by == maker and HistoryEntry.objects.count() == entries
