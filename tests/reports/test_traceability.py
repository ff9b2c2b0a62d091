"""Trace pages, impact reports and the history of a lineage, checked against the records."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import pytest
from django.db.models import Q

from analysis.models import Measurement
from analysis.services import measurement_create
from cells.models import Cell
from cells.services import cell_assemble
from lims.services import record_update
from processing import services as proc
from tests.factories import build_chain

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_cell(lab: Any, users: Any) -> Cell:
    """A second cell from the lab's batch (its other separator) and a piece of a new foil."""
    sci = users["scientist"]
    foil = proc.foil_create(user=sci, li_lot=lab.lots["Li"])
    cell = cell_assemble(
        user=sci,
        separator=lab.separators[1],
        electrode_1=lab.pieces[2],
        electrode_2=proc.electrode_cut(user=sci, foil=foil),
    )
    measurement_create(user=sci, subject=cell, measurement_type="eis", temperature_C=25)
    measurement_create(user=sci, subject=lab.pellet, measurement_type="density")
    return cell


def _csv(response: Any) -> pd.DataFrame:
    body = b"".join(response.streaming_content)
    return pd.read_csv(io.BytesIO(body), encoding="utf-8-sig", keep_default_na=False)


def test_backward_trace_page_draws_the_genealogy(client: Any, users: Any, lab: Any) -> None:
    client.force_login(users["auditor"])
    page = client.get(f"/trace/{lab.cell.code}/").content.decode()
    for record in (
        lab.separators[0],
        lab.pellet,
        lab.batch,
        lab.lots["La2O3"],
        lab.foil,
        lab.pieces[0],
        lab.reading,
        lab.furnace,
    ):
        assert f'href="/r/{record.code}/"' in page, record.code
    assert (
        "<details open>" in page and "(shown elsewhere in the tree)" in page
    )  # the foil's pieces share it
    assert "<td>chemical lots</td><td>6</td>" in page and "<td>pellet</td><td>1</td>" in page


def test_forward_trace_csv_lists_every_node(client: Any, users: Any, lab: Any) -> None:
    client.force_login(users["auditor"])
    frame = _csv(client.get(f"/trace/{lab.batch.code}/", {"direction": "forward", "format": "csv"}))
    assert set(frame["code"]) == {
        lab.batch.code,
        lab.pellet.code,
        *(s.code for s in lab.separators),
        lab.cell.code,
        lab.measurement.code,
        lab.xrd.code,
    }


def test_trace_of_a_record_without_lineage_and_of_unknown_codes(
    client: Any, users: Any, lab: Any
) -> None:
    client.force_login(users["auditor"])
    lone = proc.chemical_lot_create(
        user=users["scientist"], chemical="Ta2O5", supplier="Acme", lot_number="T1"
    )
    page = client.get(f"/trace/{lone.code}/")
    assert page.status_code == 200 and b"Nothing is recorded upstream of" in page.content
    missing = client.get("/trace/LOT-9999/")
    assert (
        missing.status_code == 404
        and "No record has the code “LOT-9999”" in missing.content.decode()
    )
    sideways = client.get(f"/trace/{lone.code}/", {"direction": "sideways"})
    assert sideways.status_code == 400


@pytest.mark.parametrize("root", ["La2O3", "reading", "furnace"])
def test_impact_report_counts_match_the_records(
    client: Any, users: Any, lab: Any, second_cell: Cell, root: str
) -> None:
    build_chain(user=users["scientist"])  # an unrelated lab chain: never counted
    record = {"reading": lab.reading, "furnace": lab.furnace}.get(root) or lab.lots[root]
    if root == "reading":
        cells_q = (
            Q(assembly_steps__glovebox_reading=record)
            | Q(electrode_1__foil__passes__glovebox_reading=record)
            | Q(electrode_2__foil__passes__glovebox_reading=record)
        )
    elif root == "furnace":
        cells_q = Q(separator__pellet__batch__steps__equipment=record)
    else:
        cells_q = Q(separator__pellet__batch__weighings__lot=record)
    cells = set(Cell.objects.filter(cells_q).values_list("code", flat=True))
    # Measurements on an affected cell, or on what the cells were made from downstream of root.
    upstream = Q(subject__code__in=cells)
    if root != "reading":
        upstream |= Q(subject__as_pellet__batch=lab.batch) | Q(subject=lab.batch)
    else:
        upstream |= Q(subject__as_metalfoil__passes__glovebox_reading=record)
    measurements = set(Measurement.objects.filter(upstream).values_list("code", flat=True))
    assert cells and measurements

    client.force_login(users["auditor"])
    page = client.get(f"/impact/{record.code}/").content.decode()
    assert f"{len(cells)} cell{'s' if len(cells) != 1 else ''}</strong>" in page
    assert (
        f"{len(measurements)} measurement{'s' if len(measurements) != 1 else ''}</strong>" in page
    )
    frame = _csv(client.get(f"/impact/{record.code}/", {"format": "csv"}))
    assert set(frame[frame["kind"] == "cell"]["code"]) == cells
    assert set(frame[frame["kind"] == "measurement"]["code"]) == measurements


def test_impact_report_only_for_lots_equipment_and_readings(
    client: Any, users: Any, lab: Any
) -> None:
    client.force_login(users["auditor"])
    response = client.get(f"/impact/{lab.cell.code}/")
    assert response.status_code == 400
    assert "an impact report starts from a chemical lot" in response.content.decode()


def test_lineage_history_is_in_time_order_and_exports(client: Any, users: Any, lab: Any) -> None:
    record_update(
        instance=lab.lots["La2O3"], data={"notes": "=wet, dried again"}, user=users["admin"]
    )
    client.force_login(users["auditor"])
    page = client.get(f"/history/{lab.cell.code}/").content.decode()
    assert lab.lots["La2O3"].code in page and lab.foil.code in page
    frame = _csv(client.get(f"/history/{lab.cell.code}/", {"format": "csv"}))
    assert list(frame["at"]) == sorted(frame["at"])
    assert {lab.cell.code, lab.batch.code, lab.lots["La2O3"].code, lab.reading.code} <= set(
        frame["record"]
    )
    assert lab.batch.code not in set(
        _csv(client.get(f"/history/{lab.lots['La2O3'].code}/", {"format": "csv"}))["record"]
    )
    last = frame.iloc[-1]
    assert (last["user"], last["changes"]) == ("admin", "notes: '' → '=wet, dried again'")


def test_a_large_trace_draws_the_nearest_records_and_says_so(
    client: Any, users: Any, lab: Any, monkeypatch: Any
) -> None:
    from reports import traceability

    monkeypatch.setattr(traceability, "MAX_TREE_NODES", 5)
    tree = traceability.trace_tree(root=lab.cell, direction="backward")
    assert tree.truncated and tree.drawn == 5 < tree.total
    # Breadth first: the cell's own parents come before anything further up.
    children = tree.root.children
    assert [c.role for c in children] == [
        "atmosphere",
        "current_collector",
        "electrode",
        "electrode",
    ]
    assert not any(c.children for c in children)
    assert sum(n for _, n in tree.counts) == tree.total - 1
    client.force_login(users["auditor"])
    page = client.get(f"/trace/{lab.cell.code}/").content.decode()
    assert f"The tree shows the nearest {tree.drawn} of {tree.total} records" in page
