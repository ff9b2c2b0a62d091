"""A corpus of malicious uploads, generated on disk by the tests (no binaries committed), and a
client that streams a file from disk through the real WSGI request path.

Bombs are built cheaply: a deflate block made with a full flush decodes on its own, so one
block of 1 MiB repeated N times (plus the final empty block) is a valid stream that expands to
N MiB; the zip around it is written by hand (:func:`write_zip`), which also lets a test place
members where no zip library would (overlapping, with gaps, duplicated).
"""

from __future__ import annotations

import io
import json
import os
import stat
import struct
import uuid
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.test.client import ClientHandler, RequestFactory

MIB = 1024 * 1024


# ---------------------------------------------------------------------------------------------
# Zip members and a hand-written zip


@dataclass
class Member:
    """One zip member: its compressed bytes (as parts, to repeat a block without holding the
    whole), its CRC-32 and sizes, and where its local header goes (``offset``: None = next)."""

    name: str
    parts: list[bytes]
    crc: int
    size: int
    method: int = zipfile.ZIP_DEFLATED
    external_attr: int = 0
    create_system: int = 0
    #: Bytes written before this member's local header (hidden data between members).
    gap: bytes = b""
    compressed_size: int = field(init=False)

    def __post_init__(self) -> None:
        self.compressed_size = sum(len(p) for p in self.parts)


def deflated(name: str, data: bytes, level: int = 9, **kwargs: Any) -> Member:
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return Member(name, [c.compress(data) + c.flush()], zlib.crc32(data), len(data), **kwargs)


def stored(name: str, data: bytes, **kwargs: Any) -> Member:
    return Member(name, [data], zlib.crc32(data), len(data), method=zipfile.ZIP_STORED, **kwargs)


def repeated(name: str, chunk: bytes, times: int) -> Member:
    """A member that expands to ``chunk * times`` from one deflate block repeated."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    end = zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # the final, empty block
    crc = 0
    for _ in range(times):
        crc = zlib.crc32(chunk, crc)
    return Member(name, [block] * times + [end], crc, len(chunk) * times)


LOCAL = struct.Struct("<4s5H3L2H")  # local file header
CENTRAL = struct.Struct("<4s6H3L5H2L")  # central directory entry
END = struct.Struct("<4s4H2LH")  # end of central directory
UTF8_NAMES, DOS_TIME, DOS_DATE = 0x800, 0, 0x21  # 1980-01-01 00:00


def central_entry(name: bytes, info: Any, offset: int, made_by: int = 20, attr: int = 0) -> bytes:
    """A directory entry; ``info`` has ``method``, ``crc``, ``compressed_size`` and ``size``."""
    sizes = (info.crc, info.compressed_size, info.size)
    fixed = (made_by, 20, UTF8_NAMES, info.method, DOS_TIME, DOS_DATE)
    return CENTRAL.pack(b"PK\x01\x02", *fixed, *sizes, len(name), 0, 0, 0, 0, attr, offset) + name


def end_record(entries: int, cd_size: int, cd_offset: int) -> bytes:
    return END.pack(b"PK\x05\x06", 0, 0, entries, entries, cd_size, cd_offset, 0)


def write_zip(path: Path, members: Iterable[Member], *, after: bytes = b"") -> Path:
    """A zip (32-bit sizes) of ``members``, with ``after`` appended past its end record."""
    members = list(members)
    offsets: dict[str, int] = {}
    with path.open("wb") as out:
        for m in members:
            out.write(m.gap)
            offsets[m.name] = out.tell()
            name = m.name.encode()
            sizes = (m.crc, m.compressed_size, m.size)
            fixed = (20, UTF8_NAMES, m.method, DOS_TIME, DOS_DATE)
            out.write(LOCAL.pack(b"PK\x03\x04", *fixed, *sizes, len(name), 0) + name)
            for part in m.parts:
                out.write(part)
        cd_offset = out.tell()
        for m in members:
            made_by = (m.create_system << 8) | 20
            out.write(central_entry(m.name.encode(), m, offsets[m.name], made_by, m.external_attr))
        out.write(end_record(len(members), out.tell() - cd_offset, cd_offset))
        out.write(after)
    return path


def workbook_members() -> list[Member]:
    """The parts of a real one-sheet workbook (written by openpyxl), deflated again."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm"])
    for i in range(20):
        sheet.append([1e5 / (i + 1), 100.0 + i, 5.0])
    buffer = io.BytesIO()
    book.save(buffer)
    with zipfile.ZipFile(buffer) as archive:
        return [deflated(i.filename, archive.read(i)) for i in archive.infolist()]


