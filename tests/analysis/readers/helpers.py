"""Independent ways to read the expected values out of the real files, for the tests."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import numpy as np

from analysis.readers import Dataset


def mpt_table(path: Path) -> tuple[list[str], list[list[float]], dict[str, str]]:
    """Column names, rows and ``key : value`` header lines of an .mpt, by plain string handling."""
    text = path.read_bytes().decode("latin-1")
    lines = text.splitlines()
    n_header = int(re.search(r"Nb header lines : (\d+)", lines[1]).group(1))  # type: ignore[union-attr]
    names = lines[n_header - 1].rstrip("\t").split("\t")
    rows = []
    for line in lines[n_header:]:
        if line.strip():
            rows.append([float(v.replace(",", ".")) for v in line.rstrip("\t").split("\t")])
    header = {}
    for line in lines[2 : n_header - 1]:
        if " : " in line:
            k, _, v = line.strip().partition(" : ")
            header.setdefault(k.strip(), v.strip())
    return names, rows, header


def mpr_row_count(path: Path) -> int:
    """Rows announced by the VMP data module, found by searching for its name."""
    raw = path.read_bytes()
    at = raw.index(b"MODULEVMP data")
    header_start = at + 6 + 35
    (first,) = struct.unpack_from("<I", raw, header_start)
    data_start = header_start + (24 if first == 0xFFFFFFFF else 16)
    return struct.unpack_from("<I", raw, data_start)[0]


def source_column(ds: Dataset, source: str) -> np.ndarray:
    """A source column's values in the file's own unit, wherever the reader put it."""
    for rec in ds.meta["columns"]:
        if rec["source"] == source:
            if rec["canonical"]:
                return ds.data[rec["canonical"]].to_numpy(dtype=float) / rec["factor"]
            return ds.extra[source].to_numpy(dtype=float)
    raise KeyError(source)


def sources(ds: Dataset) -> list[str]:
    return [rec["source"] for rec in ds.meta["columns"]]
