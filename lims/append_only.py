"""The database refuses to change or remove history, whoever connects.

``lims_historyentry`` and ``lims_tombstone`` take INSERT and SELECT only: triggers refuse UPDATE
and DELETE on SQLite and PostgreSQL. The one update allowed is Django clearing
``historyentry.user_id`` when a user account is deleted (``on_delete=SET_NULL``); the entry keeps
the ``username`` text and its hash does not cover ``user_id``. A trigger on ``lims_record`` also
refuses a code that a tombstone holds.

On PostgreSQL the application connects as its own role that owns nothing (:func:`app_role_sql`):
it cannot drop or disable these triggers, and it lacks the UPDATE, DELETE and TRUNCATE
privileges on both tables. Migrations, flushes and maintenance run as the owner role.

SQLite has no roles: whoever can write the file can drop a trigger, which the hash chain then
reveals (``verify_history``). ``manage.py flush`` (and so the test suite's flushes) lifts the
triggers for the length of its DELETE statements (``lims.db.sqlite3``).
"""

from __future__ import annotations

HISTORY = "lims_historyentry"
TOMBSTONE = "lims_tombstone"
GUARDED_TABLES = (HISTORY, TOMBSTONE)

#: Every column of the history but ``user_id``, which alone may be cleared.
_HISTORY_COLUMNS = [
    "id",
    "at",
    "username",
    "action",
    "model",
    "object_id",
    "record_id",
    "record_code",
    "object_repr",
    "changes",
    "request_id",
    "prev_hash",
    "entry_hash",
]

_SQLITE_UNCHANGED = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in _HISTORY_COLUMNS)

SQLITE_TRIGGERS = {
    "lims_history_no_update": f"""CREATE TRIGGER lims_history_no_update
    BEFORE UPDATE ON {HISTORY} WHEN NOT (NEW.user_id IS NULL AND {_SQLITE_UNCHANGED})
    BEGIN SELECT RAISE(ABORT, '{HISTORY} is append-only: history cannot be changed'); END;""",
    "lims_history_no_delete": f"""CREATE TRIGGER lims_history_no_delete BEFORE DELETE ON {HISTORY}
    BEGIN SELECT RAISE(ABORT, '{HISTORY} is append-only: history cannot be deleted'); END;""",
    "lims_tombstone_no_update": f"""CREATE TRIGGER lims_tombstone_no_update
    BEFORE UPDATE ON {TOMBSTONE}
    BEGIN SELECT RAISE(ABORT, '{TOMBSTONE} is append-only: a tombstone stays'); END;""",
    "lims_tombstone_no_delete": f"""CREATE TRIGGER lims_tombstone_no_delete
    BEFORE DELETE ON {TOMBSTONE}
    BEGIN SELECT RAISE(ABORT, '{TOMBSTONE} is append-only: a tombstone stays'); END;""",
    "lims_record_code_not_retired": f"""CREATE TRIGGER lims_record_code_not_retired
    BEFORE INSERT ON lims_record
    WHEN EXISTS (SELECT 1 FROM {TOMBSTONE} t WHERE t.code = NEW.code)
    BEGIN SELECT RAISE(ABORT, 'this code belonged to a deleted record and is never reused'); END;""",
}

POSTGRES_INSTALL = [
    """CREATE OR REPLACE FUNCTION lims_append_only_refuse() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
    END; $$ LANGUAGE plpgsql;""",
    """CREATE OR REPLACE FUNCTION lims_history_update_guard() RETURNS trigger AS $$
    BEGIN
        IF NEW.user_id IS NULL AND (to_jsonb(NEW) - 'user_id') = (to_jsonb(OLD) - 'user_id') THEN
            RETURN NEW;  -- a deleted user's id is cleared; nothing else may change
        END IF;
        RAISE EXCEPTION '% is append-only: history cannot be changed', TG_TABLE_NAME;
    END; $$ LANGUAGE plpgsql;""",
    """CREATE OR REPLACE FUNCTION lims_record_code_guard() RETURNS trigger AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM lims_tombstone t WHERE t.code = NEW.code) THEN
            RAISE EXCEPTION 'code % belonged to a deleted record and is never reused', NEW.code;
        END IF;
        RETURN NEW;
    END; $$ LANGUAGE plpgsql;""",
    f"""CREATE TRIGGER lims_history_no_update BEFORE UPDATE ON {HISTORY}
    FOR EACH ROW EXECUTE FUNCTION lims_history_update_guard();""",
    f"""CREATE TRIGGER lims_history_no_delete BEFORE DELETE ON {HISTORY}
    FOR EACH ROW EXECUTE FUNCTION lims_append_only_refuse();""",
    f"""CREATE TRIGGER lims_tombstone_no_change BEFORE UPDATE OR DELETE ON {TOMBSTONE}
    FOR EACH ROW EXECUTE FUNCTION lims_append_only_refuse();""",
    """CREATE TRIGGER lims_record_code_not_retired BEFORE INSERT ON lims_record
    FOR EACH ROW EXECUTE FUNCTION lims_record_code_guard();""",
]
POSTGRES_REMOVE = [
    "DROP TRIGGER IF EXISTS lims_record_code_not_retired ON lims_record;",
    f"DROP TRIGGER IF EXISTS lims_tombstone_no_change ON {TOMBSTONE};",
    f"DROP TRIGGER IF EXISTS lims_history_no_delete ON {HISTORY};",
    f"DROP TRIGGER IF EXISTS lims_history_no_update ON {HISTORY};",
    "DROP FUNCTION IF EXISTS lims_record_code_guard();",
    "DROP FUNCTION IF EXISTS lims_history_update_guard();",
    "DROP FUNCTION IF EXISTS lims_append_only_refuse();",
]


def install_sql(vendor: str) -> list[str]:
    """Statements that put the guard in place (idempotent after :func:`remove_sql`)."""
    if vendor == "sqlite":
        return list(SQLITE_TRIGGERS.values())
    return POSTGRES_INSTALL if vendor == "postgresql" else []


def remove_sql(vendor: str) -> list[str]:
    if vendor == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {name};" for name in SQLITE_TRIGGERS]
    return POSTGRES_REMOVE if vendor == "postgresql" else []


def app_role_sql(role: str, schema: str = "public") -> list[str]:
    """PostgreSQL grants for the application's role, run by the owner after each migrate.

    The role may read and write every table but may only add to the history and tombstones
    (and clear a deleted user's id); owning nothing, it cannot drop or disable the triggers.
    """
    if not role.replace("_", "").isalnum():
        raise ValueError(f"{role!r} is not a plain role name.")
    guarded = ", ".join(GUARDED_TABLES)
    return [
        f"GRANT USAGE ON SCHEMA {schema} TO {role};",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role};",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role};",
        f"REVOKE UPDATE, DELETE, TRUNCATE ON {guarded} FROM {role};",
        f"GRANT UPDATE (user_id) ON {HISTORY} TO {role};",
    ]