def workbook_with(
    path: Path, *, replace: dict[str, Member] | None = None, add: Iterable[Member] = ()
) -> Path:
    members = [(replace or {}).get(m.name, m) for m in workbook_members()]
    return write_zip(path, [*members, *add])


# ---------------------------------------------------------------------------------------------
# The corpus


def spectrum_csv(rows: int = 40) -> bytes:
    lines = ["freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm"]
    lines += [f"{1e5 / (i + 1):.3f},{100 + i:.2f},{5 + i / 10:.2f}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def random_file(path: Path, size: int) -> Path:
    """``size`` random bytes, written 1 MiB at a time (never held whole)."""
    with path.open("wb") as out:
        left = size
        while left:
            out.write(os.urandom(min(MIB, left)))
            left -= min(MIB, left)
    return path


def bytes_file(data: bytes) -> Callable[[Path], Path]:
    def build(path: Path) -> Path:
        path.write_bytes(data)
        return path

    return build


LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(
        f' <!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">\n'.encode()
        for i in range(1, 10)
    )
    + b']>\n<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
    b'uniqueCount="1"><si><t>&lol9;</t></si></sst>'
)
SYMLINK = (stat.S_IFLNK | 0o777) << 16
MPR_MAGIC = b"BIO-LOGIC MODULAR FILE\x1a" + b" " * 25 + b"\x00\x00\x00\x00"
HTML = b"<!DOCTYPE html><html><body><script>fetch('/api/users/')</script></body></html>\n"


