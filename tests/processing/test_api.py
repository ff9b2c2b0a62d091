"""Materials and processing through the API: the chain, bad input, flags and list query counts."""

from __future__ import annotations

from typing import Any

import pytest

from lims.models import HistoryEntry, Link, Record
from processing.models import FoldPass, Pellet
from processing.services import electrode_cut

pytestmark = pytest.mark.django_db


def test_build_the_llzo_chain_through_the_api(api: Any) -> None:
    client = api("scientist")
    lot = client.post(
        "/api/lots/", {"chemical": "La2O3", "supplier": "Alfa", "lot_number": "A1"}
    ).json()
    furnace = client.post("/api/equipment/", {"equipment_type": "furnace", "name": "Muffle"}).json()
    batch = client.post(
        "/api/batches/",
        {"target_formula": "Li7La3Zr2O12", "batch_size_g": 10, "li_excess_percent": 10},
    ).json()
    assert batch["code"].startswith("LLZO-")
    weighing = client.post(
        "/api/weighings/",
        {"batch": batch["code"], "lot": lot["code"], "target_mass_g": 6.0, "actual_mass_g": 6.03},
    )
    assert weighing.status_code == 201, weighing.json()
    assert weighing.json()["deviation_g"] == pytest.approx(0.03)
    assert weighing.json()["deviation_percent"] == pytest.approx(0.5)
    step = client.post(
        "/api/process-steps/",
        {
            "batch": batch["code"],
            "step_type": "sinter",
            "equipment": furnace["code"],
            "setpoint_C": 1175,
            "dwell_h": 10,
        },
    )
    assert step.status_code == 201 and step.json()["sequence"] == 1
    pellet = client.post(
        "/api/pellets/",
        {"batch": batch["code"], "diameter_mm": 7.0, "thickness_mm": 1.0, "mass_g": 0.2},
    )
    assert pellet.status_code == 201
    number = batch["code"].split("-", 1)[1]
    assert pellet.json()["code"] == f"PEL-{number}-01"
    # ρ = m / (π r² h) = 0.2 g / (π · 0.35² cm² · 0.1 cm)
    assert pellet.json()["geometric_density_g_cm3"] == pytest.approx(
        0.2 / (3.141592653589793 * 0.35**2 * 0.1)
    )
    separator = client.post(
        "/api/separators/", {"pellet": pellet.json()["code"], "thickness_um": 700}
    ).json()
    assert separator["code"] == f"SEP-{number}-01-01"
    assert separator["face_area_cm2"] == pytest.approx(3.141592653589793 * 0.7**2 / 4)

    detail = client.get(f"/api/batches/{batch['code']}/").json()
    assert [w["lot"] for w in detail["weighings"]] == [lot["code"]]
    assert [s["step_type"] for s in detail["steps"]] == ["sinter"]
    trace = client.get(f"/api/trace/{separator['code']}/").json()
    assert {lot["code"], furnace["code"], batch["code"]} <= {n["code"] for n in trace["nodes"]}


def test_duplicate_code_is_a_400_naming_code(api: Any, lab: Any) -> None:
    response = api("scientist").post(
        "/api/pellets/", {"code": lab.pellet.code, "batch": lab.batch.code}
    )
    assert response.status_code == 400
    assert "already exists" in response.json()["code"][0]


def test_a_code_given_by_hand_is_kept_and_generation_skips_it(api: Any, lab: Any) -> None:
    client = api("scientist")
    number = lab.batch.code.split("-", 1)[1]
    taken = f"PEL-{number}-02"  # the next generated code
    assert (
        client.post("/api/pellets/", {"code": taken, "batch": lab.batch.code}).json()["code"]
        == taken
    )
    assert (
        client.post("/api/pellets/", {"batch": lab.batch.code}).json()["code"] == f"PEL-{number}-03"
    )


def test_code_cannot_change(api: Any, lab: Any, if_match: Any) -> None:
    client, url = api("scientist"), f"/api/pellets/{lab.pellet.code}/"
    response = client.patch(url, {"code": "PEL-X"}, **if_match(client, url))
    assert response.status_code == 400 and "code" in response.json()


@pytest.mark.parametrize(
    ("url", "payload", "field"),
    [
        ("/api/pellets/", {"thickness_mm": -1.2, "diameter_mm": 7}, "thickness_mm"),
        ("/api/pellets/", {"mass_g": -0.1}, "mass_g"),
        ("/api/pellets/", {"mass_g": "heavy"}, "mass_g"),
        ("/api/separators/", {"thickness_um": 0}, "thickness_um"),
        ("/api/batches/", {"target_formula": "LLZO", "batch_size_g": -5}, "batch_size_g"),
        (
            "/api/lots/",
            {"chemical": "Li", "supplier": "A", "lot_number": "1", "purity_percent": "101"},
            "purity_percent",
        ),
    ],
)
def test_negative_or_impossible_values_are_400_naming_the_field(
    api: Any, lab: Any, url: str, payload: dict[str, Any], field: str
) -> None:
    payload = {**payload}
    if url == "/api/pellets/":
        payload["batch"] = lab.batch.code
    if url == "/api/separators/":
        payload["pellet"] = lab.pellet.code
    records, history = Record.objects.count(), HistoryEntry.objects.count()
    response = api("scientist").post(url, payload)
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert (Record.objects.count(), HistoryEntry.objects.count()) == (records, history)


