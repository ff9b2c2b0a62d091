"""Fixtures shared by the whole suite: users in each role, API clients, a lab chain."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from lims.roles import ADMIN, ROLES, ensure_roles


@pytest.fixture
def roles(db: Any) -> None:
    ensure_roles()


@pytest.fixture
def make_user(roles: None, django_user_model: Any) -> Any:
    def make(role: str, username: str | None = None) -> Any:
        user = django_user_model.objects.create_user(
            username=username or role,
            password="pw-for-tests",
            is_staff=role == ADMIN,
            is_superuser=role == ADMIN,
        )
        user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def users(make_user: Any) -> dict[str, Any]:
    return {role: make_user(role) for role in ROLES}


@pytest.fixture
def api(users: dict[str, Any]) -> Any:
    """``api("scientist")``: an APIClient authenticated by that role's token."""

    def client(role: str) -> APIClient:
        c = APIClient()
        token, _ = Token.objects.get_or_create(user=users[role])
        c.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return c

    return client


@pytest.fixture
def now() -> dt.datetime:
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def lab(users: dict[str, Any]) -> Any:
    """A complete small chain built through the services: lots → batch → pellet → separators,
    Li/Na lots → foil → pieces, one assembled cell with a melt-quench step and a measurement."""
    from tests.factories import build_chain

    return build_chain(user=users["scientist"])


@pytest.fixture
def free_foil(lab: Any, users: dict[str, Any]) -> Any:
    """A foil of the lab's lots with no pass yet and no piece in a cell, in the lab's glovebox:
    the one to log passes on (``lab.foil`` is in ``lab.cell`` and takes no more passes)."""
    from processing.services import foil_create

    return foil_create(
        user=users["scientist"],
        li_lot=lab.lots["Li"],
        na_lot=lab.lots["Na"],
        target_na_mol_percent=3,
        target_thickness_um=100,
        glovebox=lab.glovebox,
    )


@pytest.fixture
def if_match() -> Any:
    """``client.patch(url, data, **if_match(client, url))``: the ETag a GET of ``url`` answers,
    as the If-Match header every API edit and delete needs."""

    def header(client: APIClient, url: str) -> dict[str, str]:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return {"HTTP_IF_MATCH": response["ETag"]}

    return header
