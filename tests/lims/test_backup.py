"""Point 8: a backup restored into an empty instance reproduces every record, link, history
entry and raw file byte for byte."""

from __future__ import annotations

import io
import tarfile
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from lims.backup import backup_fingerprint
from lims.chain import chain_head
from lims.models import HistoryEntry, Link, Record, StoredFile, Tombstone

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return Path(settings.MEDIA_ROOT)


def test_backup_then_restore_into_an_empty_instance_0_differences(
    api: Any, users: Any, lab: Any, media: Path, tmp_path: Path
) -> None:
    from lims.services import record_delete

    client = api("scientist")
    raw = b"freq/Hz\tRe(Z)/Ohm\n1000\t12.5\n" * 50
    upload = client.post(
        "/api/measurements/",
        {
            "subject": lab.cell.code,
            "measurement_type": "eis",
            "upload": SimpleUploadedFile("cell.mpt", raw),
        },
        format="multipart",
    )
    assert upload.status_code == 201, upload.json()
    record_delete(instance=lab.separators[1], user=users["scientist"])  # a tombstone
    counts = {
        m.__name__: m.objects.count() for m in (Record, Link, HistoryEntry, StoredFile, Tombstone)
    }
    fingerprint, head = backup_fingerprint(), chain_head()
    files = {f.sha256: Path(f.file.path).read_bytes() for f in StoredFile.objects.all()}
    archive = tmp_path / "lab.tar"
    call_command("backup", str(archive), stdout=StringIO())

    # An empty instance: the database flushed, the raw files gone.
    call_command("flush", interactive=False, verbosity=0)
    for path in media.rglob("*"):
        if path.is_file():
            path.unlink()
    out = StringIO()
    call_command("restore", str(archive), stdout=out)
    assert f"{counts['HistoryEntry']} history entries verified" in out.getvalue()

    restored = {
        m.__name__: m.objects.count() for m in (Record, Link, HistoryEntry, StoredFile, Tombstone)
    }
    assert restored == counts
    assert backup_fingerprint() == fingerprint, "restored rows differ from the backed-up rows"
    assert chain_head() == head
    differing = [
        sha
        for sha, content in files.items()
        if Path(StoredFile.objects.get(sha256=sha).file.path).read_bytes() != content
    ]
    assert not differing, f"{len(differing)} of {len(files)} raw files differ"
    # The restored lab works: the API reads it, and a restore over it is refused.
    assert client.get(f"/api/records/{lab.cell.code}/").status_code == 200
    with pytest.raises(CommandError, match="empty instance"):
        call_command("restore", str(archive))


def test_a_corrupted_archive_is_refused_before_anything_is_loaded(
    lab: Any, media: Path, tmp_path: Path
) -> None:
    archive = tmp_path / "lab.tar"
    call_command("backup", str(archive), stdout=StringIO())
    tampered = tmp_path / "tampered.tar"
    with tarfile.open(archive) as source, tarfile.open(tampered, "w") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "data.limsjson":
                data = data.replace(b'"username": "scientist"', b'"username": "mallory!"')
            member.size = len(data)
            target.addfile(member, io.BytesIO(data))
    call_command("flush", interactive=False, verbosity=0)
    with pytest.raises(CommandError, match=r"data\.limsjson does not match its checksum"):
        call_command("restore", str(tampered))
    assert not Record.objects.exists() and not HistoryEntry.objects.exists()
