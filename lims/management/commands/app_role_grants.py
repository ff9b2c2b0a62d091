"""Print the PostgreSQL grants for the application's own role (run them as the owner)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from lims.append_only import app_role_sql


class Command(BaseCommand):
    help = (
        "Print the SQL that lets ROLE read and write the lab's tables but only append to the "
        "history; pipe it to psql as the owner after every migrate."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role", help="the role the application connects as (not the owner)")

    def handle(self, *args: Any, role: str, **options: Any) -> None:
        for statement in app_role_sql(role):
            self.stdout.write(statement)
