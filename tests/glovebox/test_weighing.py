"""Weighing a synthesis batch at the bench: targets from the formula, deviation flagged."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from analysis.science.composition import precursor_masses
from glovebox import services
from processing.services import batch_create, chemical_lot_create

pytestmark = pytest.mark.django_db


def test_targets_come_from_the_formula_and_a_deviation_is_flagged(lab: Any, users: Any) -> None:
    client = Client()
    client.force_login(users["operator"])
    batch = batch_create(
        user=users["scientist"],
        target_formula="Li7La3Zr2O12",
        batch_size_g=10,
        li_excess_percent=10,
    )
    plans, problem = services.weighing_plan(batch)
    assert problem == ""
    expected = precursor_masses(
        "Li7La3Zr2O12", ["LiOH·H2O", "La2O3", "ZrO2"], 10, excess_percent={"Li": 10}
    )
    # The Li metal lot of the chain supplies Li too, but it is not a synthesis precursor.
    assert {p.chemical: p.target_mass_g for p in plans} == {
        k: round(v, 4) for k, v in expected.items()
    }
    page = client.get(f"/bench/r/{batch.code}/").content.decode()
    assert f'data-target="{round(expected["La2O3"], 4)}"' in page

    url = f"/bench/r/{batch.code}/weighings/"
    la = next(p for p in plans if p.chemical == "La2O3")
    off = la.target_mass_g * 1.02  # type: ignore[operator]
    body = {"lot": la.lot.code, "target_mass_g": la.target_mass_g, "actual_mass_g": str(off)}
    saved = client.post(url, json.dumps(body), content_type="application/json")
    assert saved.status_code == 201
    assert saved.json()["flagged"] is True
    assert saved.json()["deviation_percent"] == pytest.approx(2.0)
    again = client.post(
        url, json.dumps(body | {"device_time": ""}), content_type="application/json"
    )
    assert again.json()["errors"]["__all__"] == ["This lot is already weighed into this batch."]
    zero = client.post(
        url, json.dumps(body | {"actual_mass_g": "0"}), content_type="application/json"
    )
    assert zero.json()["errors"] == {"actual_mass_g": ["The actual mass must be more than 0."]}
    plans, _ = services.weighing_plan(batch)
    assert next(p for p in plans if p.chemical == "La2O3").flagged


def test_a_formula_without_precursors_says_so(lab: Any, users: Any) -> None:
    chemical_lot_create(user=users["scientist"], chemical="Ga2O3", supplier="Acme", lot_number="g1")
    batch = batch_create(
        user=users["scientist"], target_formula="Li6.4Ga0.2La3Zr2O12", batch_size_g=5
    )
    plans, problem = services.weighing_plan(batch)
    assert "Ga2O3" in [p.chemical for p in plans]
    assert problem == ""
    batch = batch_create(user=users["scientist"], target_formula="Li7Nb3O12", batch_size_g=5)
    plans, problem = services.weighing_plan(batch)
    assert problem.startswith("Target masses cannot be worked out")
