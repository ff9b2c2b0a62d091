"""The analysis app's sections of the record page: flags, results and analysis runs."""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpRequest

from analysis.flagging import ACKNOWLEDGE_PERMISSION
from analysis.models import AnalysisRun, Flag, Measurement, ResultRevision, ResultValue
from analysis.plots import record_plots
from analysis.registry import analysis_for
from analysis.runs import RERUN_PERMISSION
from analysis.selectors import current_results, result_rows
from lims.models import Record
from lims.selectors import Panel


def record_panels(request: HttpRequest, record: Record) -> list[Panel]:
    panels = []
    # A measurement's page also shows the flags its revisions raised on the measured record.
    flags = list(
        Flag.objects.filter(Q(record=record) | Q(revision__measurement_id=record.pk))
        .select_related("revision__measurement", "acknowledged_by")
        .order_by("cleared_at", "acknowledged_at", "-raised_at")[:200]
    )
    if flags:
        panels.append(
            Panel(
                "analysis/panels/flags.html",
                {
                    "open": [f for f in flags if f.is_open],
                    "closed": [f for f in flags if not f.is_open],
                    "can_acknowledge": request.user.has_perm(ACKNOWLEDGE_PERMISSION),
                },
            )
        )
    plots = record_plots(record)
    if plots:
        panels.append(Panel("analysis/panels/plots.html", {"plots": plots}))
    if isinstance(record, Measurement):
        panels.append(_measurement_panel(request, record))
    else:
        rows = current_results(record)
        if rows:
            panels.append(Panel("analysis/panels/subject_results.html", {"rows": rows}))
    return panels


def _measurement_panel(request: HttpRequest, measurement: Measurement) -> Panel:
    analysis = analysis_for(measurement.measurement_type)
    runs = list(
        AnalysisRun.objects.filter(measurement=measurement)
        .select_related("requested_by")
        .order_by("-queued_at", "-id")[:20]
    )
    revisions = list(
        ResultRevision.objects.filter(measurement=measurement)
        .select_related("run")
        .order_by("-number")[:50]
    )
    current = next((r for r in revisions if r.is_current), None)
    values = (
        list(ResultValue.objects.filter(revision=current).select_related("measurement"))
        if current
        else []
    )
    latest = runs[0] if runs else None
    params = []
    if analysis and latest:
        params = [
            {
                "param": p,
                "value": latest.parameters.get(p.name),
                "source": latest.parameter_sources.get(p.name, ""),
            }
            for p in analysis.params
        ]
    return Panel(
        "analysis/panels/measurement.html",
        {
            "measurement": measurement,
            "analysis": analysis,
            "runs": runs,
            "latest": latest,
            "in_progress": latest is not None and latest.status in {"queued", "running"},
            "revisions": revisions,
            "current": current,
            "rows": result_rows(values),
            "params": params,
            "can_rerun": analysis is not None and request.user.has_perm(RERUN_PERMISSION),
        },
    )
