"""Point 5: optimistic locking. Every record response carries an ETag; every API edit and
delete needs If-Match (428 without, 412 on a stale version); services and forms refuse a stale
version with both values. Figure: endpoints walked, and 0 stale writes that got through."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms

from lims.api.base import ServiceViewSet
from lims.forms import VersionedForm
from lims.history import history_version
from lims.services import VersionConflict, record_delete, record_update

pytestmark = pytest.mark.django_db


def _service_endpoints() -> list[tuple[str, Any]]:
    from analysis.api.urls import router as analysis_router
    from cells.api.urls import router as cells_router
    from processing.api.urls import router as processing_router

    endpoints = []
    for router in (processing_router, cells_router, analysis_router):
        for prefix, viewset, _ in router.registry:
            if issubclass(viewset, ServiceViewSet):
                endpoints.append((prefix, viewset))
    return endpoints


def test_every_endpoint_428_without_if_match_412_when_stale_0_stale_writes(
    api: Any, lab: Any
) -> None:
    client = api("admin")
    walked, stale_writes = 0, []
    for prefix, viewset in _service_endpoints():
        row = viewset.queryset.model.objects.order_by("pk").first()
        assert row is not None, f"build_chain makes no {prefix}"
        url = f"/api/{prefix}/{getattr(row, viewset.lookup_field)}/"
        got = client.get(url)
        assert got.status_code == 200, url
        version = history_version(row)
        assert got["ETag"] == f'"{version}"', url
        stale = {"HTTP_IF_MATCH": f'"{version + 7}"'}
        for method in ("patch", "put", "delete"):
            missing = getattr(client, method)(url, {})
            assert missing.status_code == 428, (url, method, missing.status_code)
            conflict = getattr(client, method)(url, {}, **stale)
            if conflict.status_code != 412:
                stale_writes.append(f"{method} {url}: {conflict.status_code}")
                continue
            body = conflict.json()
            assert (body["expected_version"], body["current_version"]) == (version + 7, version)
            assert conflict["ETag"] == f'"{version}"'
        assert history_version(row) == version, f"{url} changed"
        fine = client.patch(url, {}, HTTP_IF_MATCH=got["ETag"])
        assert fine.status_code == 200 and fine["ETag"] == got["ETag"], url
        walked += 1
    assert walked == len(_service_endpoints()) >= 15
    assert not stale_writes, f"{len(stale_writes)} stale writes of {walked * 3}: {stale_writes}"


def test_two_editors_the_second_gets_412_with_both_versions(api: Any, lab: Any) -> None:
    url = f"/api/pellets/{lab.pellet.code}/"
    alice, bob = api("scientist"), api("admin")
    tag_alice = alice.get(url)["ETag"]
    tag_bob = bob.get(url)["ETag"]
    first = bob.patch(url, {"mass_g": 0.25}, HTTP_IF_MATCH=tag_bob)
    assert first.status_code == 200 and first["ETag"] != tag_bob
    second = alice.patch(url, {"mass_g": 0.26}, HTTP_IF_MATCH=tag_alice)
    assert second.status_code == 412
    assert "version 1, it is now at version 2" in second.json()["detail"]
    lab.pellet.refresh_from_db()
    assert lab.pellet.mass_g == 0.25
    # Alice reloads, sees Bob's value, and saves over it knowingly.
    again = alice.patch(url, {"mass_g": 0.26}, HTTP_IF_MATCH=second["ETag"])
    assert again.status_code == 200
    # A delete against the old version is refused too.
    gone = alice.delete(url, HTTP_IF_MATCH=tag_alice)
    assert gone.status_code == 412


def test_created_and_status_responses_carry_the_etag(api: Any, lab: Any) -> None:
    client = api("scientist")
    created = client.post("/api/lots/", {"chemical": "ZrO2", "supplier": "A", "lot_number": "Z"})
    assert created.status_code == 201 and created["ETag"] == '"1"'
    url = f"/api/cells/{lab.cell.code}/"
    assert client.post(f"{url}status/", {"status": "on_test"}).status_code == 428
    tag = client.get(url)["ETag"]
    moved = client.post(f"{url}status/", {"status": "on_test"}, HTTP_IF_MATCH=tag)
    assert moved.status_code == 200 and moved["ETag"] == f'"{int(tag.strip(chr(34))) + 1}"'
    record = client.get(f"/api/records/{lab.cell.code}/")
    assert record["ETag"] == moved["ETag"]


def test_service_refuses_a_stale_version_with_both_values(users: Any, lab: Any) -> None:
    pellet = lab.pellet
    version = history_version(pellet)
    record_update(
        instance=pellet, data={"mass_g": 0.3}, user=users["scientist"], expected_version=version
    )
    with pytest.raises(VersionConflict) as caught:
        record_update(
            instance=pellet, data={"mass_g": 0.4}, user=users["scientist"], expected_version=version
        )
    assert (caught.value.expected, caught.value.current) == (version, version + 1)
    with pytest.raises(VersionConflict):
        record_delete(instance=lab.separators[1], user=users["scientist"], expected_version=0)
    pellet.refresh_from_db()
    assert pellet.mass_g == 0.3


def test_versioned_form_shows_the_conflict_instead_of_overwriting(users: Any, lab: Any) -> None:
    from processing.models import Pellet

    class PelletForm(VersionedForm):
        class Meta:
            model = Pellet
            fields = ["mass_g"]

    opened = PelletForm(instance=lab.pellet)
    version = opened.initial["version"]
    assert isinstance(opened.fields["version"].widget, forms.HiddenInput)
    record_update(instance=lab.pellet, data={"mass_g": 0.5}, user=users["admin"])
    form = PelletForm(
        {"mass_g": 0.6, "version": version}, instance=Pellet.objects.get(pk=lab.pellet.pk)
    )
    assert form.save_as(user=users["scientist"]) is None
    assert f"you edited version {version}, it is now at version {version + 1}" in str(
        form.non_field_errors()
    )
    assert Pellet.objects.get(pk=lab.pellet.pk).mass_g == 0.5
    retry = PelletForm(form.data, instance=Pellet.objects.get(pk=lab.pellet.pk))
    saved = retry.save_as(user=users["scientist"])
    assert saved is not None and Pellet.objects.get(pk=lab.pellet.pk).mass_g == 0.6
