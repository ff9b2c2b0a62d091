"""The one gate every uploaded file passes before anything stores, parses or opens it.

:func:`upload_check` reads the file once, in chunks (a large file is never held in memory), and
decides from its bytes alone, never from the client's name or content type:

- **size**: empty files and files over ``LIMS_UPLOAD_MAX_BYTES`` are refused (413; the request
  itself is refused earlier by :class:`lims.middleware.UploadLimitMiddleware` from its
  ``Content-Length``, before the body is read);
- **kind**: the EC-Lab binary magic (``eclab-mpr``), a zip that is an XLSX workbook (``xlsx``)
  or text (``text``: no NUL byte, almost no control characters). Anything else (images, PDFs,
  gzip, Office 97, executables, binary junk) is refused with what it looks like (415);
- **polyglots**: a file that is also something else is refused (415): markup a browser would
  run (``<script``, ``<html`` ...) anywhere in it, a PDF header in its first KiB, a zip
  directory at its end (a CSV or .mpr with an archive appended), or bytes hidden before,
  between or after the members of an XLSX;
- **archives** (XLSX), checked from the zip's own directory before anything decompresses more
  than 64 KiB of a member: member count, total uncompressed size, compression ratio per member,
  size of the parts openpyxl reads whole (shared strings, styles), member names (absolute,
  ``..``, backslashes, drive letters, control characters, duplicates), symlinks, encryption,
  compression methods, nested archives and embedded binaries, overlapping members, and XML
  parts that declare a DTD or entities (the billion-laughs bomb). Sizes and ratios are 413,
  unsafe structure 400.

The client's name is kept only as metadata, cut to its last path component with control and
format characters removed (:func:`client_name`); files are stored under their SHA-256
(``lims.files``). Every refusal is an :class:`UploadRefused` naming the file, the member or byte
offset, and the limit or what was expected. Limits come from settings (``LIMS_UPLOAD_*``,
``LIMS_ARCHIVE_*``, ``LIMS_XLSX_MAX_PART_BYTES``), read at each call.
"""

from __future__ import annotations

import hashlib
import io
import re
import stat
import struct
import tempfile
import zipfile
from dataclasses import dataclass
from typing import IO, Final

from django.conf import settings

CHUNK: Final = 1024 * 1024

#: What each accepted kind is stored and served as.
CONTENT_TYPES: Final = {
    "eclab-mpr": "application/octet-stream",
    "text": "text/plain",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
KINDS: Final = tuple(CONTENT_TYPES)
ACCEPTED: Final = "an EC-Lab .mpr, a text export (.mpt, CSV, TSV, vendor text) or an XLSX workbook"

MPR_MAGIC: Final = b"BIO-LOGIC MODULAR FILE\x1a" + b" " * 25 + b"\x00\x00\x00\x00"

# Content that is clearly something else, named so the message can say what it is.
FOREIGN: Final[tuple[tuple[bytes, str], ...]] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"BZh91AY&SY", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"PK\x05\x06", "an empty zip archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a legacy Office file (.xls/.doc): save it as .xlsx"),
    (b"\x7fELF", "an executable (ELF)"),
    (b"BIO-LOGIC", "a Bio-Logic file with a damaged header"),
    (b"\xff\xfe", "UTF-16 text (save it as UTF-8 or ANSI)"),
    (b"\xfe\xff", "UTF-16 text (save it as UTF-8 or ANSI)"),
)

#: Markup a browser would render or run: no instrument export contains any of it. In text,
#: any of these is refused. Binary files (.mpr floats, compressed XLSX members) hold arbitrary
#: bytes, in which a short tag could occur by chance: there only the longer tags count, and
#: only followed by what ends a tag name. Both are matched in lower case.
TEXT_MARKUP: Final = re.compile(
    rb"<(?:script|html|!doctype html|body|iframe|svg|object|embed|meta http-equiv|\?php)"
    rb"|javascript:"
)
BINARY_MARKUP: Final = re.compile(
    rb"<(?:script|html|!doctype\s+html|iframe|object|embed|\?php)[\s>/]|javascript:"
)
#: Bytes of the previous chunk kept, so that a tag split between two chunks is seen.
_MARKUP_OVERLAP: Final = 32

# Control characters that text exports do not contain (tab, line ends, form feed allowed).
_CONTROL: Final = bytes(b for b in range(32) if b not in (9, 10, 11, 12, 13)) + b"\x7f"
#: Text may hold a stray control character (a Ctrl-Z at the end), not binary content.
TEXT_MAX_CONTROL_SHARE: Final = 0.001

