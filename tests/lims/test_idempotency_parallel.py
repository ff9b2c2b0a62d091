"""Idempotency keys under real parallel connections (PostgreSQL)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections

from lims.idempotency import IdempotencyError, idempotency_run
from processing.models import FoldPass, MetalFoil
from processing.services import foil_log_pass

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL's row locks over parallel connections (CI runs it on PostgreSQL)",
    ),
]


def log_pass(user: Any, foil_pk: int) -> tuple[int, Any]:
    fold_pass = foil_log_pass(
        user=user, foil=MetalFoil.objects.get(pk=foil_pk), thickness_after_um=100
    )
    return 201, {"pass_number": fold_pass.pass_number}


def test_the_same_key_sent_at_once_from_many_connections_stores_one_pass(
    users: Any, free_foil: Any
) -> None:
    foil = free_foil
    before = foil.passes.count()
    workers = 6
    barrier = threading.Barrier(workers)
    outcomes: list[Any] = []

    def tablet_retrying() -> None:
        try:
            barrier.wait(timeout=10)
            outcomes.append(
                idempotency_run(
                    user=users["operator"],
                    key="outbox-1",
                    fingerprint="same-body",
                    work=lambda: log_pass(users["operator"], foil.pk),
                )
            )
        except IdempotencyError as exc:
            outcomes.append(exc.status)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=tablet_retrying) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert FoldPass.objects.filter(foil=foil).count() == before + 1
    assert len(outcomes) == workers
    stored = [o for o in outcomes if not isinstance(o, int)]
    assert sum(not o.replayed for o in stored) == 1
    assert all(o.body == {"pass_number": before + 1} for o in stored)
    assert all(o == 409 for o in outcomes if isinstance(o, int))


def test_a_second_attempt_while_the_first_runs_is_409_then_replays(
    users: Any, free_foil: Any
) -> None:
    foil = free_foil
    started, finish = threading.Event(), threading.Event()
    first: list[Any] = []

    def slow_work() -> tuple[int, Any]:
        started.set()
        assert finish.wait(timeout=20)
        return log_pass(users["operator"], foil.pk)

    def first_attempt() -> None:
        try:
            first.append(
                idempotency_run(user=users["operator"], key="slow", fingerprint="f", work=slow_work)
            )
        finally:
            connections.close_all()

    thread = threading.Thread(target=first_attempt)
    thread.start()
    assert started.wait(timeout=20)
    with pytest.raises(IdempotencyError) as in_flight:
        idempotency_run(
            user=users["operator"],
            key="slow",
            fingerprint="f",
            work=lambda: pytest.fail("must not run twice"),
        )
    assert in_flight.value.status == 409
    finish.set()
    thread.join(timeout=60)

    replay = idempotency_run(
        user=users["operator"],
        key="slow",
        fingerprint="f",
        work=lambda: pytest.fail("must not run twice"),
    )
    assert replay.replayed
    assert replay.body == first[0].body
