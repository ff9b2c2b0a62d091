"""The life of an analysis run: requested, queued on commit, executed once, stored as a revision.

A run is requested in the transaction that stores the measurement (or by a scientist's re-run)
and enqueued when that transaction commits, by id. Whichever worker picks it up claims it under
a row lock; a run that is no longer queued is skipped, so each run executes exactly once even if
its task is delivered twice. Failures are stored on the run with a message a person can act on;
the raw file and earlier revisions are never touched. A run left "running" by a worker that died
is failed and queued again (:func:`analysis_runs_recover`).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from analysis.models import AnalysisRun, Measurement, ResultRevision, ResultValue
from analysis.registry import Analysis, AnalysisError, Outcome, analysis_for
from lims.context import acting_as
from lims.history import snapshot
from lims.services import acting_user, record_save_new, system_row_check

logger = logging.getLogger(__name__)

#: Who may re-run an analysis with other parameters: scientists and admins (lims/roles.py).
RERUN_PERMISSION = "analysis.add_analysisrun"


def resolve_parameters(
    analysis: Analysis, measurement: Measurement, overrides: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """Each parameter's value and where it came from; the first that gives one wins:
    ``rerun`` (explicit), ``conditions``, ``protocol <name>``, ``record``, ``default``."""
    overrides = overrides or {}
    known = {p.name for p in analysis.params}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValidationError(
            {
                "parameters": f"Unknown parameter(s) {', '.join(unknown)} for {analysis.title}; "
                f"known: {', '.join(sorted(known))}."
            }
        )
    conditions = measurement.conditions if isinstance(measurement.conditions, dict) else {}
    protocol = measurement.protocol
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for param in analysis.params:
        candidates = [
            ("rerun", overrides.get(param.name)),
            ("conditions", conditions.get(param.name)),
            (
                f"protocol {protocol.name}" if protocol else "",
                _protocol_value(protocol, param.name),
            ),
            ("record", param.context(measurement) if param.context else None),
            ("default", param.default),
        ]
        source, value = next(((s, v) for s, v in candidates if v is not None), ("default", None))
        values[param.name] = value
        sources[param.name] = source
    return values, sources


def _protocol_value(protocol: Any, name: str) -> Any:
    return None if protocol is None else protocol.default(name)


def analysis_request(
    *, measurement: Measurement, user: Any, parameters: dict[str, Any] | None = None
) -> AnalysisRun | None:
    """Queue a run of the measurement's registered analysis; it is enqueued on commit.

    Returns None when nothing can run (no analysis for the type, or no raw file yet); an
    explicit re-run with ``parameters`` raises ``ValidationError`` in those cases instead.
    """
    analysis = analysis_for(measurement.measurement_type)
    explicit = parameters is not None
    if analysis is None:
        if explicit:
            raise ValidationError(
                {
                    "measurement_type": f"No analysis is registered for {measurement.measurement_type}."
                }
            )
        return None
    if analysis.needs_file and measurement.raw_file_id is None:
        if explicit:
            raise ValidationError({"raw_file": f"{measurement.code} has no raw file to analyse."})
        return None
    resolved, sources = resolve_parameters(analysis, measurement, parameters)
    run = AnalysisRun(
        measurement=measurement,
        analysis=analysis.key,
        analysis_version=analysis.full_version,
        parameters=resolved,
        parameter_sources=sources,
        input_sha256=measurement.raw_file.sha256 if measurement.raw_file else "",
        queued_at=timezone.now(),
        requested_by=acting_user(user),
    )
    record_save_new(instance=run, user=user)
    _enqueue_on_commit(run.pk)
    return run


def _enqueue_on_commit(run_id: int) -> None:
    from analysis.tasks import run_analysis

    transaction.on_commit(lambda: run_analysis.enqueue(run_id))


def _claim(run_id: int) -> AnalysisRun | None:
    with transaction.atomic():
        # of=self: PostgreSQL refuses to lock the nullable side (raw_file) of the outer join.
        run = (
            AnalysisRun.objects.select_for_update(of=("self",), no_key=True)
            .select_related("measurement__raw_file", "requested_by")
            .filter(pk=run_id)
            .first()
        )
        if run is None or run.status != AnalysisRun.Status.QUEUED:
            return None
        # The row is locked and read just now: its history needs no second read.
        run._history_before = snapshot(run)  # type: ignore[attr-defined]
        run.status = AnalysisRun.Status.RUNNING
        run.started_at = timezone.now()
        run.worker = f"{socket.gethostname()}:{os.getpid()}"[:120]
        run.save(update_fields=["status", "started_at", "worker"])
    return run


#: When this process last looked for runs lost with their worker (monotonic seconds).
_recovered_at: float | None = None


def _recover_when_due() -> None:
    """Look for lost runs at most once per ``ANALYSIS_RECOVER_INTERVAL_S`` in each worker
    process, not before every run: the query and its transaction are per-run overhead, and a
    lost run only becomes recoverable after ``ANALYSIS_RUN_TIMEOUT_S`` anyway."""
    global _recovered_at
    now = time.monotonic()
    if _recovered_at is None or now - _recovered_at >= settings.ANALYSIS_RECOVER_INTERVAL_S:
        _recovered_at = now
        analysis_runs_recover()


def analysis_run_execute(*, run_id: int) -> AnalysisRun | None:
    """Run a queued analysis once and store its revision, or its failure. Never raises for a
    bad file: the failure is the run's state."""
    _recover_when_due()
    run = _claim(run_id)
    if run is None:
        return None
    analysis = analysis_for(run.analysis)
    timings: dict[str, float] = {}
    try:
        if analysis is None:
            raise AnalysisError(f"No analysis named {run.analysis} is registered any more.")
        started = time.perf_counter()
        dataset = _read(run, analysis) if analysis.needs_file else None
        timings["read"] = time.perf_counter() - started
        started = time.perf_counter()
        outcome = analysis.function(dataset, run.parameters)
        timings["analyse"] = time.perf_counter() - started
    except Exception as exc:
        _fail(run, _message(analysis, exc), timings)
        return run
    try:
        revision_store(run=run, outcome=outcome, timings=timings)
    except Exception as exc:
        logger.exception("storing the results of run %s failed", run.pk)
        run.refresh_from_db()  # the store rolled back; the row is as the claim left it
        _fail(run, _message(analysis, exc), timings)
    return run


