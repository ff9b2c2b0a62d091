"""Turn what a caller hands us (path, bytes, file object) into one seekable binary stream, and
tell what kind of file it is from its content alone."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Final

from .errors import ReadError

Source = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]

MPR_MAGIC: Final = b"BIO-LOGIC MODULAR FILE\x1a" + b" " * 25 + b"\x00\x00\x00\x00"
MPT_MAGIC: Final = b"EC-Lab ASCII FILE"

# Content that is clearly not a data file, named so the error message can say what it is.
_FOREIGN: Final[tuple[tuple[bytes, str], ...]] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a legacy Office file (.xls/.doc): save it as .xlsx"),
    (b"BIO-LOGIC", "a Bio-Logic file with a damaged header"),
)


@contextmanager
def open_source(source: Source, filename: str | None) -> Iterator[tuple[IO[bytes], str]]:
    """Yield a seekable binary stream and the name to use in messages."""
    if isinstance(source, bytes | bytearray | memoryview):
        yield io.BytesIO(source), filename or "<bytes>"
        return
    if isinstance(source, str | os.PathLike):
        name = filename or os.fspath(source)
        try:
            fh = open(source, "rb")  # noqa: SIM115 - closed in finally, after the caller is done
        except OSError as exc:
            raise ReadError(name, f"cannot open the file: {exc.strerror or exc}") from exc
        try:
            yield fh, name
        finally:
            fh.close()
        return
    if not hasattr(source, "read"):
        raise TypeError(f"read() takes a path, bytes or a binary file object, not {type(source)}")
    name = filename or str(getattr(source, "name", "<stream>"))
    probe = source.read(0)
    if not isinstance(probe, bytes | bytearray):
        raise ReadError(name, "the file object was opened in text mode", expected="mode 'rb'")
    seekable = False
    try:
        seekable = source.seekable()
    except (AttributeError, OSError, ValueError):
        seekable = False
    if seekable and source.tell() == 0:
        yield source, name
    else:
        # A pipe, an upload stream or a file positioned mid-way: reading the rest once into memory
        # is the only way to look at the header and then hand the remainder to a parser with
        # offsets that count from where the caller's data begins.
        yield io.BytesIO(source.read()), name


def detect(head: bytes, stream: IO[bytes], name: str) -> str:
    """The format of a file from its first bytes: ``eclab-mpr``, ``eclab-mpt``, ``xlsx`` or
    ``text`` (CSV/TSV, and EC-Lab exports without their header block, decided later)."""
    if not head:
        raise ReadError(name, "the file is empty", expected="an EC-Lab, CSV, TSV or XLSX file")
    if head.startswith(MPR_MAGIC):
        return "eclab-mpr"
    if head.startswith(b"BIO-LOGIC MODULAR FILE"):
        raise ReadError(
            name,
            "truncated or damaged Bio-Logic .mpr file header",
            offset=0,
            expected=f"the {len(MPR_MAGIC)}-byte .mpr file magic",
        )
    if head.startswith(MPT_MAGIC):
        return "eclab-mpt"
    if head.startswith(b"PK\x03\x04"):
        try:
            stream.seek(0)
            with zipfile.ZipFile(stream) as zf:
                names = set(zf.namelist())
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise ReadError(
                name, f"a damaged or truncated zip/XLSX file ({exc})", offset=0
            ) from exc
        if "xl/workbook.xml" in names:
            return "xlsx"
        raise ReadError(
            name,
            "a zip archive, not a data file",
            offset=0,
            expected="an EC-Lab, CSV, TSV or XLSX file",
        )
    for magic, what in _FOREIGN:
        if head.startswith(magic):
            raise ReadError(
                name, f"this is {what}", offset=0, expected="an EC-Lab, CSV or XLSX file"
            )
    if b"\x00" in head:
        raise ReadError(
            name,
            "binary content of an unknown kind (a NUL byte)",
            offset=head.index(b"\x00"),
            expected="an EC-Lab .mpr/.mpt, CSV, TSV or XLSX file",
        )
    return "text"
