"""Records leaving for other systems: ``.eln`` (RO-Crate) archives and BattINFO JSON-LD.

``.eln`` is the ELN Consortium's format (eLabFTW, Kadi4Mat, datalab, SampleDB …): a ZIP with
one folder holding ``ro-crate-metadata.json`` (RO-Crate 1.1) and the data. Written here to the
specification (https://github.com/TheELNConsortium/TheELNFileFormat/blob/master/SPECIFICATION.md,
https://w3id.org/ro/crate/1.1) instead of through the ``rocrate`` package, which would bring
a dozen dependencies for one JSON file.
"""

from __future__ import annotations

import json
import re
import tempfile
import zipfile
from collections import defaultdict
from typing import IO, Any

from django.utils import timezone

from analysis.models import Measurement
from cells.models import Cell
from lims.history import snapshot
from lims.lineage import lineage_trace
from lims.models import Link, Record
from lims.state import lineage_state_hash, record_revision

RO_CRATE = "https://w3id.org/ro/crate/1.1"
LICENSE = "https://creativecommons.org/licenses/by/4.0/"
PUBLISHER = "#lina-lims"
BATTINFO_CONTEXT = "https://w3id.org/emmo/domain/battery/context"

#: Units spelled out for each suffix our field names carry.
UNITS = {
    "_um": "µm",
    "_mm": "mm",
    "_g": "g",
    "_mg": "mg",
    "_C": "°C",
    "_s": "s",
    "_h": "h",
    "_MPa": "MPa",
    "_cm2": "cm²",
    "_percent": "%",
    "_ppm": "ppm",
    "_g_cm3": "g/cm³",
}


def _unit(name: str) -> str:
    for suffix, unit in sorted(UNITS.items(), key=lambda su: -len(su[0])):
        if name.endswith(suffix):
            return unit
    return ""


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "file"


def _properties(record: Record) -> list[dict[str, Any]]:
    values = []
    for name, value in snapshot(record).items():
        if value in (None, "", [], {}) or name == "code":
            continue
        prop = {"@type": "PropertyValue", "propertyID": name, "name": name, "value": value}
        if unit := _unit(name):
            prop["unitText"] = unit
        values.append(prop)
    return values


