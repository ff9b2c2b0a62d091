"""The results table (one row per cell, lineage and current results), read back through pandas
from the page's and the API's CSV and XLSX, and checked against the records and result rows."""

from __future__ import annotations

import datetime as dt
import io
import math
from typing import Any

import pandas as pd
import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analysis.models import Measurement, ResultValue
from analysis.runs import analysis_run_execute
from analysis.services import measurement_create
from cells.models import Cell
from cells.services import cell_assemble
from demo import synthetic
from processing import services as proc
from reports.results_table import HEADER
from tests.factories import build_chain

pytestmark = pytest.mark.django_db


def _frame(response: Any, fmt: str) -> pd.DataFrame:
    assert response.status_code == 200, getattr(response, "content", b"")[:300]
    body = b"".join(response.streaming_content)
    text = {"ccd_shown": str}  # "1.20" is text in the file, as a paper prints it
    if fmt == "csv":
        return pd.read_csv(
            io.BytesIO(body), encoding="utf-8-sig", keep_default_na=False, dtype=text
        )
    return pd.read_excel(io.BytesIO(body), keep_default_na=False, dtype=text)


def _analysed(**fields: Any) -> Measurement:
    """A measurement whose analysis has run (the app runs it after the commit)."""
    measurement = measurement_create(**fields)
    analysis_run_execute(run_id=measurement.runs.get().pk)
    return measurement


def _current(measurement: Measurement, name: str) -> ResultValue:
    return ResultValue.objects.get(measurement=measurement, is_current=True, name=name)


def _close(exported: Any, expected: float | None) -> bool:
    if expected is None:
        return exported == ""
    return math.isclose(float(exported), expected, rel_tol=1e-9)


