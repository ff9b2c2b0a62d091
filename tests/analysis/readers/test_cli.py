"""``python -m analysis.readers``: run as a user would."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.shared_data import PROJECT_ROOT, require_shared_data


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "analysis.readers", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_json() -> None:
    path = require_shared_data("eclab", "peis.mpr")
    out = _run(str(path), "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["format"] == "eclab-mpr"
    assert summary["technique"] == "PEIS"
    assert summary["rows"] == 32  # MANIFEST: 32 frequencies
    assert summary["data_columns"]["z_imag_ohm"] == "Ohm"


def test_cli_text_and_template() -> None:
    path = require_shared_data("eis", "exampleData.csv")
    out = _run(str(path), "--template", "eis3")
    assert out.returncode == 0, out.stderr
    assert "format:    table" in out.stdout
    assert "rows:      66" in out.stdout


def test_cli_error_exit_status() -> None:
    path = require_shared_data("eis", "exampleData.csv")
    out = _run(str(path))
    assert out.returncode == 2
    assert "exampleData.csv, line 1" in out.stderr
