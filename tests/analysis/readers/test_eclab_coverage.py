"""EC-Lab columns and techniques beyond the real files: .mpr files rebuilt from a real one with
another data module (column ids documented by the public readers, values known), technique
bytes, and .mpt headers with an unnamed column."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from analysis import readers
from analysis.readers import ReadError
from analysis.readers.eclab_columns import MPR_COLUMNS
from tests.shared_data import require_shared_data

HEADER = 6 + 35 + 16  # "MODULE", short and long names, length/version/date (pre-11.50 layout)


def with_data_module(ids: list[int], dtypes: list[str], rows: list[tuple[float, ...]]) -> bytes:
    """ocv.mpr with its VMP data module replaced: version 3, ``ids`` and these ``rows``."""
    raw = require_shared_data("eclab", "ocv.mpr").read_bytes()
    at = raw.index(b"MODULEVMP data")
    length, version = struct.unpack_from("<II", raw, at + 6 + 35)
    assert version == 3
    head = struct.pack("<IB", len(rows), len(ids)) + struct.pack(f"<{len(ids)}H", *ids)
    head = head.ljust(0x196, b"\x00")
    record = np.dtype([(f"c{i}", d) for i, d in enumerate(dtypes)])
    block = np.array(rows, dtype=record).tobytes()
    data = head + block
    module = raw[at : at + 6 + 35] + struct.pack("<II", len(data), version)
    module += raw[at + 6 + 35 + 8 : at + HEADER] + data
    return raw[:at] + module + raw[at + HEADER + length :]


@pytest.mark.parametrize(
    ("column_id", "name"),
    [(11, "<I>/mA"), (16, "Analog IN 1/V"), (23, "dQ/mA.h"), (74, "|Energy|/W.h"),
     (462, "Temperature/°C"), (473, "THD Ewe/%"), (469, "z cycle"), (182, "step time/s")],
)  # fmt: skip
def test_documented_column_ids_read_with_their_names_and_sizes(column_id: int, name: str) -> None:
    dtype = MPR_COLUMNS[column_id][1]
    rows = [(0.0, 1.0, 7), (0.5, 2.0, 8), (1.0, 3.0, 9)]
    ds = readers.read(with_data_module([4, column_id, 131], ["<f8", dtype, "<u2"], rows), "x.mpr")
    np.testing.assert_array_equal(ds.data["time_s"], [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(ds.data["step"], [7, 8, 9])  # read after the new column
    record = next(r for r in ds.meta["columns"] if r["source"] == name)
    if record["canonical"]:
        values = ds.data[record["canonical"]] / record["factor"]
    else:
        values = ds.extra[name]
    np.testing.assert_array_equal(np.asarray(values, dtype=float), [1.0, 2.0, 3.0])
    assert ds.meta["column_ids"] == [4, column_id, 131]


def test_still_unknown_id_names_itself() -> None:
    raw = with_data_module([4, 880], ["<f8", "<f4"], [(0.0, 1.0)])
    with pytest.raises(ReadError, match=r"unknown column id 880 \(column 2 of 2\)") as exc:
        readers.read(raw, "new.mpr")
    assert "known to analysis/readers/eclab_columns.py" in str(exc.value)


def test_empty_data_module_reads_as_zero_rows_with_metadata() -> None:
    raw = with_data_module([1, 3, 4, 6], ["u1", "<f8", "<f4"], [])
    ds = readers.read(raw, "wait-like.mpr")
    assert len(ds.data) == 0 and list(ds.data.columns) == ["time_s", "voltage_V"]
    assert ds.meta["technique"] == "OCV" and ds.meta["electrode_area_cm2"] is not None


@pytest.mark.parametrize(
    ("byte", "technique"), [(0x06, "CV"), (0x33, "CVA"), (0x6C, "LSV"), (0x32, "ZIR"), (0x7F, "MB"), (0xEE, "unknown (id 238)")]
)  # fmt: skip
def test_technique_byte(byte: int, technique: str) -> None:
    raw = bytearray(require_shared_data("eclab", "ocv.mpr").read_bytes())
    settings = raw.index(b"MODULEVMP Set") + HEADER
    raw[settings] = byte
    assert readers.read(bytes(raw), "x.mpr").meta["technique"] == technique


def test_mpt_header_with_an_unnamed_column() -> None:
    lines = require_shared_data("eclab", "peis.mpt").read_bytes().splitlines(keepends=True)
    n_header = int(lines[1].split(b":")[1])
    header = lines[n_header - 1]
    names = header.rstrip(b"\r\n").split(b"\t")
    k = names.index(b"Cs/\xb5F") if b"Cs/\xb5F" in names else 3
    names[k] = b""
    lines[n_header - 1] = b"\t".join(names) + b"\r\n"
    ds = readers.read(b"".join(lines), "peis.mpt")
    reference = readers.read(require_shared_data("eclab", "peis.mpt"))
    assert f"column {k + 1}" in ds.extra.columns
    np.testing.assert_array_equal(ds.data["z_real_ohm"], reference.data["z_real_ohm"])
