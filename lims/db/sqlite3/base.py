"""Django's SQLite backend, whose ``flush`` lifts the append-only triggers for its DELETEs.

``flush`` empties every table by design (the test suite does it after each transactional test);
with the history triggers in place its ``DELETE FROM lims_historyentry`` would be refused. The
triggers are dropped just before the deletes and created again right after, in the same
transaction, so no other statement ever runs without them. PostgreSQL flushes with ``TRUNCATE``,
which the owner role may run and the application role may not (``lims.append_only``).
"""

from __future__ import annotations

from typing import Any

from django.db.backends.sqlite3 import base, operations

from lims.append_only import GUARDED_TABLES, install_sql, remove_sql


class DatabaseOperations(operations.DatabaseOperations):
    def sql_flush(self, style: Any, tables: Any, **kwargs: Any) -> list[str]:
        statements = super().sql_flush(style, tables, **kwargs)
        if not set(GUARDED_TABLES) & set(tables):
            return statements
        return [*remove_sql("sqlite"), *statements, *install_sql("sqlite")]


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
