"""Raw files, kept exactly as they arrived under their SHA-256.

Every file passes the upload gate (:func:`lims.uploads.upload_check`) first: nothing it refuses
reaches storage or the database. The stored name is the checksum (``raw/ab/abcd…``); the
client's name is kept only as sanitised metadata, and the content type is the one the gate
sniffed from the bytes, never the client's.

Storage is not transactional: a file is written before its row, and the row may still be rolled
back (a later validation error in the same request). Each thread remembers the files it wrote;
:func:`stored_files_discard_orphans` (run after every request by
``lims.middleware.UploadLimitMiddleware``) deletes those whose row is not there.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import IO, Any

from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import DatabaseError, transaction

from lims.models import StoredFile
from lims.uploads import CheckedUpload, spooled, upload_check

logger = logging.getLogger(__name__)

#: Names of files this thread wrote to storage whose rows may not be committed yet.
_written = threading.local()


def _written_names() -> list[str]:
    names: list[str] | None = getattr(_written, "names", None)
    if names is None:
        names = _written.names = []
    return names


@transaction.atomic
def stored_file_create(
    *,
    stream: IO[bytes],
    original_name: str,
    user: Any = None,
    field: str = "upload",
    expect: Callable[[CheckedUpload, IO[bytes]], None] | None = None,
) -> StoredFile:
    """Check a raw file at the upload gate and keep it under its SHA-256; the same bytes are
    kept once.

    ``expect(checked, stream)`` lets the caller refuse a kind it cannot use (a measurement's
    analysis), raising :class:`lims.uploads.UploadRefused`, before anything is stored. The
    stream is read in chunks, so a large file is never held in memory.
    """
    seekable = False
    with contextlib.suppress(AttributeError, OSError, ValueError):
        seekable = stream.seekable()
    if not seekable:
        stream = spooled(stream, name=original_name, field=field)
    checked = upload_check(stream=stream, name=original_name, field=field)
    if expect is not None:
        expect(checked, stream)
        stream.seek(0)
    existing = StoredFile.objects.filter(sha256=checked.sha256).first()
    if existing is not None:
        return existing
    stored = StoredFile(
        sha256=checked.sha256,
        original_name=checked.name,
        size_bytes=checked.size_bytes,
        content_type=checked.content_type,
        uploaded_by=user if getattr(user, "is_authenticated", False) else None,
    )
    stored.file.save(checked.sha256, File(stream), save=False)
    _written_names().append(str(stored.file.name))
    stored.save()
    return stored


def stored_files_track_afresh() -> None:
    """Forget the names written so far on this thread (by a script or a test's setup, whose
    callers discard their own orphans), so that a request checks only the files it stored."""
    _written.names = []


def stored_files_discard_orphans() -> list[str]:
    """Delete the files this thread stored whose ``StoredFile`` row does not exist (its
    transaction rolled back); return their names. A name with a row is kept: storage never
    reuses a name, so a row with it can only be the one written with the file."""
    names = _written_names()
    if not names:
        return []
    pending, names[:] = list(names), []
    try:
        kept = set(StoredFile.objects.filter(file__in=pending).values_list("file", flat=True))
    except DatabaseError:
        logger.exception("could not check raw files for orphans: %s", pending)
        return []
    orphans = [name for name in pending if name not in kept]
    for name in orphans:
        default_storage.delete(name)
        logger.info("deleted raw file %s: its row was rolled back", name)
    return orphans
