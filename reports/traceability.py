"""Reads for the traceability audit: trace trees, impact of a lot, history of a lineage."""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from lims.lineage import Trace, lineage_trace
from lims.models import HistoryEntry, Record, record_model
from lims.tables import Column

#: A page draws at most this many tree nodes; the counts and the CSV always cover everything.
MAX_TREE_NODES = 1500

#: Kinds an impact report starts from: what can turn out bad after the fact.
IMPACT_KINDS = ("chemicallot", "equipment", "gloveboxreading")


def kind_name(kind: str, count: int = 1) -> str:
    """``synthesisbatch`` → ``synthesis batch`` (or its plural), in the model's own words."""
    model = record_model(kind)
    if model is None:
        return kind
    meta = model._meta
    return str(meta.verbose_name if count == 1 else meta.verbose_name_plural)


@dataclass
class TreeNode:
    code: str
    kind: str  # in words: "glovebox reading"
    label: str
    role: str
    children: list[TreeNode] = field(default_factory=list)
    #: Already drawn elsewhere in the tree (a shared parent): not expanded again.
    repeated: bool = False


@dataclass
class TraceTree:
    trace: Trace
    root: TreeNode
    counts: list[tuple[str, int]]
    drawn: int
    total: int

    @property
    def truncated(self) -> bool:
        return self.drawn < self.total


def trace_tree(*, root: Record, direction: str) -> TraceTree:
    """The trace as a tree a person can read: each record once, expanded where first met.

    Backward, a node's children are what it was made from; forward, what was made from it.
    Shared records (the glovebox reading both foils passed under) are drawn again as a
    reference, not expanded twice. Breadth-first, so the nearest records are drawn first.
    """
    trace = lineage_trace(root=root, direction=direction)
    nodes = {n["code"]: n for n in trace.nodes}
    below: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for edge in trace.edges:
        near, far = (
            (edge["child"], edge["parent"])
            if direction == "backward"
            else (edge["parent"], edge["child"])
        )
        below[near].append((far, edge["role"]))
    top = TreeNode(root.code, kind_name(root.kind), root.label, "")
    seen, queue, drawn = {root.code}, deque([top]), 1
    while queue and drawn < MAX_TREE_NODES:
        current = queue.popleft()
        for code, role in sorted(below.get(current.code, []), key=lambda cr: (cr[1], cr[0])):
            node = nodes[code]
            kind = kind_name(node["kind"])
            child = TreeNode(code, kind, node["label"], role, repeated=code in seen)
            current.children.append(child)
            drawn += 1
            if not child.repeated:
                seen.add(code)
                queue.append(child)
            if drawn >= MAX_TREE_NODES:
                break
    counts = Counter(n["kind"] for n in trace.nodes if n["code"] != root.code)
    return TraceTree(
        trace=trace,
        root=top,
        counts=[(kind_name(k, n), n) for k, n in sorted(counts.items())],
        drawn=len(seen),
        total=len(trace.nodes),
    )


@dataclass
class Impact:
    root: Record
    counts: dict[str, int]
    cells: list[Any]
    measurements: list[Any]
    others: list[dict[str, Any]]


def impact_report(*, root: Record) -> Impact:
    """Everything made from ``root`` (a lot, a furnace, a glovebox reading) or measured on it:
    the affected cells and measurements in full, and counts of every other kind."""
    from analysis.models import Measurement
    from cells.models import Cell

    trace = lineage_trace(root=root, direction="forward")
    codes: dict[str, list[str]] = defaultdict(list)
    for node in trace.nodes:
        if node["code"] != root.code:
            codes[node["kind"]].append(node["code"])
    cells = list(
        Cell.objects.filter(code__in=codes.get("cell", []))
        .select_related("separator__pellet__batch", "electrode_1__foil")
        .order_by("code")
    )
    measurements = list(
        Measurement.objects.filter(code__in=codes.get("measurement", []))
        .select_related("subject", "operator")
        .order_by("code")
    )
    others = [n for n in trace.nodes if n["kind"] not in {"cell", "measurement"}]
    return Impact(
        root=root,
        counts={kind_name(k, len(found)): len(found) for k, found in sorted(codes.items())},
        cells=cells,
        measurements=measurements,
        others=[n for n in others if n["code"] != root.code],
    )


IMPACT_COLUMNS = ("kind", "code", "description", "status", "batch", "measured_at")


def impact_rows(impact: Impact) -> list[list[Any]]:
    """One row per affected record for the CSV: cells, then measurements, then the rest."""
    rows: list[list[Any]] = [
        ["cell", c.code, c.label, c.get_status_display(), c.separator.pellet.batch.code, None]
        for c in impact.cells
    ]
    rows += [["measurement", m.code, m.label, "", "", m.measured_at] for m in impact.measurements]
    rows += [[n["kind"], n["code"], n["label"], "", "", None] for n in impact.others]
    return rows


def lineage_history(*, root: Record) -> QuerySet[HistoryEntry]:
    """Every change to ``root`` and to everything it was made from, oldest first."""
    trace = lineage_trace(root=root, direction="backward")
    codes = [n["code"] for n in trace.nodes]
    # by identity, never by code: a code of a deleted record is never reused, but the history
    # is filed under the record's id (lims.history)
    ids = Record.objects.filter(code__in=codes).values("pk")
    return HistoryEntry.objects.filter(record_id__in=ids).order_by("at", "id")


HISTORY_COLUMNS = (
    Column("at", "at"),
    Column("record", "record_code"),
    Column("user", "username"),
    Column("action", "action"),
    Column("model", "model"),
    Column("object", "object_repr"),
    Column(
        "changes",
        lambda h: "; ".join(f"{k}: {old!r} → {new!r}" for k, (old, new) in h.changes.items()),
    ),
    Column("request_id", "request_id"),
)
