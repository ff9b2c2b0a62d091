"""The desk's create and edit pages of every kind: the same services, history, validation and
permissions as the API, units beside numbers, the version carried through an edit, a stale
edit shown with both values instead of overwriting, and a double submit stored once."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import models
from django.urls import resolve

from analysis.models import Measurement
from cells.models import Cell
from lims.history import history_version, snapshot
from lims.models import HistoryEntry, Record
from processing import services as proc
from processing.models import ChemicalLot, ProtocolTemplate
from tests.factories import Chain
from tests.form_html import form_data, form_inputs
from tests.shared_data import require_shared_data

pytestmark = pytest.mark.django_db

_n = itertools.count(1)


def _new_cell(lab: Chain, user: Any) -> dict[str, Any]:
    """Free parts for one more cell, made through the services."""
    separator = proc.separator_create(user=user, pellet=lab.pellet, thickness_um=650)
    pieces = [proc.electrode_cut(user=user, foil=lab.foil, diameter_mm=6) for _ in range(2)]
    return {
        "separator": separator.code,
        "electrode_1": pieces[0].code,
        "electrode_2": pieces[1].code,
        "collector_lot": lab.lots["Ni"].code,
        "cell_type": "LiNa|LLZO|LiNa",
        "housing": "Swagelok",
        "stack_pressure_MPa": 0.2,
        "mask_area_cm2": 0.28,
        "assembled_at": "2025-03-04T11:30:00",
        "glovebox": lab.glovebox.code,
    }


@dataclass(frozen=True)
class Kind:
    """One kind's desk pages: its URL prefix and API list, the values of a new row (fresh
    parts and unique names on every call), and one field an edit changes, with the value the
    page sets and the one a second editor sets in between."""

    prefix: str
    api: str
    values: Callable[[Chain, Any], dict[str, Any]]
    edit: tuple[str, Any, Any]

    @property
    def form_class(self) -> Any:
        return resolve(f"/{self.prefix}/new/").kwargs["form_class"]

    @property
    def model(self) -> type[models.Model]:
        return self.form_class._meta.model  # type: ignore[no-any-return]

    def __str__(self) -> str:
        return self.prefix


KINDS = [
    Kind(
        "lots",
        "/api/lots/",
        lambda lab, user: {
            "chemical": "La2O3",
            "name": "Lanthanum oxide",
            "supplier": "Sigma",
            "lot_number": f"MKCQ-{next(_n)}",
            "purity_percent": "99.99",
            "received_on": "2025-01-10",
            "notes": "dried at 900 °C",
        },
        ("supplier", "Alfa Aesar", "Merck"),
    ),
    Kind(
        "equipment",
        "/api/equipment/",
        lambda lab, user: {
            "equipment_type": "furnace",
            "name": "Nabertherm LHT",
            "serial_number": "N-77",
            "calibration_due_on": "2026-01-31",
        },
        ("location", "Lab 2", "Lab 3"),
    ),
    Kind(
        "protocols",
        "/api/protocols/",
        lambda lab, user: {
            "name": f"Sinter {next(_n)}",
            "step_type": "sinter",
            "description": "Sintering in air",
            "parameters": {"setpoint_C": {"default": 1175, "min": 1150, "max": 1200}},
        },
        ("description", "Sintering in air, MgO crucible", "Sintering in air, Pt foil"),
    ),
    Kind(
        "glovebox-readings",
        "/api/glovebox-readings/",
        lambda lab, user: {
            "glovebox": lab.glovebox.code,
            "measured_at": "2025-03-01T10:00:00",
            "o2_ppm": 0.04,
            "h2o_ppm": 0.02,
        },
        ("o2_ppm", 0.08, 0.09),
    ),
    Kind(
        "batches",
        "/api/batches/",
        lambda lab, user: {
            "target_formula": "Li6.4La3Zr1.4Ta0.6O12",
            "batch_size_g": 12.5,
            "li_excess_percent": 15,
            "started_on": "2025-02-01",
        },
        ("batch_size_g", 20, 25),
    ),
    Kind(
        "pellets",
        "/api/pellets/",
        lambda lab, user: {
            "batch": lab.batch.code,
            "diameter_mm": 12,
            "thickness_mm": 1.5,
            "mass_g": 0.6,
        },
        ("mass_g", 0.61, 0.62),
    ),
    Kind(
        "separators",
        "/api/separators/",
        lambda lab, user: {
            "pellet": lab.pellet.code,
            "thickness_um": 500,
            "polish_grit": 1200,
            "polished_in": "glovebox",
            "polished_at": "2025-03-02T15:45:10",
        },
        ("thickness_um", 480, 470),
    ),
    Kind(
        "foils",
        "/api/foils/",
        lambda lab, user: {
            "foil_type": "lina",
            "li_lot": lab.lots["Li"].code,
            "na_lot": lab.lots["Na"].code,
            "target_na_mol_percent": 5,
            "li_mass_g": 1.2,
            "na_mass_g": 0.2,
            "target_thickness_um": 120,
            "glovebox": lab.glovebox.code,
        },
        ("target_thickness_um", 110, 105),
    ),
    Kind(
        "electrodes",
        "/api/electrodes/",
        lambda lab, user: {"foil": lab.foil.code, "diameter_mm": 6, "mass_mg": 5},
        ("mass_mg", 4.5, 4.2),
    ),
    Kind("cells", "/api/cells/", _new_cell, ("stack_pressure_MPa", 0.3, 0.4)),
    Kind(
        "measurements",
        "/api/measurements/",
        lambda lab, user: {
            "subject": lab.cell.code,
            "measurement_type": "eis",
            "temperature_C": 25,
            "measured_at": "2025-03-05T09:00:00",
            "conditions": {"cycle_number": 1},
        },
        ("temperature_C", 30, 60),
    ),
]


def _as_form(values: dict[str, Any]) -> dict[str, str]:
    return {k: json.dumps(v) if isinstance(v, dict | list) else str(v) for k, v in values.items()}


def _page_post(client: Any, url: str, values: dict[str, Any]) -> Any:
    """Open the form at ``url``, fill in ``values`` and submit it, as a person would."""
    opened = client.get(url)
    assert opened.status_code == 200, (url, opened.status_code)
    data = form_data(opened.content.decode())
    data.update(_as_form(values))
    return client.post(url, data)


def _row_of(kind: Kind, response: Any, values: dict[str, Any]) -> Any:
    """The row a create made: its record page (where the page redirected), or for rows
    without one (protocols), the row of that name."""
    if issubclass(kind.model, Record):
        code = response["Location"].split("/")[2]
        return kind.model._default_manager.get(code=code)
    return kind.model._default_manager.get(name=values["name"])


def _entries(row: Any) -> list[HistoryEntry]:
    label = type(row)._meta.label_lower
    return list(HistoryEntry.objects.filter(model=label, object_id=str(row.pk)).order_by("id"))


def _differing(a: dict[str, Any], b: dict[str, Any]) -> set[str]:
    """Keys whose values differ between two rows' values: codes, unique names, fresh parts."""
    return {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)} | {"code", "label"}


