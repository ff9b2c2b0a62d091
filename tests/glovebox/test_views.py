"""The bench's pages and writes through Django's test client: validation in an operator's words,
idempotent entries, who/device/clocks recorded, nothing half-saved."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from glovebox import services
from glovebox.models import BenchEntry, Device
from lims.models import HistoryEntry
from processing.models import FoldPass, GloveboxReading

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(users: Any) -> Client:
    client = Client()
    client.force_login(users["operator"])
    return client


def send(
    client: Client, url: str, body: dict[str, Any], key: str | None = None, clock_ms: str = ""
) -> Any:
    headers = {"X-Device-Time": clock_ms} if clock_ms else {}
    if key:
        headers["Idempotency-Key"] = key
    return client.post(url, json.dumps(body), content_type="application/json", headers=headers)


def test_find_opens_a_record_by_its_code_in_any_case(operator: Client, lab: Any) -> None:
    response = operator.get("/bench/find/", {"code": f"  {lab.cell.code.lower()} "})
    assert response.status_code == 302
    assert response["Location"] == f"/bench/r/{lab.cell.code}/"


def test_an_unknown_code_says_so_next_to_the_field(operator: Client, lab: Any) -> None:
    response = operator.get("/bench/find/", {"code": "FOIL-9999"})
    assert response.status_code == 404
    assert "No record has the code “FOIL-9999”" in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()


def test_recent_records_are_one_tap_away(operator: Client, lab: Any, free_foil: Any) -> None:
    operator.get(f"/bench/r/{free_foil.code}/")
    # The tablet renewing its offline copy of a page (after a user switch) is not a visit.
    operator.get(f"/bench/r/{lab.pellet.code}/", headers={"X-Bench-Refresh": "1"})
    page = operator.get("/bench/").content.decode()
    assert f'href="/bench/r/{free_foil.code}/"' in page
    assert f'href="/bench/r/{lab.pellet.code}/"' not in page


def test_every_record_page_shows_its_qr_code(operator: Client, lab: Any) -> None:
    for url in (f"/r/{lab.cell.code}/", f"/bench/r/{lab.cell.code}/"):
        page = operator.get(url).content.decode()
        assert 'class="segno"><title>' in page
        assert f"<title>{lab.cell.code}</title>" in page


def test_a_pass_is_logged_once_per_key_with_device_and_clocks(
    operator: Client, free_foil: Any, users: Any
) -> None:
    secret = "tablet-secret"
    device = Device.objects.create(
        name="Glovebox 1 tablet", secret_sha256=hashlib.sha256(secret.encode()).hexdigest()
    )
    operator.cookies["bench_device"] = secret
    tapped = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=30)
    body = {"thickness_after_um": "98.5", "device_time": tapped.isoformat()}
    url = f"/bench/r/{free_foil.code}/passes/"
    sent_at = str(time.time() * 1000)

    first = send(operator, url, body, key="k1", clock_ms=sent_at)
    again = send(operator, url, body, key="k1", clock_ms=sent_at)

    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert first.json()["count"] == 1
    fold_pass = FoldPass.objects.get(foil=free_foil)
    assert (fold_pass.pass_number, fold_pass.thickness_after_um) == (1, 98.5)
    assert fold_pass.performed_at == tapped  # the device time, not the arrival time
    assert fold_pass.operator == users["operator"]
    assert fold_pass.glovebox_reading == GloveboxReading.objects.filter(
        glovebox=free_foil.glovebox
    ).latest("measured_at")
    entry = BenchEntry.objects.get()
    assert (entry.user, entry.device, entry.device_time) == (users["operator"], device, tapped)
    assert entry.server_time > tapped
    assert abs(entry.clock_offset_s) < 60 and not entry.clock_flagged  # type: ignore[arg-type]
    history = HistoryEntry.objects.get(record_code=free_foil.code, model="processing.foldpass")
    assert history.record_code == free_foil.code and history.request_id == entry.request_id


def test_a_tablet_clock_far_off_is_flagged(operator: Client, free_foil: Any) -> None:
    an_hour_slow = str((time.time() - 3600) * 1000)
    response = send(
        operator,
        f"/bench/r/{free_foil.code}/passes/",
        {"thickness_after_um": "99"},
        clock_ms=an_hour_slow,
    )
    assert response.json()["entry"]["clock_flagged"] is True
    entry = BenchEntry.objects.get()
    assert entry.clock_offset_s == pytest.approx(3600, abs=60)


@pytest.mark.parametrize(
    "thickness, message",
    [
        ("0", "The thickness after the pass must be more than 0."),
        ("-5", "The thickness after the pass must be more than 0."),
        ("thick", "The thickness after the pass must be a number, like 98.5."),
        ("", "Enter the thickness after the pass."),
    ],
)
def test_a_bad_thickness_is_refused_in_words_and_nothing_is_saved(
    operator: Client, free_foil: Any, thickness: str, message: str
) -> None:
    response = send(
        operator, f"/bench/r/{free_foil.code}/passes/", {"thickness_after_um": thickness}, "k"
    )
    assert response.status_code == 400
    assert response.json() == {"errors": {"thickness_after_um": [message]}}
    assert not FoldPass.objects.filter(foil=free_foil).exists()
    assert not BenchEntry.objects.exists()


def test_no_pass_on_a_foil_already_in_a_cell(operator: Client, lab: Any) -> None:
    # The refusal is processing.services.foil_log_pass's (tests/processing/test_api.py has the
    # API's); the bench passes it on in the same words and keeps nothing.
    count = lab.foil.passes.count()
    url = f"/bench/r/{lab.foil.code}/passes/"
    response = send(operator, url, {"thickness_after_um": "99"}, key="late-pass")
    assert response.status_code == 400
    assert response.json() == {
        "errors": {"foil": [f"{lab.foil.code} is already in cell {lab.cell.code}: no more passes."]}
    }
    assert lab.foil.passes.count() == count
    assert not BenchEntry.objects.exists()
    page = operator.get(f"/bench/r/{lab.foil.code}/").content.decode()
    assert f"already in cell {lab.cell.code}: no more passes." in page
    assert "+1 pass" not in page


def test_an_entry_made_by_someone_else_waits_for_them(operator: Client, free_foil: Any) -> None:
    # Signed in as operator since the entry was made by scientist (on the desk, another tab):
    # the tablet keeps it for scientist rather than filing it under operator.
    url = f"/bench/r/{free_foil.code}/passes/"
    body = json.dumps({"thickness_after_um": "99"})
    theirs = operator.post(
        url,
        body,
        content_type="application/json",
        headers={"Idempotency-Key": "k-theirs", "X-Bench-User": "scientist"},
    )
    assert theirs.status_code == 409
    assert theirs.json()["errors"]["__all__"] == [
        "This entry was made by scientist, but the tablet is signed in as operator: "
        "switch to scientist to send it."
    ]
    assert not free_foil.passes.exists() and not BenchEntry.objects.exists()
    mine = operator.post(
        url,
        body,
        content_type="application/json",
        headers={"Idempotency-Key": "k-theirs", "X-Bench-User": "operator"},
    )
    assert mine.status_code == 201 and free_foil.passes.get().operator.username == "operator"


def test_a_step_on_a_record_of_the_wrong_kind_is_404(operator: Client, lab: Any) -> None:
    response = send(operator, f"/bench/r/{lab.cell.code}/passes/", {"thickness_after_um": "99"})
    assert response.status_code == 404


def test_an_auditor_cannot_log(users: Any, free_foil: Any) -> None:
    client = Client()
    client.force_login(users["auditor"])
    response = send(client, f"/bench/r/{free_foil.code}/passes/", {"thickness_after_um": "99"})
    assert response.status_code == 403
    assert "auditor may not log this" in response.json()["errors"]["__all__"][0]
    assert not FoldPass.objects.filter(foil=free_foil).exists()


def test_undo_takes_back_the_last_pass_and_keeps_it_in_the_history(
    operator: Client, free_foil: Any, monkeypatch: Any
) -> None:
    url = f"/bench/r/{free_foil.code}/passes/"
    for n, thickness in enumerate(("120", "110")):
        send(operator, url, {"thickness_after_um": thickness}, key=f"pass-{n}")

    # The tablet names the pass it takes back: here one it logged itself, by its key.
    body = {"pass_key": "pass-1"}
    undo = send(operator, url + "undo/", body, key="undo-1")
    assert undo.status_code == 201
    assert undo.json()["undone"] == 2 and undo.json()["count"] == 1
    assert send(operator, url + "undo/", body, key="undo-1").json() == undo.json()  # replay
    assert list(free_foil.passes.values_list("pass_number", flat=True)) == [1]
    deleted = HistoryEntry.objects.get(model="processing.foldpass", action="delete")
    assert deleted.record_code == free_foil.code
    assert deleted.changes["thickness_after_um"] == [110.0, None]
    assert BenchEntry.objects.filter(action="undo_pass").get().summary == "undo pass 2 (110 µm)"

    # The next pass takes the freed number; an old pass cannot be undone.
    assert send(operator, url, {"thickness_after_um": "105"}).json()["pass_number"] == 2
    monkeypatch.setattr(services, "UNDO_WINDOW", dt.timedelta(0))
    late = send(operator, url + "undo/", {"pass_number": 2, "version": 1})
    assert late.status_code == 400
    assert "ask a scientist" in late.json()["errors"]["undo"][0]
    assert free_foil.passes.count() == 2


def test_a_glovebox_reading_and_its_warnings(operator: Client, lab: Any) -> None:
    url = f"/bench/r/{lab.glovebox.code}/readings/"
    bad = send(operator, url, {"o2_ppm": "low", "h2o_ppm": "0.05"})
    assert bad.json()["errors"] == {"o2_ppm": ["The O2 must be a number, like 98.5."]}

    high = send(operator, url, {"o2_ppm": "0.4", "h2o_ppm": "0.05"})
    assert high.status_code == 201
    assert high.json()["within_target"] is False
    assert "above the 0.1 ppm limit" in high.json()["warning"]
    page = operator.get(f"/bench/r/{lab.glovebox.code}/").content.decode()
    assert "above the 0.1 ppm limit" in page


def test_a_step_warns_without_a_recent_reading(lab: Any) -> None:
    assert services.reading_warning(None).startswith("No glovebox reading yet")
    later = lab.reading.measured_at + dt.timedelta(hours=13)
    assert "13 h old" in services.reading_warning(lab.reading, at=later)
    assert services.reading_warning(lab.reading) == ""


def test_press_and_seal_steps_link_the_latest_reading(operator: Client, lab: Any) -> None:
    lab.cell.glovebox = lab.glovebox
    lab.cell.save(update_fields=["glovebox"])
    url = f"/bench/r/{lab.cell.code}/steps/"
    assert send(operator, url, {"step_type": "press"}).status_code == 201
    assert send(operator, url, {"step_type": "glue"}).json()["errors"]["step_type"]
    step = lab.cell.assembly_steps.order_by("-sequence").first()
    assert (step.step_type, step.glovebox_reading) == ("press", lab.reading)


def test_melt_quench_from_three_taps(operator: Client, lab: Any, users: Any) -> None:
    from processing.services import protocol_create

    protocol = protocol_create(
        user=users["scientist"],
        name="Melt-quench 300 °C",
        step_type="melt_quench",
        parameters={"hold_time_s": {"default": 300, "min": 240, "max": 360}},
    )
    start = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=10)
    times = {
        "started_at": start.isoformat(),
        "ended_at": (start + dt.timedelta(seconds=380)).isoformat(),
        "quenched_at": (start + dt.timedelta(seconds=383.5)).isoformat(),
    }
    url = f"/bench/r/{lab.cell.code}/melt-quench/"
    page = operator.get(url).content.decode()
    assert 'data-hold-s="300"' in page

    backwards = send(
        operator, url, {**times, "setpoint_C": "300", "quenched_at": times["started_at"]}
    )
    assert backwards.json()["errors"] == {"quenched_at": ["The quench cannot be before lift off."]}
    missing = send(operator, url, {"setpoint_C": "300"})
    assert missing.json()["errors"]["started_at"] == ["Tap Start when the hold begins."]

    saved = send(operator, url, {**times, "setpoint_C": "300", "protocol": protocol.pk})
    assert saved.status_code == 201
    step = lab.cell.assembly_steps.get(sequence=saved.json()["sequence"])
    assert (step.hold_time_s, step.time_to_quench_s, step.performed_at) == (380, 3.5, start)
    assert step.flags == [f"hold_time_s 380.0 outside 240–360 ({protocol.name})"]
    assert saved.json()["flags"] == step.flags


def test_undo_refuses_a_pass_that_is_no_longer_the_one_the_page_showed(
    operator: Client, free_foil: Any, users: Any
) -> None:
    from lims.services import record_update

    url = f"/bench/r/{free_foil.code}/passes/"
    for thickness in ("120", "110"):
        logged = send(operator, url, {"thickness_after_um": thickness})
    assert logged.json()["version"] == 1  # what an Undo of this pass carries
    page = operator.get(f"/bench/r/{free_foil.code}/").content.decode()
    assert 'name="pass_number" value="2"' in page and 'name="version" value="1"' in page

    # The page showed pass 1 as the last one; pass 2 was logged since (on another tablet).
    stale = send(operator, url + "undo/", {"pass_number": 1, "version": 1})
    assert stale.status_code == 400
    assert stale.json()["errors"] == {
        "__all__": [
            "You meant pass 1 (120 µm), but the last pass is now pass 2 (110 µm), logged by "
            "operator since. Nothing was undone."
        ]
    }
    assert (stale.json()["pass_number"], stale.json()["version"]) == (2, 1)

    # A scientist corrected pass 2 after the page showed it.
    record_update(
        instance=free_foil.passes.get(pass_number=2),
        data={"thickness_after_um": 111},
        user=users["scientist"],
    )
    corrected = send(operator, url + "undo/", {"pass_number": 2, "version": 1})
    assert corrected.status_code == 400
    message = corrected.json()["errors"]["__all__"][0]
    assert message.startswith("Pass 2 was corrected by scientist at ")
    assert message.endswith(
        " since this page showed it: 110 µm → 111 µm. Nothing was undone: check it, then tap "
        "Undo again if it must still go."
    )
    assert corrected.json()["version"] == 2
    assert free_foil.passes.count() == 2 and not BenchEntry.objects.filter(action="undo_pass")

    never = send(operator, url + "undo/", {"pass_key": "never-sent"})
    assert never.json()["errors"] == {
        "undo": ["That pass never reached the server: nothing to undo."]
    }
    old_page = send(operator, url + "undo/", {})
    assert old_page.json()["errors"] == {
        "__all__": ["This page is out of date: reload it, then tap again."]
    }

    again = send(operator, url + "undo/", {"pass_number": 2, "version": 2})  # having read it
    assert again.status_code == 201 and again.json()["undone"] == 2
    assert free_foil.passes.count() == 1
