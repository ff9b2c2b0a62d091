"""Analysis runs on the production task backend: real ``manage.py db_worker`` processes.

The test process enqueues on the database backend (``django_tasks_db``) and starts workers as
subprocesses pointed at the same test database, so everything a worker should see is
committed (``transaction=True``). PostgreSQL only: the workers claim tasks and runs with row
locks over connections of their own.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django_tasks_db.models import DBTaskResult

from analysis import registry
from analysis.models import AnalysisRun, ResultRevision
from analysis.services import measurement_create
from analysis.tasks import run_analysis
from tests.shared_data import PROJECT_ROOT, require_shared_data

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="worker processes need a database server shared with the test (CI runs it on "
        "PostgreSQL)",
    ),
]

DATABASE_BACKEND = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
#: Real spectra the EIS analysis fits (EC-Lab text exports).
SPECTRA = (("eis", "exampleDataBioLogic.mpt"), ("eclab", "peis.mpt"), ("eclab", "geis.mpt"))
#: Upper bound on waiting for workers, so a broken worker fails the test instead of hanging it.
PATIENCE_S = 300.0
SLOW_PLUGIN = "tests.analysis.slow_analysis"


def database_url_of_the_test() -> str:
    """The test database as a URL for the subprocesses (the test runner named it test_*)."""
    s = connection.settings_dict
    credentials = quote(s["USER"] or "") + (f":{quote(s['PASSWORD'])}" if s["PASSWORD"] else "")
    return f"postgres://{credentials}@{s['HOST'] or 'localhost'}:{s['PORT'] or 5432}/{s['NAME']}"


def manage_env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url_of_the_test(),
        "TASKS_BACKEND": DATABASE_BACKEND["default"]["BACKEND"],
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "ANALYSIS_PLUGINS": SLOW_PLUGIN,
        "DEBUG": "",
        **extra,
    }


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "manage.py"), *args],
        env=manage_env(**env),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=PATIENCE_S,
        check=True,
    )


def wait_until(what: str, condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + PATIENCE_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {PATIENCE_S:.0f} s waiting for {what}")
        time.sleep(0.1)


class Worker:
    """A ``manage.py db_worker`` subprocess; its output goes to a log file."""

    def __init__(self, log: Path) -> None:
        self.log = log
        with log.open("w") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    str(PROJECT_ROOT / "manage.py"),
                    "db_worker",
                    "--no-reload",
                    "--no-startup-delay",
                    "--interval",
                    "0.1",
                ],
                env=manage_env(),
                cwd=PROJECT_ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def name(self) -> str:
        """What the worker writes into ``AnalysisRun.worker``."""
        return f"{socket.gethostname()}:{self.process.pid}"[:120]

    def output(self) -> str:
        return self.log.read_text()

    def wait_ready(self) -> None:
        def started() -> bool:
            if self.process.poll() is not None:
                pytest.fail(f"worker exited with {self.process.returncode}:\n{self.output()}")
            return "Starting worker" in self.output()

        wait_until("the worker to start", started)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def workers(transactional_db: Any, settings: Any, tmp_path: Path) -> Iterator[Any]:
    """``workers(n)`` starts n ready workers; all are stopped before the database is flushed.
    The test process enqueues on the database backend too."""
    settings.TASKS = DATABASE_BACKEND
    started: list[Worker] = []

    def start(n: int = 1) -> list[Worker]:
        new = [Worker(tmp_path / f"worker-{len(started) + i}.log") for i in range(n)]
        started.extend(new)
        for worker in new:
            worker.wait_ready()
        return new

    yield start
    for worker in started:
        worker.stop()
        print(f"--- {worker.log.name} (pid {worker.process.pid}):\n{worker.output()}")


@pytest.fixture
def slow_analysis() -> Iterator[registry.Analysis]:
    """The slow test analysis registered in this process too (so a run is requested), and
    unregistered afterwards."""
    from tests.analysis import slow_analysis as plugin

    saved = registry.registry()
    registry.register(plugin.SLOW)
    yield plugin.SLOW
    registry._REGISTRY.clear()
    registry._REGISTRY.update(saved)


def settled(runs: Any) -> bool:
    """No run left queued or running; a task that crashed (not a failed run) fails the test."""
    crashed = DBTaskResult.objects.filter(status="FAILED").first()
    if crashed is not None:
        pytest.fail(f"task {crashed.task_path} crashed:\n{crashed.traceback}")
    return not runs.filter(status__in=["queued", "running"]).exists()


def test_two_workers_run_each_of_20_runs_exactly_once(
    workers: Any, lab: Any, users: dict[str, Any]
) -> None:
    paths = [require_shared_data(*parts) for parts in SPECTRA]
    pair = workers(2)
    # the lab fixture's own analysis left a task: count only this test's
    fixture_tasks = list(DBTaskResult.objects.values_list("pk", flat=True))
    tasks = DBTaskResult.objects.filter(task_path="analysis.tasks.run_analysis").exclude(
        pk__in=fixture_tasks
    )
    measurements = [
        measurement_create(
            user=users["operator"],
            subject=lab.cell,
            measurement_type="eis",
            raw_stream=SimpleUploadedFile(path.name, path.read_bytes()),
            raw_name=path.name,
        )
        for path in (paths[i % len(paths)] for i in range(20))
    ]
    runs = AnalysisRun.objects.filter(measurement__in=measurements)
    assert runs.count() == 20
    # Every task delivered a second time: the run's claim must make the second one a no-op.
    for run_id in runs.values_list("pk", flat=True):
        run_analysis.enqueue(run_id)
    assert tasks.count() == 40
    wait_until("20 runs to finish", lambda: settled(runs))
    wait_until("40 tasks to finish", lambda: not tasks.filter(finished_at=None).exists())

    assert set(runs.values_list("status", "error")) == {("done", "")}
    assert ResultRevision.objects.filter(measurement__in=measurements).count() == 20
    for m in measurements:
        revision = ResultRevision.objects.get(measurement=m)
        assert revision.is_current and revision.number == 1
    outcomes = sorted(tasks.values_list("status", "return_value"))
    assert outcomes == sorted([("SUCCESSFUL", "done")] * 20 + [("SUCCESSFUL", "skipped")] * 20)
    by_worker = {w.name: runs.filter(worker=w.name).count() for w in pair}
    assert sum(by_worker.values()) == 20, by_worker
    assert all(by_worker.values()), f"one worker did every run: {by_worker}"


def test_killed_worker_leaves_a_running_run_that_recovery_fails_and_requeues(
    workers: Any, lab: Any, users: dict[str, Any], slow_analysis: Any, tmp_path: Path
) -> None:
    started, release = tmp_path / "started", tmp_path / "release"
    [doomed] = workers(1)
    m = measurement_create(
        user=users["operator"],
        subject=lab.cell,
        measurement_type="other",
        conditions={"started_path": str(started), "release_path": str(release)},
    )
    wait_until("the slow run to start", started.exists)
    first = AnalysisRun.objects.get(measurement=m)
    assert (first.status, first.worker, first.attempt) == ("running", doomed.name, 1)

    doomed.process.send_signal(signal.SIGKILL)
    doomed.process.wait()
    first.refresh_from_db()
    assert first.status == "running" and first.finished_at is None  # visibly running

    # Within the timeout the run is not taken as lost; past it (0 s here) it is.
    assert "0 run(s) queued again" in manage("analysis_recover").stdout
    out = manage("analysis_recover", ANALYSIS_RUN_TIMEOUT_S="0").stdout
    assert f"{m.code}: run queued again as attempt 2" in out
    first.refresh_from_db()
    assert first.status == "failed" and first.finished_at is not None
    assert doomed.name in first.error and "Queued again." in first.error
    second = AnalysisRun.objects.exclude(pk=first.pk).get(measurement=m)
    assert (second.status, second.attempt, second.parameters) == ("queued", 2, first.parameters)

    release.touch()
    [fresh] = workers(1)
    wait_until(
        "the new attempt to finish", lambda: settled(AnalysisRun.objects.filter(pk=second.pk))
    )
    second.refresh_from_db()
    assert (second.status, second.worker) == ("done", fresh.name), second.error
    revision = ResultRevision.objects.get(measurement=m)
    assert revision.run_id == second.pk and revision.is_current
    assert started.read_text().split() == [
        str(doomed.process.pid),
        str(fresh.process.pid),
    ]


def test_corrupt_file_through_a_worker_fails_with_its_message_and_keeps_the_file(
    workers: Any, lab: Any, users: dict[str, Any]
) -> None:
    good = require_shared_data("eis", "exampleDataBioLogic.mpt")
    truncated = good.read_bytes()[:-40]
    [worker] = workers(1)
    m = measurement_create(
        user=users["operator"],
        subject=lab.cell,
        measurement_type="eis",
        raw_stream=SimpleUploadedFile("cut.mpt", truncated),
        raw_name="cut.mpt",
    )
    run = AnalysisRun.objects.get(measurement=m)
    wait_until("the run to finish", lambda: settled(AnalysisRun.objects.filter(pk=run.pk)))
    run.refresh_from_db()
    assert (run.status, run.worker) == ("failed", worker.name)
    assert run.error.startswith("EIS fit: cut.mpt, ") and "looks truncated" in run.error
    assert run.finished_at is not None
    m.refresh_from_db()
    assert m.raw_file is not None and m.raw_file.file.read() == truncated
    assert not ResultRevision.objects.filter(measurement=m).exists()
