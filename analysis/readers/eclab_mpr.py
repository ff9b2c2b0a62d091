"""Bio-Logic EC-Lab binary ``.mpr`` files.

Layout (little-endian), as read from the files themselves:

* 52-byte file magic ``BIO-LOGIC MODULAR FILE\\x1a`` + spaces + 4 NUL bytes;
* then modules, each ``MODULE`` + short name (10 bytes) + long name (25 bytes) + a header that
  is either ``length u4, version u4, date 8s`` (EC-Lab up to 11.4x) or, when the first u4 is
  0xFFFFFFFF (11.50), ``0xFFFFFFFF, length u4, u4, version u4, date 8s``; then ``length`` bytes.
* ``VMP Set``: technique byte at 0, comments (Pascal string) at 0x07, electrode area (f4, cm²)
  at 0x211.
* ``VMP data``: rows u4 at 0; version 2/3: column count u1 at 4, ids u2 from 5, records from
  0x195/0x196; version 11: column count u2 at 4, ids u2 from 6, records from 0x3EF. Each record
  packs the columns in id order (see :mod:`.eclab_columns`), no padding.
* ``VMP LOG``: channel (0-based u1) at 0x09, acquisition start (OLE date, f8) at 0x249, EC-Lab,
  server and interpreter versions (Pascal strings) at 0x3B7/0x3BE/0x3C5, device serial at 0x3CF.
* ``VMP loop``: loop count u4 then the row index where each loop starts.

The file is read once into memory and the records are viewed in place with a structured dtype;
each column is then converted (canonical columns, to float64 in canonical units) or copied (the
others) exactly once.
"""

from __future__ import annotations

import functools
import struct
from datetime import datetime, timedelta
from typing import IO, Any

import numpy as np

from .dataset import Column, Dataset, build, plan_layout
from .eclab_columns import ECLAB_CANONICAL, MPR_COLUMNS, MPR_FLAGS, TECHNIQUE_IDS
from .errors import ReadError
from .source import MPR_MAGIC

_DATA_OFFSET = {2: 0x195, 3: 0x196, 11: 0x3EF}


class _Module:
    __slots__ = ("date", "end", "name", "offset", "start", "version")

    def __init__(self, name: str, version: int, date: str, offset: int, start: int, end: int):
        self.name = name
        self.version = version
        self.date = date
        self.offset = offset  # of the word MODULE
        self.start = start  # of the module's data
        self.end = end


def _modules(buf: bytes, name: str) -> list[_Module]:
    pos = len(MPR_MAGIC)
    modules: list[_Module] = []
    size = len(buf)
    while pos < size:
        if buf[pos : pos + 6] != b"MODULE":
            raise ReadError(
                name,
                f"found {bytes(buf[pos : pos + 6])!r} after {len(modules)} module(s)",
                offset=pos,
                expected="the word MODULE starting the next module",
            )
        p = pos + 6
        if size < p + 35 + 16:
            raise ReadError(name, "file ends inside a module header (truncated)", offset=pos)
        short = buf[p : p + 10].decode("latin-1").strip()
        p += 35
        (first,) = struct.unpack_from("<I", buf, p)
        if first == 0xFFFFFFFF:
            if size < p + 24:
                raise ReadError(name, "file ends inside a module header (truncated)", offset=pos)
            _, length, _, version = struct.unpack_from("<IIII", buf, p)
            date = buf[p + 16 : p + 24]
            start = p + 24
        else:
            length, version = struct.unpack_from("<II", buf, p)
            date = buf[p + 8 : p + 16]
            start = p + 16
        end = start + length
        if end > size:
            raise ReadError(
                name,
                f"module {short!r} announces {length} bytes but the file ends after "
                f"{size - start} (truncated)",
                offset=pos,
            )
        modules.append(_Module(short, version, date.decode("latin-1"), pos, start, end))
        pos = end
    return modules