# Zip structures (APPNOTE.TXT 4.3): end of central directory, its zip64 locator and record,
# local file header.
_EOCD: Final = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR: Final = struct.Struct("<4sLQL")
_ZIP64_EOCD: Final = struct.Struct("<4sQ2H2L4Q")
_LOCAL: Final = struct.Struct("<4s5H3L2H")
_NESTED: Final[tuple[tuple[bytes, str], ...]] = (
    (b"PK\x03\x04", "a zip archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an OLE object (macros or an embedded document)"),
    (b"\x7fELF", "an executable"),
    (b"MZ", "an executable"),
)
_NESTED_SUFFIXES: Final = (
    ".zip", ".xlsx", ".xlsm", ".xlsb", ".docx", ".pptx", ".jar", ".gz", ".tgz", ".bz2",
    ".xz", ".7z", ".rar", ".tar", ".exe", ".dll",
)  # fmt: skip
_WORKSHEET: Final = re.compile(r"xl/worksheets/[^/]+\.xml")
_DRIVE: Final = re.compile(r"[A-Za-z]:")
#: How much of each member is decompressed to look at its start.
MEMBER_HEAD: Final = 64 * 1024


class UploadRefused(Exception):
    """An upload the gate refuses: ``status`` (400, 413 or 415), the form ``field`` and a
    message naming the file, where in it, and what was expected."""

    def __init__(self, message: str, *, status: int = 415, field: str = "upload") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field


@dataclass(frozen=True)
class CheckedUpload:
    """A file the gate accepted: its kind and content type from its bytes, its size and SHA-256,
    and the client's name made safe to show (never used as a path)."""

    kind: str
    content_type: str
    name: str
    size_bytes: int
    sha256: str


def _refuse(message: str, status: int = 415) -> UploadRefused:
    return UploadRefused(message, status=status)


