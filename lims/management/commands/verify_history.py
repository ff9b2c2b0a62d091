"""Recompute the history's hash chain and name the first altered, inserted or removed entry."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lims.chain import chain_verify
from lims.models import HistoryEntry


class Command(BaseCommand):
    help = (
        "Recompute every history entry's SHA-256 chain; exit 1 naming the first entry that was "
        "altered, inserted or removed. --anchor ID:HASH (a printed daily anchor) also checks "
        "that the chain still passes through that entry, which catches entries removed from "
        "the end and a chain rewritten whole."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--anchor", action="append", default=[], metavar="ID:HASH")

    def handle(self, *args: Any, anchor: list[str], **options: Any) -> None:
        result = chain_verify()
        if result.first_break is not None:
            raise CommandError(f"{result.first_break} ({result.checked} entries checked)")
        for item in anchor:
            entry_id, _, expected = item.partition(":")
            if not entry_id.isdigit() or len(expected) != 64:
                raise CommandError(f"--anchor {item!r}: expected ID:HASH (64 hex digits).")
            stored = (
                HistoryEntry.objects.filter(pk=int(entry_id))
                .values_list("entry_hash", flat=True)
                .first()
            )
            if stored != expected:
                found = "is missing" if stored is None else f"has hash {stored}"
                raise CommandError(f"Anchor {entry_id}:{expected} does not hold: entry {found}.")
        self.stdout.write(
            f"{result.checked} history entries verified; head entry {result.head_id} "
            f"{result.head_hash}" + (f"; {len(anchor)} anchor(s) hold" if anchor else "")
        )
