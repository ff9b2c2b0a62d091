"""The history hash chain: each entry carries SHA-256(previous entry's hash + its own content).

Changing, inserting or removing an entry anywhere breaks the chain from that entry on, so
``verify_history`` finds the first one; printing the head hash every day (``history_anchor``)
and keeping it off-site also catches entries removed from the end or a chain rewritten whole.
Appends are serialized (a transaction-scoped advisory lock on PostgreSQL; SQLite's write lock
already lets one writer at a time), so two writers never chain to the same predecessor.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from lims.models import HistoryEntry

#: ``prev_hash`` of the first entry.
GENESIS = "0" * 64
#: Key of the PostgreSQL advisory lock that serializes appends ("LIMSHIST" in ASCII).
APPEND_LOCK_KEY = 0x4C494D5348495354

#: The fields an entry's hash covers, in this order. ``user_id`` is left out: it is cleared
#: when the user's account is deleted, while ``username`` keeps the name.
HASHED_FIELDS = (
    "at",
    "username",
    "action",
    "model",
    "object_id",
    "record_id",
    "record_code",
    "object_repr",
    "changes",
    "request_id",
)


def canonical(values: dict[str, Any]) -> bytes:
    """The entry's content as canonical JSON: sorted keys, no spaces, UTC microsecond times."""
    content = {name: values[name] for name in HASHED_FIELDS}
    at = content["at"]
    if isinstance(at, dt.datetime):
        content["at"] = at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(prev_hash: str, values: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(values)).hexdigest()


def chain_head() -> tuple[int | None, str]:
    """The id and hash of the last entry (``(None, GENESIS)`` for an empty history)."""
    last = HistoryEntry.objects.order_by("-id").values_list("id", "entry_hash").first()
    return last if last else (None, GENESIS)


def chain_lock() -> None:
    """Take the append lock now, until the transaction commits (PostgreSQL; a no-op on SQLite).

    The first history entry of a transaction takes it anyway. A transaction that writes
    history and then locks rows other writers lock before *their* history (flags a check
    raises and clears) takes it first, so every such writer waits in the same order: without
    this, two checks of one foil deadlocked over the lock and a flag's row.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [APPEND_LOCK_KEY])


def chain_append(entry: HistoryEntry) -> HistoryEntry:
    """Chain ``entry`` to the current head and insert it. Call inside a transaction: on
    PostgreSQL the append lock is held until it commits.

    The first append of a transaction takes the lock and reads the head; later ones chain to
    the entry this transaction appended last (:func:`_held_head`), two statements fewer each,
    which shortens the time the lock is held by every writer that logs several changes.
    """
    prev_hash = _held_head()
    if prev_hash is None:
        chain_lock()
        prev_hash = chain_head()[1]
    entry.prev_hash = prev_hash
    entry.entry_hash = entry_hash(entry.prev_hash, entry.__dict__)
    entry.save(force_insert=True)
    _hold_head(entry.entry_hash)
    return entry


def _hold_head(head_hash: str) -> None:
    """Remember the head this transaction just wrote, with a marker that lives exactly as long
    as the write: an on-commit callback, which Django drops when the transaction or the
    savepoint the entry was written in rolls back, and runs (doing nothing) when it commits."""
    if not connection.in_atomic_block:
        return

    def marker() -> None:
        pass

    transaction.on_commit(marker)
    connection.lims_chain_head = (marker, head_hash)  # type: ignore[attr-defined]


def _held_head() -> str | None:
    """The hash of the entry this transaction appended last, while the append lock is still
    held and that entry is still part of it; else None (read the head under the lock)."""
    held = getattr(connection, "lims_chain_head", None)
    if held is None or not connection.in_atomic_block:
        return None
    marker, head_hash = held
    # run_on_commit holds (savepoint ids, callback, robust) per registered callback; the
    # marker is among the last, so a transaction logging many rows stays linear.
    if any(pending[1] is marker for pending in reversed(connection.run_on_commit)):
        return head_hash
    return None


def chain_link(entries: list[HistoryEntry], prev_hash: str) -> str:
    """Fill in the hashes of ``entries`` (in order) after ``prev_hash``, for a bulk load that
    holds the database to itself (the benchmark); returns the new head hash."""
    for entry in entries:
        entry.prev_hash = prev_hash
        entry.entry_hash = prev_hash = entry_hash(prev_hash, entry.__dict__)
    return prev_hash


@dataclass
class Break:
    """The first place the chain does not hold."""

    entry_id: int
    problem: str  # "altered", "inserted" or "removed before"
    previous_id: int | None = None

    def __str__(self) -> str:
        if self.problem == "altered":
            return (
                f"History entry {self.entry_id} was altered: its content does not match its hash."
            )
        if self.problem == "inserted":
            return (
                f"History entry {self.entry_id} was inserted: the entry after it is chained "
                "to the one before it."
            )
        after = "the start" if self.previous_id is None else f"entry {self.previous_id}"
        return (
            f"History entry {self.entry_id} does not follow {after}: entries between them were "
            f"removed, or {after} was altered and its hash rewritten."
        )


@dataclass
class Verification:
    checked: int
    head_id: int | None
    head_hash: str
    first_break: Break | None


def chain_verify(*, chunk_size: int = 5000) -> Verification:
    """Recompute every hash in id order and report the first break, if any."""
    rows = HistoryEntry.objects.order_by("id").values_list(
        "id", "prev_hash", "entry_hash", *HASHED_FIELDS
    )
    expected_prev, before_prev = GENESIS, None
    previous_id: int | None = None
    checked = 0
    for row in rows.iterator(chunk_size=chunk_size):
        entry_id, prev_hash, stored_hash = row[:3]
        values = dict(zip(HASHED_FIELDS, row[3:], strict=True))
        checked += 1
        if prev_hash != expected_prev:
            # Chained to the entry two back: the one between does not belong there.
            if previous_id is not None and prev_hash == before_prev:
                return Verification(checked, entry_id, stored_hash, Break(previous_id, "inserted"))
            problem = Break(entry_id, "removed before", previous_id)
            return Verification(checked, entry_id, stored_hash, problem)
        if entry_hash(prev_hash, values) != stored_hash:
            return Verification(checked, entry_id, stored_hash, Break(entry_id, "altered"))
        before_prev, expected_prev, previous_id = expected_prev, stored_hash, entry_id
    return Verification(checked, previous_id, expected_prev, None)
