"""Roll-ups over current results: statistics agree with the science library, lower bounds are
kept, superseded revisions are ignored, and the query count does not grow with the rows."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analysis import rollups
from analysis.models import AnalysisRun, ResultValue
from analysis.runs import analysis_request
from analysis.science import density, hardness
from lims.roles import ROLES
from tests.analysis.results_lab import (
    BULK_OHM,
    GB_OHM,
    THREE_ARCS,
    Results,
    build_results,
    ccd_csv,
    eis_csv,
    measure,
    new_cell,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def results(lab: Any, users: dict[str, Any], django_capture_on_commit_callbacks: Any) -> Results:
    built = build_results(lab, users, django_capture_on_commit_callbacks)
    failed = AnalysisRun.objects.exclude(status="done").values_list("analysis", "error")
    assert not failed, list(failed)
    return built


def queries(function: Any, *args: Any, **kwargs: Any) -> tuple[Any, int]:
    with CaptureQueriesContext(connection) as captured:
        value = function(*args, **kwargs)
    return value, len(captured.captured_queries)


def current(subject: Any, name: str) -> list[float]:
    return list(
        ResultValue.objects.filter(subject=subject, name=name, is_current=True)
        .order_by("measurement__measured_at")
        .values_list("value", flat=True)
    )


def test_batch_density_is_the_science_librarys_summary_of_its_pellets(
    lab: Any, results: Results
) -> None:
    rollup, count = queries(rollups.batch_density, lab.batch)
    assert count == 1
    densities = [current(p, "density_g_cm3")[0] for p in results.pellets]
    theoretical = current(results.pellets[0], "theoretical_density_g_cm3")[0]
    expected = density.summarize(densities, theoretical)
    data = rollup.to_dict()
    assert data["n"] == 3
    assert data["density_g_cm3"]["mean"] == pytest.approx(expected.mean_g_cm3)
    assert data["density_g_cm3"]["sd"] == pytest.approx(expected.std_g_cm3)
    assert data["relative_density_pct"]["mean"] == pytest.approx(expected.relative_mean_percent)
    assert data["relative_density_pct"]["sd"] == pytest.approx(expected.relative_std_percent)
    assert [row["pellet"] for row in data["pellets"]] == sorted(p.code for p in results.pellets)
    row = next(r for r in data["pellets"] if r["pellet"] == lab.pellet.code)
    assert row["density_g_cm3"] == pytest.approx(lab.pellet.geometric_density_g_cm3)
    assert row["relative_density_pct"] == pytest.approx(100 * row["density_g_cm3"] / theoretical)


def test_a_pellet_measured_again_counts_once_with_its_latest_value(
    lab: Any, users: dict[str, Any], results: Results, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        again = measure(users["operator"], lab.pellet, "density", conditions={"density_g_cm3": 4.9})
    data = rollups.batch_density(lab.batch).to_dict()
    assert data["n"] == 3
    row = next(r for r in data["pellets"] if r["pellet"] == lab.pellet.code)
    assert (row["measurement"], row["density_g_cm3"]) == (again.code, pytest.approx(4.9))


def test_empty_batch_rolls_up_to_nothing(lab: Any) -> None:
    data = rollups.batch_density(lab.batch).to_dict()
    assert data == {
        "batch": lab.batch.code,
        "n": 0,
        "density_g_cm3": None,
        "relative_density_pct": None,
        "theoretical_density_g_cm3": None,
        "pellets": [],
    }


def test_foil_hardness_against_a_reference_is_the_percent_change_with_its_error(
    lab: Any, results: Results
) -> None:
    rollup, count = queries(rollups.foil_hardness, lab.foil, results.reference_foil)
    assert count == 1
    assert len(rollup.hm_N_mm2) == len(rollup.reference_hm_N_mm2) == 60
    expected = hardness.summarize(rollup.hm_N_mm2, rollup.reference_hm_N_mm2)
    summary = rollup.to_dict()["summary"]
    assert summary["change_percent"] == pytest.approx(expected.change_percent)
    assert summary["change_std_error_percent"] == pytest.approx(expected.change_std_error_percent)
    # the foil was made ~20 % harder than the reference; the stored mean is the pooled one
    assert 10 < summary["change_percent"] < 30
    stored = ResultValue.objects.get(subject=lab.foil, name="martens_hardness_N_mm2")
    assert summary["mean_N_mm2"] == pytest.approx(stored.value)
    assert summary["n"] == stored.n == 60
    alone = rollups.foil_hardness(lab.foil).to_dict()
    assert alone["reference"] is None and alone["summary"]["change_percent"] is None


def test_cell_resistance_series_follows_measurement_time_and_cycle_number(
    lab: Any, results: Results
) -> None:
    rollup, count = queries(rollups.cell_resistance, lab.cell)
    assert count == 1
    data = rollup.to_dict()
    assert data["x"] == "cycle_number"
    series = data["series"]
    assert [r["measurement"] for r in series] == [m.code for m in results.spectra]
    assert [r["cycle_number"] for r in series] == [0, 10, 20]
    assert [r["elapsed_h"] for r in series] == pytest.approx([0, 10, 20])
    # the synthetic spectra: bulk and GB constant, the interface 200 → 400 → 800 Ω
    assert [r["r_bulk_ohm"] for r in series] == pytest.approx([BULK_OHM] * 3, rel=0.05)
    assert [r["r_grain_boundary_ohm"] for r in series] == pytest.approx([GB_OHM] * 3, rel=0.05)
    assert [r["r_interface_ohm"] for r in series] == pytest.approx([200, 400, 800], rel=0.05)
    assert all(r["r_interface_ohm_std_error"] > 0 for r in series)
    assert [r["asr_interface_ohm_cm2"] for r in series] == pytest.approx(
        current(lab.cell, "asr_interface_ohm_cm2")
    )


def test_a_rerun_replaces_its_spectrum_in_the_series(
    lab: Any, users: dict[str, Any], results: Results, django_capture_on_commit_callbacks: Any
) -> None:
    before = rollups.cell_resistance(lab.cell)
    with django_capture_on_commit_callbacks(execute=True):
        analysis_request(
            measurement=results.spectra[1],
            user=users["scientist"],
            parameters={"f_min_Hz": 0.5},
        )
    after = rollups.cell_resistance(lab.cell)
    assert len(after.series) == 3
    assert after.revision_ids[0] == before.revision_ids[0]
    assert after.revision_ids[1] != before.revision_ids[1]


def test_without_cycle_numbers_the_series_runs_on_elapsed_time(
    lab: Any, users: dict[str, Any], results: Results, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        measure(
            users["operator"],
            lab.cell,
            "eis",
            eis_csv(900.0, seed=5),
            conditions={"circuit": THREE_ARCS},
        )
    data = rollups.cell_resistance(lab.cell).to_dict()
    assert data["x"] == "elapsed_h" and data["series"][-1]["cycle_number"] is None


def test_ccd_table_groups_by_cell_type_and_temperature_and_keeps_lower_bounds(
    results: Results,
) -> None:
    rollup, count = queries(rollups.ccd_comparison)
    assert count == 1
    data = rollup.to_dict()
    by_cell = {r["cell"]: r for r in data["cells"]}
    cells = results.cells
    assert by_cell[cells["LiNa-25"].code]["ccd_mA_cm2"] == pytest.approx(0.6)
    assert by_cell[cells["LiNa-60"].code]["ccd_is_lower_bound"] is True
    assert by_cell[cells["LiNa-60"].code]["ccd_shown"] == "> 1.20"
    assert by_cell[cells["Li-25"].code]["ccd_shown"] == "0.30"
    groups = {(g["cell_type"], g["temperature_C"]): g for g in data["groups"]}
    assert set(groups) == {("LiNa|LLZO|LiNa", 25.0), ("LiNa|LLZO|LiNa", 60.0), ("Li|LLZO|Li", 25.0)}
    lina25 = groups["LiNa|LLZO|LiNa", 25.0]
    assert (lina25["n"], lina25["lower_bounds"]) == (2, 0)
    assert lina25["mean_mA_cm2"] == pytest.approx(0.7)
    assert lina25["sd_mA_cm2"] == pytest.approx(0.1414, abs=1e-3)
    assert (lina25["min_shown"], lina25["max_shown"]) == ("0.60", "0.80")
    lina60 = groups["LiNa|LLZO|LiNa", 60.0]
    assert (lina60["n"], lina60["lower_bounds"], lina60["sd_mA_cm2"]) == (1, 1, None)
    assert lina60["mean_shown"] == lina60["max_shown"] == "> 1.20"
    only = rollups.ccd_comparison([cells["Li-25"]]).to_dict()
    assert [r["cell"] for r in only["cells"]] == [cells["Li-25"].code]


def test_rollup_queries_do_not_grow_with_rows(
    lab: Any, users: dict[str, Any], results: Results, django_capture_on_commit_callbacks: Any
) -> None:
    from processing import services as proc

    counts = {
        "ccd": queries(rollups.ccd_comparison)[1],
        "density": queries(rollups.batch_density, lab.batch)[1],
        "resistance": queries(rollups.cell_resistance, lab.cell)[1],
    }
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            cell = new_cell(lab, users["scientist"], "Li|LLZO|Li")
            measure(users["operator"], cell, "ccd", ccd_csv(0.5), temperature_C=60)
            pellet = proc.pellet_create(
                user=users["scientist"],
                batch=lab.batch,
                diameter_mm=7,
                thickness_mm=1.2,
                mass_g=0.24,
            )
            measure(users["operator"], pellet, "density")
        for spectrum in results.spectra:
            analysis_request(measurement=spectrum, user=users["scientist"], parameters={})
    assert len(rollups.ccd_comparison().cells) == 7
    assert rollups.batch_density(lab.batch).to_dict()["n"] == 6
    assert counts == {
        "ccd": queries(rollups.ccd_comparison)[1],
        "density": queries(rollups.batch_density, lab.batch)[1],
        "resistance": queries(rollups.cell_resistance, lab.cell)[1],
    }


def without_times(data: Any) -> Any:
    """The data without its ``measured_at`` (a datetime here, ISO text in JSON)."""
    if isinstance(data, dict):
        return {k: without_times(v) for k, v in data.items() if k != "measured_at"}
    if isinstance(data, list):
        return [without_times(v) for v in data]
    return data


def test_rollup_endpoints_serve_the_rollups_to_every_role(
    lab: Any, results: Results, api: Any, client: Any
) -> None:
    reference = results.reference_foil.code
    urls = {
        f"/api/rollups/batches/{lab.batch.code}/density/": rollups.batch_density(lab.batch),
        f"/api/rollups/foils/{lab.foil.code}/hardness/?reference={reference}": (
            rollups.foil_hardness(lab.foil, results.reference_foil)
        ),
        f"/api/rollups/cells/{lab.cell.code}/resistance/": rollups.cell_resistance(lab.cell),
        "/api/rollups/ccd/": rollups.ccd_comparison(),
    }
    for role in ROLES:
        for url, rollup in urls.items():
            response = api(role).get(url)
            assert response.status_code == 200, (role, url)
            assert without_times(response.json()) == without_times(rollup.to_dict())
    assert client.get("/api/rollups/ccd/").status_code in {401, 403}
    auditor = api("auditor")
    # a code of another kind is not found; a wrong parameter says which
    assert auditor.get(f"/api/rollups/cells/{lab.batch.code}/resistance/").status_code == 404
    response = auditor.get(f"/api/rollups/foils/{lab.foil.code}/hardness/?reference=FOIL-9")
    assert response.status_code == 400 and "FOIL-9" in str(response.json())
    response = auditor.get(f"/api/rollups/ccd/?cells={lab.cell.code},CELL-9999")
    assert response.status_code == 400 and "CELL-9999" in str(response.json())
    cells = auditor.get(f"/api/rollups/ccd/?cells={lab.cell.code}").json()["cells"]
    assert [c["cell"] for c in cells] == [lab.cell.code]