def _one(modules: list[_Module], wanted: str, name: str, required: bool) -> _Module | None:
    found = [m for m in modules if m.name == wanted]
    if len(found) > 1:
        raise ReadError(name, f"{len(found)} {wanted!r} modules", offset=found[1].offset)
    if not found and required:
        raise ReadError(
            name,
            f"no {wanted!r} module (modules: {[m.name for m in modules]})",
            offset=modules[-1].end if modules else len(MPR_MAGIC),
            expected=f"a {wanted!r} module",
        )
    return found[0] if found else None


def _pascal(buf: bytes, at: int, limit: int) -> str | None:
    if at >= limit:
        return None
    n = buf[at]
    if at + 1 + n > limit:
        return None
    return buf[at + 1 : at + 1 + n].decode("latin-1")


class _UnknownColumn(Exception):
    def __init__(self, index: int, cid: int):
        super().__init__(index, cid)
        self.index = index
        self.cid = cid


class _Records:
    """How to read records with one list of column ids: their structured dtype, per source
    column the field and flag mask (0 for a value column), and the :class:`Layout`."""

    __slots__ = ("dtype", "fields", "has_flags", "layout")

    def __init__(self, ids: tuple[int, ...]):
        fields: list[tuple[str, str]] = []
        names: list[str] = []
        self.fields: list[tuple[str, int]] = []
        seen: dict[str, int] = {}
        self.has_flags = False
        for i, cid in enumerate(ids):
            if cid in MPR_FLAGS:
                flag_name, mask = MPR_FLAGS[cid]
                if not self.has_flags:
                    fields.append(("flags", "u1"))
                    self.has_flags = True
                names.append(flag_name)
                self.fields.append(("flags", mask))
                continue
            if cid not in MPR_COLUMNS:
                raise _UnknownColumn(i, cid)
            col_name, dtype = MPR_COLUMNS[cid]
            seen[col_name] = seen.get(col_name, 0) + 1
            if seen[col_name] > 1:
                col_name = f"{col_name} ({seen[col_name]})"
            field = f"c{i}"
            fields.append((field, dtype))
            names.append(col_name)
            self.fields.append((field, 0))
        self.dtype: np.dtype[Any] = np.dtype(fields)
        self.layout = plan_layout(names, ECLAB_CANONICAL)


def _flag(flags: np.ndarray[Any, Any], mask: int) -> np.ndarray[Any, Any]:
    """One flag of EC-Lab's shared flag byte: 0/1, or 0–3 for the two bits of ``mode``."""
    return (flags & mask) >> ((mask & -mask).bit_length() - 1)


@functools.lru_cache(maxsize=128)
def _records_for(ids: tuple[int, ...]) -> _Records:
    """One :class:`_Records` per list of column ids: files of one technique share it."""
    return _Records(ids)


