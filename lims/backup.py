"""Backups: one archive of the database and the raw files, checked on the way back in.

An archive (``.tar``) holds ``data.limsjson`` (every row, as Django's JSON serializer writes it
with natural keys and times to the microsecond, read in one transaction so it is one consistent moment of the lab), the raw files
under ``media/`` and ``manifest.json`` with the SHA-256 and size of every other member and the
migration each app was at. ``backup_restore`` checks every checksum before it loads anything,
loads into an empty instance only, and verifies the history chain afterwards. Rows are loaded
as they were saved (``loaddata`` writes raw rows), so history, tombstones and hashes come back
unchanged and nothing new is logged.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import IO, Any

from django.contrib.auth import get_user_model
from django.core import serializers
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from lims import serialization
from lims.chain import Verification, chain_verify
from lims.models import HistoryEntry, Record, StoredFile
from lims.uploads import unsafe_member_name

serializers.register_serializer(serialization.FORMAT, "lims.serialization")
DATA = f"data.{serialization.FORMAT}"

FORMAT = 1
#: Rebuilt by ``migrate`` itself; rows elsewhere refer to them by natural key.
EXCLUDED = ("contenttypes", "auth.permission", "sessions")


def _sha256(stream: IO[bytes]) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    for chunk in iter(lambda: stream.read(1024 * 1024), b""):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _add(archive: tarfile.TarFile, name: str, stream: IO[bytes], size: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime = size, int(timezone.now().timestamp())
    archive.addfile(info, stream)


def backup_write(*, path: Path) -> dict[str, Any]:
    """Write the archive to ``path`` (via a temporary file, so a failed backup leaves none)."""
    with tempfile.TemporaryDirectory() as scratch:
        data_path = Path(scratch) / DATA
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # One snapshot for every table: the dump is one moment of the lab.
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            call_command(
                "dumpdata",
                exclude=list(EXCLUDED),
                format=serialization.FORMAT,
                natural_foreign=True,
                natural_primary=True,
                indent=None,
                output=str(data_path),
                verbosity=0,
            )
            files = list(StoredFile.objects.order_by("sha256").values_list("file", flat=True))
            migrations = sorted(
                MigrationRecorder.Migration.objects.values_list("app", "name").distinct()
            )
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "created_at": timezone.now().isoformat(),
            "database": connection.vendor,
            "migrations": [f"{app}.{name}" for app, name in migrations],
            "members": {},
        }
        partial = path.with_name(path.name + ".partial")
        with tarfile.open(partial, "w") as archive:
            with data_path.open("rb") as data:
                sha, size = _sha256(data)
                data.seek(0)
                _add(archive, DATA, data, size)
            manifest["members"][DATA] = {"sha256": sha, "size": size}
            for name in files:
                with default_storage.open(name, "rb") as stream:
                    sha, size = _sha256(stream)
                    stream.seek(0)
                    _add(archive, f"media/{name}", stream, size)
                manifest["members"][f"media/{name}"] = {"sha256": sha, "size": size}
            body = json.dumps(manifest, indent=1, sort_keys=True).encode()
            _add(archive, "manifest.json", io.BytesIO(body), len(body))
        partial.replace(path)
        return manifest


#: Members a backup holds: its data, its manifest and raw files under their storage names.
MEDIA_MEMBER = re.compile(r"media/raw/[0-9a-f]{2}/[0-9a-f]{64}(_[A-Za-z0-9]{7})?")
MANIFEST = "manifest.json"
MANIFEST_MAX_BYTES = 256 * 1024 * 1024


def _archive_members(archive: tarfile.TarFile, path: Path) -> dict[str, tarfile.TarInfo]:
    """The members of a backup archive by name, refusing anything ``backup_write`` does not
    write: links, devices, folders and sparse files, unsafe or unexpected names, a name twice,
    or a member that claims more bytes than the archive holds."""
    size = path.stat().st_size
    members: dict[str, tarfile.TarInfo] = {}
    try:
        listed = archive.getmembers()
    except tarfile.TarError as exc:
        raise ValidationError(f"{path.name}: a damaged tar archive ({exc}).") from exc
    for member in listed:
        where = f"{path.name}: member {member.name!r}"
        if not member.isreg() or member.issparse():
            kind = (
                "symbolic link" if member.issym() else "hard link" if member.islnk()
                else "folder" if member.isdir() else "sparse file" if member.issparse()
                else "device or fifo"
            )  # fmt: skip
            raise ValidationError(f"{where} is a {kind}; a backup holds regular files only.")
        unsafe = unsafe_member_name(member.name)
        if unsafe:
            raise ValidationError(f"{where} has an unsafe path ({unsafe}).")
        if member.name not in (DATA, MANIFEST) and not MEDIA_MEMBER.fullmatch(member.name):
            raise ValidationError(f"{where} is not part of a backup.")
        if member.name in members:
            raise ValidationError(f"{where} appears twice.")
        if member.offset_data + member.size > size:
            raise ValidationError(f"{where} claims more bytes than the archive holds.")
        members[member.name] = member
    return members


def _read(archive: tarfile.TarFile, member: tarfile.TarInfo) -> IO[bytes]:
    stream = archive.extractfile(member)
    assert stream is not None, member.name  # regular files only (_archive_members)
    return stream


def backup_restore(*, path: Path) -> Verification:
    """Load an archive into an empty instance; the archive's structure and every checksum are
    checked first, and every raw file against its row."""
    if (
        Record.objects.exists()
        or HistoryEntry.objects.exists()
        or StoredFile.objects.exists()
        or get_user_model().objects.exists()
    ):
        raise ValidationError(
            "Restore needs an empty instance (migrated, no users, records, history or files)."
        )
    try:
        archive = tarfile.open(path, "r:")  # noqa: SIM115 - closed by the with below
    except (tarfile.ReadError, OSError) as exc:
        raise ValidationError(
            f"{path.name}: not an uncompressed tar archive, as manage.py backup writes ({exc})."
        ) from exc
    with archive, tempfile.TemporaryDirectory() as scratch:
        found = _archive_members(archive, path)
        if MANIFEST not in found or found[MANIFEST].size > MANIFEST_MAX_BYTES:
            raise ValidationError(f"{path.name}: no manifest.json (or one over 256 MiB).")
        try:
            manifest = json.load(_read(archive, found[MANIFEST]))
            members = dict(manifest["members"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ValidationError(f"{path.name}: manifest.json is not a backup manifest.") from exc
        if manifest.get("format") != FORMAT:
            raise ValidationError(f"{path.name}: unknown backup format {manifest.get('format')}.")
        if set(found) - {MANIFEST} != set(members):
            raise ValidationError(f"{path.name}: members differ from the manifest.")
        for name, expected in sorted(members.items()):
            got = _sha256(_read(archive, found[name]))
            if got != (expected["sha256"], expected["size"]):
                raise ValidationError(f"{path.name}: {name} does not match its checksum.")
        data_path = Path(scratch) / DATA
        with data_path.open("wb") as out:
            shutil.copyfileobj(_read(archive, found[DATA]), out, 1024 * 1024)
        with transaction.atomic():
            call_command("loaddata", str(data_path), verbosity=0)
            for stored in StoredFile.objects.order_by("pk").only("sha256", "file").iterator():
                member = members.get(f"media/{stored.file.name}")
                if member is None or member["sha256"] != stored.sha256:
                    raise ValidationError(
                        f"{path.name}: raw file {stored.sha256} is not in the archive under "
                        f"media/{stored.file.name} with that checksum."
                    )
            for name in sorted(members):
                if name.startswith("media/"):
                    stored_name = name.removeprefix("media/")
                    if not default_storage.exists(stored_name):
                        default_storage.save(stored_name, _read(archive, found[name]))
        result = chain_verify()
        if result.first_break is not None:
            raise ValidationError(f"Restored history does not verify: {result.first_break}")
        return result


def backup_fingerprint() -> str:
    """Every row as the backup serializes it: equal fingerprints mean equal databases."""
    from django.apps import apps

    rows = []
    for model in apps.get_models():
        label = model._meta.label_lower
        if label.startswith(EXCLUDED) or model._meta.app_label in ("contenttypes", "sessions"):
            continue
        rows.append(
            serializers.serialize(
                serialization.FORMAT,
                model._default_manager.order_by("pk"),
                use_natural_foreign_keys=True,
                use_natural_primary_keys=True,
            )
        )
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()
