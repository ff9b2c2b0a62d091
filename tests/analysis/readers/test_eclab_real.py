"""Every real EC-Lab file: row counts, columns and values against the files themselves."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import readers
from tests.shared_data import require_shared_data

from .helpers import mpr_row_count, mpt_table, source_column, sources

MPT_FILES = [
    ("eclab", "ca.mpt"),
    ("eclab", "cp.mpt"),
    ("eclab", "cp.issue_61.mpt"),
    ("eclab", "gcpl.issue_149.mpt"),
    ("eclab", "geis.mpt"),
    ("eclab", "mb.issue_95.de.mpt"),
    ("eclab", "mb.old.mpt"),
    ("eclab", "ocv.mpt"),
    ("eclab", "peis.mpt"),
    ("eclab", "wait.mpt"),
    ("eis", "exampleDataBioLogic.mpt"),
]
TWINS = ["ca", "cp", "cp.issue_61", "gcpl.issue_149", "geis", "ocv", "peis", "wait"]
MPR_ONLY = ["gcpl", "gcpl.issue_175"]
TECHNIQUE = {
    "ca": "CA",
    "cp": "CP",
    "cp.issue_61": "CP",
    "gcpl": "GCPL",
    "gcpl.issue_149": "GCPL",
    "gcpl.issue_175": "GCPL",
    "geis": "GEIS",
    "ocv": "OCV",
    "peis": "PEIS",
    "wait": "WAIT",
}


@pytest.mark.parametrize("parts", MPT_FILES, ids=lambda p: p[1])
def test_mpt_matches_its_own_text(parts: tuple[str, str]) -> None:
    path = require_shared_data(*parts)
    names, rows, header = mpt_table(path)
    ds = readers.read(path)
    assert ds.meta["format"] == "eclab-mpt"
    assert len(ds.data) == len(rows)
    assert sources(ds) == names
    expected = np.array(rows, dtype=float).reshape(len(rows), len(names))
    for j, name in enumerate(names):
        np.testing.assert_allclose(
            source_column(ds, name), expected[:, j], rtol=1e-12, err_msg=name
        )
    area = header["Electrode surface area"].split()[0].replace(",", ".")
    assert ds.meta["electrode_area_cm2"] == pytest.approx(float(area))
    assert header["Device"] == ds.meta["instrument"]
    assert f"v{ds.meta['software_version']} (software)" in path.read_bytes().decode("latin-1")


@pytest.mark.parametrize("parts", MPT_FILES, ids=lambda p: p[1])
def test_mpt_canonical_columns_and_units(parts: tuple[str, str]) -> None:
    path = require_shared_data(*parts)
    names, rows, _ = mpt_table(path)
    ds = readers.read(path)
    assert "time_s" in ds.data.columns
    if "-Im(Z)/Ohm" in names:
        j = names.index("-Im(Z)/Ohm")
        # EC-Lab stores -Im(Z); the canonical column is Im(Z): the sign must flip.
        np.testing.assert_allclose(ds.data["z_imag_ohm"], [-r[j] for r in rows], rtol=1e-12)
    if "(Q-Qo)/C" in names and "(Q-Qo)/mA.h" not in names:
        j = names.index("(Q-Qo)/C")
        np.testing.assert_allclose(ds.data["charge_mAh"], [r[j] / 3.6 for r in rows], rtol=1e-12)
    if "Ewe/V" in names:
        j = names.index("Ewe/V")
        np.testing.assert_allclose(ds.data["voltage_V"], [r[j] for r in rows], rtol=1e-12)
    for col in ("cycle", "step", "half_cycle"):
        if col in ds.data.columns:
            assert ds.data[col].dtype == np.int64


def test_mpt_header_metadata() -> None:
    path = require_shared_data("eclab", "peis.mpt")
    ds = readers.read(path)
    assert ds.meta["technique"] == "PEIS"
    assert ds.meta["start_time"] == "2021-03-02T16:17:59.000"
    assert ds.meta["software_version"] == "11.33"
    assert ds.meta["instrument"] == "SP-240 (SN 0200)"
    assert ds.meta["parameters"]["fi"] and ds.meta["parameters"]["unit fi"]


def test_german_locale_values() -> None:
    path = require_shared_data("eclab", "gcpl.issue_149.mpt")
    text = path.read_bytes().decode("latin-1").splitlines()
    first = text[81].split("\t")
    ds = readers.read(path)
    assert ds.meta["decimal"] == ","
    assert ds.data["time_s"].iloc[0] == float(first[7].replace(",", "."))
    assert ds.meta["start_time"] == "2024-01-10T11:02:29.886"


@pytest.mark.parametrize("stem", TWINS)
def test_mpr_matches_its_mpt_twin(stem: str) -> None:
    mpr = readers.read(require_shared_data("eclab", f"{stem}.mpr"))
    mpt = readers.read(require_shared_data("eclab", f"{stem}.mpt"))
    assert mpr.meta["format"] == "eclab-mpr"
    assert len(mpr.data) == len(mpt.data)
    shared = [s for s in sources(mpr) if s in sources(mpt)]
    # Every .mpr column is in the export (the export adds derived columns, never drops any).
    assert shared == [s for s in sources(mpr) if not s.endswith(")") or s in sources(mpt)]
    assert len(shared) == len(sources(mpr))
    for s in shared:
        a, b = source_column(mpr, s), source_column(mpt, s)
        # .mpt prints float32 values with 8 significant digits.
        np.testing.assert_allclose(a, b, rtol=2e-7, atol=1e-30, err_msg=s)
    assert list(mpr.data.columns) == [c for c in mpt.data.columns if c in mpr.data.columns]
    for key in ("technique", "start_time", "software_version", "electrode_area_cm2"):
        assert mpr.meta[key] == mpt.meta[key], key
    assert mpr.meta["technique"] == TECHNIQUE[stem]


@pytest.mark.parametrize("stem", MPR_ONLY)
def test_mpr_without_twin(stem: str) -> None:
    path = require_shared_data("eclab", f"{stem}.mpr")
    ds = readers.read(path)
    assert len(ds.data) == mpr_row_count(path)
    assert ds.meta["technique"] == TECHNIQUE[stem]
    assert np.all(np.diff(ds.data["time_s"]) >= 0)
    assert ds.data["voltage_V"].between(-10, 10).all()
    assert set(ds.extra["mode"].unique()) <= {1, 2, 3}


def test_bytes_and_file_object_give_the_same_dataset() -> None:
    path = require_shared_data("eclab", "peis.mpr")
    by_path = readers.read(path)
    by_bytes = readers.read(path.read_bytes(), "upload.bin")
    with path.open("rb") as fh:
        by_file = readers.read(fh)
    assert by_bytes.meta["filename"] == "upload.bin"
    assert by_bytes.meta["format"] == "eclab-mpr"  # content, not the name, decides
    for other in (by_bytes, by_file):
        assert other.data.equals(by_path.data)


def test_headerless_mpt_export(tmp_path) -> None:
    path = require_shared_data("eclab", "peis.mpt")
    lines = path.read_bytes().splitlines(keepends=True)
    n_header = int(lines[1].split(b":")[1])
    stripped = tmp_path / "peis_noheader.txt"
    stripped.write_bytes(b"".join(lines[n_header - 1 :]))
    full = readers.read(path)
    bare = readers.read(stripped)
    assert bare.meta["format"] == "eclab-mpt" and bare.meta["header"] is False
    assert bare.data.equals(full.data)
