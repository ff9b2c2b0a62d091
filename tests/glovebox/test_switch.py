"""Quick user switch on a shared tablet: PIN or badge, registered devices only, lock-out."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.contrib.auth.hashers import check_password
from django.test import Client
from django.utils import timezone

from glovebox import services
from glovebox.models import BenchCredential, BenchEntry, Device

pytestmark = pytest.mark.django_db


@pytest.fixture
def tablet(users: Any) -> Client:
    """A browser an admin registered as a tablet, then left signed out."""
    client = Client()
    client.force_login(users["admin"])
    response = client.post("/bench/device/", {"name": "Glovebox 1 tablet"})
    assert response.status_code == 302 and response["Location"] == "/bench/switch/"
    device_cookie = response.cookies["bench_device"]
    assert device_cookie["httponly"] and device_cookie["max-age"] > 3600 * 24 * 365
    client.logout()  # the test client forgets every cookie here; a browser keeps this one
    client.cookies["bench_device"] = device_cookie.value
    return client


@pytest.fixture
def pins(users: Any) -> None:
    services.bench_pin_set(user=users["operator"], pin="2468")
    services.bench_pin_set(user=users["scientist"], pin="1357")


def whoami(client: Client) -> str:
    return client.get("/bench/").context["user"].get_username()


def test_registering_keeps_only_a_hash_of_the_tablets_key(tablet: Client) -> None:
    device = Device.objects.get()
    secret = tablet.cookies["bench_device"].value
    assert len(secret) > 30 and secret not in device.secret_sha256


def test_only_an_admin_registers_a_tablet(users: Any) -> None:
    client = Client()
    client.force_login(users["operator"])
    assert client.post("/bench/device/", {"name": "Mine"}).status_code == 403
    assert not Device.objects.exists()


def test_pins_are_stored_hashed(users: Any, pins: None) -> None:
    credential = BenchCredential.objects.get(user=users["operator"])
    assert "2468" not in credential.pin_hash
    assert check_password("2468", credential.pin_hash)
    with pytest.raises(Exception, match="4 to 8 digits"):
        services.bench_pin_set(user=users["operator"], pin="12a4")


def test_a_pin_switches_the_user_and_entries_record_who(
    tablet: Client, pins: None, lab: Any, users: Any
) -> None:
    page = tablet.get("/bench/switch/").content.decode()
    assert 'href="/bench/switch/operator/"' in page

    response = tablet.post("/bench/switch/operator/", {"pin": "2468"})
    assert response.status_code == 302
    assert whoami(tablet) == "operator"
    body = json.dumps({"o2_ppm": "0.05", "h2o_ppm": "0.05"})
    url = f"/bench/r/{lab.glovebox.code}/readings/"
    tablet.post(url, body, content_type="application/json")

    tablet.post("/bench/switch/scientist/", {"pin": "1357"})
    assert whoami(tablet) == "scientist"
    tablet.post(url, body, content_type="application/json")

    entries = BenchEntry.objects.order_by("server_time")
    assert [e.user.username for e in entries] == ["operator", "scientist"]
    assert {e.device.name for e in entries if e.device} == {"Glovebox 1 tablet"}


def test_a_pin_does_nothing_on_an_unregistered_browser(pins: None) -> None:
    client = Client()
    response = client.post("/bench/switch/operator/", {"pin": "2468"})
    assert response.status_code == 403
    assert "not registered" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_wrong_pins_lock_the_pin_for_a_while(tablet: Client, pins: None, users: Any) -> None:
    for left in (4, 3, 2, 1):
        response = tablet.post("/bench/switch/operator/", {"pin": "0000"})
        assert response.status_code == 403
        assert f"Wrong PIN: {left} tr" in response.content.decode()
    locked = tablet.post("/bench/switch/operator/", {"pin": "0000"})
    assert "PIN locked until" in locked.content.decode()

    right_but_locked = tablet.post("/bench/switch/operator/", {"pin": "2468"})
    assert right_but_locked.status_code == 403
    assert "PIN locked until" in right_but_locked.content.decode()
    assert "_auth_user_id" not in tablet.session

    BenchCredential.objects.filter(user=users["operator"]).update(
        locked_until=timezone.now() - dt.timedelta(seconds=1)
    )
    assert tablet.post("/bench/switch/operator/", {"pin": "2468"}).status_code == 302
    assert whoami(tablet) == "operator"


def test_a_badge_switches_and_a_reissued_badge_replaces_the_old(tablet: Client, users: Any) -> None:
    old = services.bench_badge_issue(user=users["operator"])
    new = services.bench_badge_issue(user=users["operator"])
    refused = tablet.post("/bench/switch/badge/", {"badge": old})
    assert refused.status_code == 403
    assert "This badge is not known" in refused.content.decode()
    assert tablet.post("/bench/switch/badge/", {"badge": new}).status_code == 302
    assert whoami(tablet) == "operator"
