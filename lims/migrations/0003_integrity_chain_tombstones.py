"""History filed by record identity, chained by SHA-256; tombstones keep deleted codes taken.

Existing entries get their ``record_id`` (a record's own entries by their ``object_id``; a
sub-row's by the record that had the code when the entry was written, so two records that once
shared a code are told apart), their hashes in id order, and every record already deleted gets
its tombstone. The append-only guard is then installed anew (``lims.append_only``).

On SQLite, a migration that alters ``lims_historyentry``, ``lims_tombstone`` or ``lims_record``
rebuilds the table and drops its triggers: such a migration must end with
``guard_install`` as this one does.
"""

import importlib

from django.conf import settings
from django.db import migrations, models

from lims.append_only import install_sql, remove_sql
from lims.chain import GENESIS, entry_hash

_0002 = importlib.import_module("lims.migrations.0002_history_append_only")


def _execute(schema_editor, statements):
    for statement in statements:
        schema_editor.execute(statement, params=None)


def guard_remove_0002(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    _execute(schema_editor, {"sqlite": _0002.SQLITE_BACKWARD, "postgresql": _0002.POSTGRES_BACKWARD}.get(vendor, []))


def guard_restore_0002(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    _execute(schema_editor, {"sqlite": _0002.SQLITE_FORWARD, "postgresql": _0002.POSTGRES_FORWARD}.get(vendor, []))


def guard_install(apps, schema_editor):
    _execute(schema_editor, install_sql(schema_editor.connection.vendor))


def guard_remove(apps, schema_editor):
    _execute(schema_editor, remove_sql(schema_editor.connection.vendor))


HASHED = ("at", "username", "action", "model", "object_id", "record_id", "record_code", "object_repr", "changes", "request_id")


def backfill(apps, schema_editor):
    HistoryEntry = apps.get_model("lims", "HistoryEntry")
    Record = apps.get_model("lims", "Record")
    Tombstone = apps.get_model("lims", "Tombstone")
    live = {pk: (code, kind) for pk, code, kind in Record.objects.values_list("pk", "code", "kind")}
    created = dict(Record.objects.values_list("code", "created_at"))
    by_code = dict(Record.objects.values_list("code", "pk"))
    entries = list(HistoryEntry.objects.order_by("id"))
    # A model whose entries once listed a code is a kind of record (even with none left).
    record_models = {e.model for e in entries if e.action != "update" and "code" in e.changes}
    prev = GENESIS
    for e in entries:
        if e.model in record_models:
            e.record_id = int(e.object_id)
        elif e.record_code in by_code and created[e.record_code] <= e.at:
            e.record_id = by_code[e.record_code]
        values = {name: getattr(e, name) for name in HASHED}
        e.prev_hash = prev
        e.entry_hash = prev = entry_hash(prev, values)
    HistoryEntry.objects.bulk_update(entries, ["record_id", "prev_hash", "entry_hash"], batch_size=1000)
    for e in entries:
        if e.action == "delete" and e.model in record_models and e.record_id not in live:
            Tombstone.objects.get_or_create(
                record_id=e.record_id,
                defaults={"code": e.record_code, "kind": e.model.split(".")[-1], "deleted_at": e.at, "deleted_by": e.username},
            )



class Migration(migrations.Migration):

    dependencies = [
        ('lims', '0002_history_append_only'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(guard_remove_0002, guard_restore_0002),
        migrations.CreateModel(
            name='Tombstone',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code', models.CharField(max_length=40, unique=True)),
                ('kind', models.CharField(max_length=40)),
                ('record_id', models.BigIntegerField(unique=True)),
                ('deleted_at', models.DateTimeField()),
                ('deleted_by', models.CharField(blank=True, max_length=150)),
            ],
            options={
                'ordering': ['code'],
            },
        ),
        migrations.AddField(
            model_name='historyentry',
            name='entry_hash',
            field=models.CharField(default='', help_text='SHA-256 of prev_hash and content', max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='historyentry',
            name='prev_hash',
            field=models.CharField(default='', help_text='entry_hash of the entry before', max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='historyentry',
            name='record_id',
            field=models.BigIntegerField(blank=True, db_index=True, help_text='id of the record it is filed under', null=True),
        ),
        migrations.AddIndex(
            model_name='historyentry',
            index=models.Index(fields=['model', 'object_id'], name='history_model_object_idx'),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.RunPython(guard_install, guard_remove),
    ]
