"""``python -m analysis.readers FILE [--json] [--template NAME | --mapping FILE.json]``

Prints the detected format, the metadata, the columns with their units and the row count.
Exit status 2 and the ReadError message on stderr when the file cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from . import TEMPLATES, ColumnMapping, ReadError, read


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.readers", description=__doc__)
    parser.add_argument("file", type=Path)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--template", choices=sorted(TEMPLATES), help="built-in column mapping")
    group.add_argument("--mapping", type=Path, help="a ColumnMapping saved as JSON")
    args = parser.parse_args(argv)
    mapping: ColumnMapping | str | None = args.template
    if args.mapping is not None:
        mapping = ColumnMapping.from_json(args.mapping.read_text(encoding="utf-8"))
    try:
        ds = read(args.file, mapping=mapping)
    except ReadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = ds.summary()
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
        return 0
    print(f"file:      {summary['filename']}")
    print(f"format:    {summary['format']}")
    for key in ("technique", "instrument", "software", "software_version", "start_time"):
        if summary.get(key) is not None:
            print(f"{key + ':':<10} {summary[key]}")
    if summary.get("electrode_area_cm2") is not None:
        print(f"area:      {summary['electrode_area_cm2']} cm2")
    print(f"rows:      {summary['rows']}")
    print("columns:")
    for rec in summary["columns"]:
        _print_column(rec)
    settings: dict[str, Any] = summary.get("settings") or {}
    if settings:
        print(f"settings:  {len(settings)} entries (use --json to see them)")
    return 0


def _print_column(rec: dict[str, Any]) -> None:
    if rec.get("canonical"):
        conv = "" if rec["factor"] == 1.0 else f"  x {rec['factor']:g}"
        print(f"  {rec['source']!r:<28} -> {rec['canonical']} [{rec['unit'] or '-'}]{conv}")
    else:
        print(
            f"  {rec['source']!r:<28} -> extra {('(' + rec['note'] + ')') if 'note' in rec else ''}"
        )


if __name__ == "__main__":
    sys.exit(main())
