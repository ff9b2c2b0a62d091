"""Release signatures: password again, void after a change upstream, append-only, rate-limited."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from lims.services import record_update
from reports.models import Signature, SignatureAttempt
from reports.services import MAX_FAILED_ATTEMPTS

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-tests"


def _sign(client: Any, code: str, password: str = PASSWORD, meaning: str = "released") -> Any:
    return client.post(f"/sign/{code}/", {"meaning": meaning, "password": password})


def test_a_signature_records_who_when_what_and_voids_after_an_upstream_change(
    client: Any, users: Any, lab: Any
) -> None:
    client.force_login(users["scientist"])
    response = _sign(client, lab.cell.code)
    assert response.status_code == 302
    signature = Signature.objects.get()
    assert (signature.record_id, signature.signer_username, signature.meaning) == (
        lab.cell.pk,
        "scientist",
        "released",
    )
    assert len(signature.state_hash) == 64
    assert "valid</span>" in client.get(f"/sign/{lab.cell.code}/").content.decode()
    # Any change to something the cell was made from voids it ...
    record_update(instance=lab.lots["La2O3"], data={"purity_percent": "99.5"}, user=users["admin"])
    page = client.get(f"/sign/{lab.cell.code}/").content.decode()
    assert "void: " in page and "valid</span>" not in page
    # ... until someone signs the new state.
    assert _sign(client, lab.cell.code, meaning="reviewed").status_code == 302
    page = client.get(f"/sign/{lab.cell.code}/").content.decode()
    assert page.count("valid</span>") == 1 and page.count("void: ") == 1
    sheet_text = client.get(f"/sheet/{lab.cell.code}/")
    assert sheet_text.status_code == 200


def test_a_change_to_the_record_itself_voids_its_signature(
    client: Any, users: Any, lab: Any
) -> None:
    client.force_login(users["scientist"])
    _sign(client, lab.batch.code)
    record_update(instance=lab.batch, data={"li_excess_percent": 12}, user=users["scientist"])
    assert "void: " in client.get(f"/sign/{lab.batch.code}/").content.decode()


def test_wrong_passwords_are_refused_counted_and_rate_limited(
    client: Any, users: Any, lab: Any
) -> None:
    client.force_login(users["scientist"])
    for attempt in range(1, MAX_FAILED_ATTEMPTS + 1):
        response = _sign(client, lab.cell.code, password="guess")
        assert response.status_code == 403
        assert f"Wrong password: not signed ({attempt} of {MAX_FAILED_ATTEMPTS}" in (
            response.content.decode()
        )
    assert SignatureAttempt.objects.filter(user=users["scientist"]).count() == MAX_FAILED_ATTEMPTS
    locked = _sign(client, lab.cell.code)  # even the right password, while locked
    assert locked.status_code == 429 and "Signing is locked" in locked.content.decode()
    assert not Signature.objects.exists()


def test_only_scientists_sign_and_only_cells_and_batches(client: Any, users: Any, lab: Any) -> None:
    client.force_login(users["operator"])
    assert _sign(client, lab.cell.code).status_code == 403
    client.force_login(users["scientist"])
    assert _sign(client, lab.pellet.code).status_code == 400
    assert _sign(client, "CELL-9999").status_code == 404
    assert not Signature.objects.exists()


def test_signatures_cannot_be_edited_moved_or_deleted(client: Any, users: Any, lab: Any) -> None:
    client.force_login(users["scientist"])
    _sign(client, lab.cell.code)
    signature = Signature.objects.get()
    for change in ({"meaning": "reviewed"}, {"record_id": lab.batch.pk}):
        with pytest.raises(DatabaseError), transaction.atomic():
            Signature.objects.filter(pk=signature.pk).update(**change)
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic():
            Signature.objects.filter(pk=signature.pk).delete()
    assert Signature.objects.get().meaning == "released"


def test_a_signature_stays_valid_when_an_unrelated_batch_uses_the_same_lot(
    client: Any, users: Any, lab: Any
) -> None:
    from processing import services as proc

    client.force_login(users["scientist"])
    _sign(client, lab.cell.code)
    other = proc.batch_create(user=users["scientist"], target_formula="LLZO", batch_size_g=5)
    proc.batch_add_weighing(
        user=users["operator"],
        batch=other,
        lot=lab.lots["La2O3"],
        target_mass_g=3.2,
        actual_mass_g=3.3,
    )
    page = client.get(f"/sign/{lab.cell.code}/").content.decode()
    assert "valid</span>" in page and "void: " not in page


@pytest.mark.parametrize(
    ("role", "codenames"),
    [
        ("operator", {"view_signature", "view_signatureattempt"}),
        ("auditor", {"view_signature", "view_signatureattempt"}),
        ("scientist", {"view_signature", "add_signature", "view_signatureattempt"}),
        ("admin", {"view_signature", "add_signature", "view_signatureattempt"}),
    ],
)
def test_roles_read_signatures_scientists_sign_nobody_edits(
    roles: None, role: str, codenames: set[str]
) -> None:
    from django.contrib.auth.models import Group

    granted = set(
        Group.objects.get(name=role)
        .permissions.filter(content_type__app_label="reports")
        .values_list("codename", flat=True)
    )
    assert granted == codenames


def test_an_operator_cannot_sign(client: Any, users: Any, lab: Any) -> None:
    client.force_login(users["operator"])
    response = _sign(client, lab.cell.code)
    assert response.status_code == 403 and "Only a scientist" in response.content.decode()
    assert not Signature.objects.exists()


def test_the_admin_shows_signatures_and_changes_none(client: Any, users: Any, lab: Any) -> None:
    client.force_login(users["scientist"])
    assert _sign(client, lab.cell.code).status_code == 302
    signature = Signature.objects.get()
    for role in ("admin",):
        client.force_login(users[role])
        listing = client.get("/admin/reports/signature/")
        assert listing.status_code == 200 and lab.cell.code in listing.content.decode(), role
        change = client.get(f"/admin/reports/signature/{signature.pk}/change/")
        assert change.status_code == 200 and 'name="_save"' not in change.content.decode()
        assert client.get("/admin/reports/signature/add/").status_code == 403
        assert client.get(f"/admin/reports/signature/{signature.pk}/delete/").status_code == 403
        assert (
            client.post(
                f"/admin/reports/signature/{signature.pk}/change/", {"meaning": "reviewed"}
            ).status_code
            == 403
        )
    signature.refresh_from_db()
    assert signature.meaning == "released"
