"""Write one consistent archive of the database and the raw files, with a checksum manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from lims.backup import backup_write


class Command(BaseCommand):
    help = "Write the database and the raw files to ARCHIVE (.tar) with a SHA-256 manifest."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", type=Path)

    def handle(self, *args: Any, archive: Path, **options: Any) -> None:
        manifest = backup_write(path=archive)
        files = len(manifest["members"]) - 1
        self.stdout.write(f"{archive}: the database and {files} raw files, manifest checked in.")