def eln_archive(*, root: Record, base_url: str) -> IO[bytes]:
    """A ``.eln`` of ``root``, everything it was made from, the measurements on those records
    and their raw files. Returns an open temporary file positioned at its start."""
    trace = lineage_trace(root=root, direction="backward")
    codes = [n["code"] for n in trace.nodes]
    records = {r.code: r.concrete() for r in Record.objects.filter(code__in=codes)}
    measurements = list(
        Measurement.objects.filter(subject__code__in=codes)
        .exclude(code__in=codes)
        .select_related("raw_file", "subject", "operator")
        .order_by("code")
    )
    records.update({m.code: m for m in measurements})
    parents: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for parent, child, role in Link.objects.filter(child__code__in=list(records)).values_list(
        "parent__code", "child__code", "role"
    ):
        if parent in records:
            parents[child].append((parent, role))

    folder = _safe(root.code)
    now = timezone.now().isoformat(timespec="seconds")
    graph: list[dict[str, Any]] = [
        {
            "@id": "ro-crate-metadata.json",
            "@type": "CreativeWork",
            "about": {"@id": "./"},
            "conformsTo": {"@id": RO_CRATE},
            "dateCreated": now,
            "sdPublisher": {"@id": PUBLISHER},
        },
    ]
    parts: list[dict[str, str]] = []
    entities: list[dict[str, Any]] = []
    files: list[tuple[str, Any]] = []
    for code in sorted(records):
        record = records[code]
        dataset_id = f"./{_safe(code)}/"
        has_part = []
        raw = getattr(record, "raw_file", None)
        if raw is not None:
            file_id = f"{dataset_id}{_safe(raw.original_name)}"
            files.append((file_id, raw))
            has_part.append({"@id": file_id})
            entities.append(
                {
                    "@id": file_id,
                    "@type": "File",
                    "name": raw.original_name,
                    "description": f"Raw instrument file of {code}",
                    "encodingFormat": raw.content_type or "application/octet-stream",
                    "contentSize": str(raw.size_bytes),
                    "sha256": raw.sha256,
                }
            )
        entity: dict[str, Any] = {
            "@id": dataset_id,
            "@type": "Dataset",
            "name": code,
            "identifier": code,
            "description": record.label,
            "additionalType": record.kind,
            "dateCreated": record.created_at.isoformat(timespec="seconds"),
            "dateModified": record.updated_at.isoformat(timespec="seconds"),
            "url": f"{base_url}{record.get_absolute_url()}",
            "variableMeasured": _properties(record),
            "isBasedOn": [{"@id": f"./{_safe(p)}/"} for p, _ in sorted(parents[code])],
            "keywords": ", ".join(sorted({role for _, role in parents[code]})),
            "hasPart": has_part,
        }
        if record.created_by_id:
            entity["author"] = {"@id": f"#user-{record.created_by_id}"}
        if record.notes:
            entity["text"] = record.notes
        entities.append(entity)
        parts.append({"@id": dataset_id})
        parts.extend(has_part)
    authors = {r.created_by.pk: r.created_by for r in records.values() if r.created_by}
    graph.append(
        {
            "@id": "./",
            "@type": "Dataset",
            "name": f"{root.code} and its lineage",
            "description": (
                f"{root.code} ({root.label}), the {len(records) - 1} records it was made from or "
                f"measured on, and their raw files; exported from LiNa LIMS at revision "
                f"{record_revision(root)}, lineage state SHA-256 {lineage_state_hash(root)}."
            ),
            "datePublished": now,
            "license": {"@id": LICENSE},
            "mainEntity": {"@id": f"./{_safe(root.code)}/"},
            "hasPart": parts,
        }
    )
    graph += entities
    graph += [
        {"@id": f"#user-{pk}", "@type": "Person", "name": user.get_full_name() or user.username}
        for pk, user in sorted(authors.items())
    ]
    graph += [
        {"@id": PUBLISHER, "@type": "Organization", "name": "LiNa LIMS", "url": base_url},
        {"@id": LICENSE, "@type": "CreativeWork", "name": "CC BY 4.0"},
    ]
    metadata = {"@context": f"{RO_CRATE}/context", "@graph": graph}

    target = tempfile.TemporaryFile(suffix=".eln")  # noqa: SIM115 (the response closes it)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            f"{folder}/ro-crate-metadata.json", json.dumps(metadata, indent=1, ensure_ascii=False)
        )
        for file_id, raw in files:
            with raw.file.open("rb") as source, archive.open(f"{folder}/{file_id[2:]}", "w") as out:
                for chunk in iter(lambda: source.read(1024 * 1024), b""):
                    out.write(chunk)
    target.seek(0)
    return target


#: The EMMO units the export uses, by the name the BattINFO context gives them, with their IRI
#: as the context maps it (https://w3id.org/emmo/domain/battery/context). The context names
#: SI units and a few prefixed ones, but no micrometre, millimetre, milligram, megapascal or
#: percent: lengths go out in metres, masses in micrograms, pressures in pascals, fractions as
#: numbers (unit one). tests/reports/test_interchange.py checks every term against the context.
EMMO_UNITS = {
    "Metre": "https://w3id.org/emmo#Metre",
    "MicroGram": "https://w3id.org/emmo#MicroGram",
    "Pascal": "https://w3id.org/emmo#Pascal",
    "SquareCentiMetre": "https://w3id.org/emmo#SquareCentiMetre",
    "UnitOne": "https://w3id.org/emmo#EMMO_5ebd5e01_0ed3_49a2_a30d_cd05cbe72978",
}


def _quantity(
    kind: str, value: float | None, unit: str, factor: float = 1.0, label: str = ""
) -> dict[str, Any] | None:
    """A BattINFO quantity: ``value`` × ``factor`` in the EMMO ``unit`` (see :data:`EMMO_UNITS`)."""
    if value is None:
        return None
    return {
        "@type": kind,
        **({"rdfs:label": label} if label else {}),
        "hasNumericalPart": {"@type": "Real", "hasNumericalValue": value * factor},
        # hasMeasurementUnit takes an IRI (the context types it "@id"), not a term name.
        "hasMeasurementUnit": EMMO_UNITS[unit],
    }


