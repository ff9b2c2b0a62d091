"""One registry of analyses: what runs when a measurement of a given type gets its data.

An analysis is one :class:`Analysis` entry: the measurement type it serves, how its raw file is
read, its parameters with their defaults (and where the records supply them: the cell's
electrode area, the batch's formula ...), the quantities it stores, and one pure function from
``(dataset, parameters)`` to an :class:`Outcome`. Adding a measurement type is one function and
one :func:`register` call in a module of ``analysis/analyses/`` (or a module named in the
``ANALYSIS_PLUGINS`` setting); the runs, revisions, flags, API and pages pick it up from here.

Parameters are resolved, first found wins: a re-run's explicit values, the measurement's
``conditions``, its protocol template's defaults, the records (``Param.context``), the default.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

CODE_VERSION = "lims/0.2.0"


class AnalysisError(Exception):
    """A run cannot produce results; the message says what a person can do about it."""


@dataclass(frozen=True)
class Param:
    """A parameter: name with its unit, default, what it means, and (optionally) how the
    records supply it (``context(measurement)`` returns the value or None)."""

    name: str
    default: Any
    description: str
    context: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class Quantity:
    """A stored result: its name (with the unit, as stored), display unit and meaning."""

    name: str
    unit: str
    description: str


@dataclass(frozen=True)
class Value:
    """One computed quantity (see :class:`analysis.models.ResultValue`)."""

    name: str
    value: float | None
    std_error: float | None = None
    sd: float | None = None
    n: int | None = None
    is_lower_bound: bool = False


@dataclass(frozen=True)
class FlagSpec:
    """A flag an outcome raises: kind (``Flag.Kind``), message, the limit applied."""

    kind: str
    message: str
    threshold: dict[str, Any] = field(default_factory=dict)
    key: str = ""


@dataclass(frozen=True)
class Outcome:
    """What an analysis function returns: values, a JSON summary for pages and plots, flags."""

    values: list[Value]
    summary: dict[str, Any]
    flags: list[FlagSpec] = field(default_factory=list)


@dataclass(frozen=True)
class Analysis:
    """A registered analysis. ``function(dataset, params)`` gets the reader's ``Dataset`` (or
    None when ``needs_file`` is False) and the resolved parameters, and returns an Outcome or
    raises :class:`AnalysisError` (or ``ValueError`` from the science library)."""

    key: str
    title: str
    version: int
    function: Callable[[Any, Mapping[str, Any]], Outcome]
    params: tuple[Param, ...] = ()
    quantities: tuple[Quantity, ...] = ()
    needs_file: bool = True
    require: tuple[str, ...] = ()
    mapping: str | None = None
    #: Reader formats (``analysis.readers.detect_format``) its raw files may have; empty: any
    #: the readers recognise. Others are refused at upload (415), before anything is stored.
    formats: tuple[str, ...] = ()

    @property
    def full_version(self) -> str:
        return f"{self.key}/{self.version} {CODE_VERSION}"

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def quantity(self, name: str) -> Quantity | None:
        return next((q for q in self.quantities if q.name == name), None)

    def unit(self, quantity: str) -> str:
        found = self.quantity(quantity)
        return found.unit if found else ""


_REGISTRY: dict[str, Analysis] = {}
_loaded = False


#: Every analysis that reads a file takes these too.
READ_PARAMS = (
    Param(
        "column_mapping",
        None,
        "Column mapping for a table without recognised headers: a saved template's name or a "
        "built-in one (eis3: frequency, Z', Z'')",
    ),
)


def register(analysis: Analysis) -> Analysis:
    """Add (or replace, for a new version) the analysis of one measurement type."""
    if analysis.needs_file:
        analysis = dataclasses.replace(analysis, params=READ_PARAMS + analysis.params)
    _REGISTRY[analysis.key] = analysis
    return analysis


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    from django.conf import settings

    importlib.import_module("analysis.analyses")
    for module in getattr(settings, "ANALYSIS_PLUGINS", []):
        importlib.import_module(module)


def registry() -> dict[str, Analysis]:
    """Every registered analysis by measurement type."""
    _load()
    return dict(_REGISTRY)


def analysis_for(measurement_type: str) -> Analysis | None:
    _load()
    return _REGISTRY.get(measurement_type)


def finite_or_none(value: Any) -> float | None:
    """A float for storage, None for a missing or non-finite number."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None
