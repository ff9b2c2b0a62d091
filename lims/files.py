"""Raw files, kept exactly as they arrived under their SHA-256."""

from __future__ import annotations

import hashlib
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import transaction

from lims.models import StoredFile


@transaction.atomic
def stored_file_create(
    *, stream: IO[bytes], original_name: str, content_type: str = "", user: Any = None
) -> StoredFile:
    """Keep a raw file exactly as it arrived, under its SHA-256; the same bytes are kept once.

    The stream is hashed in chunks, so a large file is never held in memory.
    """
    digest = hashlib.sha256()
    size = 0
    stream.seek(0)
    for chunk in iter(lambda: stream.read(1024 * 1024), b""):
        digest.update(chunk)
        size += len(chunk)
    if size == 0:
        raise ValidationError({"raw_file": f"{original_name} is empty (0 bytes)."})
    sha256 = digest.hexdigest()
    existing = StoredFile.objects.filter(sha256=sha256).first()
    if existing is not None:
        return existing
    stream.seek(0)
    stored = StoredFile(
        sha256=sha256,
        original_name=original_name[:255],
        size_bytes=size,
        content_type=content_type[:100],
        uploaded_by=user if getattr(user, "is_authenticated", False) else None,
    )
    stored.file.save(sha256, File(stream), save=False)
    stored.save()
    return stored