def _electrode(piece: Any) -> dict[str, Any]:
    foil = piece.foil
    lithium: dict[str, Any] = {"@type": "Lithium", "rdfs:label": f"Li, lot {foil.li_lot.code}"}
    properties = [
        q
        for q in (
            _quantity("Diameter", piece.diameter_mm, "Metre", 1e-3),
            _quantity("Mass", piece.mass_mg, "MicroGram", 1e3),
        )
        if q
    ]
    electrode: dict[str, Any] = {
        "@id": piece.get_absolute_url(),
        "schema:identifier": piece.code,
        "rdfs:comment": f"Piece of {foil.code}: {foil.get_foil_type_display()}, "
        f"{foil.passes.count()} fold passes",
        "hasProperty": properties,
    }
    if not foil.na_lot:
        return {**electrode, "@type": "LithiumElectrode", "hasActiveMaterial": lithium}
    sodium = {
        "@type": "Sodium",
        "rdfs:label": f"Na, lot {foil.na_lot.code}",
        "hasProperty": _quantity("AmountFraction", foil.target_na_mol_percent, "UnitOne", 1e-2),
    }
    # The ontology has no alloy class: a LiNa foil is a metallic material of Li and Na.
    return {
        **electrode,
        "@type": "MetalElectrode",
        "hasActiveMaterial": {
            "@type": "MetallicMaterial",
            "rdfs:label": f"LiNa, {foil.target_na_mol_percent:g} mol% Na",
            "hasConstituent": [lithium, sodium],
        },
    }


def battinfo_cell(*, cell: Cell, base_url: str) -> dict[str, Any]:
    """A cell as BattINFO JSON-LD: the symmetric cell, its two LiNa electrodes, the LLZO
    separator (a solid electrolyte) and the test-relevant quantities, with units."""
    cell = Cell.objects.select_related(
        "separator__pellet__batch",
        "electrode_1__foil__li_lot",
        "electrode_1__foil__na_lot",
        "electrode_2__foil__li_lot",
        "electrode_2__foil__na_lot",
        "collector_lot",
    ).get(pk=cell.pk)
    separator = cell.separator
    batch = separator.pellet.batch
    electrodes = [_electrode(cell.electrode_1), _electrode(cell.electrode_2)]
    for electrode in electrodes:
        electrode["@id"] = f"{base_url}{electrode['@id']}"
    electrolyte = {
        "@id": f"{base_url}{separator.get_absolute_url()}",
        "@type": "SolidElectrolyte",
        "schema:identifier": separator.code,
        "rdfs:comment": f"Garnet {batch.target_formula} from {batch.code}, pellet {separator.pellet.code}",
        # No garnet or LLZO class in the ontology: a crystalline material with its formula.
        "hasConstituent": {"@type": "CrystallineMaterial", "rdfs:label": batch.target_formula},
        "hasProperty": [
            q
            for q in (
                _quantity("Thickness", separator.thickness_um, "Metre", 1e-6),
                _quantity("Diameter", separator.face_diameter_mm, "Metre", 1e-3),
            )
            if q
        ],
    }
    document: dict[str, Any] = {
        "@context": [
            BATTINFO_CONTEXT,
            {"schema": "https://schema.org/", "rdfs": "http://www.w3.org/2000/01/rdf-schema#"},
        ],
        "@id": f"{base_url}{cell.get_absolute_url()}",
        "@type": "BatteryCell",
        "schema:identifier": cell.code,
        "schema:name": f"{cell.code} {cell.cell_type}",
        "schema:dateCreated": (cell.assembled_at or cell.created_at).isoformat(timespec="seconds"),
        "rdfs:comment": "Symmetric cell: both electrodes are the same LiNa foil chemistry.",
        "hasNegativeElectrode": electrodes[0],
        "hasPositiveElectrode": electrodes[1],
        "hasElectrolyte": electrolyte,
        "hasSeparator": {"@id": electrolyte["@id"]},
        "hasProperty": [
            q
            for q in (
                _quantity("Pressure", cell.stack_pressure_MPa, "Pascal", 1e6, "stack pressure"),
                _quantity(
                    "ElectrodeGeometricSurfaceArea", cell.electrode_area_cm2, "SquareCentiMetre"
                ),
            )
            if q
        ],
    }
    if cell.collector_lot:
        document["hasCurrentCollector"] = {
            "@type": "CurrentCollector",
            "hasConstituent": {
                "@type": "Nickel",
                "rdfs:label": f"Ni, lot {cell.collector_lot.code}",
            },
        }
    return document
