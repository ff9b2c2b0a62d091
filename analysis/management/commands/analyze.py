"""``manage.py analyze FILE --kind eis``: what the analysis makes of a file; nothing is stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analysis.registry import AnalysisError, registry


def _parameter(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise CommandError(f"--param takes name=value, got {text!r}")
    try:
        return name, json.loads(raw)
    except json.JSONDecodeError:
        return name, raw  # a plain string, e.g. a circuit


class Command(BaseCommand):
    help = (
        "Run a registered analysis on a file and print its results (nothing is stored). "
        "Parameters not given take their defaults; see GET /api/analyses/."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--kind", required=True, choices=sorted(registry()))
        parser.add_argument("--area-cm2", type=float, help="Electrode area")
        parser.add_argument("--thickness-um", type=float, help="Electrolyte thickness")
        parser.add_argument(
            "--param", action="append", default=[], help="name=value (JSON value), repeatable"
        )
        parser.add_argument("--json", action="store_true", help="Print JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        from analysis.readers import ReadError, read
        from analysis.services import column_mapping

        analysis = registry()[options["kind"]]
        params = analysis.defaults()
        given = dict(_parameter(p) for p in options["param"])
        for name in ("area_cm2", "thickness_um"):
            if options[name] is not None:
                given[name] = options[name]
        unknown = sorted(set(given) - set(params))
        if unknown:
            raise CommandError(
                f"unknown parameter(s) {', '.join(unknown)} for {analysis.key}; "
                f"known: {', '.join(sorted(params))}"
            )
        params.update(given)
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            mapping = column_mapping(params.get("column_mapping")) or analysis.mapping
            dataset = (
                read(path, mapping=mapping, require=analysis.require)
                if analysis.needs_file
                else None
            )
            outcome = analysis.function(dataset, params)
        except (AnalysisError, ReadError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "analysis": analysis.full_version,
                        "parameters": params,
                        "values": [v.__dict__ for v in outcome.values],
                        "flags": [f.__dict__ for f in outcome.flags],
                        "summary": outcome.summary,
                    },
                    indent=2,
                    default=str,
                )
            )
            return
        self.stdout.write(f"{analysis.title} ({analysis.full_version}) of {path.name}")
        for v in outcome.values:
            bound = "> " if v.is_lower_bound else ""
            error = "" if v.std_error is None else f" ± {v.std_error:.3g}"
            spread = "" if v.n is None else f" (sd {v.sd:.3g}, n {v.n})"
            unit = analysis.unit(v.name)
            self.stdout.write(f"  {v.name:32} {bound}{v.value:.6g}{error} {unit}{spread}")
        for flag in outcome.flags:
            self.stdout.write(self.style.WARNING(f"  flag {flag.kind}: {flag.message}"))