@pytest.fixture
def demo(roles: None, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # the demo's analyses run
        call_command("seed_demo", verbosity=0)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_results_table_of_the_demo_lab_matches_its_results(
    client: Any, demo: None, fmt: str
) -> None:
    client.login(username="auditor", password="lina-demo")
    table = _frame(client.get("/results-table/", {"format": fmt}), fmt)
    assert list(table.columns) == HEADER
    cells = Cell.objects.select_related("separator__pellet__batch", "electrode_1__foil").order_by(
        "code"
    )
    assert list(table["cell"]) == [c.code for c in cells]
    for cell, (_, row) in zip(cells, table.iterrows(), strict=True):
        assert row["batch"] == cell.separator.pellet.batch.code
        assert row["separator"] == cell.separator.code
        foil = cell.electrode_1.foil
        assert row["electrode_1_foil"] == foil.code
        assert float(row["electrode_1_na_mol_pct_target"]) == foil.target_na_mol_percent
        assert int(row["electrode_1_passes"]) == foil.passes.count()
        spectra = [
            v.measurement
            for v in ResultValue.objects.filter(
                subject=cell, name="r_interface_ohm", is_current=True
            ).order_by("measurement__measured_at")
        ]
        assert int(row["eis_spectra"]) == len(spectra)
        if spectra:
            first, latest = spectra[0], spectra[-1]
            assert row["eis_first_measurement"] == first.code
            assert _close(row["r_interface_first_ohm"], _current(first, "r_interface_ohm").value)
            assert _close(
                row["asr_interface_first_ohm_cm2"], _current(first, "asr_interface_ohm_cm2").value
            )
            assert _close(
                row["asr_interface_latest_ohm_cm2"],
                _current(latest, "asr_interface_ohm_cm2").value,
            )
            assert float(row["eis_first_temperature_C"]) == first.temperature_C == 25
        else:  # a spectrum fitted without an interface arc has no R_IF
            assert Measurement.objects.filter(subject=cell, measurement_type="eis").exists()
            assert row["r_interface_first_ohm"] == row["eis_first_measurement"] == ""
        ccd_test = Measurement.objects.get(subject=cell, measurement_type="ccd")
        ccd = _current(ccd_test, "ccd_mA_cm2")
        assert row["ccd_measurement"] == ccd_test.code
        assert _close(row["ccd_mA_cm2"], ccd.value)
        assert row["ccd_is_lower_bound"] == ("yes" if ccd.is_lower_bound else "no")
        assert row["ccd_shown"] == f"{'> ' if ccd.is_lower_bound else ''}{ccd.value:.2f}"
        assert float(row["ccd_temperature_C"]) == 25
        # the demo measures density on the pellets, not on the separators
        pellet = cell.separator.pellet
        density = ResultValue.objects.get(
            subject=pellet, is_current=True, name="relative_density_pct"
        )
        assert row["relative_density_of"] == pellet.code
        assert _close(row["separator_relative_density_pct"], density.value)
    if fmt == "xlsx":  # numbers stay numbers in the spreadsheet
        assert table["ccd_mA_cm2"].map(type).eq(float).all()
        assert table["eis_spectra"].map(type).eq(int).all()


@pytest.fixture
def tested_lab(users: Any, lab: Any) -> Any:
    """The chain's cell with two spectra, a CCD test no step failed, and densities measured on
    its pellet and (later) on the separator itself."""
    op = users["operator"]
    t0 = timezone.now() - dt.timedelta(days=3)
    for days, r_if in ((0, 40.0), (1, 90.0)):
        _analysed(
            user=op,
            subject=lab.cell,
            measurement_type="eis",
            temperature_C=25,
            measured_at=t0 + dt.timedelta(days=days),
            raw_stream=ContentFile(synthetic.eis_spectrum_csv(r_interface_ohm=r_if)),
            raw_name=f"eis-{days}.csv",
        )
    _analysed(
        user=op,
        subject=lab.cell,
        measurement_type="ccd",
        temperature_C=60,
        measured_at=t0 + dt.timedelta(days=2),
        raw_stream=ContentFile(
            synthetic.ccd_curve_csv(
                area_cm2=lab.cell.electrode_area_cm2, short_at_mA_cm2=None, last_mA_cm2=1.0
            )
        ),
        raw_name="ccd.csv",
    )
    for subject, days in ((lab.pellet, 0), (lab.separators[0], 1)):
        _analysed(
            user=op,
            subject=subject,
            measurement_type="density",
            measured_at=t0 + dt.timedelta(days=days),
            # a separator is no pellet: its density needs the formula and lattice given
            conditions={"method": "geometric"}
            if subject == lab.pellet
            else {"density_g_cm3": 5.0, "formula": "Li7La3Zr2O12", "lattice_parameter_A": 12.97},
        )
    return lab


def test_lower_bound_ccd_and_the_separators_own_density(
    client: Any, users: Any, tested_lab: Any
) -> None:
    client.force_login(users["auditor"])
    table = _frame(client.get("/results-table/", {"format": "csv"}), "csv")
    row = table.set_index("cell").loc[tested_lab.cell.code]
    ccd = ResultValue.objects.get(subject=tested_lab.cell, name="ccd_mA_cm2", is_current=True)
    assert ccd.is_lower_bound
    assert row["ccd_is_lower_bound"] == "yes"
    assert row["ccd_shown"] == f"> {ccd.value:.2f}"
    assert float(row["ccd_temperature_C"]) == 60
    eis = ResultValue.objects.filter(
        subject=tested_lab.cell, name="r_interface_ohm", is_current=True
    ).order_by("measurement__measured_at")
    assert int(row["eis_spectra"]) == 2
    assert _close(row["r_interface_first_ohm"], eis[0].value)
    assert float(row["r_interface_first_ohm"]) < 60 < float(eis[1].value)  # 40 Ω, then 90 Ω
    separator_density = ResultValue.objects.get(
        subject=tested_lab.separators[0], name="relative_density_pct", is_current=True
    )
    assert row["relative_density_of"] == tested_lab.separators[0].code
    assert _close(row["separator_relative_density_pct"], separator_density.value)
    # a cell without any result: empty cells, never zeros
    other = build_chain(user=users["scientist"])
    bare = _frame(client.get("/results-table/", {"code": other.cell.code, "format": "csv"}), "csv")
    assert len(bare) == 1 and bare.loc[0, "eis_spectra"] == 0
    assert bare.loc[0, "ccd_mA_cm2"] == "" and bare.loc[0, "ccd_is_lower_bound"] == ""


def test_filters_empty_results_bad_filters_and_formula_text(
    client: Any, api: Any, users: Any, lab: Any
) -> None:
    other = build_chain(user=users["scientist"])
    sci = users["scientist"]
    third = cell_assemble(
        user=sci,
        separator=other.separators[1],
        electrode_1=other.pieces[2],
        electrode_2=proc.electrode_cut(user=sci, foil=other.foil, diameter_mm=6),
        cell_type='=HYPERLINK("http://evil.example")',
    )
    client.force_login(users["auditor"])
    by_batch = _frame(
        client.get("/results-table/", {"batch": other.batch.code, "format": "xlsx"}), "xlsx"
    )
    assert sorted(by_batch["cell"]) == sorted([other.cell.code, third.code])
    escaped = by_batch.set_index("cell").loc[third.code, "cell_type"]
    assert escaped == '\'=HYPERLINK("http://evil.example")'
    nothing = _frame(client.get("/results-table/", {"code": "CELL-9999", "format": "csv"}), "csv")
    assert list(nothing.columns) == HEADER and nothing.empty
    bad = client.get("/results-table/", {"assembled_after": "yesterday", "format": "csv"})
    assert bad.status_code == 400 and "assembled_after" in bad.content.decode()
    # the API: the same rows as JSON pages or files, the same FilterSet
    via_api = api("auditor").get("/api/results-table/", {"batch": other.batch.code})
    assert via_api.status_code == 200
    assert sorted(r["cell"] for r in via_api.json()["results"]) == sorted(by_batch["cell"])
    assert via_api.json()["count"] == 2
    api_file = _frame(api("auditor").get("/api/results-table/", {"format": "csv"}), "csv")
    assert len(api_file) == Cell.objects.count() == 3
    assert api("auditor").get("/api/results-table/", {"assembled_after": "x"}).status_code == 400


def test_results_table_page_and_the_cell_lists_link(
    client: Any, users: Any, tested_lab: Any
) -> None:
    client.force_login(users["operator"])
    cell_list = client.get("/cells/", {"batch": tested_lab.batch.code}).content.decode()
    assert f'href="/results-table/?batch={tested_lab.batch.code}"' in cell_list
    page = client.get("/results-table/", {"batch": tested_lab.batch.code})
    assert page.status_code == 200
    html = page.content.decode()
    assert tested_lab.cell.code in html and "ccd_shown" in html and "&gt; " in html


def _export_queries(client: Any, **params: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        table = _frame(client.get("/results-table/", {**params, "format": "csv"}), "csv")
    return len(table), len(queries)


def test_export_queries_do_not_grow_with_the_cells(
    client: Any, users: Any, tested_lab: Any
) -> None:
    client.force_login(users["auditor"])
    one_row, one = _export_queries(client, code=tested_lab.cell.code)
    for _ in range(4):
        chain = build_chain(user=users["scientist"])
        _analysed(
            user=users["operator"],
            subject=chain.cell,
            measurement_type="eis",
            raw_stream=ContentFile(synthetic.eis_spectrum_csv()),
            raw_name="eis.csv",
        )
    rows, many = _export_queries(client)
    assert (one_row, rows) == (1, 5)
    assert many == one
