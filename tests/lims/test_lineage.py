"""Lineage: backward and forward traces through the whole chain, in a constant number of queries."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lims.lineage import lineage_trace
from lims.models import Link, Record
from lims.services import record_save_new

pytestmark = pytest.mark.django_db


def codes(trace: Any) -> set[str]:
    return {n["code"] for n in trace.nodes}


def test_backward_trace_of_a_cell_reaches_lots_furnace_glovebox_reading(lab: Any) -> None:
    trace = lineage_trace(root=lab.cell, direction="backward")
    found = codes(trace)
    expected = {
        lab.cell.code,
        lab.separators[0].code,
        lab.pellet.code,
        lab.batch.code,
        lab.foil.code,
        lab.pieces[0].code,
        lab.pieces[1].code,
        lab.furnace.code,
        lab.reading.code,
        lab.glovebox.code,
        *(lot.code for lot in lab.lots.values()),
    }
    assert found == expected
    # Things not used by this cell stay out: the other separator and the unused piece.
    assert lab.separators[1].code not in found
    assert lab.pieces[2].code not in found
    edges = {(e["parent"], e["child"], e["role"]) for e in trace.edges}
    assert (lab.separators[0].code, lab.cell.code, "separator") in edges
    assert (lab.lots["La2O3"].code, lab.batch.code, "precursor") in edges
    assert (lab.furnace.code, lab.batch.code, "sinter") in edges
    assert (lab.reading.code, lab.cell.code, "atmosphere") in edges


def test_forward_trace_of_a_lot_reaches_every_affected_cell_and_result(lab: Any) -> None:
    trace = lineage_trace(root=lab.lots["La2O3"], direction="forward")
    found = codes(trace)
    assert {lab.batch.code, lab.pellet.code, lab.cell.code, lab.measurement.code} <= found
    # The Li lot's foil is not downstream of La2O3.
    assert lab.foil.code not in found
    li_forward = codes(lineage_trace(root=lab.lots["Li"], direction="forward"))
    assert {lab.foil.code, lab.pieces[2].code, lab.cell.code, lab.measurement.code} <= li_forward
    assert lab.batch.code not in li_forward


def _chain(depth: int) -> Record:
    """A straight chain of ``depth`` edges of plain records; returns the deepest one."""
    previous = record_save_new(instance=Record(code=f"REC-D{depth}-0"), user=None)
    for i in range(1, depth + 1):
        current = record_save_new(instance=Record(code=f"REC-D{depth}-{i}"), user=None)
        Link.objects.create(parent=previous, child=current, role="made_from")
        previous = current
    return previous  # type: ignore[return-value]


@pytest.mark.parametrize("depth", [1, 5, 60])
def test_trace_is_one_query_whatever_the_depth(depth: int) -> None:
    leaf = _chain(depth)
    with CaptureQueriesContext(connection) as queries:
        trace = lineage_trace(root=leaf, direction="backward")
    assert len(queries) == 1
    assert len(trace.nodes) == depth + 1
    assert len(trace.edges) == depth
    root = Record.objects.get(code=f"REC-D{depth}-0")
    with CaptureQueriesContext(connection) as queries:
        forward = lineage_trace(root=root, direction="forward")
    assert len(queries) == 1
    assert codes(forward) == {f"REC-D{depth}-{i}" for i in range(depth + 1)}


def test_trace_api_query_count_does_not_grow_with_depth(api: Any) -> None:
    client = api("auditor")
    counts = []
    for depth in (2, 40):
        leaf = _chain(depth)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/api/trace/{leaf.code}/?direction=backward")
        assert response.status_code == 200
        assert len(response.json()["nodes"]) == depth + 1
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_trace_api_shape_and_errors(api: Any, lab: Any) -> None:
    client = api("auditor")
    body = client.get(f"/api/trace/{lab.cell.code}/", {"direction": "backward"}).json()
    assert body["root"] == lab.cell.code
    node = next(n for n in body["nodes"] if n["code"] == lab.pellet.code)
    assert node == {
        "code": lab.pellet.code,
        "kind": "pellet",
        "label": lab.pellet.label,
        "url": f"/r/{lab.pellet.code}/",
    }
    assert {"parent": lab.pellet.code, "child": lab.separators[0].code, "role": "slice"} in body[
        "edges"
    ]
    assert client.get("/api/trace/NOPE-0001/").status_code == 404
    bad = client.get(f"/api/trace/{lab.cell.code}/", {"direction": "sideways"})
    assert bad.status_code == 400 and "direction" in bad.json()


def test_cycles_and_shared_parents_end_the_walk() -> None:
    a, b, c = (
        record_save_new(instance=Record(code=x), user=None) for x in ("REC-A", "REC-B", "REC-C")
    )
    Link.objects.create(parent=a, child=b, role="r")
    Link.objects.create(parent=b, child=c, role="r")
    Link.objects.create(parent=c, child=a, role="r")  # a corrupt cycle must not hang the trace
    trace = lineage_trace(root=a, direction="forward")
    assert codes(trace) == {"REC-A", "REC-B", "REC-C"}
    assert len(trace.edges) == 3


def test_changing_a_weighing_lot_moves_the_lineage_edge(users: Any, lab: Any) -> None:
    from lims.services import record_update
    from processing.services import chemical_lot_create

    new_lot = chemical_lot_create(
        user=users["scientist"], chemical="La2O3", supplier="Other", lot_number="X9"
    )
    weighing = lab.batch.weighings.get(lot=lab.lots["La2O3"])
    record_update(instance=weighing, data={"lot": new_lot}, user=users["scientist"])
    parents = set(
        Link.objects.filter(child=lab.batch, role="precursor").values_list(
            "parent__code", flat=True
        )
    )
    assert new_lot.code in parents
    assert lab.lots["La2O3"].code not in parents


def test_backward_trace_names_everyone_who_made_or_logged_the_parts(
    api: Any, users: Any, lab: Any, free_foil: Any
) -> None:
    from django.contrib.auth import get_user_model

    from cells.services import cell_assemble
    from processing.services import electrode_cut, foil_log_pass

    glovebox_hand = get_user_model().objects.create_user("glovebox-hand")
    foil_log_pass(
        user=users["operator"], foil=free_foil, thickness_after_um=95, operator=glovebox_hand
    )
    pieces = [electrode_cut(user=users["scientist"], foil=free_foil) for _ in range(2)]
    cell = cell_assemble(
        user=users["scientist"],
        separator=lab.separators[1],
        electrode_1=pieces[0],
        electrode_2=pieces[1],
    )
    body = api("auditor").get(f"/api/trace/{cell.code}/").json()
    # Everything was made by the scientist; the pass was logged for glovebox-hand.
    assert body["operators"] == ["glovebox-hand", "scientist"]
    unrelated = lineage_trace(root=lab.pieces[2], direction="forward")
    assert unrelated.operators() == ["scientist"]


def test_trace_api_narrows_to_kinds_and_counts_everything(api: Any, lab: Any) -> None:
    client = api("auditor")
    url = f"/api/trace/{lab.lots['La2O3'].code}/"
    full = client.get(url, {"direction": "forward"}).json()
    narrow = client.get(url, {"direction": "forward", "kinds": "cell,measurement"}).json()
    assert {n["code"] for n in narrow["nodes"]} == {
        lab.lots["La2O3"].code,
        lab.cell.code,
        lab.measurement.code,
        lab.xrd.code,
    }
    assert narrow["edges"] == [
        {"parent": lab.cell.code, "child": lab.measurement.code, "role": "measurement"}
    ]
    assert narrow["counts"] == full["counts"]
    assert full["counts"]["separator"] == 2 and full["counts"]["cell"] == 1
    assert sum(full["counts"].values()) == len(full["nodes"])
    bad = client.get(url, {"kinds": "cell,unicorn"})
    assert bad.status_code == 400 and "unicorn" in bad.json()["kinds"]
