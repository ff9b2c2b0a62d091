"""``.eln`` (RO-Crate) and BattINFO exports, parsed back and checked against the records."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
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


#: An excerpt of the BattINFO (EMMO domain-battery) JSON-LD context, with its source.
TERMS = json.loads((Path(__file__).parent / "battinfo_context_terms.json").read_text())
BATTINFO_CONTEXT = "https://w3id.org/emmo/domain/battery/context"
PREFIXES = ("https://schema.org/", "http://www.w3.org/2000/01/rdf-schema#")
UNIT = TERMS["properties"]["hasMeasurementUnit"]
VALUE = TERMS["data_properties"]["hasNumericalValue"]


def _context() -> dict[str, Any]:
    """The published context's definitions of the excerpt's terms, as the context states them:
    object properties take IRIs (``"@type": "@id"``), classes and units are plain IRIs."""
    return {
        **{name: {"@id": iri, "@type": "@id"} for name, iri in TERMS["properties"].items()},
        **TERMS["data_properties"],
        **TERMS["classes"],
        **TERMS["units"],
    }


def _load(url: str, options: Any = None) -> dict[str, Any]:
    # The one remote document a BattINFO export names: served from the excerpt, never fetched.
    assert url == BATTINFO_CONTEXT, f"the export makes a JSON-LD processor fetch {url}"
    return {"contextUrl": None, "documentUrl": url, "document": {"@context": _context()}}


def _keys(node: Any) -> int:
    """How many properties (non-keyword keys) a JSON-LD tree has, nested ones included."""
    if isinstance(node, list):
        return sum(_keys(item) for item in node)
    if not isinstance(node, dict):
        return 0
    return sum(
        (0 if key.startswith("@") else 1) + _keys(value)
        for key, value in node.items()
        if key != "@context"
    )


def validate_battinfo(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Expand ``document`` with a JSON-LD processor (pyld) against the BattINFO context and
    check it against the ontology: no term dropped (a term the context does not define
    vanishes in expansion), every type a class, every property one of the context's (or
    schema.org/RDFS), every unit an EMMO unit, every number a hasNumericalValue. Returns the
    expanded nodes."""
    from pyld import jsonld

    expanded = jsonld.expand(document, {"documentLoader": _load})
    assert _keys(expanded) == _keys(document), "a term is not in the BattINFO context"
    classes, units = set(TERMS["classes"].values()), set(TERMS["units"].values())
    properties = {*TERMS["properties"].values(), *TERMS["data_properties"].values()}
    nodes: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
            return
        if not isinstance(node, dict) or "@value" in node:
            return
        nodes.append(node)
        for kind in node.get("@type", []):
            assert kind in classes, f"type {kind} is not a class of the ontology"
        for key, values in node.items():
            if key.startswith("@"):
                continue
            assert key in properties or key.startswith(PREFIXES), f"property {key}"
            if key == UNIT:
                assert all(v["@id"] in units for v in values), values
            if key == VALUE:
                assert all(isinstance(v["@value"], int | float) for v in values), values
            walk(values)

    walk(expanded)
    return nodes


def _quantity(node: dict[str, Any], kind: str) -> tuple[float, str]:
    """The value and unit IRI of the property of type ``kind`` (a BattINFO class name)."""
    properties = node["hasProperty"]
    found = next(
        q
        for q in (properties if isinstance(properties, list) else [properties])
        if q["@type"] == kind
    )
    return found["hasNumericalPart"]["hasNumericalValue"], found["hasMeasurementUnit"]


def test_battinfo_json_ld_of_a_cell(client: Any, users: Any, lab: Any) -> None:
    client.force_login(users["auditor"])
    response = client.get(f"/battinfo/{lab.cell.code}/")
    assert response.status_code == 200 and response["Content-Type"] == "application/ld+json"
    document = json.loads(response.content)
    assert document["@context"][0] == BATTINFO_CONTEXT
    assert document["@type"] == "BatteryCell"
    assert document["@id"] == f"http://testserver/r/{lab.cell.code}/"
    electrolyte = document["hasElectrolyte"]
    assert electrolyte["@type"] == "SolidElectrolyte"
    assert electrolyte["schema:identifier"] == lab.separators[0].code
    units = TERMS["units"]
    assert _quantity(electrolyte, "Thickness") == (pytest.approx(700e-6), units["Metre"])
    assert _quantity(electrolyte, "Diameter") == (pytest.approx(7e-3), units["Metre"])
    assert _quantity(document, "Pressure") == (pytest.approx(0.1e6), units["Pascal"])
    assert _quantity(document, "ElectrodeGeometricSurfaceArea") == (
        pytest.approx(lab.cell.electrode_area_cm2),
        units["SquareCentiMetre"],
    )
    negative = document["hasNegativeElectrode"]
    assert negative["schema:identifier"] == lab.pieces[0].code
    sodium = next(
        c for c in negative["hasActiveMaterial"]["hasConstituent"] if c["@type"] == "Sodium"
    )
    assert _quantity(sodium, "AmountFraction") == (pytest.approx(0.03), units["UnitOne"])
    assert document["hasPositiveElectrode"]["schema:identifier"] == lab.pieces[1].code
    assert client.get(f"/battinfo/{lab.pellet.code}/").status_code == 400
    # every type, property and unit is the ontology's (as its published context names them)
    nodes = validate_battinfo(document)
    cell = next(n for n in nodes if n.get("@id") == document["@id"])
    assert cell["@type"] == [TERMS["classes"]["BatteryCell"]]


@pytest.mark.parametrize(
    ("path", "wrong"),
    [
        (("@type",), "Alloy"),  # not a class of the ontology
        (("hasElectrolyte", "hasProperty", 0, "hasNumericalPart"), {"hasNumberValue": 7e-4}),
        (("hasProperty", 0, "hasMeasurementUnit"), "emmo:MegaPascal"),  # no such unit IRI
    ],
)
def test_the_battinfo_check_finds_what_is_not_in_the_ontology(
    client: Any, users: Any, lab: Any, path: tuple[Any, ...], wrong: Any
) -> None:
    client.force_login(users["auditor"])
    document = json.loads(client.get(f"/battinfo/{lab.cell.code}/").content)
    node = document
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = wrong
    with pytest.raises(AssertionError):
        validate_battinfo(document)


def test_battinfo_of_a_pure_lithium_reference_cell(client: Any, users: Any, lab: Any) -> None:
    from cells.services import cell_assemble
    from processing import services as proc

    sci = users["scientist"]
    foil = proc.foil_create(user=sci, foil_type="li_rolled", li_lot=lab.lots["Li"])
    pieces = [proc.electrode_cut(user=sci, foil=foil, diameter_mm=6, mass_mg=1.5) for _ in "ab"]
    cell = cell_assemble(
        user=sci,
        separator=lab.separators[1],
        electrode_1=pieces[0],
        electrode_2=pieces[1],
        cell_type="Li|LLZO|Li",
    )
    client.force_login(users["auditor"])
    document = json.loads(client.get(f"/battinfo/{cell.code}/").content)
    validate_battinfo(document)
    negative = document["hasNegativeElectrode"]
    assert negative["@type"] == "LithiumElectrode"
    assert negative["hasActiveMaterial"]["@type"] == "Lithium"
    assert _quantity(negative, "Mass") == (pytest.approx(1500), TERMS["units"]["MicroGram"])
    assert "hasCurrentCollector" not in document  # none recorded