def read_mpr(stream: IO[bytes], name: str) -> Dataset:
    buf = stream.read()
    modules = _modules(buf, name)
    settings = _one(modules, "VMP Set", name, required=True)
    data_mod = _one(modules, "VMP data", name, required=True)
    log = _one(modules, "VMP LOG", name, required=False)
    loop = _one(modules, "VMP loop", name, required=False)
    assert settings is not None and data_mod is not None

    d0, dend = data_mod.start, data_mod.end
    if data_mod.version not in _DATA_OFFSET:
        raise ReadError(
            name,
            f"VMP data module version {data_mod.version} is not known",
            offset=data_mod.offset,
            expected=f"version {sorted(_DATA_OFFSET)}",
        )
    if dend - d0 < 6:
        raise ReadError(name, "VMP data module too short for its header", offset=d0)
    (n_rows,) = struct.unpack_from("<I", buf, d0)
    if data_mod.version == 11:
        (n_cols,) = struct.unpack_from("<H", buf, d0 + 4)
        ids_at = d0 + 6
    else:
        n_cols = buf[d0 + 4]
        ids_at = d0 + 5
    rec_at = d0 + _DATA_OFFSET[data_mod.version]
    if ids_at + 2 * n_cols > rec_at or rec_at > dend:
        raise ReadError(
            name,
            f"VMP data module ({dend - d0} bytes) too short for {n_cols} column ids",
            offset=d0,
        )
    ids = struct.unpack_from(f"<{n_cols}H", buf, ids_at)
    try:
        rec = _records_for(ids)
    except _UnknownColumn as exc:
        raise ReadError(
            name,
            f"unknown column id {exc.cid} (column {exc.index + 1} of {len(ids)}) in the VMP data "
            "module: its size and meaning are not known, so the records cannot be read",
            offset=ids_at + 2 * exc.index,
            expected=f"one of the {len(MPR_COLUMNS) + len(MPR_FLAGS)} column ids known "
            "to analysis/readers/eclab_columns.py; export the file as .mpt meanwhile",
        ) from None
    itemsize = rec.dtype.itemsize
    need = n_rows * itemsize
    if dend - rec_at != need:
        raise ReadError(
            name,
            f"VMP data module holds {dend - rec_at} bytes of records but {n_rows} rows of "
            f"{itemsize} bytes need {need}",
            offset=rec_at,
            expected="a record block that matches the row count and column ids",
        )
    records = np.frombuffer(buf, dtype=rec.dtype, count=n_rows, offset=rec_at)
    flags = records["flags"] if rec.has_flags else None
    arrays: list[Column] = []
    for field, mask in rec.fields:
        if mask:
            assert flags is not None
            # Flags are never canonical columns: each is taken out of the flag byte when
            # Dataset.extra is first built.
            arrays.append(functools.partial(_flag, flags, mask))
        else:
            # A view into the file's bytes: build() converts it, or Dataset.extra copies it.
            arrays.append(records[field])

    meta: dict[str, Any] = {
        "format": "eclab-mpr",
        "technique": TECHNIQUE_IDS.get(buf[settings.start], f"unknown (id {buf[settings.start]})"),
        "instrument": None,
        "software": "EC-Lab",
        "software_version": None,
        "start_time": None,
        "electrode_area_cm2": None,
        "settings": {},
        "modules": [
            {"name": m.name, "version": m.version, "date": m.date, "bytes": m.end - m.start}
            for m in modules
        ],
        "column_ids": list(ids),
    }
    s0, send = settings.start, settings.end
    if send - s0 >= 0x215:
        (area,) = struct.unpack_from("<f", buf, s0 + 0x211)
        # float32 in the file: keep the decimal EC-Lab shows (1.131, not 1.13100004196167).
        meta["electrode_area_cm2"] = float(str(np.float32(area)))
    comments = _pascal(buf, s0 + 0x07, send)
    if comments:
        meta["settings"]["comments"] = comments
    if log is not None:
        l0, lend = log.start, log.end
        if lend - l0 >= 0x251:
            (ole,) = struct.unpack_from("<d", buf, l0 + 0x249)
            if 1.0 < ole < 2_958_465.0:
                start = datetime(1899, 12, 30) + timedelta(days=ole)
                meta["start_time"] = start.isoformat(timespec="milliseconds")
        meta["software_version"] = _pascal(buf, l0 + 0x3B7, lend)
        firmware = _pascal(buf, l0 + 0x3BE, lend)
        interpreter = _pascal(buf, l0 + 0x3C5, lend)
        serial = _pascal(buf, l0 + 0x3CF, lend)
        if firmware:
            meta["settings"]["server_version"] = firmware
        if interpreter:
            meta["settings"]["interpreter_version"] = interpreter
        if serial:
            meta["instrument"] = f"Bio-Logic (SN {serial})"
        if lend - l0 > 0x09:
            meta["settings"]["channel"] = buf[l0 + 0x09] + 1
    if loop is not None and loop.end - loop.start >= 4:
        (n_loops,) = struct.unpack_from("<I", buf, loop.start)
        meta["settings"]["loops"] = int(n_loops)
    return build(name, rec.layout, arrays, n_rows, meta)