def _read(run: AnalysisRun, analysis: Analysis) -> Any:
    from analysis.readers import read
    from analysis.services import column_mapping

    stored = run.measurement.raw_file
    assert stored is not None
    mapping = column_mapping(run.parameters.get("column_mapping")) or analysis.mapping
    with stored.file.open("rb") as stream:
        return read(stream, stored.original_name, mapping=mapping, require=analysis.require)


def _message(analysis: Analysis | None, exc: Exception) -> str:
    title = analysis.title if analysis else "Analysis"
    if isinstance(exc, AnalysisError):
        return str(exc)
    # a reader's ReadError is a ValueError: it names the file and the line already
    if isinstance(exc, ValueError | ValidationError):
        return f"{title}: {exc}"
    logger.exception("analysis %s failed unexpectedly", title)
    return (
        f"{title}: unexpected {type(exc).__name__}: {exc}. The raw file and earlier results "
        "are kept; report this to the LIMS team."
    )


def _fail(run: AnalysisRun, message: str, timings: dict[str, float]) -> None:
    _finish(run, status=AnalysisRun.Status.FAILED, error=message[:4000], timings_s=timings)


def _finish(
    run: AnalysisRun,
    *,
    status: str,
    error: str,
    timings_s: dict[str, float],
    finished_at: dt.datetime | None = None,
) -> None:
    """Write the run's outcome and its history entry. ``run`` holds the row as claimed (no one
    else changes a running run), so the values it replaces need no second read."""
    before = snapshot(run)
    run.status, run.error, run.timings_s = status, error, timings_s
    run.finished_at = finished_at or timezone.now()
    run._history_before = before  # type: ignore[attr-defined]
    run.save(update_fields=["status", "error", "timings_s", "finished_at"])


