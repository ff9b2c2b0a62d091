"""What a record and its lineage look like now: a revision number and a hash to cite.

A printed sheet or a signature names the state it was made from; if anything in the record or
anything it was made from changes later, the hash changes too.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from lims.history import history_of, snapshot
from lims.lineage import lineage_trace
from lims.models import Link, OwnedRow, Record


def record_revision(record: Record) -> int:
    """How many changes the record (with its sub-rows) has had: 1 after it was created."""
    return history_of(code=record.code).count()


def _state(record: Record) -> dict[str, Any]:
    values: dict[str, Any] = {"fields": snapshot(record)}
    for rel in record._meta.related_objects:
        model = rel.related_model
        # Only the rows the record owns (a batch's weighings), not rows elsewhere that merely
        # point at it (another batch's weighing of this lot): those are not its state.
        if (
            rel.one_to_many
            and issubclass(model, OwnedRow)
            and model.part_of_owner
            and rel.field.name == model.owner_field
        ):
            rows = getattr(record, rel.get_accessor_name() or "").order_by("pk")
            values[rel.name] = [snapshot(row) for row in rows]
    return values


def lineage_state(record: Record) -> dict[str, Any]:
    """The stored values of ``record`` and of everything upstream of it, and the edges."""
    trace = lineage_trace(root=record, direction="backward")
    codes = [node["code"] for node in trace.nodes]
    records = {r.code: r.concrete() for r in Record.objects.filter(code__in=codes)}
    edges = Link.objects.filter(child__code__in=codes).values_list(
        "parent__code", "child__code", "role"
    )
    return {
        "records": {code: _state(records[code]) for code in sorted(records)},
        "edges": sorted(edges),
    }


def lineage_state_hash(record: Record) -> str:
    """SHA-256 of :func:`lineage_state` as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(lineage_state(record), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
