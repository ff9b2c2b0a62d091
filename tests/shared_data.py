"""Where the real instrument files live, and how a test asks for them.

The files in ``../shared/data/`` (relative to the project root) were written by other people's
instruments. They are never copied into the project. A test that needs them calls
:func:`require_shared_data`: on a developer's fresh clone without the folder the test is skipped
with the reason; under CI (``CI=true``) a missing folder is a failure, so CI can never pass by
skipping the real-data tests.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


def require_shared_data(*parts: str) -> Path:
    """Return ``../shared/data/<parts>``; skip (or fail under CI) when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if path.exists():
        return path
    reason = (
        f"real instrument data not found at {path} (the ../shared/data folder beside the project)"
    )
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)