def _row_html(page: str, name: str) -> str:
    """The form row of field ``name``: its label, input, unit, errors and help."""
    for chunk in page.split('<div class="row')[1:]:
        if f'for="id_{name}"' in chunk:
            return chunk
    raise AssertionError(f"no form row for {name}")


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_create_edit_and_stale_edit_through_the_page_match_the_api(
    kind: Kind, client: Any, api: Any, users: Any, lab: Chain, if_match: Any
) -> None:
    scientist = users["scientist"]
    client.force_login(scientist)

    # Create: the page and the API, with the same values, give the same row and history.
    page_values = kind.values(lab, scientist)
    created = _page_post(client, f"/{kind.prefix}/new/", page_values)
    assert created.status_code == 302, created.content.decode()[:3000]
    by_page = _row_of(kind, created, page_values)
    api_values = kind.values(lab, scientist)
    answer = api("scientist").post(kind.api, api_values, format="json")
    assert answer.status_code == 201, answer.json()
    by_api = (
        kind.model._default_manager.get(code=answer.json()["code"])
        if issubclass(kind.model, Record)
        else kind.model._default_manager.get(pk=answer.json()["id"])
    )
    skip = _differing(page_values, api_values)
    page_snap, api_snap = snapshot(by_page), snapshot(by_api)
    assert {k: v for k, v in page_snap.items() if k not in skip} == {
        k: v for k, v in api_snap.items() if k not in skip
    }
    page_log, api_log = _entries(by_page), _entries(by_api)
    assert [(e.action, e.username, sorted(e.changes)) for e in page_log] == [
        (e.action, e.username, sorted(e.changes)) for e in api_log
    ]
    assert page_log[0].action == "create" and page_log[0].username == "scientist"
    for mine, theirs in zip(page_log, api_log, strict=True):
        assert {k: v for k, v in mine.changes.items() if k not in skip} == {
            k: v for k, v in theirs.changes.items() if k not in skip
        }
    if issubclass(kind.model, Record):
        assert created["Location"] == by_page.get_absolute_url()

    # Edit: the page carries the version and writes one entry, like the API's PATCH.
    field, value, other_value = kind.edit
    edit_url = f"/{kind.prefix}/{getattr(by_page, 'code', by_page.pk)}/edit/"
    opened = client.get(edit_url)
    assert opened.status_code == 200
    data = form_data(opened.content.decode())
    version = history_version(by_page)
    assert data["version"] == str(version)
    data[field] = str(value)
    saved = client.post(edit_url, data)
    assert saved.status_code == 302, saved.content.decode()[:3000]
    by_page.refresh_from_db()
    assert history_version(by_page) == version + 1
    api_url = f"{kind.api}{getattr(by_api, 'code', by_api.pk)}/"
    patched = api("scientist").patch(
        api_url, {field: value}, format="json", **if_match(api("scientist"), api_url)
    )
    assert patched.status_code == 200, patched.json()
    page_update, api_update = _entries(by_page)[-1], _entries(by_api)[-1]
    assert page_update.action == api_update.action == "update"
    assert page_update.changes == api_update.changes
    assert list(page_update.changes) == [field]

    # A stale edit: someone saves in between; the page shows both values, overwrites nothing.
    opened = client.get(edit_url)
    data = form_data(opened.content.decode())
    admin = api("admin")
    between = admin.patch(
        f"{kind.api}{getattr(by_page, 'code', by_page.pk)}/",
        {field: other_value},
        format="json",
        **if_match(admin, f"{kind.api}{getattr(by_page, 'code', by_page.pk)}/"),
    )
    assert between.status_code == 200
    current_version = history_version(by_page)
    data[field] = str(value) + ("0" if isinstance(value, str) else "1")
    stale = client.post(edit_url, data)
    assert stale.status_code == 409
    page = stale.content.decode()
    assert "was changed by admin since you opened it" in page
    row = _row_html(page, field)
    assert "invalid" in row.split(">")[0]
    assert f"now {_shown(other_value)}" in row and f"yours is {data[field]}" in row
    assert history_version(by_page) == current_version
    by_page.refresh_from_db()
    assert getattr(by_page, field) == other_value or str(getattr(by_page, field)) == str(
        other_value
    )
    # Seen both: saving the re-shown form (now at the current version) keeps the editor's value.
    again = client.post(edit_url, form_data(page))
    assert again.status_code == 302
    by_page.refresh_from_db()
    assert _shown(getattr(by_page, field)) == _shown(type(value)(data[field]))


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def test_a_field_left_alone_takes_the_other_editors_value(
    client: Any, api: Any, users: Any, lab: Chain, if_match: Any
) -> None:
    client.force_login(users["scientist"])
    url = f"/pellets/{lab.pellet.code}/edit/"
    mine = form_data(client.get(url).content.decode())
    admin, api_url = api("admin"), f"/api/pellets/{lab.pellet.code}/"
    assert admin.patch(api_url, {"mass_g": 0.3}, **if_match(admin, api_url)).status_code == 200
    mine["diameter_mm"] = "7.5"  # the mass stays as it was when the form was opened: 0.24
    stale = client.post(url, mine)
    assert stale.status_code == 409
    page = stale.content.decode()
    assert "the current value (you had not changed it)" in page
    assert "admin" in page  # who changed it in between
    lab.pellet.refresh_from_db()
    assert (lab.pellet.mass_g, lab.pellet.diameter_mm) == (0.3, 7.0)
    # The re-shown form holds the other editor's mass and this editor's diameter.
    shown = form_data(page)
    assert (shown["mass_g"], shown["diameter_mm"]) == ("0.3", "7.5")
    assert client.post(url, shown).status_code == 302
    lab.pellet.refresh_from_db()
    assert (lab.pellet.mass_g, lab.pellet.diameter_mm) == (0.3, 7.5)


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_pages_refuse_whom_the_api_refuses(
    kind: Kind, client: Any, api: Any, users: Any, lab: Chain, if_match: Any
) -> None:
    new_url = f"/{kind.prefix}/new/"
    row = kind.model._default_manager.order_by("pk").first()
    assert row is not None
    key = getattr(row, "code", row.pk)
    edit_url = f"/{kind.prefix}/{key}/edit/"
    refused = 0
    for role in ("operator", "auditor", "scientist"):
        client.force_login(users[role])
        may_create = api(role).post(kind.api, kind.values(lab, users["admin"]), format="json")
        assert may_create.status_code in (201, 403), may_create.content
        if may_create.status_code == 403:
            refused += 1
            assert client.get(new_url).status_code == 403, (role, new_url)
            assert (
                client.post(new_url, _as_form(kind.values(lab, users["admin"]))).status_code == 403
            )
        else:
            assert client.get(new_url).status_code == 200, (role, new_url)
        api_url = f"{kind.api}{key}/"
        may_edit = api(role).patch(api_url, {}, format="json", **if_match(api(role), api_url))
        assert may_edit.status_code in (200, 403)
        page_edit = client.get(edit_url).status_code
        assert (page_edit == 403) == (may_edit.status_code == 403), (role, edit_url, page_edit)
        if may_edit.status_code == 403:
            before = history_version(row)
            assert client.post(edit_url, {"version": before}).status_code == 403
            assert history_version(row) == before
    assert refused >= 1  # the auditor at least


