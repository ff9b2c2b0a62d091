"""Benchmark: analysis.science.ccd.detect on a 1,000,000-point synthetic CCD test.

From the project root: ``.venv/bin/python bench/ccd.py``. The record is 100 current-density
steps from 0.05 to 5.0 mA/cm^2, each a plating and a stripping half cycle of 5,000 points,
with a soft short (sudden voltage drop) planted in step 80. Prints the time per call (best
of 5) and checks the step found.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis.science import ccd  # noqa: E402
from tests.analysis.science.synthetic import ccd_test  # noqa: E402


def main() -> None:
    t, i, v = ccd_test(
        n_steps=100, points_per_half=5000, half_s=60.0, fail_step=80, failure="voltage_drop"
    )
    assert t.size == 1_000_000
    times = []
    for _ in range(5):
        start = time.perf_counter()
        result = ccd.detect(t, i, v)
        times.append(time.perf_counter() - start)
    assert result.failed_step_index == 80 and result.criterion == "voltage_drop"
    print(f"ccd.detect on {t.size:,} points, {len(result.steps)} steps: best {min(times) * 1e3:.0f} ms, "
          f"median {sorted(times)[2] * 1e3:.0f} ms; CCD {result.ccd_mA_cm2:.2f} mA/cm2 ({result.criterion})")  # fmt: skip


if __name__ == "__main__":
    main()
