"""Measurements on any record, with raw files stored immutably under their SHA-256."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from lims.models import StoredFile

pytestmark = pytest.mark.django_db


def test_upload_a_raw_file_with_a_measurement(api: Any, lab: Any) -> None:
    content = b"freq/Hz\tRe(Z)/Ohm\t-Im(Z)/Ohm\n1000\t100\t5\n"
    client = api("operator")
    response = client.post(
        "/api/measurements/",
        {
            "subject": lab.cell.code,
            "measurement_type": "eis",
            "temperature_C": 25,
            "conditions": '{"amplitude_mV": 10}',
            "upload": SimpleUploadedFile("cell.mpt", content),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    digest = hashlib.sha256(content).hexdigest()
    assert body["raw_file"]["sha256"] == digest
    assert body["raw_file"]["size_bytes"] == len(content)
    assert body["conditions"] == {"amplitude_mV": 10}
    assert body["operator"] == "operator"
    stored = StoredFile.objects.get(sha256=digest)
    with stored.file.open("rb") as fh:
        assert fh.read() == content
    download = client.get(body["raw_file"]["download_url"])
    assert b"".join(download.streaming_content) == content
    # The same bytes again are kept once.
    again = client.post(
        "/api/measurements/",
        {
            "subject": lab.pellet.code,
            "measurement_type": "eis",
            "upload": SimpleUploadedFile("copy.mpt", content),
        },
        format="multipart",
    )
    assert again.json()["raw_file"]["sha256"] == digest
    assert StoredFile.objects.count() == 1
    trace = client.get(f"/api/trace/{lab.cell.code}/?direction=forward").json()
    assert body["code"] in {n["code"] for n in trace["nodes"]}


def test_raw_file_cannot_be_replaced_or_empty(api: Any, lab: Any, if_match: Any) -> None:
    client = api("scientist")
    empty = client.post(
        "/api/measurements/",
        {
            "subject": lab.cell.code,
            "measurement_type": "eis",
            "upload": SimpleUploadedFile("empty.mpt", b""),
        },
        format="multipart",
    )
    assert empty.status_code == 400
    assert "empty" in empty.json()["upload"][0]
    url = f"/api/measurements/{lab.measurement.code}/"
    replace = client.patch(
        url,
        {"upload": SimpleUploadedFile("x.mpt", b"x")},
        format="multipart",
        **if_match(client, url),
    )
    assert replace.status_code == 400 and "upload" in replace.json()
    for method in ("put", "patch", "delete"):
        assert getattr(client, method)(f"/api/files/{'0' * 64}/").status_code == 405


def test_measurement_of_a_record_that_does_not_exist(api: Any) -> None:
    response = api("operator").post(
        "/api/measurements/", {"subject": "CELL-9999", "measurement_type": "ccd"}
    )
    assert response.status_code == 400 and "CELL-9999" in response.json()["subject"][0]


def test_a_nul_in_conditions_sent_with_an_upload_is_refused_naming_it(api: Any, lab: Any) -> None:
    """Multipart bodies bypass the JSON parser's NUL check; the services refuse it for every
    path, before PostgreSQL would fail on it, and nothing is stored."""
    from lims.models import StoredFile

    response = api("operator").post(
        "/api/measurements/",
        {
            "subject": lab.cell.code,
            "measurement_type": "eis",
            "conditions": '{"note": "a\\u0000b"}',
            "upload": SimpleUploadedFile("cell.mpt", b"freq/Hz\tRe(Z)/Ohm\t-Im(Z)/Ohm\n1\t2\t3\n"),
        },
        format="multipart",
    )
    assert response.status_code == 400, response.content
    assert response.json() == {"conditions": ["conditions.note holds a NUL character; remove it."]}
    assert not StoredFile.objects.exists()
