"""Base for result dataclasses: ``to_dict()`` gives plain JSON-serialisable data."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np


def to_jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays, tuples and nested dataclasses to JSON types.

    Non-finite floats become ``None`` because JSON has no NaN/inf and a stored NaN would not
    survive a round trip through most databases' JSON columns.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, complex | np.complexfloating):
        return {"real": to_jsonable(float(value.real)), "imag": to_jsonable(float(value.imag))}
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    return value


class ResultMixin:
    """Adds ``to_dict()`` to a dataclass."""

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the fields, JSON-serialisable (NaN/inf stored as ``None``)."""
        data = to_jsonable(self)
        assert isinstance(data, dict)
        return data