def _sheet_bomb(path: Path) -> Path:
    row = b'<row r="1"><c r="A1" t="n"><v>1</v></c></row>'
    chunk = row * (MIB // len(row))
    return workbook_with(
        path,
        replace={"xl/worksheets/sheet1.xml": repeated("xl/worksheets/sheet1.xml", chunk, 2048)},
    )


def _shared_strings_bomb(path: Path) -> Path:
    text = os.urandom(12 * MIB).hex().encode()
    strings = b"".join(
        b"<si><t>" + text[i : i + 96] + b"</t></si>" for i in range(0, len(text), 96)
    )
    xml = b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    return workbook_with(path, add=[deflated("xl/sharedStrings.xml", xml + strings + b"</sst>", 1)])


def _gifar(path: Path) -> Path:
    write_zip(path, [deflated("a.class", b"\xca\xfe\xba\xbe" + b"\x00" * 64)])
    path.write_bytes(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;" + path.read_bytes())
    return path


def _csv_with_zip(path: Path) -> Path:
    write_zip(path, [deflated("payload.html", HTML * 3)])
    path.write_bytes(spectrum_csv() + path.read_bytes())
    return path


def _duplicate(path: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return workbook_with(path, add=[deflated("xl/workbook.xml", b"<workbook/>")])


def _nested(path: Path) -> Path:
    inner = path.with_suffix(".inner")
    workbook_with(inner)
    return workbook_with(path, add=[stored("xl/embeddings/book.xlsx", inner.read_bytes())])


def _zip_of_zips(path: Path) -> Path:
    inner = write_zip(path.with_suffix(".inner"), [repeated("0.csv", bytes(MIB), 64)])
    data = inner.read_bytes()
    return write_zip(path, [stored(f"{i}.zip", data) for i in range(16)])


def _gap(path: Path) -> Path:
    members = workbook_members()
    members[3].gap = HTML.replace(b"<", b"[")  # bytes no zip reader looks at
    return write_zip(path, members)


def _overlap(path: Path) -> Path:
    write_zip(path, workbook_members())
    return _alias_entries(path, {f"xl/media/image{i}.png": "xl/workbook.xml" for i in range(8)})


def _alias_entries(path: Path, aliases: dict[str, str]) -> Path:
    """Add directory entries that point at another member's local header (and so share its
    bytes: the overlapping-member bomb, without the size)."""
    data = path.read_bytes()
    eocd = data.rindex(b"PK\x05\x06")
    _, _, _, count, _, cd_size, cd_offset, _ = struct.unpack_from("<4s4H2LH", data, eocd)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = {i.filename: i for i in archive.infolist()}
    entries = bytearray(data[cd_offset : cd_offset + cd_size])
    for alias, target in aliases.items():
        t = infos[target]
        like = Member(alias, [], t.CRC, t.file_size, method=t.compress_type)
        like.compressed_size = t.compress_size
        entries += central_entry(alias.encode(), like, t.header_offset)
    end = end_record(count + len(aliases), len(entries), cd_offset)
    path.write_bytes(data[:cd_offset] + bytes(entries) + end)
    return path


@dataclass(frozen=True)
class Case:
    label: str
    filename: str
    build: Callable[[Path], Path]
    status: int
    says: str
    #: Settings for this case (the junk file under a raised limit).
    settings: dict[str, Any] = field(default_factory=dict)


CORPUS: tuple[Case, ...] = (
    Case(
        "zip bomb: one member of 2 GiB from 2 MiB",
        "spectrum.zip",
        lambda p: write_zip(p, [repeated("spectrum.csv", bytes(MIB), 2048)]),
        413,
        "expands to more than",
    ),
    Case("zip bomb: a zip of 16 zips", "spectra.zip", _zip_of_zips, 400, "nested archive"),
    Case(
        "XLSX bomb: sheet1.xml expanding to 2 GiB",
        "book.xlsx",
        _sheet_bomb,
        413,
        "expands to more than",
    ),
    Case(
        "XLSX bomb: 28 MiB of shared strings (ratio 2)",
        "strings.xlsx",
        _shared_strings_bomb,
        413,
        "parts read whole",
    ),
    Case(
        "XLSX bomb: billion laughs in sharedStrings.xml",
        "laughs.xlsx",
        lambda p: workbook_with(p, add=[deflated("xl/sharedStrings.xml", LAUGHS)]),
        400,
        "declares a DTD or entities",
    ),
    Case(
        "XLSX overlapping members (8 directory entries on one local header)",
        "overlap.xlsx",
        _overlap,
        400,
        "overlapping members",
    ),
    Case(
        "path traversal: XLSX member ../../../escape.txt",
        "traversal.xlsx",
        lambda p: workbook_with(p, add=[deflated("../../../escape-corpus.txt", b"owned\n")]),
        400,
        "unsafe path (a '..' component)",
    ),
    Case(
        "path traversal: XLSX member /tmp/escape.txt",
        "absolute.xlsx",
        lambda p: workbook_with(p, add=[deflated("/tmp/escape-corpus.txt", b"owned\n")]),
        400,
        "unsafe path (an absolute path)",
    ),
    Case(
        "path traversal: XLSX member ..\\..\\escape.txt",
        "backslash.xlsx",
        lambda p: workbook_with(p, add=[deflated("..\\..\\escape-corpus.txt", b"owned\n")]),
        400,
        "unsafe path (a backslash)",
    ),
    Case(
        "path traversal: XLSX member C:/escape.txt",
        "drive.xlsx",
        lambda p: workbook_with(p, add=[deflated("C:/escape-corpus.txt", b"owned\n")]),
        400,
        "unsafe path (a drive letter)",
    ),
    Case(
        "path traversal: XLSX symlink member to /etc/passwd",
        "symlink.xlsx",
        lambda p: workbook_with(
            p,
            add=[deflated("xl/link.xml", b"/etc/passwd", external_attr=SYMLINK, create_system=3)],
        ),
        400,
        "symbolic link",
    ),
    Case(
        "path traversal: zip of ../ names",
        "data.zip",
        lambda p: write_zip(p, [deflated("../../../../escape-corpus.csv", spectrum_csv())]),
        400,
        "unsafe path",
    ),
    Case(
        "XLSX with xl/workbook.xml twice",
        "twice.xlsx",
        _duplicate,
        400,
        "appears twice",
    ),
    Case("XLSX with an embedded workbook", "nested.xlsx", _nested, 400, "nested archive"),
    Case(
        "XLSX with an OLE macro project",
        "macro.xlsx",
        lambda p: workbook_with(
            p, add=[deflated("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500))]
        ),
        400,
        "OLE object",
    ),
    Case(
        "polyglot: an XLSX with bytes hidden between members",
        "gap.xlsx",
        _gap,
        415,
        "hidden data",
    ),
    Case(
        "polyglot: a CSV spectrum with a zip appended",
        "spectrum.csv",
        _csv_with_zip,
        415,
        "a zip archive is appended",
    ),
    Case(
        "polyglot: an EC-Lab .mpr header with a web page inside",
        "peis.mpr",
        bytes_file(MPR_MAGIC + bytes(200) + HTML + bytes(200)),
        415,
        "a file that is also a web page",
    ),
    Case(
        "polyglot: a CSV spectrum with a PDF header",
        "spectrum.csv",
        bytes_file(b"freq/Hz,Re(Z)/Ohm\n%PDF-1.7\n" + spectrum_csv()),
        415,
        "also a PDF",
    ),
    Case(
        "polyglot: an XLSX with a web page after its end",
        "book.xlsx",
        lambda p: write_zip(p, workbook_members(), after=HTML),
        415,
        "a file that is also a web page",
    ),
    Case("polyglot: GIF and zip (GIFAR)", "spectrum.csv", _gifar, 415, "this is a GIF image"),
    Case(
        "polyglot: an XLSX with a PDF after its end",
        "book.xlsx",
        lambda p: write_zip(p, workbook_members(), after=b"%PDF-1.7\n1 0 obj\n"),
        415,
        "bytes follow the zip's end record",
    ),
    Case(
        "a web page named spectrum.csv",
        "spectrum.csv",
        bytes_file(HTML),
        415,
        "'<!doctype html' at byte 0",
    ),
    Case(
        "100 MiB of random bytes (default limit)",
        "junk.mpr",
        lambda p: random_file(p, 100 * MIB),
        413,
        "",  # refused from Content-Length before the body is read: a detail, not a field
    ),
    Case(
        "100 MiB of random bytes under a 128 MiB limit",
        "junk.mpr",
        lambda p: random_file(p, 100 * MIB),
        415,
        "binary content",
        settings={"LIMS_UPLOAD_MAX_BYTES": 128 * MIB},
    ),
    Case(
        "a gzipped spectrum",
        "spectrum.csv.gz",
        bytes_file(b"\x1f\x8b\x08\x00" + zlib.compress(spectrum_csv())),
        415,
        "gzip archive",
    ),
    Case(
        "an .eln archive",
        "export.eln",
        lambda p: write_zip(p, [deflated("export/ro-crate-metadata.json", b"{}")]),
        415,
        "not an XLSX workbook",
    ),
    Case(
        "UTF-16 text",
        "spectrum.csv",
        bytes_file(b"\xff\xfe" + spectrum_csv().decode().encode("utf-16-le")),
        415,
        "UTF-16",
    ),
    Case("an empty file", "empty.mpt", bytes_file(b""), 400, "empty"),
)


# ---------------------------------------------------------------------------------------------
# Streaming a file from disk through the real request path


class _Body(io.RawIOBase):
    """The multipart body, read in pieces: the form, the file from disk, the closing line."""

    def __init__(self, head: bytes, path: Path, tail: bytes) -> None:
        self.parts: list[Any] = [io.BytesIO(head), path.open("rb"), io.BytesIO(tail)]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while self.parts:
            n = self.parts[0].readinto(buffer)
            if n:
                return int(n)
            self.parts.pop(0).close()
        return 0

    def close(self) -> None:
        for part in self.parts:
            part.close()
        super().close()


def stream_post(
    url: str,
    *,
    token: str,
    path: Path,
    filename: str,
    file_field: str = "upload",
    fields: dict[str, str] | None = None,
    content_type: str = "application/octet-stream",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    """POST ``path`` as a multipart upload through Django's full handler (every middleware, the
    real ``WSGIRequest`` and multipart parser), reading it from disk as the server asks for it,
    with a fresh boundary each time, as a browser or ``requests`` would send it."""
    boundary = uuid.uuid4().hex
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in (fields or {}).items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
        f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    length = len(head) + path.stat().st_size + len(tail)
    body = _Body(head, path, tail)
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()}
    environ = RequestFactory()._base_environ(
        REQUEST_METHOD="POST",
        PATH_INFO=url,
        CONTENT_TYPE=f"multipart/form-data; boundary={boundary}",
        CONTENT_LENGTH=str(length),
        HTTP_AUTHORIZATION=f"Token {token}",
        **extra,
    )
    environ["wsgi.input"] = io.BufferedReader(body)
    try:
        response = ClientHandler(enforce_csrf_checks=False)(environ)
    finally:
        body.close()
    content = response.content
    return response.status_code, json.loads(content) if content else {}