def test_a_missing_field_and_a_parent_that_does_not_exist(api: Any) -> None:
    client = api("scientist")
    missing = client.post("/api/batches/", {"batch_size_g": 10})
    assert missing.status_code == 400 and "target_formula" in missing.json()
    orphan = client.post("/api/pellets/", {"batch": "LLZO-9999", "diameter_mm": 7})
    assert orphan.status_code == 400
    assert "LLZO-9999" in orphan.json()["batch"][0]
    assert not Pellet.objects.exists()


def test_fold_passes_are_numbered_from_the_events(api: Any, free_foil: Any) -> None:
    client = api("operator")
    numbers = [
        client.post(
            "/api/fold-passes/", {"foil": free_foil.code, "thickness_after_um": 100}
        ).json()["pass_number"]
        for _ in range(3)
    ]
    assert numbers == [1, 2, 3]
    foil = client.get(f"/api/foils/{free_foil.code}/").json()
    assert foil["pass_count"] == 3


def test_a_pass_number_out_of_order_is_refused(api: Any, free_foil: Any) -> None:
    client = api("operator")
    client.post("/api/fold-passes/", {"foil": free_foil.code, "thickness_after_um": 100})
    for wrong in (1, 3):
        response = client.post(
            "/api/fold-passes/",
            {"foil": free_foil.code, "thickness_after_um": 100, "pass_number": wrong},
        )
        assert response.status_code == 400
        assert "the next pass is 2" in response.json()["pass_number"][0]
    assert (
        client.post(
            "/api/fold-passes/",
            {"foil": free_foil.code, "thickness_after_um": 100, "pass_number": 2},
        ).status_code
        == 201
    )
    assert FoldPass.objects.filter(foil=free_foil).count() == 2


def test_no_pass_on_a_foil_already_in_a_cell(
    api: Any, users: Any, lab: Any, free_foil: Any
) -> None:
    client = api("operator")
    count = FoldPass.objects.count()
    refused = client.post("/api/fold-passes/", {"foil": lab.foil.code, "thickness_after_um": 99})
    assert refused.status_code == 400
    assert refused.json() == {
        "foil": [f"{lab.foil.code} is already in cell {lab.cell.code}: no more passes."]
    }
    # A foil with pieces cut but none in a cell still takes passes.
    electrode_cut(user=users["scientist"], foil=free_foil, diameter_mm=6)
    taken = client.post("/api/fold-passes/", {"foil": free_foil.code, "thickness_after_um": 99})
    assert taken.status_code == 201, taken.json()
    assert FoldPass.objects.count() == count + 1


def test_a_foil_short_of_its_protocol_passes_is_flagged(
    api: Any, free_foil: Any, if_match: Any
) -> None:
    client = api("scientist")
    protocol = client.post(
        "/api/protocols/",
        {
            "name": "Fold x3",
            "step_type": "fold",
            "parameters": {"passes": {"default": 3, "min": 3}},
        },
    )
    assert protocol.status_code == 201, protocol.json()
    url = f"/api/foils/{free_foil.code}/"
    client.post("/api/fold-passes/", {"foil": free_foil.code, "thickness_after_um": 100})
    client.patch(url, {"protocol": "Fold x3"}, format="json", **if_match(client, url))
    foil = client.get(url).json()
    assert (foil["pass_count"], foil["required_passes"], foil["passes_short"]) == (1, 3, True)
    for _ in range(2):
        client.post("/api/fold-passes/", {"foil": free_foil.code, "thickness_after_um": 100})
    assert client.get(url).json()["passes_short"] is False


def test_a_step_outside_its_protocol_range_is_flagged_not_refused(api: Any, lab: Any) -> None:
    client = api("scientist")
    client.post(
        "/api/protocols/",
        {
            "name": "Sinter",
            "step_type": "sinter",
            "parameters": {"setpoint_C": {"default": 1175, "min": 1150, "max": 1200}},
        },
        format="json",
    )
    inside = client.post(
        "/api/process-steps/",
        {"batch": lab.batch.code, "step_type": "sinter", "protocol": "Sinter", "setpoint_C": 1180},
    )
    outside = client.post(
        "/api/process-steps/",
        {"batch": lab.batch.code, "step_type": "sinter", "protocol": "Sinter", "setpoint_C": 1250},
    )
    assert inside.status_code == outside.status_code == 201
    assert inside.json()["flags"] == []
    assert outside.json()["flags"] == ["setpoint_C 1250.0 outside 1150–1200 (Sinter)"]


