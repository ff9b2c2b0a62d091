"""Fail the analysis runs lost with their worker and queue each again (run it from cron)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from analysis.runs import analysis_runs_recover


class Command(BaseCommand):
    help = (
        "Mark runs still 'running' after ANALYSIS_RUN_TIMEOUT_S as failed (their worker died) "
        "and queue a new attempt of each, up to ANALYSIS_MAX_ATTEMPTS."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        retried = analysis_runs_recover()
        for run in retried:
            self.stdout.write(
                f"{run.measurement.code}: run queued again as attempt {run.attempt} (run {run.pk})"
            )
        self.stdout.write(
            f"{len(retried)} run(s) queued again; runs are taken as lost after "
            f"{settings.ANALYSIS_RUN_TIMEOUT_S} s."
        )
