"""The analysis app's sections of the home page, "what needs me today": open flags, analysis
runs that failed, and cells on test with their latest measurement and open flags.

Each list puts what concerns the signed-in user first (flags on records they made, runs of
their measurements, their cells) and shows at most ``HOME_ROWS`` rows; the count is of all.
Every section costs two queries however much there is.
"""

from __future__ import annotations

from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)
from django.db.models import Value as V
from django.http import HttpRequest

from analysis.models import AnalysisRun, Flag, Measurement
from cells.models import Cell
from lims.selectors import Panel

#: Rows each section lists.
HOME_ROWS = 15

OPEN = Q(cleared_at__isnull=True, acknowledged_at__isnull=True)


def _mine_first(condition: Q) -> Case:
    return Case(When(condition, then=V(1)), default=V(0), output_field=IntegerField())


def open_flags() -> QuerySet[Flag]:
    return Flag.objects.filter(OPEN)


def failed_runs() -> QuerySet[AnalysisRun]:
    """Runs that failed and that no later run of the same measurement has made good: a failed
    attempt followed by a done one needs nobody."""
    done_later = AnalysisRun.objects.filter(
        measurement=OuterRef("measurement"),
        status=AnalysisRun.Status.DONE,
        queued_at__gt=OuterRef("queued_at"),
    )
    retry = AnalysisRun.objects.filter(
        measurement=OuterRef("measurement"),
        status__in=[AnalysisRun.Status.QUEUED, AnalysisRun.Status.RUNNING],
        queued_at__gt=OuterRef("queued_at"),
    )
    return (
        AnalysisRun.objects.filter(status=AnalysisRun.Status.FAILED)
        .filter(~Exists(done_later))
        .annotate(retrying=Exists(retry))
    )


def cells_on_test() -> QuerySet[Cell]:
    measurements = Measurement.objects.filter(subject=OuterRef("pk")).order_by("-measured_at")
    return Cell.objects.filter(status=Cell.Status.ON_TEST).annotate(
        last_measured_at=Subquery(measurements.values("measured_at")[:1]),
        last_measurement=Subquery(measurements.values("code")[:1]),
        open_flags=Subquery(
            Flag.objects.filter(OPEN, record=OuterRef("pk"))
            .values("record")
            .annotate(n=Count("pk"))
            .values("n")[:1],
            output_field=IntegerField(),
        ),
    )


def home_panels(request: HttpRequest) -> list[Panel]:
    user = request.user
    flags = open_flags()
    flag_counts = flags.aggregate(
        total=Count("pk"), mine=Count("pk", filter=Q(record__created_by=user))
    )
    runs = failed_runs()
    cells = cells_on_test()
    return [
        Panel(
            "analysis/home/flags.html",
            {
                "rows": list(
                    flags.select_related("record", "revision__measurement")
                    .annotate(mine=_mine_first(Q(record__created_by=user)))
                    .order_by("-mine", "-raised_at", "-id")[:HOME_ROWS]
                ),
                "mine_count": flag_counts["mine"],
            },
            title="Open flags",
            count=flag_counts["total"],
            link="/flags/?open=true",
        ),
        Panel(
            "analysis/home/failed_runs.html",
            {
                "rows": list(
                    runs.select_related("measurement__subject", "requested_by")
                    .annotate(
                        mine=_mine_first(Q(requested_by=user) | Q(measurement__created_by=user))
                    )
                    .order_by("-mine", "-finished_at", "-id")[:HOME_ROWS]
                )
            },
            title="Analysis runs that failed",
            count=runs.count(),
        ),
        Panel(
            "analysis/home/cells_on_test.html",
            {
                "rows": list(
                    cells.annotate(mine=_mine_first(Q(created_by=user))).order_by(
                        "-mine", "assembled_at", "code"
                    )[:HOME_ROWS]
                )
            },
            title="Cells on test",
            count=cells.count(),
            link="/cells/?status=on_test",
        ),
    ]
