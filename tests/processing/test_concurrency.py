"""Two operators logging passes on one foil at the same moment, over real parallel connections."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections

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


def test_parallel_passes_get_distinct_consecutive_numbers(users: Any, free_foil: Any) -> None:
    foil = free_foil
    workers, rounds = 4, 5
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def operator_at_the_glovebox(user: Any) -> None:
        try:
            for _ in range(rounds):
                barrier.wait(timeout=10)  # everyone submits at the same moment
                foil_log_pass(
                    user=user, foil=MetalFoil.objects.get(pk=foil.pk), thickness_after_um=100
                )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=operator_at_the_glovebox, args=(users["operator"],))
        for _ in range(workers)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    numbers = sorted(FoldPass.objects.filter(foil=foil).values_list("pass_number", flat=True))
    assert numbers == list(range(1, workers * rounds + 1))


def test_parallel_cells_cannot_share_a_separator(users: Any) -> None:
    from django.core.exceptions import ValidationError

    from cells.models import Cell
    from cells.services import cell_assemble
    from processing.services import electrode_cut
    from tests.factories import build_chain

    chain = build_chain(user=users["scientist"])
    separator = chain.separators[1]
    pieces = [electrode_cut(user=users["scientist"], foil=chain.foil) for _ in range(4)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def assemble(e1: Any, e2: Any) -> None:
        try:
            barrier.wait(timeout=10)
            cell_assemble(
                user=users["operator"], separator=separator, electrode_1=e1, electrode_2=e2
            )
            outcomes.append("built")
        except ValidationError as exc:
            outcomes.append(str(exc))
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=assemble, args=(pieces[0], pieces[1])),
        threading.Thread(target=assemble, args=(pieces[2], pieces[3])),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(o == "built" for o in outcomes) == [False, True]
    assert Cell.objects.filter(separator=separator).count() == 1
