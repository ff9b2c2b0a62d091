"""Other vendors' impedance exports, read from the real files in ../shared/data/eis and checked
against the files' own lines (parsed here by plain string handling, independently of the
readers), plus edge cases built from those files: aborted runs, decimal commas, bad rows."""

from __future__ import annotations

import re

import numpy as np
import pytest

from analysis import readers
from analysis.readers import ReadError
from tests.shared_data import require_shared_data


def raw(name: str) -> bytes:
    return require_shared_data("eis", name).read_bytes()


def text_lines(name: str) -> list[str]:
    return raw(name).decode("latin-1").lstrip("\ufeff").splitlines()


def assert_spectrum(ds: readers.Dataset, freq, z_real, z_imag) -> None:
    np.testing.assert_array_equal(ds.data["freq_Hz"], freq)
    np.testing.assert_array_equal(ds.data["z_real_ohm"], z_real)
    np.testing.assert_array_equal(ds.data["z_imag_ohm"], z_imag)


def test_gamry_dta_zcurve() -> None:
    lines = text_lines("exampleDataGamry.DTA")
    start = lines.index("ZCURVE\tTABLE")
    rows = [line.split("\t") for line in lines[start + 3 :] if line.startswith("\t")]
    ds = readers.read(raw("exampleDataGamry.DTA"), "run.DTA")
    assert readers.detect_format(raw("exampleDataGamry.DTA")) == "gamry-dta"
    # Columns: Pt Time Freq Zreal Zimag Zsig Zmod Zphz Idc Vdc IERange.
    assert_spectrum(
        ds,
        [float(r[3]) for r in rows],
        [float(r[4]) for r in rows],
        [float(r[5]) for r in rows],
    )
    np.testing.assert_array_equal(ds.data["phase_deg"], [float(r[8]) for r in rows])
    np.testing.assert_allclose(ds.data["current_mA"], [float(r[9]) * 1e3 for r in rows])
    assert ds.meta["technique"] == "PEIS" and ds.meta["aborted"] is False
    assert ds.meta["electrode_area_cm2"] == 1.0
    assert ds.meta["instrument"] == "Gamry REF3000-34128"
    assert ds.meta["settings"]["FREQINIT"] == "2.00000E+005"
    assert "Over" not in ds.extra.columns  # text flags are not numbers
    assert list(ds.extra["Pt"]) == [float(r[1]) for r in rows]


def test_gamry_aborted_run_reads_up_to_the_abort() -> None:
    lines = raw("exampleDataGamry.DTA").split(b"\n")
    start = lines.index(b"ZCURVE\tTABLE")
    kept = start + 3 + 20
    aborted = b"\n".join([*lines[:kept], b"EXPERIMENTABORTED\tTOGGLE\tT\tExperiment Aborted", b""])
    ds = readers.read(aborted, "aborted.DTA")
    assert ds.meta["aborted"] is True
    assert len(ds.data) == 20
    assert ds.data["freq_Hz"].iloc[-1] == float(lines[kept - 1].split(b"\t")[3])


def test_gamry_decimal_comma_and_bad_value() -> None:
    source = raw("exampleDataGamry.DTA")
    head, _, table = source.partition(b"ZCURVE\tTABLE")
    body = table.split(b"\n")
    comma = b"\n".join(body[:3] + [row.replace(b".", b",") for row in body[3:8]]) + b"\n"
    ds = readers.read(head + b"ZCURVE\tTABLE" + comma, "de.DTA")
    assert ds.data["z_real_ohm"].iloc[0] == float(body[3].split(b"\t")[4])
    bad = b"\n".join([*body[:4], body[4].replace(b"\t1100.361\t", b"\tnone\t"), *body[5:]])
    line = head.count(b"\n") + 5
    with pytest.raises(ReadError, match=rf"line {line}: value 'none' in column 'Zreal'"):
        readers.read(head + b"ZCURVE\tTABLE" + bad, "bad.DTA")


def test_gamry_without_an_impedance_table_is_refused() -> None:
    source = raw("exampleDataGamry.DTA")
    head = source.partition(b"ZCURVE\tTABLE")[0]
    with pytest.raises(ReadError, match=r"no ZCURVE or CURVE table.*OCVCURVE"):
        readers.read(head, "ocv-only.DTA")


def test_zplot_z() -> None:
    lines = text_lines("exampleDataZPlot.z")
    end = lines.index("End Comments")
    rows = [line.split("\t") for line in lines[end + 1 :] if line.strip()]
    ds = readers.read(raw("exampleDataZPlot.z"), "run.z")
    # Columns: Freq(Hz) Ampl Bias Time(Sec) Z'(a) Z''(b) GD Err Range.
    assert_spectrum(
        ds, [float(r[0]) for r in rows], [float(r[4]) for r in rows], [float(r[5]) for r in rows]
    )
    np.testing.assert_array_equal(ds.data["time_s"], [float(r[3]) for r in rows])
    assert ds.meta["format"] == "zplot" and ds.meta["technique"] == "PEIS"
    assert ds.meta["software_version"] == "3.2c"
    declared = next(line for line in lines if "Data Points:" in line).split(":")[1].strip()
    assert ds.meta["notes"] == [f"the header announces {declared} points, the file holds 21"]


