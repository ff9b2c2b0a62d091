"""Load a backup archive into an empty, migrated instance, checking every checksum first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from lims.backup import backup_restore


class Command(BaseCommand):
    help = "Restore ARCHIVE (from manage.py backup) into an empty instance; run migrate first."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", type=Path)

    def handle(self, *args: Any, archive: Path, **options: Any) -> None:
        try:
            result = backup_restore(path=archive)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(
            f"Restored {archive}; {result.checked} history entries verified, head "
            f"{result.head_id}:{result.head_hash}"
        )