@transaction.atomic
def revision_store(
    *, run: AnalysisRun, outcome: Outcome, timings: dict[str, float] | None = None
) -> ResultRevision:
    """Add the run's results as the measurement's next revision and make it current.

    The earlier current revision stays readable; its flags are cleared as superseded, and the
    new revision's flags are raised. The run is marked done in the same transaction, with
    ``timings`` (seconds per step) and the store's own time up to that point as ``store``.
    """
    from analysis.flagging import flags_for_revision, subject_checks

    started = time.perf_counter()
    measurement = Measurement.objects.select_for_update(no_key=True).get(pk=run.measurement_id)
    subject = measurement.subject  # read before the first history entry takes the append lock
    now = timezone.now()
    earlier = list(measurement.revisions.all())
    number = max((r.number for r in earlier), default=0) + 1
    previous = [r for r in earlier if r.is_current]
    if previous:  # the first revision replaces nothing: no statements for it
        ResultRevision.objects.filter(pk__in=[r.pk for r in previous]).update(is_current=False)
        ResultValue.objects.filter(measurement=measurement, is_current=True).update(
            is_current=False
        )
    revision = ResultRevision(
        measurement=measurement,
        run=run,
        number=number,
        is_current=True,
        summary=outcome.summary,
        created_at=now,
    )
    # Its number is the next under the measurement's lock, its run has no revision yet and the
    # current one was cleared above: checking uniqueness again would cost five statements.
    system_row_check(revision)
    with acting_as(run.requested_by):
        revision.save()
    ResultValue.objects.bulk_create(
        ResultValue(
            revision=revision,
            measurement=measurement,
            subject_id=measurement.subject_id,
            is_current=True,
            name=v.name,
            value=v.value,
            std_error=v.std_error,
            sd=v.sd,
            n=v.n,
            is_lower_bound=v.is_lower_bound,
        )
        for v in outcome.values
    )
    flags_for_revision(revision=revision, previous=previous, specs=outcome.flags)
    subject_checks(subject=subject)
    _finish(
        run,
        status=AnalysisRun.Status.DONE,
        finished_at=now,
        error="",
        timings_s={**(timings or {}), "store": time.perf_counter() - started},
    )
    return revision


@transaction.atomic
def analysis_runs_recover(*, now: dt.datetime | None = None) -> list[AnalysisRun]:
    """Fail the runs whose worker died (still running past ``ANALYSIS_RUN_TIMEOUT_S``) and
    queue each again as a new attempt, up to ``ANALYSIS_MAX_ATTEMPTS``. Returns the new runs.

    Called before every run and by ``manage.py analysis_recover`` (for a cron job).
    """
    now = now or timezone.now()
    limit = now - dt.timedelta(seconds=settings.ANALYSIS_RUN_TIMEOUT_S)
    stale = list(
        AnalysisRun.objects.select_for_update(skip_locked=True, no_key=True)
        .filter(status=AnalysisRun.Status.RUNNING, started_at__lt=limit)
        .select_related("measurement")
    )
    retried = []
    for run in stale:
        message = (
            f"Worker {run.worker or '?'} started this run at {run.started_at:%Y-%m-%d %H:%M:%S} "
            f"and did not finish within {settings.ANALYSIS_RUN_TIMEOUT_S} s: it was lost."
        )
        again = run.attempt < settings.ANALYSIS_MAX_ATTEMPTS
        run.status = AnalysisRun.Status.FAILED
        run.finished_at = now
        run.error = message + (" Queued again." if again else " No attempts left; re-run it.")
        run.save(update_fields=["status", "finished_at", "error"])
        if again:
            retry = AnalysisRun(
                measurement=run.measurement,
                analysis=run.analysis,
                analysis_version=run.analysis_version,
                parameters=run.parameters,
                parameter_sources=run.parameter_sources,
                input_sha256=run.input_sha256,
                attempt=run.attempt + 1,
                queued_at=now,
                requested_by=run.requested_by,
            )
            record_save_new(instance=retry, user=None)
            _enqueue_on_commit(retry.pk)
            retried.append(retry)
    return retried
