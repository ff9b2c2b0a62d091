"""Template filters for results: numbers to significant digits, as a scientist reads them."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def sig(value: Any, digits: int = 4) -> str:
    """``7.7013e-07`` → ``7.701e-07``, ``82.3456`` → ``82.35``; empty for None."""
    if value is None or value == "":
        return ""
    try:
        return f"{float(value):.{int(digits)}g}"
    except (TypeError, ValueError):
        return str(value)
