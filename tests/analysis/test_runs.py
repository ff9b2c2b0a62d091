"""Analysis on arrival: a raw file in, a run, a current revision with typed values and flags.

Runs execute on the immediate task backend here (the demo's), on commit; the database backend
with real worker processes is exercised in test_workers.py.
"""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from analysis.models import AnalysisRun, Flag, ResultRevision, ResultValue
from analysis.runs import analysis_request, analysis_runs_recover
from analysis.services import measurement_attach_file, measurement_create
from demo.synthetic import ccd_curve_csv
from lims.models import HistoryEntry
from processing import services as proc
from tests.shared_data import require_shared_data

pytestmark = pytest.mark.django_db


def upload(path: Any) -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes())


def test_real_spectrum_gives_a_done_run_with_values_and_a_current_revision(
    lab: Any, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    path = require_shared_data("eis", "exampleDataBioLogic.mpt")
    with django_capture_on_commit_callbacks(execute=True):
        m = measurement_create(
            user=users["operator"],
            subject=lab.cell,
            measurement_type="eis",
            raw_stream=upload(path),
            raw_name=path.name,
            conditions={"circuit": "R0-p(R1,CPE1)"},
        )
    run = AnalysisRun.objects.get(measurement=m)
    assert run.status == "done", run.error
    assert run.input_sha256 == m.raw_file.sha256
    assert run.parameters["circuit"] == "R0-p(R1,CPE1)"
    assert run.parameter_sources["circuit"] == "conditions"
    assert run.parameter_sources["area_cm2"] == "record"
    assert run.parameters["area_cm2"] == pytest.approx(lab.cell.electrode_area_cm2)
    assert run.analysis_version.startswith("eis/1 ")
    assert set(run.timings_s) == {"read", "analyse", "store"}
    revision = ResultRevision.objects.get(measurement=m)
    assert revision.is_current and revision.number == 1 and revision.run == run
    values = {v.name: v for v in revision.values.all()}
    # R0 + R1 is the low-frequency intercept of Z' (see the science tests on this file)
    assert 60.0 < values["r_series_ohm"].value < 67.0
    assert values["r_total_ohm"].value > values["r_series_ohm"].value
    assert values["r_series_ohm"].std_error is not None
    assert all(v.subject_id == lab.cell.pk and v.is_current for v in values.values())
    # the run and the revision are in the measurement's history
    models = set(HistoryEntry.objects.filter(record_code=m.code).values_list("model", flat=True))
    assert {"analysis.analysisrun", "analysis.resultrevision"} <= models


def test_rerun_adds_a_revision_and_keeps_the_old_one(
    lab: Any, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    path = require_shared_data("eis", "exampleDataBioLogic.mpt")
    with django_capture_on_commit_callbacks(execute=True):
        m = measurement_create(
            user=users["operator"],
            subject=lab.cell,
            measurement_type="eis",
            raw_stream=upload(path),
            raw_name=path.name,
        )
    with django_capture_on_commit_callbacks(execute=True):
        analysis_request(
            measurement=m, user=users["scientist"], parameters={"circuit": "R0-p(R1,CPE1)"}
        )
    first, second = ResultRevision.objects.filter(measurement=m).order_by("number")
    assert (first.number, first.is_current) == (1, False)
    assert (second.number, second.is_current) == (2, True)
    assert second.run.parameters["circuit"] == "R0-p(R1,CPE1)"
    assert second.run.parameter_sources["circuit"] == "rerun"
    assert first.run.parameters["circuit"] == "R0-p(R1,CPE1)-p(R2,CPE2)"
    # old values stay readable; only the new ones are current
    assert ResultValue.objects.filter(revision=first).exists()
    assert not ResultValue.objects.filter(revision=first, is_current=True).exists()
    assert ResultValue.objects.filter(revision=second, is_current=True).count() >= 3


def test_wrong_technique_fails_with_a_message_and_keeps_file_and_revisions(
    lab: Any, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    path = require_shared_data("eclab", "cp.mpt")
    with django_capture_on_commit_callbacks(execute=True):
        m = measurement_create(
            user=users["operator"],
            subject=lab.cell,
            measurement_type="eis",
            raw_stream=upload(path),
            raw_name=path.name,
        )
    run = AnalysisRun.objects.get(measurement=m)
    assert run.status == "failed"
    assert "cp.mpt" in run.error and "z_imag_ohm" in run.error and run.finished_at
    m.refresh_from_db()
    assert m.raw_file is not None and m.raw_file.file.size == path.stat().st_size
    assert not ResultRevision.objects.filter(measurement=m).exists()


def test_truncated_file_fails_with_the_readers_line_and_leaves_older_revisions(
    lab: Any, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    good = require_shared_data("eis", "exampleDataBioLogic.mpt")
    with django_capture_on_commit_callbacks(execute=True):
        m = measurement_create(
            user=users["operator"],
            subject=lab.cell,
            measurement_type="eis",
            raw_stream=upload(good),
            raw_name=good.name,
        )
    before = list(ResultValue.objects.filter(measurement=m).values_list("name", "value"))
    truncated = good.read_bytes()[:-40]
    with django_capture_on_commit_callbacks(execute=True):
        other = measurement_create(
            user=users["operator"],
            subject=lab.cell,
            measurement_type="eis",
            raw_stream=SimpleUploadedFile("cut.mpt", truncated),
            raw_name="cut.mpt",
        )
    run = AnalysisRun.objects.get(measurement=other)
    assert run.status == "failed"
    assert run.error.startswith("EIS fit: ") and "cut.mpt" in run.error and "line" in run.error
    assert list(ResultValue.objects.filter(measurement=m).values_list("name", "value")) == before


def test_file_attached_later_is_analysed_and_a_headerless_table_needs_its_mapping(
    lab: Any, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    path = require_shared_data("eis", "exampleData.csv")
    m = measurement_create(user=users["operator"], subject=lab.cell, measurement_type="eis")
    assert not AnalysisRun.objects.filter(measurement=m).exists()
    with django_capture_on_commit_callbacks(execute=True):
        m = measurement_attach_file(
            measurement=m, user=users["operator"], stream=upload(path), name=path.name
        )
    failed = AnalysisRun.objects.get(measurement=m)
    assert failed.status == "failed" and "eis3" in failed.error and "line 1" in failed.error
    with django_capture_on_commit_callbacks(execute=True):
        analysis_request(
            measurement=m, user=users["scientist"], parameters={"column_mapping": "eis3"}
        )
    done = AnalysisRun.objects.filter(measurement=m).order_by("-id").first()
    assert done is not None and done.status == "done", (done.error, done.parameters)
    assert ResultValue.objects.filter(
        measurement=m, name="kk_rms_residual_pct", is_current=True
    ).exists()
    with pytest.raises(ValidationError, match="already has its raw file"):
        measurement_attach_file(
            measurement=m, user=users["operator"], stream=upload(path), name=path.name
        )


def test_analyze_command_prints_results_and_stores_nothing(lab: Any) -> None:
    path = require_shared_data("eclab", "geis.mpr")
    revisions = ResultRevision.objects.count()
    out = StringIO()
    call_command(
        "analyze",
        str(path),
        "--kind",
        "eis",
        "--area-cm2",
        "1.13",
        "--param",
        "f_max_Hz=30000",
        "--param",
        "sweep=1",
        "--json",
        stdout=out,
    )
    body = json.loads(out.getvalue())
    values = {v["name"]: v for v in body["values"]}
    assert body["parameters"]["area_cm2"] == 1.13 and body["summary"]["sweep"] == 1
    assert values["asr_interface_ohm_cm2"]["value"] == pytest.approx(
        values["r_interface_ohm"]["value"] * 1.13 / 2
    )
    assert ResultRevision.objects.count() == revisions
    with pytest.raises(CommandError, match="required column"):
        call_command("analyze", str(require_shared_data("eclab", "cp.mpt")), "--kind", "eis")
    with pytest.raises(CommandError, match="unknown parameter"):
        call_command("analyze", str(path), "--kind", "eis", "--param", "cutof=1")


def test_density_runs_without_a_file_and_flags_a_low_pellet(
    lab: Any, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        m = measurement_create(
            user=users["operator"], subject=lab.pellet, measurement_type="density"
        )
    run = AnalysisRun.objects.get(measurement=m)
    assert run.status == "done", run.error
    assert run.parameter_sources["mass_g"] == "record"
    assert run.parameter_sources["formula"] == "record"
    values = {v.name: v.value for v in ResultValue.objects.filter(measurement=m)}
    expected = lab.pellet.geometric_density_g_cm3
    assert values["density_g_cm3"] == pytest.approx(expected)
    assert values["relative_density_pct"] == pytest.approx(
        100 * expected / values["theoretical_density_g_cm3"]
    )
    assert values["relative_density_pct"] > 95
    assert not Flag.objects.filter(revision__measurement=m).exists()
    # an Archimedes value in the conditions replaces m/V, and 4.6 g/cm3 is far too low
    with django_capture_on_commit_callbacks(execute=True):
        low = measurement_create(
            user=users["operator"],
            subject=lab.pellet,
            measurement_type="density",
            conditions={"density_g_cm3": 4.6},
        )
    flag = Flag.objects.get(record=lab.pellet, revision__measurement=low)
    assert flag.kind == "density_low" and flag.threshold == {"min_relative_density_pct": 95.0}
    assert low.code in flag.message and flag.revision.measurement == low


def test_run_lost_with_its_worker_is_failed_and_queued_again(
    lab: Any, users: dict[str, Any], settings: Any
) -> None:
    m = measurement_create(user=users["operator"], subject=lab.pellet, measurement_type="density")
    run = AnalysisRun.objects.get(measurement=m)
    AnalysisRun.objects.filter(pk=run.pk).update(status="running", started_at=run.queued_at)
    settings.ANALYSIS_RUN_TIMEOUT_S = 0
    retried = analysis_runs_recover()
    run.refresh_from_db()
    assert run.status == "failed" and "was lost" in run.error and "Queued again" in run.error
    assert [r.attempt for r in retried] == [2]
    assert retried[0].status == "queued" and retried[0].parameters == run.parameters


def test_ccd_lower_bound_is_flagged_and_a_constant_current_file_is_not_a_ccd_test(
    lab: Any, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    user = users["scientist"]
    protocol = proc.protocol_create(
        user=user, name="CCD 2 V", step_type="ccd", parameters={"cutoff_V": {"default": 2.0}}
    )
    area = lab.cell.electrode_area_cm2
    with django_capture_on_commit_callbacks(execute=True):
        m = measurement_create(
            user=user,
            subject=lab.cell,
            measurement_type="ccd",
            protocol=protocol,
            temperature_C=60,
            raw_stream=SimpleUploadedFile(
                "ccd.csv", ccd_curve_csv(area_cm2=area, short_at_mA_cm2=None, last_mA_cm2=1.0)
            ),
            raw_name="ccd.csv",
        )
    run = AnalysisRun.objects.get(measurement=m)
    assert run.status == "done", run.error
    assert run.parameters["cutoff_V"] == 2.0
    assert run.parameter_sources["cutoff_V"] == "protocol CCD 2 V"
    assert run.parameters["temperature_C"] == 60
    ccd = ResultValue.objects.get(measurement=m, name="ccd_mA_cm2")
    assert ccd.value == pytest.approx(1.0) and ccd.is_lower_bound
    assert Flag.objects.get(record=lab.cell, kind="ccd_lower_bound").revision.run == run
    path = require_shared_data("eclab", "cp.mpt")
    with django_capture_on_commit_callbacks(execute=True):
        other = measurement_create(
            user=user,
            subject=lab.cell,
            measurement_type="ccd",
            raw_stream=upload(path),
            raw_name=path.name,
        )
    failed = AnalysisRun.objects.get(measurement=other)
    assert failed.status == "failed" and "is this a CCD test?" in failed.error, failed.error


def test_a_scattered_real_spectrum_is_fitted_and_flagged_not_crashed() -> None:
    # peis.mpr once ended in a ZeroDivisionError (an arc's time constant fitted to zero)
    from analysis.readers import read
    from analysis.registry import analysis_for

    analysis = analysis_for("eis")
    assert analysis is not None
    dataset = read(require_shared_data("eclab", "peis.mpr"))
    outcome = analysis.function(dataset, analysis.defaults())
    assert {f.kind for f in outcome.flags} == {"kk_failed", "not_identifiable"}
    assert outcome.summary["n_points"] == 32


def test_a_worker_looks_for_lost_runs_once_per_interval_not_before_every_run(
    lab: Any,
    users: dict[str, Any],
    settings: Any,
    monkeypatch: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from analysis import runs

    def measure() -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return measurement_create(
                user=users["operator"], subject=lab.pellet, measurement_type="density"
            )

    settings.ANALYSIS_RUN_TIMEOUT_S = 0
    settings.ANALYSIS_RECOVER_INTERVAL_S = 3600
    monkeypatch.setattr(runs, "_recovered_at", None)
    first = measure()
    lost = AnalysisRun.objects.get(measurement=first)
    assert lost.status == "done"
    AnalysisRun.objects.filter(pk=lost.pk).update(status="running", started_at=lost.queued_at)
    # within the interval the next run does not look again: the lost run stays as it is
    measure()
    assert AnalysisRun.objects.get(pk=lost.pk).status == "running"
    # once the interval has passed, the next run recovers it and queues a second attempt
    settings.ANALYSIS_RECOVER_INTERVAL_S = 0
    measure()
    assert AnalysisRun.objects.get(pk=lost.pk).status == "failed"
    assert AnalysisRun.objects.filter(measurement=first, attempt=2).exists()


@pytest.mark.django_db(transaction=True)
def test_a_run_takes_few_statements_and_reads_the_history_head_once_per_transaction(
    lab: Any, users: dict[str, Any], settings: Any
) -> None:
    """The work around the fit is per-run overhead on every worker: a spectrum's run (claim,
    then the store of its revision, values, flags and the cell's ASR check) stays within 25
    statements, and each of its two transactions takes the history's append lock once."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from analysis.runs import analysis_run_execute

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    path = require_shared_data("eis", "exampleDataBioLogic.mpt")
    m = measurement_create(
        user=users["operator"],
        subject=lab.cell,
        measurement_type="eis",
        raw_stream=upload(path),
        raw_name=path.name,
    )
    run = AnalysisRun.objects.get(measurement=m, status="queued")
    with CaptureQueriesContext(connection) as ctx:
        analysis_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "done", run.error
    assert run.revision.flags.exists()  # flags raised in the same store
    statements = [q["sql"] for q in ctx.captured_queries]
    head_reads = [s for s in statements if s.startswith('SELECT "lims_historyentry"."id"')]
    assert len(statements) <= 25, "\n".join(statements)
    assert len(head_reads) == 2, head_reads