def test_protocol_ranges_are_validated(api: Any) -> None:
    response = api("scientist").post(
        "/api/protocols/",
        {
            "name": "Bad",
            "step_type": "sinter",
            "parameters": {"setpoint_C": {"min": 1200, "max": 1100}},
        },
        format="json",
    )
    assert response.status_code == 400 and "parameters" in response.json()


def test_a_glovebox_reading_needs_a_glovebox(api: Any, lab: Any) -> None:
    response = api("operator").post(
        "/api/glovebox-readings/", {"glovebox": lab.furnace.code, "o2_ppm": 0.1, "h2o_ppm": 0.1}
    )
    assert response.status_code == 400 and "not a glovebox" in response.json()["glovebox"][0]


def test_a_record_with_children_cannot_be_deleted(api: Any, lab: Any, if_match: Any) -> None:
    client, url = api("scientist"), f"/api/pellets/{lab.pellet.code}/"
    response = client.delete(url, **if_match(client, url))
    assert response.status_code == 400
    assert lab.separators[0].code in str(response.json())
    assert Pellet.objects.filter(pk=lab.pellet.pk).exists()


def test_deleting_an_unused_record_removes_its_links(api: Any, lab: Any, if_match: Any) -> None:
    unused = lab.separators[1]
    assert Link.objects.filter(child=unused).exists()
    client, url = api("scientist"), f"/api/separators/{unused.code}/"
    assert client.delete(url, **if_match(client, url)).status_code == 204
    assert not Link.objects.filter(child_id=unused.pk).exists()


def test_filters(api: Any, lab: Any, users: Any) -> None:
    from tests.factories import build_chain

    other = build_chain(user=users["scientist"])
    client = api("auditor")
    pellets = client.get("/api/pellets/", {"batch": lab.batch.code}).json()
    assert [p["code"] for p in pellets["results"]] == [lab.pellet.code]
    unused = client.get("/api/separators/", {"unused": "true", "batch": other.batch.code}).json()
    assert [s["code"] for s in unused["results"]] == [other.separators[1].code]
    by_code = client.get("/api/records/", {"code_contains": lab.cell.code}).json()
    assert [r["code"] for r in by_code["results"]] == [lab.cell.code]
    mine = client.get("/api/fold-passes/", {"operator": "scientist", "foil": lab.foil.code}).json()
    assert mine["count"] == 1


LISTS = [
    "/api/lots/",
    "/api/equipment/",
    "/api/glovebox-readings/",
    "/api/batches/",
    "/api/weighings/",
    "/api/process-steps/",
    "/api/pellets/",
    "/api/separators/",
    "/api/foils/",
    "/api/fold-passes/",
    "/api/electrodes/",
    "/api/cells/",
    "/api/assembly-steps/",
    "/api/measurements/",
    "/api/records/",
    "/api/protocols/",
    "/api/column-mappings/",
]


def test_lists_do_not_query_per_row(
    api: Any, users: Any, django_assert_max_num_queries: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import build_chain

    client = api("auditor")
    build_chain(user=users["scientist"])
    small = {}
    for url in LISTS:
        with CaptureQueriesContext(connection) as q:
            assert client.get(url).status_code == 200
        small[url] = len(q)
    for _ in range(3):
        build_chain(user=users["scientist"])
    for url in LISTS:
        with CaptureQueriesContext(connection) as q:
            assert client.get(url).json()["count"] > 0
        assert len(q) == small[url], f"{url}: {small[url]} queries with 1 chain, {len(q)} with 4"


def test_a_step_cannot_end_before_it_starts(api: Any, lab: Any) -> None:
    response = api("operator").post(
        "/api/process-steps/",
        {
            "batch": lab.batch.code,
            "step_type": "calcine",
            "started_at": "2026-11-20T10:00:00Z",
            "ended_at": "2026-11-20T09:00:00Z",
        },
    )
    assert response.status_code == 400
    assert response.json()["ended_at"] == ["ended_at cannot be before started_at."]


def test_editing_a_step_recomputes_its_flags(api: Any, lab: Any, if_match: Any) -> None:
    client = api("scientist")
    client.post(
        "/api/protocols/",
        {
            "name": "Calcine",
            "step_type": "calcine",
            "parameters": {"setpoint_C": {"default": 850, "min": 800, "max": 900}},
        },
        format="json",
    )
    step = client.post(
        "/api/process-steps/",
        {"batch": lab.batch.code, "step_type": "calcine", "protocol": "Calcine", "setpoint_C": 950},
    ).json()
    assert step["flags"] == ["setpoint_C 950.0 outside 800–900 (Calcine)"]
    url = f"/api/process-steps/{step['id']}/"
    fixed = client.patch(url, {"setpoint_C": 850}, **if_match(client, url)).json()
    assert fixed["flags"] == []
