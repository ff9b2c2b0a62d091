"""Make the change history append-only in the database itself.

Nothing in the application updates or deletes history, and these triggers refuse it from any
other client too. The one update allowed is Django clearing ``user_id`` when a user account is
deleted (``on_delete=SET_NULL``): the entry keeps the ``username`` text. On PostgreSQL deletes are
refused as well; ``TRUNCATE`` stays possible for the database owner (test flushes, maintenance).
SQLite has no such escape hatch for test flushes, so there only updates are refused.
"""

from django.db import migrations

GUARDED = "at, username, action, model, object_id, record_code, object_repr, changes, request_id"

SQLITE_FORWARD = [
    f"""CREATE TRIGGER lims_history_no_update BEFORE UPDATE OF {GUARDED} ON lims_historyentry
    BEGIN SELECT RAISE(ABORT, 'lims_historyentry is append-only: history cannot be changed'); END;""",
]
SQLITE_BACKWARD = ["DROP TRIGGER IF EXISTS lims_history_no_update;"]

POSTGRES_FORWARD = [
    """CREATE OR REPLACE FUNCTION lims_history_refuse() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'lims_historyentry is append-only: history cannot be changed or deleted';
    END; $$ LANGUAGE plpgsql;""",
    f"""CREATE TRIGGER lims_history_no_update BEFORE UPDATE OF {GUARDED} ON lims_historyentry
    FOR EACH ROW EXECUTE FUNCTION lims_history_refuse();""",
    """CREATE TRIGGER lims_history_no_delete BEFORE DELETE ON lims_historyentry
    FOR EACH ROW EXECUTE FUNCTION lims_history_refuse();""",
]
POSTGRES_BACKWARD = [
    "DROP TRIGGER IF EXISTS lims_history_no_delete ON lims_historyentry;",
    "DROP TRIGGER IF EXISTS lims_history_no_update ON lims_historyentry;",
    "DROP FUNCTION IF EXISTS lims_history_refuse();",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("lims", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
        )
    ]
