"""The lineage graph: edges kept in step with the records, and traces over it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import connection
from django.db.models.expressions import RawSQL

from lims.models import Link, OwnedRow, Record


def lineage_sync(*, record: Record) -> None:
    """Make the record's incoming edges match what its fields and sub-rows say it came from."""
    wanted = {(parent.pk, role) for parent, role in record.lineage_parents() if parent is not None}
    existing = set(Link.objects.filter(child=record).values_list("parent_id", "role"))
    for parent_id, role in existing - wanted:
        Link.objects.filter(child=record, parent_id=parent_id, role=role).delete()
    Link.objects.bulk_create(
        [Link(parent_id=pid, child=record, role=role) for pid, role in sorted(wanted - existing)]
    )


@dataclass
class Trace:
    """The lineage of one record in one direction: the nodes reached and the edges between."""

    root: Record
    direction: str
    nodes: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, str]] = field(default_factory=list)

    def operators(self) -> list[str]:
        """Who made or logged anything on the traced records: creators and step operators.

        One query (a union over every model with an ``operator``), whatever the trace's size.
        """
        walk = RawSQL(_walk_sql(self.direction) + " SELECT id FROM walk", [self.root.pk])
        people = Record.objects.filter(pk__in=walk, created_by__isnull=False).values_list(
            "created_by__username", flat=True
        )
        parts = []
        for model in apps.get_models():
            if "operator" not in {f.name for f in model._meta.fields}:
                continue
            if issubclass(model, Record):
                owner = "pk"
            elif issubclass(model, OwnedRow):
                owner = model.owner_field
            else:
                continue
            rows: Any = model._default_manager  # the lookups are per model, not known statically
            parts.append(
                rows.filter(**{f"{owner}__in": walk, "operator__isnull": False})
                .values_list("operator__username", flat=True)
                .order_by()
            )
        return sorted(set(people.order_by().union(*parts)))


_WALK_SQL = """
WITH RECURSIVE walk(id) AS (
    SELECT CAST(%s AS BIGINT)
    UNION
    SELECT l.{far} FROM {link} l JOIN walk w ON l.{near} = w.id
)"""

# Each edge comes with the record on its far side; the near side is the root or the far side
# of an earlier edge, so every node's fields arrive exactly once. On PostgreSQL the far record
# is fetched by a LATERAL primary-key lookup: the planner cannot estimate how many records a
# walk reaches, and with a plain join it scanned the whole record table even for small traces
# (31 ms instead of 1 ms on 150,000 records, bench/trace.py). SQLite has no LATERAL, and its
# planner already looks each record up by key.
_TRACE_SQL = {
    "postgresql": """{walk}
SELECT l.parent_id, l.child_id, l.role, f.code, f.kind, f.label
FROM walk w
JOIN {link} l ON l.{near} = w.id
CROSS JOIN LATERAL (SELECT r.code, r.kind, r.label FROM {record} r WHERE r.id = l.{far} OFFSET 0) f
""",
    "default": """{walk}
SELECT l.parent_id, l.child_id, l.role, f.code, f.kind, f.label
FROM walk w
JOIN {link} l ON l.{near} = w.id
JOIN {record} f ON f.id = l.{far}
""",
}


def _walk_sql(direction: str) -> str:
    near, far = ("child_id", "parent_id") if direction == "backward" else ("parent_id", "child_id")
    return _WALK_SQL.format(near=near, far=far, link=Link._meta.db_table)


def lineage_trace(*, root: Record, direction: str) -> Trace:
    """Every record upstream (``backward``) or downstream (``forward``) of ``root``.

    One recursive query whatever the depth and the kinds of record on the way; ``UNION``
    (not ``UNION ALL``) visits each record once, so shared parents and cycles end the walk.
    Nodes are sorted by code, edges by parent, child and role.
    """
    if direction not in {"backward", "forward"}:
        raise ValueError(f"direction must be 'backward' or 'forward', not {direction!r}")
    near, far = ("child_id", "parent_id") if direction == "backward" else ("parent_id", "child_id")
    template = _TRACE_SQL.get(connection.vendor, _TRACE_SQL["default"])
    sql = template.format(
        walk=_walk_sql(direction),
        near=near,
        far=far,
        link=Link._meta.db_table,
        record=Record._meta.db_table,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [root.pk])
        rows = cursor.fetchall()
    far_index = 1 if direction == "forward" else 0
    fields = {root.pk: (root.code, root.kind, root.label)}
    for row in rows:
        fields[row[far_index]] = row[3:]
    result = Trace(root=root, direction=direction)
    # Sorting plain tuples keeps the comparisons in C: it matters at 100,000 edges.
    edges = sorted((fields[p][0], fields[c][0], role) for p, c, role, *_ in rows)
    result.edges = [{"parent": p, "child": c, "role": role} for p, c, role in edges]
    result.nodes = [
        {"code": code, "kind": kind, "label": label, "url": f"/r/{code}/"}
        for code, kind, label in sorted(fields.values())
    ]
    return result