def test_service_validation_errors_show_next_to_their_field_as_the_api_words_them(
    client: Any, api: Any, users: Any, lab: Chain
) -> None:
    client.force_login(users["scientist"])
    cases = [
        # The service finds the separator taken; the API answers with the same words.
        (
            "cells",
            "/api/cells/",
            {**_new_cell(lab, users["scientist"]), "separator": lab.separators[0].code},
            "separator",
        ),
        # A database constraint, reported by the model's validation.
        (
            "lots",
            "/api/lots/",
            {"chemical": "ZrO2", "supplier": "A", "lot_number": "Z-1", "purity_percent": "150"},
            "purity_percent",
        ),
        # A typed code of another kind, refused by the code service.
        (
            "lots",
            "/api/lots/",
            {"code": "CELL-9999", "chemical": "ZrO2", "supplier": "A", "lot_number": "Z-2"},
            "code",
        ),
        (
            "protocols",
            "/api/protocols/",
            {
                "name": "Bad",
                "step_type": "sinter",
                "parameters": {"setpoint_C": {"min": 1200, "max": 1100}},
            },
            "parameters",
        ),
        (
            "measurements",
            "/api/measurements/",
            {"subject": lab.cell.code, "measurement_type": "eis", "conditions": [1, 2]},
            "conditions",
        ),
    ]
    for prefix, api_url, values, field in cases:
        before = HistoryEntry.objects.count()
        refused = _page_post(client, f"/{prefix}/new/", values)
        assert refused.status_code == 400, (prefix, field)
        assert HistoryEntry.objects.count() == before, "nothing is written"
        answer = api("scientist").post(api_url, values, format="json")
        assert answer.status_code == 400
        message = answer.json()[field][0]
        row = _row_html(refused.content.decode(), field)
        assert "invalid" in row.split(">")[0], field
        assert message.replace("'", "&#x27;").replace('"', "&quot;") in row, (field, message, row)
        assert ChemicalLot.objects.filter(lot_number__startswith="Z-").count() == 0
    assert not ProtocolTemplate.objects.filter(name="Bad").exists()


