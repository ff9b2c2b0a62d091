"""Point 2: the history is append-only in the database itself, on SQLite and PostgreSQL.

Figure: of the tamper operations tried, 0 succeed, on each database.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from lims.append_only import SQLITE_TRIGGERS, app_role_sql
from lims.models import HistoryEntry, Tombstone

pytestmark = pytest.mark.django_db


def _sql(statement: str) -> Callable[[], None]:
    def run() -> None:
        with connection.cursor() as cursor:
            cursor.execute(statement)

    return run


def _edit_and_save(entry: HistoryEntry) -> None:
    entry.changes = {}
    entry.save()


def _tamper_operations() -> dict[str, Callable[[], None]]:
    entry = HistoryEntry.objects.order_by("id").first()
    assert entry is not None
    return {
        "ORM update of one entry": lambda: HistoryEntry.objects.filter(pk=entry.pk).update(
            username="mallory"
        ),
        "ORM save of an edited entry": lambda: _edit_and_save(entry),
        "ORM delete of one entry": lambda: HistoryEntry.objects.filter(pk=entry.pk).delete(),
        "ORM delete of all entries": lambda: HistoryEntry.objects.all().delete(),
        "SQL UPDATE": _sql("UPDATE lims_historyentry SET object_repr = 'forged'"),
        "SQL UPDATE of the hash": _sql("UPDATE lims_historyentry SET entry_hash = prev_hash"),
        "SQL UPDATE setting a user": _sql(
            "UPDATE lims_historyentry SET user_id = (SELECT MIN(id) FROM auth_user)"
        ),
        "SQL DELETE": _sql("DELETE FROM lims_historyentry"),
        "SQL UPDATE of a tombstone": _sql("UPDATE lims_tombstone SET code = 'LOT-FREE'"),
        "SQL DELETE of a tombstone": _sql("DELETE FROM lims_tombstone"),
    }


def _attempt(operations: dict[str, Callable[[], None]]) -> list[str]:
    succeeded = []
    for name, operation in operations.items():
        try:
            with transaction.atomic():
                operation()
            succeeded.append(name)
        except DatabaseError:
            pass
    return succeeded


def _make_history(user: Any) -> None:
    from lims.services import record_delete
    from tests.factories import build_chain

    chain = build_chain(user=user)
    record_delete(instance=chain.separators[1], user=user)  # leaves a tombstone
    assert Tombstone.objects.exists()


@pytest.fixture
def history(users: Any) -> None:
    _make_history(users["scientist"])


def test_0_of_10_tamper_operations_succeed(history: None) -> None:
    before = list(HistoryEntry.objects.order_by("id").values())
    succeeded = _attempt(_tamper_operations())
    assert not succeeded, f"{len(succeeded)} of 10 tamper operations succeeded: {succeeded}"
    assert list(HistoryEntry.objects.order_by("id").values()) == before


def test_app_role_grants_command_prints_the_grants() -> None:
    from io import StringIO

    out = StringIO()
    call_command("app_role_grants", "lims_app", stdout=out)
    assert (
        "REVOKE UPDATE, DELETE, TRUNCATE ON lims_historyentry, lims_tombstone FROM lims_app;"
        in out.getvalue()
    )
    with pytest.raises(ValueError, match="plain role name"):
        app_role_sql("app; DROP TABLE x")


def test_deleting_a_user_only_clears_the_user_id(make_user: Any) -> None:
    from lims.services import record_delete
    from processing.services import chemical_lot_create

    temp = make_user("scientist", username="temp")
    lot = chemical_lot_create(user=temp, chemical="ZrO2", supplier="Acme", lot_number="Z1")
    lot_pk = lot.pk
    record_delete(instance=lot, user=temp)  # a live record would keep its creator's account
    temp.delete()  # Django sets user_id NULL: the one update the guard lets through
    entries = HistoryEntry.objects.filter(record_id=lot_pk)
    assert {(e.user_id, e.username) for e in entries} == {(None, "temp")}


@pytest.mark.django_db(transaction=True)
def test_flush_keeps_the_guard(history: None, django_user_model: Any) -> None:
    """``flush`` (as the test suite runs it) empties the history and leaves the guard armed."""
    call_command("flush", interactive=False, verbosity=0)
    assert not HistoryEntry.objects.exists()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            assert set(SQLITE_TRIGGERS) <= {row[0] for row in cursor.fetchall()}
    _make_history(django_user_model.objects.create_user(username="after-flush"))
    assert not _attempt(_tamper_operations())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="roles exist on PostgreSQL only")
def test_app_role_0_of_8_tamper_operations_succeed_but_it_can_append(history: None) -> None:
    role = f"lims_app_test_{os.getpid()}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} NOLOGIN")
        for statement in app_role_sql(role):
            cursor.execute(statement)
        cursor.execute(f"SET ROLE {role}")
    try:
        operations = {
            **_tamper_operations(),
            "TRUNCATE": _sql("TRUNCATE lims_historyentry CASCADE"),
            "TRUNCATE of tombstones": _sql("TRUNCATE lims_tombstone"),
            "disable the triggers": _sql("ALTER TABLE lims_historyentry DISABLE TRIGGER USER"),
            "drop a trigger": _sql("DROP TRIGGER lims_history_no_update ON lims_historyentry"),
            "replica mode skips triggers": _sql("SET session_replication_role = replica"),
        }
        succeeded = _attempt(operations)
        assert not succeeded, f"{len(succeeded)} of {len(operations)} succeeded: {succeeded}"
        # ... while the app itself works: it appends, and it edits and deletes records
        from processing.services import chemical_lot_create

        count = HistoryEntry.objects.count()
        chemical_lot_create(user=None, chemical="Ta2O5", supplier="Acme", lot_number="T")
        assert HistoryEntry.objects.count() == count + 1
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
