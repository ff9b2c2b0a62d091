"""Whatever the bytes, a read ends in a correct Dataset or a ReadError, nothing else."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import readers
from analysis.readers import ReadError
from tests.shared_data import require_shared_data

VENDOR_HEADS = (
    b"EXPLAIN\nTAG\tEISPOT\n",
    b"EXPLAIN\nTAG\tEISPOT\nZCURVE\tTABLE\n\tPt\tFreq\tZreal\tZimag\n\t#\tHz\tohm\tohm\n",
    b"ZPLOT2 ASCII\n",
    b"ZPLOT2 ASCII\n  Freq(Hz)\tAmpl\tBias\tTime(Sec)\tZ'(a)\tZ''(b)\nEnd Comments\n",
    b'"Z60W Data File: Version 1.1"\n2\n"  Freq (Hz)    Z\'(a)    Z\'\'(b)"\n',
    b"Feb. 20, 2020\nA.C. Impedance\n",
    b"<Application>\n",
    b"<Application>\n</Application>\n<Segment1>\nDefinition=Frequency(Hz), Z Real, Z Imag\n",
)

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _read_or_error(raw: bytes, name: str, mapping: str | None = None) -> readers.Dataset | None:
    try:
        ds = readers.read(raw, name, mapping=mapping)
    except ReadError:
        return None
    # The frames are built on first use, after read() has returned: building them must not
    # fail either, and must agree with what the dataset said before.
    columns, extra_columns, rows = ds.columns, ds.extra_columns, ds.rows
    assert list(ds.data.columns) == columns and len(ds.data) == rows
    assert list(ds.extra.columns) == extra_columns and len(ds.extra) == rows
    return ds


@FAST
@given(st.binary(max_size=2048), st.sampled_from(["x.mpr", "x.mpt", "x.csv", "x.xlsx"]))
def test_random_bytes(raw: bytes, name: str) -> None:
    _read_or_error(raw, name)


@FAST
@given(st.binary(max_size=512))
def test_random_bytes_after_real_magics(tail: bytes) -> None:
    for head in (
        b"BIO-LOGIC MODULAR FILE\x1a" + b" " * 25 + b"\x00" * 4,
        b"EC-Lab ASCII FILE\r\n",
        b"EC-Lab ASCII FILE\r\nNb header lines : 5\r\n",
        b"PK\x03\x04",
        b"time/s,Ewe/V\n",
    ):
        _read_or_error(head + tail, "x")


def _assert_prefix(part: readers.Dataset, full: readers.Dataset) -> None:
    n = len(part.data)
    assert n <= len(full.data)
    if n == 0:
        # Cut right after a tab in the column header: indistinguishable from a complete file with
        # fewer columns and no rows (wait.mpt is such a real file). Nothing wrong is returned.
        assert set(part.data.columns) <= set(full.data.columns)
        return
    assert list(part.data.columns) == list(full.data.columns)
    pd.testing.assert_frame_equal(part.data, full.data.iloc[:n], check_index_type=False)


def _truncations(name: str, parts: tuple[str, str], mapping: str | None = None) -> None:
    raw = require_shared_data(*parts).read_bytes()
    full = readers.read(raw, name, mapping=mapping)
    rng = random.Random(1234)
    cuts = set(range(0, min(len(raw), 600)))  # magic, module and header fields, byte by byte
    cuts |= {rng.randrange(len(raw)) for _ in range(250)}
    cuts |= set(range(len(raw) - 200, len(raw)))  # inside the last rows
    for cut in sorted(cuts):
        part = _read_or_error(raw[:cut], name, mapping)
        if part is not None:
            _assert_prefix(part, full)


def test_truncated_mpr_at_every_kind_of_offset() -> None:
    _truncations("peis.mpr", ("eclab", "peis.mpr"))
    raw = require_shared_data("eclab", "peis.mpr").read_bytes()
    # An .mpr is refused whenever it is cut: the module lengths no longer add up.
    for cut in range(52, len(raw), 97):
        assert _read_or_error(raw[:cut], "peis.mpr") is None


def test_truncated_mpt_at_every_kind_of_offset() -> None:
    _truncations("peis.mpt", ("eclab", "peis.mpt"))
    _truncations("de.mpt", ("eclab", "gcpl.issue_149.mpt"))


def test_truncated_csv() -> None:
    _truncations("eis.mpt", ("eis", "exampleDataBioLogic.mpt"))
    _truncations("eis.csv", ("eis", "exampleData.csv"), mapping="eis3")


@pytest.mark.parametrize(
    "name",
    ["exampleDataGamry.DTA", "exampleDataZPlot.z", "exampleDataAutolab.txt",
     "exampleDataCHInstruments.txt", "exampleDataVersaStudio.par"],
)  # fmt: skip
def test_truncated_vendor_exports(name: str) -> None:
    _truncations(name, ("eis", name))


@FAST
@given(st.binary(max_size=512), st.sampled_from(VENDOR_HEADS))
def test_random_bytes_after_vendor_headers(tail: bytes, head: bytes) -> None:
    _read_or_error(head + tail, "x")


@FAST
@given(st.data())
def test_shuffled_vendor_header_lines(data: st.DataObject) -> None:
    name, first, last = data.draw(
        st.sampled_from(
            [("exampleDataGamry.DTA", 2, 20), ("exampleDataZPlot.z", 1, 40),
             ("exampleDataCHInstruments.txt", 2, 14), ("exampleDataVersaStudio.par", 0, 60)]
        )
    )  # fmt: skip
    path = require_shared_data("eis", name)
    lines = path.read_bytes().splitlines(keepends=True)
    order = data.draw(st.permutations(list(range(first, last))))
    shuffled = b"".join(lines[:first] + [lines[i] for i in order] + lines[last:])
    part = _read_or_error(shuffled, name)
    if part is not None:
        pd.testing.assert_frame_equal(part.data, readers.read(path).data)


@FAST
@given(st.permutations(list(range(30))))
def test_shuffled_mpt_header_lines(order: list[int]) -> None:
    path = require_shared_data("eclab", "peis.mpt")
    lines = path.read_bytes().splitlines(keepends=True)
    head = lines[:30]
    shuffled = b"".join(head[i] for i in order) + b"".join(lines[30:])
    part = _read_or_error(shuffled, "peis.mpt")
    if part is not None:
        pd.testing.assert_frame_equal(part.data, readers.read(path).data)


@FAST
@given(st.permutations(["Freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm", "time/s", "Ewe/V"]))
def test_shuffled_csv_columns_give_the_same_data(order: list[str]) -> None:
    base = {
        "Freq/Hz": [1e5, 1e3, 1.0],
        "Re(Z)/Ohm": [10.0, 20.5, 100.25],
        "-Im(Z)/Ohm": [0.5, 8.0, 40.0],
        "time/s": [0.0, 1.5, 3.0],
        "Ewe/V": [0.01, 0.02, 0.03],
    }
    text = ",".join(order) + "\n"
    for i in range(3):
        text += ",".join(repr(base[c][i]) for c in order) + "\n"
    ds = readers.read(text.encode(), "x.csv")
    np.testing.assert_array_equal(ds.data["z_imag_ohm"], [-0.5, -8.0, -40.0])
    np.testing.assert_array_equal(ds.data["freq_Hz"], base["Freq/Hz"])
    assert list(ds.data.columns) == ["time_s", "voltage_V", "freq_Hz", "z_real_ohm", "z_imag_ohm"]


@FAST
@given(st.permutations(list(range(5))), st.integers(0, 4), st.integers(0, 4))
def test_header_names_swapped_against_data(order: list[int], i: int, j: int) -> None:
    # Headers shuffled without their data: the reader cannot know, but it must still end in a
    # Dataset whose columns are the header's columns, or a ReadError.
    names = ["Freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm", "cycle number", "Ewe/V"]
    rows = [[1.5, 2.0, 3.0, 1.0, 0.1], [2.5, 3.0, 4.0, 2.0, 0.2]]
    header = [names[k] for k in order]
    header[i], header[j] = header[j], header[i]
    text = ",".join(header) + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n"
    ds = _read_or_error(text.encode(), "x.csv")
    if ds is not None:
        assert len(ds.data) == 2
