"""Point 3: the SHA-256 chain finds an entry altered, inserted or removed directly in the
database, exactly, and appends stay one chain under parallel writers."""

from __future__ import annotations

import threading
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections

from lims.append_only import install_sql, remove_sql
from lims.chain import GENESIS, chain_verify
from lims.models import HistoryEntry

pytestmark = pytest.mark.django_db


def _as_owner(*statements: tuple[str, list[Any]]) -> None:
    """Run SQL with the append-only guard lifted, as someone with database access could."""
    with connection.cursor() as cursor:
        for statement in remove_sql(connection.vendor):
            cursor.execute(statement)
        for sql, params in statements:
            cursor.execute(sql, params)
        for statement in install_sql(connection.vendor):
            cursor.execute(statement)


def _verify() -> str:
    out = StringIO()
    call_command("verify_history", stdout=out)
    return out.getvalue()


def _ids() -> list[int]:
    return list(HistoryEntry.objects.order_by("id").values_list("id", flat=True))


def test_intact_chain_verifies_and_anchor_prints(lab: Any) -> None:
    ids = _ids()
    assert HistoryEntry.objects.get(pk=ids[0]).prev_hash == GENESIS
    assert f"{len(ids)} history entries verified; head entry {ids[-1]}" in _verify()
    out = StringIO()
    call_command("history_anchor", stdout=out)
    anchor = out.getvalue().split()[1]
    assert anchor == f"{ids[-1]}:{HistoryEntry.objects.get(pk=ids[-1]).entry_hash}"
    out = StringIO()
    call_command("verify_history", "--anchor", anchor, stdout=out)
    assert "1 anchor(s) hold" in out.getvalue()


def test_an_altered_entry_is_found_exactly_1_of_1(lab: Any) -> None:
    ids = _ids()
    target = ids[len(ids) // 2]
    _as_owner(("UPDATE lims_historyentry SET username = %s WHERE id = %s", ["mallory", target]))
    result = chain_verify()
    assert result.first_break is not None
    assert (result.first_break.entry_id, result.first_break.problem) == (target, "altered")
    with pytest.raises(CommandError, match=f"History entry {target} was altered"):
        _verify()


def test_an_altered_entry_with_its_hash_rewritten_is_found_at_the_next(lab: Any) -> None:
    from lims.chain import entry_hash

    ids = _ids()
    target = HistoryEntry.objects.get(pk=ids[3])
    target.object_repr = "forged"
    forged = entry_hash(target.prev_hash, target.__dict__)
    _as_owner(
        (
            "UPDATE lims_historyentry SET object_repr = %s, entry_hash = %s WHERE id = %s",
            ["forged", forged, target.pk],
        )
    )
    brk = chain_verify().first_break
    assert brk is not None and (brk.entry_id, brk.previous_id) == (ids[4], ids[3])
    assert f"entry {ids[3]} was altered and its hash rewritten" in str(brk)


def test_a_removed_entry_is_found_exactly(lab: Any) -> None:
    ids = _ids()
    _as_owner(("DELETE FROM lims_historyentry WHERE id = %s", [ids[5]]))
    brk = chain_verify().first_break
    assert brk is not None
    assert (brk.entry_id, brk.problem, brk.previous_id) == (ids[6], "removed before", ids[4])


def test_an_inserted_entry_is_found_exactly(lab: Any) -> None:
    from lims.chain import entry_hash

    ids = _ids()
    before = HistoryEntry.objects.get(pk=ids[2])
    fake = HistoryEntry.objects.get(pk=ids[3])
    fake.object_repr = "never happened"
    fake.prev_hash = before.entry_hash
    fake.entry_hash = entry_hash(fake.prev_hash, fake.__dict__)
    # Slot it in between entries 2 and 3, moving 3 onwards out of the way (inserting needs no
    # lifting of the guard; moving does).
    later = HistoryEntry.objects.filter(pk__gte=ids[3]).order_by("-id")
    _as_owner(
        *[
            ("UPDATE lims_historyentry SET id = %s WHERE id = %s", [pk + 1000000, pk])
            for pk in later.values_list("id", flat=True)
        ]
    )
    fake.pk = ids[3]
    fake.save(force_insert=True)
    brk = chain_verify().first_break
    assert brk is not None and (brk.entry_id, brk.problem) == (ids[3], "inserted")


def test_a_truncated_tail_is_caught_by_the_anchor(lab: Any) -> None:
    last = HistoryEntry.objects.order_by("-id").first()
    assert last is not None
    _as_owner(("DELETE FROM lims_historyentry WHERE id = %s", [last.pk]))
    assert chain_verify().first_break is None  # the chain alone cannot tell...
    with pytest.raises(CommandError, match=f"Anchor {last.pk}:.* entry is missing"):
        call_command("verify_history", "--anchor", f"{last.pk}:{last.entry_hash}")


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs parallel writers over real connections (CI runs it on PostgreSQL)",
)
def test_parallel_writers_keep_one_chain_0_forks(users: Any) -> None:
    from lims.services import record_update
    from processing.services import chemical_lot_create

    workers, rounds = 6, 8
    # Each writer edits its own lot, so the rows they lock are disjoint: only the chain's
    # append lock keeps their entries in one line.
    lots = [
        chemical_lot_create(
            user=users["scientist"], chemical="ZrO2", supplier="A", lot_number=f"{n}"
        )
        for n in range(workers)
    ]
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(rounds):
                barrier.wait(timeout=20)
                record_update(
                    instance=lots[n], data={"notes": f"edit {i}"}, user=users["scientist"]
                )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    prevs = list(HistoryEntry.objects.values_list("prev_hash", flat=True))
    forks = len(prevs) - len(set(prevs))
    assert forks == 0, f"{forks} entries chained to an already-used predecessor"
    result = chain_verify()
    assert result.first_break is None and result.checked == workers * (rounds + 1)


def _lot(users: Any, n: int) -> Any:
    from processing.services import chemical_lot_create

    return chemical_lot_create(
        user=users["scientist"], chemical="ZrO2", supplier="A", lot_number=f"cache-{n}"
    )


def test_appends_of_one_transaction_read_the_head_once(users: Any) -> None:
    """Later entries of a transaction chain to the one it wrote last: the lock and the head
    are taken once per transaction, not once per entry."""
    from django.db import transaction
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx, transaction.atomic():
        lots = [_lot(users, n) for n in range(3)]
    head_reads = [q for q in ctx.captured_queries if 'FROM "lims_historyentry"' in q["sql"]]
    assert len(lots) == 3 and len(head_reads) == 1, [q["sql"] for q in head_reads]
    assert chain_verify().first_break is None


def test_an_entry_rolled_back_with_its_savepoint_is_not_chained_to(users: Any) -> None:
    from django.db import transaction

    with transaction.atomic():
        _lot(users, 1)
        with pytest.raises(RuntimeError), transaction.atomic():
            _lot(users, 2)
            raise RuntimeError("roll this lot back")
        _lot(users, 3)
    result = chain_verify()
    assert result.first_break is None, str(result.first_break)
    assert HistoryEntry.objects.filter(changes__lot_number__1="cache-3").count() == 1
    assert not HistoryEntry.objects.filter(changes__lot_number__1="cache-2").exists()


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_leaves_no_head_behind(users: Any) -> None:
    """After a whole transaction rolls back, the next one reads the head again."""
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        _lot(users, 1)
        raise RuntimeError("roll the whole transaction back")
    _lot(users, 2)
    result = chain_verify()
    assert result.first_break is None, str(result.first_break)
    assert result.checked == HistoryEntry.objects.count() > 0
