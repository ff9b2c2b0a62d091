"""Background tasks: thin wrappers around the services, enqueued on commit with ids."""

from __future__ import annotations

from django_tasks import task

from analysis import flagging, runs


@task()
def run_analysis(run_id: int) -> str:
    run = runs.analysis_run_execute(run_id=run_id)
    return "skipped" if run is None else run.status


@task()
def check_record(record_id: int) -> None:
    flagging.record_checks(record_id=record_id)