def test_unknown_code_is_named_next_to_its_field(client: Any, users: Any, lab: Chain) -> None:
    client.force_login(users["scientist"])
    refused = _page_post(client, "/pellets/new/", {"batch": "LLZO-9999", "mass_g": 0.5})
    assert refused.status_code == 400
    assert "No synthesis batch has the code “LLZO-9999”." in _row_html(
        refused.content.decode(), "batch"
    )


def test_a_double_submit_stores_one_row(client: Any, users: Any, lab: Chain) -> None:
    client.force_login(users["scientist"])
    opened = form_data(client.get("/lots/new/").content.decode())
    assert len(opened["idempotency_key"]) == 32
    opened.update(_as_form({"chemical": "ZrO2", "supplier": "Acme", "lot_number": "D-1"}))
    first = client.post("/lots/new/", opened)
    second = client.post("/lots/new/", opened)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert ChemicalLot.objects.filter(lot_number="D-1").count() == 1
    assert "was already saved" in client.get(second["Location"]).content.decode()
    # The same opened form sent with other values is refused, not stored as a second lot.
    opened["lot_number"] = "D-2"
    other = client.post("/lots/new/", opened)
    assert other.status_code == 422
    assert "already used for a different request" in other.content.decode()
    assert not ChemicalLot.objects.filter(lot_number="D-2").exists()


