"""Saved column mappings and the file inspection endpoint, on real instrument files."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from analysis.models import ColumnMappingTemplate
from tests.shared_data import require_shared_data

pytestmark = pytest.mark.django_db


def upload(path: Any, name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes())


def test_inspect_an_eclab_file(api: Any) -> None:
    path = require_shared_data("eclab", "peis.mpt")
    rows = [line for line in path.read_text(encoding="latin-1").splitlines()]
    header_lines = int(
        next(line for line in rows if line.startswith("Nb header lines")).split(":")[1]
    )
    data_rows = [line for line in rows[header_lines:] if line.strip()]
    body = (
        api("operator")
        .post("/api/readers/inspect/", {"file": upload(path)}, format="multipart")
        .json()
    )
    assert body["technique"] == "PEIS"
    assert body["rows"] == len(data_rows)
    assert body["data_columns"]["freq_Hz"] == "Hz"
    assert body["data_columns"]["z_imag_ohm"] == "Ohm"


def test_a_headerless_file_needs_a_template_and_a_saved_one_works(api: Any) -> None:
    path = require_shared_data("eis", "exampleData.csv")
    client = api("scientist")
    refused = client.post("/api/readers/inspect/", {"file": upload(path)}, format="multipart")
    assert refused.status_code == 400
    assert "eis3" in refused.json()["file"][0]  # the reader suggests the template
    mapping = {
        "has_header": False,
        "columns": {"1": "freq_Hz", "2": "z_real_ohm", "3": "z_imag_ohm"},
        "units": {"1": "Hz", "2": "Ohm", "3": "Ohm"},
        "auto": False,
    }
    created = client.post(
        "/api/column-mappings/", {"name": "impedance.py export", "mapping": mapping}, format="json"
    )
    assert created.status_code == 201, created.json()
    body = client.post(
        "/api/readers/inspect/",
        {"file": upload(path), "template": "impedance.py export"},
        format="multipart",
    ).json()
    assert body["rows"] == len([line for line in path.read_text().splitlines() if line.strip()])
    builtin = client.post(
        "/api/readers/inspect/", {"file": upload(path), "template": "eis3"}, format="multipart"
    )
    assert builtin.json()["rows"] == body["rows"]


def test_bad_templates_and_bad_files_are_clear_4xx(api: Any) -> None:
    client = api("scientist")
    bad = client.post(
        "/api/column-mappings/",
        {"name": "x", "mapping": {"columns": {"V": "volts"}}},
        format="json",
    )
    assert bad.status_code == 400 and "volts" in bad.json()["mapping"][0]
    assert not ColumnMappingTemplate.objects.exists()
    unknown = client.post(
        "/api/readers/inspect/",
        {"file": SimpleUploadedFile("a.csv", b"time/s,Ewe/V\n1,2\n"), "template": "nope"},
        format="multipart",
    )
    assert unknown.status_code == 400 and "nope" in unknown.json()["template"][0]
    png = client.post(
        "/api/readers/inspect/",
        {"file": SimpleUploadedFile("data.mpt", b"\x89PNG\r\n\x1a\n" + b"0" * 64)},
        format="multipart",
    )
    # Refused by the upload gate from its bytes (lims/uploads.py), whatever its name says.
    assert png.status_code == 415 and "data.mpt: this is a PNG image" in png.json()["file"][0]


def test_a_truncated_binary_file_names_where(api: Any) -> None:
    data = require_shared_data("eclab", "peis.mpr").read_bytes()
    response = api("auditor").post(
        "/api/readers/inspect/",
        {"file": SimpleUploadedFile("peis.mpr", data[: len(data) // 2])},
        format="multipart",
    )
    assert response.status_code == 400
    assert "peis.mpr" in response.json()["file"][0]


def test_operators_cannot_save_templates(api: Any) -> None:
    response = api("operator").post(
        "/api/column-mappings/", {"name": "x", "mapping": {}}, format="json"
    )
    assert response.status_code == 403
