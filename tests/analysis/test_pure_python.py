"""The science library and the readers stay usable from a notebook: no Django anywhere under them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import importlib, pkgutil, sys
import analysis.science, analysis.readers
for package in (analysis.science, analysis.readers):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(info.name)
loaded = sorted(m for m in sys.modules if m == "django" or m.startswith("django."))
print(len([m for m in sys.modules if m.startswith("analysis.")]), loaded)
"""


def test_science_and_readers_import_without_django() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    count, loaded = result.stdout.strip().split(" ", 1)
    assert int(count) > 10  # the walk really imported the modules
    assert loaded == "[]"
