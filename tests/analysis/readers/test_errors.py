"""Bad input: one exception type, with the file, the place and what was expected."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest

from analysis import readers
from analysis.readers import ReadError
from tests.shared_data import require_shared_data


def test_read_error_is_a_value_error() -> None:
    assert issubclass(ReadError, ValueError)


def test_empty_file() -> None:
    with pytest.raises(ReadError, match=r"^empty.csv: the file is empty"):
        readers.read(b"", "empty.csv")


def test_png_named_mpr() -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    with pytest.raises(ReadError, match=r"spectrum.mpr, byte offset 0: this is a PNG image"):
        readers.read(png, "spectrum.mpr")


def test_zip_that_is_not_xlsx() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("data.csv", "time/s,Ewe/V\n1,2\n")
    with pytest.raises(ReadError, match="a zip archive, not a data file"):
        readers.read(buf.getvalue(), "data.xlsx")


def test_missing_path() -> None:
    with pytest.raises(ReadError, match="cannot open the file"):
        readers.read(Path("/nonexistent/x.mpr"))


def test_text_mode_file_object(tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_text("time/s\n1\n")
    with f.open("r") as fh, pytest.raises(ReadError, match="text mode"):
        readers.read(fh)  # type: ignore[arg-type]


def test_truncated_mpr_names_the_module() -> None:
    raw = require_shared_data("eclab", "ca.mpr").read_bytes()
    with pytest.raises(ReadError, match=r"byte offset \d+: module 'VMP data' announces") as exc:
        readers.read(raw[:10_000], "ca.mpr")
    assert exc.value.offset is not None


def test_unknown_mpr_column_id_is_named() -> None:
    raw = bytearray(require_shared_data("eclab", "ocv.mpr").read_bytes())
    at = raw.index(b"MODULEVMP data") + 6 + 35 + 16  # data module of a pre-11.50 file
    ids_at = at + 5
    assert struct.unpack_from("<4H", raw, ids_at) == (1, 3, 4, 6)
    struct.pack_into("<H", raw, ids_at + 6, 9999)
    with pytest.raises(ReadError, match=r"unknown column id 9999 \(column 4 of 4\)") as exc:
        readers.read(bytes(raw), "ocv.mpr")
    assert exc.value.offset == ids_at + 6


def test_mpr_record_block_must_match_row_count() -> None:
    raw = bytearray(require_shared_data("eclab", "ocv.mpr").read_bytes())
    at = raw.index(b"MODULEVMP data") + 6 + 35 + 16
    struct.pack_into("<I", raw, at, 601)
    with pytest.raises(ReadError, match="601 rows of 13 bytes need 7813"):
        readers.read(bytes(raw), "ocv.mpr")


def test_mpt_text_value_names_the_line() -> None:
    lines = require_shared_data("eclab", "ocv.mpt").read_bytes().splitlines(keepends=True)
    lines[60] = lines[60].replace(b"E", b"X", 1)
    with pytest.raises(
        ReadError, match=r"ocv.mpt, line 61: value .* in column 'time/s' is not a number"
    ):
        readers.read(b"".join(lines), "ocv.mpt")


def test_mpt_truncated_in_the_header() -> None:
    raw = require_shared_data("eclab", "ocv.mpt").read_bytes()
    with pytest.raises(ReadError, match="ends inside its header block"):
        readers.read(raw[:500], "ocv.mpt")


def test_mpt_cut_inside_the_last_number() -> None:
    raw = require_shared_data("eclab", "ocv.mpt").read_bytes()
    assert raw.endswith(b"E-001")  # EC-Lab writes no final line break
    with pytest.raises(ReadError, match="looks truncated"):
        readers.read(raw[:-1], "ocv.mpt")


def test_mpt_without_time_column() -> None:
    raw = require_shared_data("eclab", "ocv.mpt").read_bytes().replace(b"time/s", b"tame/s", 1)
    with pytest.raises(ReadError, match=r"line 53: required column 'time/s' is missing"):
        readers.read(raw, "ocv.mpt")


def test_damaged_xlsx() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("xl/workbook.xml", "<not really>")
    with pytest.raises(ReadError, match="not a readable XLSX workbook"):
        readers.read(buf.getvalue(), "x.xlsx")
