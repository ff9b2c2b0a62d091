"""CSV/TSV/XLSX tables, column mappings and templates, indentation exports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import openpyxl
import pytest

from analysis import readers
from analysis.readers import ColumnMapping, ReadError
from tests.shared_data import require_shared_data


def test_eis3_template_on_real_headerless_file() -> None:
    path = require_shared_data("eis", "exampleData.csv")
    rows = [[float(v) for v in line.split(",")] for line in path.read_text().splitlines() if line]
    ds = readers.read(path, mapping="eis3")
    assert len(ds.data) == len(rows) == 66
    assert list(ds.data.columns) == ["freq_Hz", "z_real_ohm", "z_imag_ohm"]
    np.testing.assert_allclose(ds.data.to_numpy(), np.array(rows), rtol=1e-15)
    assert (ds.data["z_imag_ohm"] < 0).sum() > 0  # Z'' is Im(Z): kept as written


def test_headerless_file_needs_a_mapping() -> None:
    path = require_shared_data("eis", "exampleData.csv")
    with pytest.raises(ReadError, match=r"line 1: no header row.*eis3"):
        readers.read(path)


def test_auto_headers_and_unit_conversion(tmp_path: Path) -> None:
    f = tmp_path / "spectrum.csv"
    f.write_text(
        "Freq/Hz,Re(Z)/kOhm,-Im(Z)/Ohm,time/h,<I>/uA,comment\n1000,0.5,20,0.5,10,x\n10,1.5,-3,1,20,y\n"
    )
    ds = readers.read(f)
    assert list(ds.data.columns) == ["time_s", "current_mA", "freq_Hz", "z_real_ohm", "z_imag_ohm"]
    np.testing.assert_allclose(ds.data["z_real_ohm"], [500.0, 1500.0])
    np.testing.assert_allclose(ds.data["z_imag_ohm"], [-20.0, 3.0])
    np.testing.assert_allclose(ds.data["time_s"], [1800.0, 3600.0])
    np.testing.assert_allclose(ds.data["current_mA"], [0.01, 0.02])
    assert {r["source"]: r["canonical"] for r in ds.meta["columns"]}["comment"] is None


@pytest.mark.parametrize(
    ("header", "canonical", "factor"),
    [
        ("Ewe/V", "voltage_V", 1.0),
        ("E (mV)", "voltage_V", 1e-3),
        ("j [mA/cm2]", "current_density_mA_cm2", 1.0),
        ("I/mA", "current_mA", 1.0),
        ("I (mA/cm²)", "current_density_mA_cm2", 1.0),
        ("t/min", "time_s", 60.0),
        ("Z' (Ohm)", "z_real_ohm", 1.0),
        ("-Z'' (Ohm)", "z_imag_ohm", -1.0),
        ("freq/kHz", "freq_Hz", 1000.0),
        ("Fmax [mN]", "force_mN", 1.0),
        ("Depth at max force (nm)", "depth_um", 1e-3),
        ("cycle number", "cycle", 1.0),
    ],
)
def test_header_variants(header: str, canonical: str, factor: float) -> None:
    from analysis.readers.canonical import recognise

    rec = recognise(header)
    assert rec is not None and rec.canonical == canonical
    assert rec.factor == pytest.approx(factor)


def test_explicit_mapping_with_unit_and_json_template(tmp_path: Path) -> None:
    f = tmp_path / "odd.tsv"
    f.write_text("zeit\tspannung\n0\t3500\n1\t3400\n")
    with pytest.raises(ReadError, match="no column is recognised"):
        readers.read(f)
    m = ColumnMapping(
        name="potentiostat X",
        columns={"zeit": "time_s", "spannung": "voltage_V"},
        units={"zeit": "min", "spannung": "mV"},
    )
    again = ColumnMapping.from_json(m.to_json())
    assert again == m
    assert json.loads(m.to_json())["schema"] == 1
    ds = readers.read(f, mapping=again)
    np.testing.assert_allclose(ds.data["time_s"], [0.0, 60.0])
    np.testing.assert_allclose(ds.data["voltage_V"], [3.5, 3.4])
    assert ds.meta["container"] == "tsv" and ds.meta["template"] == "potentiostat X"


def test_mapping_validation() -> None:
    with pytest.raises(ValueError, match="not a canonical column"):
        ColumnMapping(columns={"a": "volts"})
    with pytest.raises(ValueError, match="not known"):
        ColumnMapping(columns={"a": "voltage_V"}, units={"a": "furlong"})
    with pytest.raises(ValueError, match="unknown column mapping keys"):
        ColumnMapping.from_dict({"columns": {}, "colour": "red"})


def test_mapping_without_unit_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_text("volts,x\n1,2\n")
    with pytest.raises(ReadError, match="unit of column 'volts'"):
        readers.read(f, mapping={"volts": "voltage_V"})


def test_missing_required_column(tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_text("time/s,Ewe/V\n1,2\n")
    with pytest.raises(ReadError, match=r"line 1: required column\(s\) \['I'\]"):
        readers.read(f, mapping=ColumnMapping(columns={"I": "current_mA"}, units={"I": "mA"}))
    with pytest.raises(ReadError, match=r"required column\(s\) \['freq_Hz'\]"):
        readers.read(f, require=["freq_Hz"])


def test_text_in_numeric_column_names_the_line(tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_text("time/s,Ewe/V\n1,2\n2,abc\n3,4\n")
    with pytest.raises(ReadError, match=r"a.csv, line 3: value 'abc' in column 'Ewe/V'"):
        readers.read(f)


def test_short_row_names_the_line(tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_text("time/s,Ewe/V\n1,2\n2\n3,4\n")
    with pytest.raises(ReadError, match=r"line 3: 1 values in a row"):
        readers.read(f)


def test_semicolon_decimal_comma(tmp_path: Path) -> None:
    f = tmp_path / "de.csv"
    f.write_bytes("time/s;Ewe/V\n0,5;3,25\n1,5;3,5\n".encode("latin-1"))
    ds = readers.read(f)
    np.testing.assert_allclose(ds.data["voltage_V"], [3.25, 3.5])


def _xlsx(path: Path, rows: list[list[object]], title: str = "Sheet1") -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def test_xlsx_table(tmp_path: Path) -> None:
    f = _xlsx(
        tmp_path / "eis.xlsx", [["Freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm"], [100, 1.5, 2], [10, 2.5, 4]]
    )
    ds = readers.read(f.read_bytes(), "whatever.csv")
    assert ds.meta["container"] == "xlsx"
    np.testing.assert_allclose(ds.data["z_imag_ohm"], [-2.0, -4.0])


def test_xlsx_text_cell_names_the_cell(tmp_path: Path) -> None:
    f = _xlsx(tmp_path / "bad.xlsx", [["time/s", "Ewe/V"], [1, 2], [2, "n/a"]], title="Data")
    with pytest.raises(ReadError, match=r"cell Data!B3: column 'Ewe/V' holds 'n/a'"):
        readers.read(f)


# Indentation: layouts documented in analysis/readers/tabular.py.


def test_indentation_table_csv(tmp_path: Path) -> None:
    f = tmp_path / "hm.csv"
    f.write_text("Indent,Fmax [mN],hmax [nm]\n1,15.0,2500\n2,14.9,2600\n3,15.1,2450\n")
    ds = readers.read(f)
    assert ds.meta["format"] == "indentation" and ds.meta["layout"] == "indents"
    assert list(ds.data.columns) == ["indent", "force_mN", "depth_um"]
    np.testing.assert_allclose(ds.data["depth_um"], [2.5, 2.6, 2.45])
    assert ds.curves is None


def test_indentation_table_xlsx_without_indent_column(tmp_path: Path) -> None:
    f = _xlsx(
        tmp_path / "hm.xlsx",
        [["Max force (N)", "Depth at max force (um)"], [0.015, 2.5], [0.0149, 2.6]],
    )
    ds = readers.read(f)
    assert ds.meta["format"] == "indentation"
    assert list(ds.data["indent"]) == [1, 2]
    np.testing.assert_allclose(ds.data["force_mN"], [15.0, 14.9])


@pytest.mark.parametrize("container", ["csv", "xlsx"])
def test_indentation_curves(tmp_path: Path, container: str) -> None:
    rows: list[list[object]] = [["Indent", "F [mN]", "h [nm]"]]
    for indent, fmax in ((1, 15.0), (2, 14.0)):
        for k in range(11):
            frac = k / 10 if k <= 8 else (10 - k) / 2  # load to fmax at k=8... then unload
            force = fmax * min(frac, 1.0) if k <= 8 else fmax * (1 - (k - 8) / 3)
            rows.append([indent, force if k != 8 else fmax, 100.0 * k])
    if container == "csv":
        f = tmp_path / "curves.csv"
        f.write_text("\n".join(",".join(str(v) for v in r) for r in rows) + "\n")
    else:
        f = _xlsx(tmp_path / "curves.xlsx", rows)
    ds = readers.read(f)
    assert ds.meta["layout"] == "curves"
    assert ds.curves is not None and len(ds.curves) == 22
    assert list(ds.data["indent"]) == [1, 2]
    np.testing.assert_allclose(ds.data["force_mN"], [15.0, 14.0])
    np.testing.assert_allclose(ds.data["depth_um"], [0.8, 0.8])


def test_indentation_non_positive_depth_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "hm.csv"
    f.write_text("Fmax [mN],hmax [um]\n15,2.5\n15,0\n")
    with pytest.raises(ReadError, match=r"depth_um is 0\.0 for indent 2"):
        readers.read(f)
