"""The results table's rows as the API describes them: one field per column, typed."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from reports.results_table import COLUMNS


def _field(kind: str, description: str) -> serializers.Field:
    options: dict[str, Any] = {"help_text": description, "allow_null": True, "read_only": True}
    fields: dict[str, type[serializers.Field]] = {
        "number": serializers.FloatField,
        "integer": serializers.IntegerField,
        "boolean": serializers.BooleanField,
        "datetime": serializers.DateTimeField,
        "text": serializers.CharField,
    }
    return fields[kind](**options)


# One field per column of the table, so the schema documents every column with its unit.
ResultsTableRowSerializer = type(
    "ResultsTableRowSerializer",
    (serializers.Serializer,),
    {c.name: _field(c.kind, c.description) for c in COLUMNS}
    | {"__doc__": "One cell: its flattened lineage and its current results."},
)
