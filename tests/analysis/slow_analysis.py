"""A test-only analysis for measurement type "other" that waits until the test lets it finish.

Loaded by worker processes through ``ANALYSIS_PLUGINS=tests.analysis.slow_analysis`` (see
test_workers.py), so a test can kill a worker while it is reliably mid-run. It writes its
process id to ``started_path`` when it starts, then waits until ``release_path`` exists. It is
never part of the application.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from analysis.registry import Analysis, AnalysisError, Outcome, Param, Quantity, Value, register

#: Never wait forever, even if the test that started it is gone.
GIVE_UP_S = 600.0


def wait_for_release(dataset: Any, params: Mapping[str, Any]) -> Outcome:
    started = time.monotonic()
    with Path(params["started_path"]).open("a", encoding="utf-8") as marker:
        marker.write(f"{os.getpid()}\n")
    release = Path(params["release_path"])
    while not release.exists():
        if time.monotonic() - started > GIVE_UP_S:
            raise AnalysisError(f"Slow test analysis: {release} never appeared.")
        time.sleep(0.05)
    return Outcome(values=[Value("waited_s", time.monotonic() - started)], summary={})


SLOW = Analysis(
    key="other",
    title="Slow test analysis",
    version=1,
    function=wait_for_release,
    params=(
        Param("started_path", None, "File the run appends its pid to when it starts"),
        Param("release_path", None, "File whose existence lets the run finish"),
    ),
    quantities=(Quantity("waited_s", "s", "time the run waited to be released"),),
    needs_file=False,
)

register(SLOW)