def test_new_and_edit_links_only_for_those_allowed(client: Any, users: Any, lab: Chain) -> None:
    expected = {
        # role: (New on /lots/, New on /cells/, Edit on a cell, Edit on the protocol list)
        "scientist": (True, True, True, True),
        "operator": (False, True, False, False),
        "auditor": (False, False, False, False),
    }
    protocol = ProtocolTemplate.objects.order_by("pk").first()
    assert protocol is not None
    for role, (new_lot, new_cell, edit_cell, edit_protocol) in expected.items():
        client.force_login(users[role])
        assert ('href="/lots/new/"' in client.get("/lots/").content.decode()) == new_lot, role
        assert ('href="/cells/new/"' in client.get("/cells/").content.decode()) == new_cell, role
        page = client.get(lab.cell.get_absolute_url()).content.decode()
        assert (f'href="/cells/{lab.cell.code}/edit/"' in page) == edit_cell, role
        protocols = client.get("/protocols/").content.decode()
        assert (f'href="/protocols/{protocol.pk}/edit/"' in protocols) == edit_protocol, role


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_every_number_shows_its_unit_and_dates_get_pickers(
    kind: Kind, client: Any, users: Any, lab: Chain
) -> None:
    client.force_login(users["admin"])
    page = client.get(f"/{kind.prefix}/new/").content.decode()
    inputs = form_inputs(page)
    numbers = [i["name"] for i in inputs if i.get("type") == "number"]
    units = dict(
        re.findall(r'<input type="number" name="(\w+)"[^>]*><span class="unit">([^<]*)<', page)
    )
    assert set(units) == set(numbers)
    assert all(units.values()), units
    model = kind.model
    for i in inputs:
        try:
            field = model._meta.get_field(i["name"])
        except Exception:
            continue
        if isinstance(field, models.DateTimeField):
            assert i["type"] == "datetime-local", i
        elif isinstance(field, models.DateField):
            assert i["type"] == "date", i
    # Rows with numbers from the model all reach the page with a unit.
    numeric = {
        f.name
        for f in model._meta.concrete_fields
        if isinstance(f, models.FloatField | models.IntegerField | models.DecimalField)
        and f.name in kind.form_class._meta.fields
    }
    assert numeric <= set(units), numeric - set(units)


def test_units_of_the_lab(client: Any, users: Any, lab: Chain) -> None:
    client.force_login(users["admin"])
    page = client.get("/cells/new/").content.decode()
    assert 'name="stack_pressure_MPa"' in page and '<span class="unit">MPa</span>' in page
    assert '<span class="unit">cm²</span>' in page
    page = client.get("/separators/new/").content.decode()
    assert '<span class="unit">µm</span>' in page and '<span class="unit">grit</span>' in page
    page = client.get("/foils/new/").content.decode()
    assert '<span class="unit">mol %</span>' in page


def test_a_measurement_with_its_raw_file_from_the_page(
    client: Any, users: Any, lab: Chain, django_capture_on_commit_callbacks: Any
) -> None:
    path = require_shared_data("eis", "exampleDataBioLogic.mpt")
    client.force_login(users["operator"])
    data = form_data(client.get("/measurements/new/").content.decode())
    data.update({"subject": lab.cell.code, "measurement_type": "eis", "temperature_C": "25"})
    with path.open("rb") as raw, django_capture_on_commit_callbacks(execute=True):
        created = client.post("/measurements/new/", {**data, "upload": raw})
    assert created.status_code == 302
    measurement = Measurement.objects.get(code=created["Location"].split("/")[2])
    assert measurement.raw_file is not None
    assert measurement.raw_file.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    run = measurement.runs.get()
    assert run.status == "done" and run.requested_by == users["operator"]
    assert measurement.operator == users["operator"] and measurement.subject_id == lab.cell.pk


def test_cell_status_is_edited_not_created(client: Any, users: Any, lab: Chain) -> None:
    client.force_login(users["scientist"])
    new_form = form_data(client.get("/cells/new/").content.decode())
    assert "status" not in new_form and "separator" in new_form
    url = f"/cells/{lab.cell.code}/edit/"
    data = form_data(client.get(url).content.decode())
    assert "separator" not in data and data["status"] == "assembled"
    data["status"] = "on_test"
    assert client.post(url, data).status_code == 302
    assert Cell.objects.get(pk=lab.cell.pk).status == "on_test"
