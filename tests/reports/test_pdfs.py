"""The printed sheets, read back: text, page count and QR codes, from the demo lab's records."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from analysis.models import Measurement, ResultValue
from analysis.science.density import summarize
from cells.models import Cell
from cells.services import cell_add_step
from lims.services import record_update
from lims.state import lineage_state_hash
from processing.models import SynthesisBatch
from tests.reports.pdf_tools import page_count, pdf_text, qr_codes

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(roles: None, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # the demo's analyses run
        call_command("seed_demo", verbosity=0)


def _pdf(client: Any, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/pdf"
    return bytes(response.content)


def _words(text: str) -> str:
    return " ".join(text.split())


def test_cell_build_sheet_from_the_demo_lab(client: Any, demo: None) -> None:
    client.login(username="scientist", password="lina-demo")
    cell = Cell.objects.select_related("separator__pellet__batch", "electrode_1__foil").get(
        code="CELL-0001"
    )
    pdf = _pdf(client, f"/sheet/{cell.code}/")
    assert 1 <= page_count(pdf) <= 2
    text = _words(pdf_text(pdf))
    foil = cell.electrode_1.foil
    for expected in (
        "Cell build sheet",
        cell.code,
        cell.separator.code,
        cell.separator.pellet.code,
        cell.separator.pellet.batch.code,
        cell.electrode_1.code,
        cell.electrode_2.code,
        foil.code,
        foil.li_lot.code,
        f"{foil.target_na_mol_percent} mol% Na",
        f"{foil.passes.count()} passes",
        "melt-quench",
        "setpoint_C = 300.0 (280–320)",
        "within target",
        "Printed",
        "by scientist",
        "Results (current revisions)",
        "Impedance fits",
        "R_IF Ω",
        "ASR Ω·cm²",
        "Critical current density",
        "CCD mA/cm²",
    ):
        assert expected in text, expected
    # the fit table: a line per spectrum with its current values
    for spectrum in Measurement.objects.filter(subject=cell, measurement_type="eis"):
        asr = ResultValue.objects.get(
            measurement=spectrum, is_current=True, name="asr_interface_ohm_cm2"
        )
        assert f"{spectrum.code} {spectrum.measured_at:%Y-%m-%d}" in text
        assert f"{asr.value:.4g} ± {asr.std_error:.2g}" in text
    ccd_test = Measurement.objects.get(subject=cell, measurement_type="ccd")
    ccd = ResultValue.objects.get(measurement=ccd_test, is_current=True, name="ccd_mA_cm2")
    assert f"{ccd_test.code} {ccd_test.measured_at:%Y-%m-%d} 25.0 {ccd.value:.4g}" in text
    # the plots are drawn in the PDF (their own titles are text of the embedded SVGs)
    latest = Measurement.objects.filter(subject=cell, measurement_type="eis").latest("measured_at")
    assert f"{cell.code}: impedance, {latest.code} rev. 1" in text
    assert f"{cell.code}: CCD test, {ccd_test.code} rev. 1" in text
    assert lineage_state_hash(cell) in text
    assert qr_codes(pdf) == ["http://testserver/r/CELL-0001/"]


def test_build_sheet_highlights_deviations_and_its_hash_follows_the_lineage(
    client: Any, users: Any, lab: Any
) -> None:
    client.force_login(users["auditor"])
    before = _words(pdf_text(_pdf(client, f"/sheet/{lab.cell.code}/")))
    step = lab.cell.assembly_steps.get()
    cell_add_step(
        user=users["operator"],
        cell=lab.cell,
        step_type="melt_quench",
        protocol=step.protocol,
        performed_at=timezone.now() - dt.timedelta(minutes=5),
        setpoint_C=345,
    )
    record_update(instance=lab.lots["La2O3"], data={"notes": "found wet"}, user=users["admin"])
    after = _words(pdf_text(_pdf(client, f"/sheet/{lab.cell.code}/")))
    assert "Deviation: setpoint_C 345" in after and "Deviation" not in before
    assert "none logged" in after  # the new step has no glovebox reading
    revision = lambda text: text.split("Revision ")[1].split()[0]  # noqa: E731
    assert int(revision(after)) == int(revision(before)) + 1
    assert lineage_state_hash(lab.cell) in after
    assert before.split("made from, as printed: ")[1][:64] not in after


def test_batch_report_from_the_demo_lab(client: Any, demo: None) -> None:
    client.login(username="auditor", password="lina-demo")
    batch = SynthesisBatch.objects.get(code="LLZO-0001")
    pdf = _pdf(client, f"/sheet/{batch.code}/")
    assert 1 <= page_count(pdf) <= 3
    text = _words(pdf_text(pdf))
    for w in batch.weighings.select_related("lot"):
        assert w.lot.code in text and f"{w.deviation_percent:.2f}" in text
    for step in batch.steps.all():
        assert step.get_step_type_display() in text
    densities = [p.geometric_density_g_cm3 for p in batch.pellets.all()]
    stats = summarize([d for d in densities if d])
    assert f"{stats.n} {stats.mean_g_cm3:.3f} {stats.std_g_cm3:.3f}" in text
    # every separator with the cell made from it and that cell's key results
    for cell in Cell.objects.filter(separator__pellet__batch=batch).select_related("separator"):
        ccd = ResultValue.objects.get(subject=cell, is_current=True, name="ccd_mA_cm2")
        density = ResultValue.objects.get(
            subject=cell.separator.pellet_id, is_current=True, name="relative_density_pct"
        )
        first_r_if = (
            ResultValue.objects.filter(subject=cell, is_current=True, name="r_interface_ohm")
            .order_by("measurement__measured_at")
            .first()
        )
        line = (
            f"{cell.separator.code} {cell.separator.pellet.code} "
            f"{cell.separator.thickness_um} {density.value:.1f}p {cell.code} "
            f"{cell.get_status_display()} " + (f"{first_r_if.value:.1f}" if first_r_if else "— —")
        )
        assert line in text, line
        shown = f"{'> ' if ccd.is_lower_bound else ''}{ccd.value:.2f} 25"
        assert shown in text.split(cell.code, 2)[-1], shown
    unused = batch.pellets.get(code__endswith="-03").separators.first()
    assert f"{unused.code} " in text and "unused" in text
    assert qr_codes(pdf) == [f"http://testserver/r/{batch.code}/"]


def test_label_sheet_codes_decode_to_each_record(client: Any, users: Any, lab: Any) -> None:
    client.force_login(users["operator"])
    records = [lab.cell, lab.separators[1], lab.foil, lab.lots["La2O3"]]
    pdf = _pdf(client, "/labels/?codes=" + ",".join(r.code for r in records))
    assert page_count(pdf) == 1
    assert qr_codes(pdf) == sorted(f"http://testserver/r/{r.code}/" for r in records)
    text = _words(pdf_text(pdf))
    assert all(r.code in text for r in records) and "chemical lot" in text


def test_label_sheet_refuses_unknown_codes_and_empty_requests(
    client: Any, users: Any, lab: Any
) -> None:
    client.force_login(users["operator"])
    missing = client.get("/labels/", {"codes": f"{lab.cell.code},CELL-9999"})
    assert missing.status_code == 404 and "CELL-9999" in missing.content.decode()
    assert client.get("/labels/").status_code == 400


def test_impact_pdf_counts(client: Any, users: Any, lab: Any) -> None:
    client.force_login(users["auditor"])
    text = _words(pdf_text(_pdf(client, f"/impact/{lab.reading.code}/?format=pdf")))
    assert "1 cell and 1 measurement were made from" in text
    assert lab.cell.code in text and lab.measurement.code in text


def test_sheets_exist_only_for_cells_and_batches(client: Any, users: Any, lab: Any) -> None:
    client.force_login(users["auditor"])
    response = client.get(f"/sheet/{lab.pellet.code}/")
    assert (
        response.status_code == 400 and "sheets are printed for cells" in response.content.decode()
    )
    assert client.get("/sheet/CELL-9999/").status_code == 404
