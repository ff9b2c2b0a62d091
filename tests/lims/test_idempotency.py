"""``Idempotency-Key`` on API creates: stored once, replayed, refused when reused or in flight."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.utils import timezone

from lims.models import HistoryEntry, IdempotencyKey
from processing.models import FoldPass


def post(client: Any, body: dict[str, Any], key: str | None) -> Any:
    headers = {} if key is None else {"Idempotency-Key": key}
    return client.post(
        "/api/fold-passes/", json.dumps(body), content_type="application/json", headers=headers
    )


def test_a_replay_returns_the_first_response_and_stores_once(api: Any, free_foil: Any) -> None:
    client = api("operator")
    body = {"foil": free_foil.code, "thickness_after_um": 101.5}
    before = FoldPass.objects.filter(foil=free_foil).count()

    first = post(client, body, "tablet-7f3a")
    again = post(client, body, "tablet-7f3a")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert FoldPass.objects.filter(foil=free_foil).count() == before + 1
    created = HistoryEntry.objects.filter(model="processing.foldpass", action="create")
    assert created.filter(record_code=free_foil.code).count() == before + 1


def test_the_same_key_with_another_body_is_422_and_stores_nothing(api: Any, free_foil: Any) -> None:
    client = api("operator")
    post(client, {"foil": free_foil.code, "thickness_after_um": 101}, "k-1")
    count = FoldPass.objects.count()

    reused = post(client, {"foil": free_foil.code, "thickness_after_um": 99}, "k-1")

    assert reused.status_code == 422
    assert "different request" in reused.json()["detail"]
    assert FoldPass.objects.count() == count


def test_a_key_in_flight_is_409(api: Any, users: Any, free_foil: Any) -> None:
    client = api("operator")
    body = {"foil": free_foil.code, "thickness_after_um": 101}
    post(client, body, "k-running")  # stores the fingerprint the in-flight claim must match
    IdempotencyKey.objects.filter(key="k-running").update(response_status=None)
    count = FoldPass.objects.count()

    answer = post(client, body, "k-running")

    assert answer.status_code == 409
    assert "still running" in answer.json()["detail"]
    assert FoldPass.objects.count() == count


def test_an_abandoned_claim_is_taken_over_after_the_timeout(api: Any, free_foil: Any) -> None:
    client = api("operator")
    body = {"foil": free_foil.code, "thickness_after_um": 101}
    post(client, body, "k-dead")
    FoldPass.objects.filter(foil=free_foil).order_by("-pass_number").first().delete()  # type: ignore[union-attr]
    IdempotencyKey.objects.filter(key="k-dead").update(
        response_status=None, created_at=timezone.now() - dt.timedelta(minutes=5)
    )
    count = FoldPass.objects.count()

    answer = post(client, body, "k-dead")

    assert answer.status_code == 201
    assert FoldPass.objects.count() == count + 1
    assert IdempotencyKey.objects.get(key="k-dead").response_status == 201


def test_a_refused_request_frees_its_key_for_the_corrected_one(api: Any, free_foil: Any) -> None:
    client = api("operator")
    bad = post(client, {"foil": free_foil.code, "thickness_after_um": -3}, "k-fix")
    assert bad.status_code == 400
    assert "thickness_after_um" in bad.json()
    assert not IdempotencyKey.objects.filter(key="k-fix").exists()

    good = post(client, {"foil": free_foil.code, "thickness_after_um": 98}, "k-fix")
    assert good.status_code == 201


def test_keys_belong_to_their_user(api: Any, free_foil: Any) -> None:
    body = {"foil": free_foil.code, "thickness_after_um": 101}
    count = FoldPass.objects.count()
    assert post(api("operator"), body, "shared").status_code == 201
    assert post(api("scientist"), body, "shared").status_code == 201
    assert FoldPass.objects.count() == count + 2


def test_without_a_key_every_post_creates_and_a_bad_key_is_400(api: Any, free_foil: Any) -> None:
    client = api("operator")
    body = {"foil": free_foil.code, "thickness_after_um": 101}
    count = FoldPass.objects.count()
    assert post(client, body, None).status_code == 201
    assert post(client, body, None).status_code == 201
    assert FoldPass.objects.count() == count + 2
    answer = post(client, body, "x" * 300)
    assert answer.status_code == 400
    assert "Idempotency-Key" in answer.json()["detail"]


def test_every_create_accepts_the_key(api: Any, lab: Any) -> None:
    client = api("operator")
    body = {"glovebox": lab.glovebox.code, "o2_ppm": 0.05, "h2o_ppm": 0.08}
    headers = {"Idempotency-Key": "gb-1"}
    first = client.post("/api/glovebox-readings/", body, format="json", headers=headers)
    again = client.post("/api/glovebox-readings/", body, format="json", headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["code"] == first.json()["code"]
    assert first.headers["Location"] == again.headers["Location"] == first.json()["url"]