def test_z60w_autolab_export() -> None:
    lines = text_lines("exampleDataAutolab.txt")
    header = next(i for i, line in enumerate(lines) if "Freq" in line)
    rows = [line.split(",") for line in lines[header + 1 :] if line.strip()]
    ds = readers.read(raw("exampleDataAutolab.txt"), "autolab.txt")
    assert_spectrum(
        ds, [float(r[0]) for r in rows], [float(r[4]) for r in rows], [float(r[5]) for r in rows]
    )
    assert ds.meta["format"] == "z60w" and int(lines[header - 1]) == len(rows)
    assert "notes" not in ds.meta
    assert list(ds.extra.columns) == ["Ampl", "Bias", "GD", "Err", "Range"]


def test_ch_instruments_text() -> None:
    lines = text_lines("exampleDataCHInstruments.txt")
    header = lines.index("Freq/Hz, Z'/ohm, Z\"/ohm, Z/ohm, Phase/deg")
    rows = [line.split(",") for line in lines[header + 1 :] if line.strip()]
    ds = readers.read(raw("exampleDataCHInstruments.txt"), "chi.txt")
    assert_spectrum(
        ds, [float(r[0]) for r in rows], [float(r[1]) for r in rows], [float(r[2]) for r in rows]
    )
    np.testing.assert_array_equal(ds.data["z_mod_ohm"], [float(r[3]) for r in rows])
    np.testing.assert_array_equal(ds.data["phase_deg"], [float(r[4]) for r in rows])
    assert ds.meta["instrument"] == "CHI660E" and ds.meta["technique_name"] == "A.C. Impedance"
    assert ds.meta["settings"]["High Frequency (Hz)"] == "2e+6"


def test_ch_instruments_voltammetry_is_read_too() -> None:
    text = (
        "Feb. 20, 2020   15:55:08\nCyclic Voltammetry\nFile: c:\\x.bin\n"
        "Instrument Model:  CHI660E\nInit E (V) = 0\n\nPotential/V, Current/A\n\n"
        "0.000, 1.000e-6\n0.010, 2.500e-6\n"
    )
    ds = readers.read(text.encode(), "cv.txt")
    assert ds.meta["format"] == "chi" and ds.meta["technique"] == "Cyclic Voltammetry"
    np.testing.assert_allclose(ds.data["current_mA"], [1e-3, 2.5e-3])
    np.testing.assert_array_equal(ds.data["voltage_V"], [0.0, 0.01])


def test_versastudio_par() -> None:
    lines = text_lines("exampleDataVersaStudio.par")
    definition = next(line for line in lines if line.startswith("Definition="))
    names = [n.strip() for n in definition.partition("=")[2].split(",")]
    start, end = lines.index("<Segment1>"), lines.index("</Segment1>")
    rows = [line.split(",") for line in lines[start + 1 : end] if re.match(r"[-\d]", line)]
    ds = readers.read(raw("exampleDataVersaStudio.par"), "run.par")
    column = {name: i for i, name in enumerate(names)}
    assert_spectrum(
        ds,
        [float(r[column["Frequency(Hz)"]]) for r in rows],
        [float(r[column["Z Real"]]) for r in rows],
        [float(r[column["Z Imag"]]) for r in rows],
    )
    np.testing.assert_array_equal(
        ds.data["time_s"], [float(r[column["Elapsed Time(s)"]]) for r in rows]
    )
    assert ds.meta["instrument"] == "VersaSTAT4 (SN 16334007)"
    assert ds.meta["technique"] == "PEIS" and ds.meta["software_version"] == "2.52.3.0"


def test_versastudio_cut_inside_the_segment_is_refused() -> None:
    source = raw("exampleDataVersaStudio.par")
    cut = source[: source.index(b"</Segment1>")]
    with pytest.raises(ReadError, match="ends inside <Segment1>"):
        readers.read(cut, "cut.par")


@pytest.mark.parametrize(
    "name",
    ["exampleDataGamry.DTA", "exampleDataZPlot.z", "exampleDataAutolab.txt",
     "exampleDataCHInstruments.txt"],
)  # fmt: skip
def test_last_row_cut_short_is_refused(name: str) -> None:
    source = raw(name).rstrip(b"\r\n")
    with pytest.raises(ReadError, match="no line break after it"):
        readers.read(source[:-1], name)


def test_vendor_spectra_fit_without_a_circuit() -> None:
    # The readers' output goes straight into the fit: Im(Z) sign and units as eis expects.
    from analysis.science import eis

    ds = readers.read(raw("exampleDataGamry.DTA"), "run.DTA")
    z = ds.data["z_real_ohm"].to_numpy() + 1j * ds.data["z_imag_ohm"].to_numpy()
    result = eis.fit(ds.data["freq_Hz"].to_numpy(), z)
    assert result.suggested_by_drt and result.n_points == len(ds.data)
    # Two arcs and a diffusion tail: a two-arc circuit follows it within about 6 %.
    assert result.relative_rms_residual < 0.1
