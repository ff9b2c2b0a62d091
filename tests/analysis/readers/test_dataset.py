"""The Dataset a reader returns: frames built on first use from arrays the dataset owns, the
same whatever the order of access, and checks that are all done inside read()."""

from __future__ import annotations

import re

import numpy as np
import pytest

from analysis import readers
from analysis.readers import ReadError
from tests.shared_data import require_shared_data

from .test_eclab_coverage import with_data_module

MPR = ["ca", "cp", "cp.issue_61", "gcpl", "gcpl.issue_149", "gcpl.issue_175", "geis", "ocv",
       "peis", "wait"]  # fmt: skip


@pytest.mark.parametrize("stem", MPR)
def test_names_rows_and_summary_before_the_frames_match_the_frames(stem: str) -> None:
    ds = readers.read(require_shared_data("eclab", f"{stem}.mpr"))
    before = ds.summary()
    columns, extra_columns, rows = ds.columns, ds.extra_columns, ds.rows
    assert list(ds.data.columns) == columns
    assert list(ds.extra.columns) == extra_columns
    assert len(ds.data) == len(ds.extra) == rows
    assert ds.summary() == before
    assert before["rows"] == rows and list(before["data_columns"]) == columns


@pytest.mark.parametrize("stem", MPR)
def test_mpr_frames_do_not_share_the_callers_bytes(stem: str) -> None:
    raw = require_shared_data("eclab", f"{stem}.mpr").read_bytes()
    ds = readers.read(raw, f"{stem}.mpr")
    file_bytes = np.frombuffer(raw, dtype=np.uint8)
    for frame in (ds.data, ds.extra):
        for name in frame.columns:
            values = frame[name].to_numpy()
            assert not np.shares_memory(values, file_bytes), name
            assert values.flags.c_contiguous, name


def test_extra_built_first_gives_the_same_values() -> None:
    path = require_shared_data("eclab", "gcpl.mpr")
    data_first = readers.read(path)
    data_first_frames = (data_first.data, data_first.extra)
    extra_first = readers.read(path)
    extra_first_frames = (extra_first.extra, extra_first.data)
    assert data_first_frames[0].equals(extra_first_frames[1])
    assert data_first_frames[1].equals(extra_first_frames[0])
    # The flag columns come out of one shared byte: 0..3 for mode, 0/1 for the others.
    flags = data_first.extra
    assert set(np.unique(flags["mode"])) <= {0, 1, 2, 3}
    for name in ("ox/red", "error", "control changes", "Ns changes", "counter inc."):
        assert set(np.unique(flags[name])) <= {0, 1}, name


def test_meta_columns_belong_to_one_dataset() -> None:
    path = require_shared_data("eclab", "peis.mpr")
    first = readers.read(path)
    first.meta["columns"][0]["source"] = "changed by a caller"
    first.meta["columns"].append({"source": "added by a caller"})
    second = readers.read(path)
    assert second.meta["columns"][0]["source"] != "changed by a caller"
    assert len(second.meta["columns"]) == len(first.meta["columns"]) - 1


def test_negated_zero_is_plus_zero() -> None:
    # EC-Lab stores -Im(Z); a zero must become Im(Z) = 0.0, not -0.0.
    raw = with_data_module([4, 32, 38], ["<f8", "<f4", "<f4"], [(0.0, 1e3, 0.0), (1.0, 1e2, 2.5)])
    ds = readers.read(raw, "eis.mpr")
    z_imag = ds.data["z_imag_ohm"].to_numpy()
    np.testing.assert_array_equal(z_imag, [0.0, -2.5])
    assert not np.signbit(z_imag[0])


@pytest.mark.parametrize(
    ("value", "shown"), [(1.5, "1.5"), (float("nan"), "nan"), (float("inf"), "inf"), (1e19, "1e+19")]
)  # fmt: skip
def test_cycle_number_must_be_a_whole_number_that_fits(value: float, shown: str) -> None:
    # Cycle numbers are float64 in the file (id 24) and int64 in the dataset.
    raw = with_data_module([4, 24], ["<f8", "<f8"], [(0.0, 1.0), (1.0, value), (2.0, 3.0)])
    with pytest.raises(ReadError, match=re.escape(f"'cycle number' holds {shown} in row 2")):
        readers.read(raw, "x.mpr")


def test_whole_cycle_numbers_become_int64() -> None:
    raw = with_data_module([4, 24], ["<f8", "<f8"], [(0.0, 0.0), (1.0, -0.0), (2.0, 2.0**53)])
    ds = readers.read(raw, "x.mpr")
    assert ds.data["cycle"].dtype == np.int64
    assert ds.data["cycle"].tolist() == [0, 0, 2**53]
