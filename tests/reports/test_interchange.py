"""``.eln`` (RO-Crate) and BattINFO exports, parsed back and checked against the records."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from typing import Any

import pytest

from analysis.services import measurement_create
from tests.shared_data import require_shared_data

pytestmark = pytest.mark.django_db


def validate_eln(archive: zipfile.ZipFile) -> dict[str, Any]:
    """Check the ELN file format and RO-Crate 1.1 rules; return the metadata's entities by id.

    One folder at the root holding ro-crate-metadata.json; a JSON-LD graph with the metadata
    descriptor (conforming to RO-Crate 1.1, about ./), a root Dataset with name, description,
    datePublished and license; every id in hasPart described; Datasets end in "/"; every File
    is in the archive with its size and SHA-256; every referenced id is described.
    """
    names = archive.namelist()
    roots = {name.split("/")[0] for name in names}
    assert len(roots) == 1, roots
    (folder,) = roots
    metadata = json.loads(archive.read(f"{folder}/ro-crate-metadata.json"))
    assert metadata["@context"] == "https://w3id.org/ro/crate/1.1/context"
    entities = {e["@id"]: e for e in metadata["@graph"]}
    assert len(entities) == len(metadata["@graph"]), "duplicate @id"
    descriptor = entities["ro-crate-metadata.json"]
    assert descriptor["@type"] == "CreativeWork" and descriptor["about"] == {"@id": "./"}
    assert descriptor["conformsTo"] == {"@id": "https://w3id.org/ro/crate/1.1"}
    root = entities["./"]
    assert root["@type"] == "Dataset"
    assert root["name"] and root["description"] and root["datePublished"] and root["license"]
    for part in root["hasPart"]:
        entity = entities[part["@id"]]
        if entity["@type"] == "Dataset":
            assert entity["@id"].startswith("./") and entity["@id"].endswith("/")
        else:
            assert entity["@type"] == "File"
            data = archive.read(f"{folder}/{entity['@id'][2:]}")
            assert str(len(data)) == entity["contentSize"]
            assert hashlib.sha256(data).hexdigest() == entity["sha256"]

    def references(value: Any) -> list[str]:
        if isinstance(value, dict):
            found = [value["@id"]] if set(value) == {"@id"} else []
            return found + [r for v in value.values() for r in references(v)]
        if isinstance(value, list):
            return [r for v in value for r in references(v)]
        return []

    dangling = {r for e in metadata["@graph"] for r in references(e)} - set(entities)
    assert dangling <= {"https://w3id.org/ro/crate/1.1"}, dangling
    return entities


def test_eln_export_of_a_cell_has_its_lineage_and_raw_files(
    client: Any, users: Any, lab: Any
) -> None:
    path = require_shared_data("eclab", "peis.mpt")
    with path.open("rb") as stream:
        measured = measurement_create(
            user=users["operator"],
            subject=lab.cell,
            measurement_type="eis",
            raw_stream=stream,
            raw_name=path.name,
        )
    client.force_login(users["auditor"])
    response = client.get(f"/eln/{lab.cell.code}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.eln+zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    entities = validate_eln(archive)
    for record in (lab.cell, lab.separators[0], lab.pellet, lab.batch, lab.lots["La2O3"], lab.foil):
        assert f"./{record.code}/" in entities, record.code
    cell = entities[f"./{lab.cell.code}/"]
    assert {"@id": f"./{lab.separators[0].code}/"} in cell["isBasedOn"]
    assert cell["url"] == f"http://testserver/r/{lab.cell.code}/"
    separator = entities[f"./{lab.separators[0].code}/"]
    thickness = next(p for p in separator["variableMeasured"] if p["name"] == "thickness_um")
    assert (thickness["value"], thickness["unitText"]) == (700.0, "µm")
    raw = entities[f"./{measured.code}/peis.mpt"]
    assert raw["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert archive.read(f"{lab.cell.code}/{measured.code}/peis.mpt") == path.read_bytes()


def test_eln_export_of_a_record_without_lineage_is_a_valid_crate(
    client: Any, users: Any, lab: Any
) -> None:
    client.force_login(users["auditor"])
    response = client.get(f"/eln/{lab.lots['Ni'].code}/")
    entities = validate_eln(zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))))
    datasets = [e for e in entities.values() if e["@type"] == "Dataset" and e["@id"] != "./"]
    assert [d["name"] for d in datasets] == [lab.lots["Ni"].code]
    assert client.get("/eln/NOPE-1/").status_code == 404


def test_battinfo_json_ld_of_a_cell(client: Any, users: Any, lab: Any) -> None:
    client.force_login(users["auditor"])
    response = client.get(f"/battinfo/{lab.cell.code}/")
    assert response.status_code == 200 and response["Content-Type"] == "application/ld+json"
    document = json.loads(response.content)
    assert document["@context"][0] == "https://w3id.org/emmo/domain/battery/context"
    assert document["@type"] == "BatteryCell"
    assert document["@id"] == f"http://testserver/r/{lab.cell.code}/"
    electrolyte = document["hasElectrolyte"]
    assert electrolyte["schema:identifier"] == lab.separators[0].code
    thickness = next(p for p in electrolyte["hasProperty"] if p["@type"] == "Thickness")
    assert thickness["hasNumericalPart"]["hasNumberValue"] == 700
    assert thickness["hasMeasurementUnit"] == "emmo:MicroMetre"
    negative = document["hasNegativeElectrode"]
    assert negative["schema:identifier"] == lab.pieces[0].code
    sodium = next(
        c for c in negative["hasActiveMaterial"]["hasConstituent"] if c["@type"] == "Sodium"
    )
    assert sodium["hasProperty"]["hasNumericalPart"]["hasNumberValue"] == 3
    assert document["hasPositiveElectrode"]["schema:identifier"] == lab.pieces[1].code
    assert client.get(f"/battinfo/{lab.pellet.code}/").status_code == 400