def client_name(name: str) -> str:
    """The client's file name as metadata: its last path component (``/`` or ``\\``), without
    control or format characters (a right-to-left override), leading dots or surrounding
    spaces, at most 200 characters; ``upload`` when nothing is left."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip().lstrip(".").strip()
    return base[:200] or "upload"


def _mib(n: int) -> str:
    return f"{n / 1024 / 1024:,.1f} MiB" if n >= 1024 * 1024 else f"{n:,} bytes"


def upload_check(*, stream: IO[bytes], name: str, field: str = "upload") -> CheckedUpload:
    """Check an uploaded file (see the module docstring); raise :class:`UploadRefused` or return
    what it is. ``stream`` must be seekable (Django's uploaded files are); it is left at 0."""
    shown = client_name(name)
    try:
        checked = _check(stream, shown)
    except UploadRefused as exc:
        raise UploadRefused(f"{shown}: {exc.message}", status=exc.status, field=field) from None
    finally:
        stream.seek(0)
    return checked


def _check(stream: IO[bytes], shown: str) -> CheckedUpload:
    limit = settings.LIMS_UPLOAD_MAX_BYTES
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    if size == 0:
        raise _refuse("the file is empty (0 bytes).", 400)
    if size > limit:
        raise _refuse(
            f"the file is {_mib(size)}; uploads are limited to {_mib(limit)} (LIMS_UPLOAD_MAX_MB).",
            413,
        )
    head = stream.read(4096)
    kind = _sniff(head)
    pdf = head[:1024].lower().find(b"%pdf-")
    if pdf >= 0:
        raise _refuse(f"a PDF header at byte {pdf}: a file that is also a PDF is refused.")
    if kind != "xlsx" and _zip_end(stream, size) is not None:
        raise _refuse(
            f"a zip archive is appended to {_kind_name(kind)} (its directory ends the file): "
            "a file that is also an archive is refused."
        )
    sha256 = _scan(stream, kind)
    if kind == "xlsx":
        _check_xlsx(stream, size)
    return CheckedUpload(
        kind=kind, content_type=CONTENT_TYPES[kind], name=shown, size_bytes=size, sha256=sha256
    )


def _sniff(head: bytes) -> str:
    if head.startswith(MPR_MAGIC):
        return "eclab-mpr"
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"  # confirmed (or refused) by _check_xlsx
    for magic, what in FOREIGN:
        if head.startswith(magic):
            raise _refuse(f"this is {what}; uploads take {ACCEPTED}.")
    return "text"


def _scan(stream: IO[bytes], kind: str) -> str:
    """One pass over the whole file: its SHA-256, active markup anywhere, and for text, NUL
    bytes and the share of control characters."""
    digest = hashlib.sha256()
    offset = 0
    control = 0
    previous = b""
    stream.seek(0)
    markup = TEXT_MARKUP if kind == "text" else BINARY_MARKUP
    for chunk in iter(lambda: stream.read(CHUNK), b""):
        digest.update(chunk)
        found = markup.search(previous + chunk.lower())
        if found:
            raise _refuse(
                f"{found.group().decode('latin-1')!r} at byte "
                f"{offset - len(previous) + found.start():,}: markup a browser would run has no "
                f"place in {_kind_name(kind)}; a file that is also a web page is refused."
            )
        if kind == "text":
            nul = chunk.find(b"\x00")
            if nul >= 0:
                raise _refuse(
                    f"binary content (a NUL byte) at byte {offset + nul:,}; uploads take "
                    f"{ACCEPTED}."
                )
            control += len(chunk) - len(chunk.translate(None, _CONTROL))
        previous = chunk[-_MARKUP_OVERLAP:].lower()
        offset += len(chunk)
    if kind == "text" and control > TEXT_MAX_CONTROL_SHARE * offset:
        raise _refuse(
            f"binary content ({control:,} control characters in {offset:,} bytes); uploads "
            f"take {ACCEPTED}."
        )
    return digest.hexdigest()


def _kind_name(kind: str) -> str:
    return {"eclab-mpr": "an EC-Lab .mpr file", "xlsx": "an XLSX file"}.get(kind, "a text export")


@dataclass(frozen=True)
class _ZipEnd:
    """Where a zip's central directory is, from its end record (zip64 when needed)."""

    entries: int
    cd_offset: int
    cd_size: int
    #: Where the directory must end: the zip64 record, or the end record itself.
    cd_end: int
    disks: bool


def _zip_end(stream: IO[bytes], size: int) -> _ZipEnd | None:
    """The end record of a zip directory that ends this file exactly (its comment running to
    the last byte), as every zip reader looks for it; None when there is none."""
    span = min(size, _EOCD.size + 0xFFFF)
    stream.seek(size - span)
    tail = stream.read(span)
    at = len(tail)
    while (at := tail.rfind(b"PK\x05\x06", 0, at)) >= 0:
        if at + _EOCD.size > len(tail):
            continue
        _, disk, cd_disk, _, entries, cd_size, cd_offset, comment = _EOCD.unpack_from(tail, at)
        if at + _EOCD.size + comment != len(tail):
            continue
        eocd = size - span + at
        end = _ZipEnd(entries, cd_offset, cd_size, eocd, bool(disk or cd_disk))
        if entries == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
            end = _zip64_end(stream, eocd) or end
        return end
    return None


def _zip64_end(stream: IO[bytes], eocd: int) -> _ZipEnd | None:
    if eocd < _ZIP64_LOCATOR.size:
        return None
    stream.seek(eocd - _ZIP64_LOCATOR.size)
    sig, _, record, _ = _ZIP64_LOCATOR.unpack(stream.read(_ZIP64_LOCATOR.size))
    if sig != b"PK\x06\x07":
        return None
    stream.seek(record)
    raw = stream.read(_ZIP64_EOCD.size)
    if len(raw) < _ZIP64_EOCD.size:
        return None
    sig, _, _, _, disk, cd_disk, _, entries, cd_size, cd_offset = _ZIP64_EOCD.unpack(raw)
    if sig != b"PK\x06\x06":
        return None
    return _ZipEnd(entries, cd_offset, cd_size, record, bool(disk or cd_disk))


def unsafe_member_name(name: str) -> str | None:
    """Why a member name could write outside the folder it is extracted to, or None."""
    if not name:
        return "an empty name"
    if any(not ch.isprintable() for ch in name):
        return "a control character"
    if "\\" in name:
        return "a backslash"
    if name.startswith("/"):
        return "an absolute path"
    if _DRIVE.match(name):
        return "a drive letter"
    if ".." in name.split("/"):
        return "a '..' component"
    return None


def _check_xlsx(stream: IO[bytes], size: int) -> None:
    """Everything about a zip that can be told from its directory and the start of each member;
    refuse it unless it is a plain XLSX workbook within the limits."""
    max_members = settings.LIMS_ARCHIVE_MAX_MEMBERS
    max_total = settings.LIMS_ARCHIVE_MAX_UNCOMPRESSED_BYTES
    max_ratio = settings.LIMS_ARCHIVE_MAX_RATIO
    max_part = settings.LIMS_XLSX_MAX_PART_BYTES

    end = _zip_end(stream, size)
    if end is None:
        stream.seek(max(0, size - _EOCD.size - 0xFFFF))
        if b"PK\x05\x06" in stream.read():
            raise _refuse(
                "bytes follow the zip's end record: a file that is also something else is refused."
            )
        raise _refuse("a damaged or truncated zip/XLSX file: no directory at its end.", 400)
    if end.disks:
        raise _refuse("a zip archive split over several disks.", 400)
    if end.entries > max_members:
        raise _refuse(
            f"the archive has {end.entries:,} members; the limit is {max_members:,} "
            "(LIMS_ARCHIVE_MAX_MEMBERS).",
            413,
        )
    if end.cd_offset + end.cd_size != end.cd_end:
        raise _refuse(
            f"{end.cd_end - end.cd_offset - end.cd_size:,} bytes hidden around the zip "
            "directory (data prepended to the archive, or between its directory and its end): "
            "a file that is also something else is refused."
        )
    stream.seek(0)
    try:
        archive = zipfile.ZipFile(stream)
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise _refuse(f"a damaged zip/XLSX file ({exc}).", 400) from exc
    if len(members) != end.entries:
        raise _refuse(
            f"the zip directory lists {len(members):,} members but its end record says "
            f"{end.entries:,}.",
            400,
        )

    seen: set[str] = set()
    total = 0
    for number, member in enumerate(members, 1):
        where = f"member {member.filename!r} (entry {number})"
        unsafe = unsafe_member_name(member.filename)
        if unsafe:
            raise _refuse(f"{where} has an unsafe path ({unsafe}).", 400)
        folded = member.filename.casefold()
        if folded in seen:
            raise _refuse(f"{where} appears twice in the archive.", 400)
        seen.add(folded)
        mode = member.external_attr >> 16
        if member.create_system == 3 and stat.S_ISLNK(mode):
            raise _refuse(f"{where} is a symbolic link.", 400)
        if member.flag_bits & 0x1:
            raise _refuse(f"{where} is encrypted.", 400)
        if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _refuse(
                f"{where} uses compression method {member.compress_type}; XLSX uses deflate.",
                400,
            )
        if member.filename.lower().endswith(_NESTED_SUFFIXES):
            raise _refuse(f"{where} is a nested archive or binary; a workbook holds XML.", 400)
        total += member.file_size
        if total > max_total:
            raise _refuse(
                f"the archive expands to more than {_mib(max_total)} (at {where}; "
                "LIMS_ARCHIVE_MAX_UNCOMPRESSED_MB).",
                413,
            )
        if member.file_size > MEMBER_HEAD and member.file_size > max_ratio * max(
            member.compress_size, 1
        ):
            raise _refuse(
                f"{where} expands {member.compress_size:,} bytes to {member.file_size:,} "
                f"({member.file_size // max(member.compress_size, 1):,}:1; the limit is "
                f"{max_ratio}:1, LIMS_ARCHIVE_MAX_RATIO).",
                413,
            )
        if not _WORKSHEET.fullmatch(member.filename) and member.file_size > max_part:
            raise _refuse(
                f"{where} is {_mib(member.file_size)}; parts read whole (shared strings, "
                f"styles) are limited to {_mib(max_part)} (LIMS_XLSX_MAX_PART_MB).",
                413,
            )
    _check_layout(stream, members, end.cd_offset)
    if "[content_types].xml" not in seen or "xl/workbook.xml" not in seen:
        raise _refuse(f"a zip archive, not an XLSX workbook; uploads take {ACCEPTED}.")
    for number, member in enumerate(members, 1):
        _check_member_head(archive, member, f"member {member.filename!r} (entry {number})")


def _check_layout(stream: IO[bytes], members: list[zipfile.ZipInfo], cd_offset: int) -> None:
    """Members follow each other from byte 0 to the directory, with nothing between them
    (hidden data: 415) and no two sharing bytes (the overlapping-member bomb: 400), and each
    local header names the same file as the directory."""
    expected = [0]
    ordered = sorted(members, key=lambda m: m.header_offset)
    for member in ordered:
        where = f"member {member.filename!r}"
        if member.header_offset not in expected:
            raise _misplaced(f"{where} starts", member.header_offset, expected, "member before it")
        stream.seek(member.header_offset)
        raw = stream.read(_LOCAL.size)
        if len(raw) < _LOCAL.size or raw[:4] != b"PK\x03\x04":
            raise _refuse(f"{where}: no local header at byte {member.header_offset:,}.", 400)
        fields = _LOCAL.unpack(raw)
        name_length, extra_length = fields[-2], fields[-1]
        local_name = stream.read(name_length)
        if (
            local_name.decode("utf-8", "replace") != member.filename
            and local_name.decode("cp437", "replace") != member.filename
        ):
            raise _refuse(
                f"{where}: its local header names it {local_name!r} (two names for one member).",
                400,
            )
        data_end = member.header_offset + _LOCAL.size + name_length + extra_length
        data_end += member.compress_size
        # A data descriptor (bit 3) follows the data: crc and sizes, 4- or 8-byte, with or
        # without its signature.
        expected = (
            [data_end + n for n in (12, 16, 20, 24)] if member.flag_bits & 0x8 else [data_end]
        )
    if cd_offset not in expected:
        raise _misplaced("the zip directory starts", cd_offset, expected, "last member")


def _misplaced(what: str, at: int, expected: list[int], before: str) -> UploadRefused:
    gap = at - min(expected)
    if gap < 0:
        return _refuse(
            f"{what} at byte {at:,}, inside the {before} (overlapping members: {-gap:,} bytes "
            "shared).",
            400,
        )
    return _refuse(
        f"{what} at byte {at:,}, {gap:,} bytes after the {before}: hidden data, and a file that "
        "is also something else is refused."
    )


def _check_member_head(archive: zipfile.ZipFile, member: zipfile.ZipInfo, where: str) -> None:
    """Decompress at most :data:`MEMBER_HEAD` bytes of a member: no nested archive or binary,
    and no DTD in an XML part."""
    if member.is_dir() or member.file_size == 0:
        return
    try:
        with archive.open(member) as fh:
            head = fh.read(min(member.file_size, MEMBER_HEAD))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise _refuse(f"{where} cannot be read ({exc}).", 400) from exc
    for magic, what in _NESTED:
        if head.startswith(magic):
            raise _refuse(f"{where} is {what}; a workbook holds XML.", 400)
    if member.filename.lower().endswith((".xml", ".rels", ".vml")):
        problem = _xml_prolog_problem(head)
        if problem:
            raise _refuse(f"{where}: {problem}.", 400)


def _xml_prolog_problem(head: bytes) -> str | None:
    """Walk the XML prolog (declaration, comments, processing instructions) to the root
    element; a DTD or entity declaration on the way is refused (entity expansion bombs,
    external entities). XLSX parts never carry one."""
    text = head.removeprefix(b"\xef\xbb\xbf")
    at = 0
    while True:
        while at < len(text) and text[at : at + 1].isspace():
            at += 1
        rest = text[at:]
        if rest.startswith(b"<?"):
            close = text.find(b"?>", at)
        elif rest.startswith(b"<!--"):
            close = text.find(b"-->", at)
        elif rest[:9].upper() == b"<!DOCTYPE" or rest[:8].upper() == b"<!ENTITY":
            return "declares a DTD or entities (an XML entity bomb or an external entity)"
        elif rest.startswith(b"<") and len(rest) > 1:
            return None  # the root element
        else:
            return (
                "does not start with XML in UTF-8"
                if len(text) < MEMBER_HEAD
                else f"no root element in the first {MEMBER_HEAD // 1024} KiB"
            )
        if close < 0:
            return f"an unfinished declaration or comment in the first {MEMBER_HEAD // 1024} KiB"
        at = close + 2


def spooled(stream: IO[bytes], *, name: str, field: str = "upload") -> IO[bytes]:
    """A seekable copy of a stream that is not seekable, kept in memory up to 1 MiB and on disk
    beyond; copying stops past the upload limit (413)."""
    limit = settings.LIMS_UPLOAD_MAX_BYTES
    copy = tempfile.SpooledTemporaryFile(max_size=CHUNK)  # noqa: SIM115 - returned to the caller
    size = 0
    for chunk in iter(lambda: stream.read(CHUNK), b""):
        size += len(chunk)
        if size > limit:
            copy.close()
            raise UploadRefused(
                f"{client_name(name)}: more than {_mib(limit)}; uploads are limited to "
                f"{_mib(limit)} (LIMS_UPLOAD_MAX_MB).",
                status=413,
                field=field,
            )
        copy.write(chunk)
    copy.seek(0)
    return copy
