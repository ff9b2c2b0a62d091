"""Point 8: a backup restored into an empty instance reproduces every record, link, history
entry and raw file byte for byte."""

from __future__ import annotations

import io
import json
import tarfile
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.core.serializers.base import DeserializationError

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


def _tampered(archive: Path, target: Path, change: str) -> Path:
    """A copy of a backup with one thing a backup never holds."""
    with tarfile.open(archive) as source:
        members = [(m, source.extractfile(m).read()) for m in source.getmembers()]  # type: ignore[union-attr]
    raw = next(m for m, _ in members if m.name.startswith("media/"))

    def extra(name: str, data: bytes = b"owned\n", **fields: Any) -> tuple[tarfile.TarInfo, bytes]:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        for key, value in fields.items():
            setattr(info, key, value)
        return info, data

    if change == "gzip":
        with tarfile.open(target, "w:gz") as out:
            for member, data in members:
                out.addfile(member, io.BytesIO(data))
        return target
    added = {
        "symlink": extra(raw.name, b"", type=tarfile.SYMTYPE, linkname="/etc/passwd"),
        "hardlink": extra("media/raw/00/" + "0" * 64, b"", type=tarfile.LNKTYPE, linkname="x"),
        "traversal": extra("../../escape-backup.txt"),
        "media traversal": extra("media/../../escape-backup.txt"),
        "absolute": extra("/tmp/escape-backup.txt"),
        "twice": extra(raw.name, b"another file\n"),
        "unexpected": extra("notes.txt"),
        "folder": extra("media/raw/ff", b"", type=tarfile.DIRTYPE),
    }[change]
    with tarfile.open(target, "w") as out:
        for member, data in [*members, added]:
            out.addfile(member, io.BytesIO(data))
    return target


def test_an_archive_with_links_unsafe_names_or_compression_is_refused_before_loading(
    users: Any, lab: Any, media: Path, tmp_path: Path
) -> None:
    """The restore path's upload checks: only the regular files a backup holds, each once,
    under safe names, in an uncompressed tar (no bomb can hide in it)."""
    from analysis.services import measurement_create

    measurement_create(
        user=users["scientist"],
        subject=lab.cell,
        measurement_type="eis",
        raw_stream=io.BytesIO(b"freq/Hz\tRe(Z)/Ohm\n1000\t12.5\n" * 20),
        raw_name="cell.mpt",
    )
    archive = tmp_path / "lab.tar"
    call_command("backup", str(archive), stdout=StringIO())
    call_command("flush", interactive=False, verbosity=0)
    for path in media.rglob("*"):
        if path.is_file():
            path.unlink()
    expected = {
        "gzip": "not an uncompressed tar archive",
        "symlink": "is a symbolic link",
        "hardlink": "is a hard link",
        "traversal": "unsafe path (a '..' component)",
        "media traversal": "unsafe path (a '..' component)",
        "absolute": "unsafe path (an absolute path)",
        "twice": "appears twice",
        "unexpected": "'notes.txt' is not part of a backup",
        "folder": "is a folder",
    }
    escapes = [tmp_path.parent / "escape-backup.txt", Path("/tmp/escape-backup.txt")]
    existed = [p.exists() for p in escapes]
    refused = 0
    for change, says in expected.items():
        tampered = _tampered(archive, tmp_path / f"{change}.tar", change)
        with pytest.raises(CommandError) as raised:
            call_command("restore", str(tampered), stdout=StringIO())
        assert says in str(raised.value), (change, str(raised.value))
        refused += 1
        assert not Record.objects.exists() and not StoredFile.objects.exists()
        assert not [p for p in media.rglob("*") if p.is_file()], change
    assert [p.exists() for p in escapes] == existed
    assert refused == len(expected), f"{refused} of {len(expected)} tampered archives refused"
    # The untouched archive still restores, its raw file with it.
    call_command("restore", str(archive), stdout=StringIO())
    assert Record.objects.exists()
    assert [(media / f.file.name).is_file() for f in StoredFile.objects.all()] == [True]


@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_the_loader_reads_one_object_at_a_time_across_any_chunk_boundary(
    monkeypatch: Any, chunk: int
) -> None:
    from lims import serialization

    items = [
        {"model": "x.y", "pk": i, "fields": {"s": 'a, ]} \\" [{', "n": [i, {"k": None}]}}
        for i in range(5)
    ]
    monkeypatch.setattr(serialization, "READ_CHUNK", chunk)
    text = json.dumps(items, indent=None)
    assert list(serialization.json_array_items(io.BytesIO(text.encode()))) == items
    assert list(serialization.json_array_items(io.StringIO(" [ ] "))) == []
    for broken in ("[{}", '{"a": 1}', "[{]"):
        with pytest.raises(DeserializationError):
            list(serialization.json_array_items(io.StringIO(broken)))
