"""Roll-ups: the current results of many measurements put side by side, with pandas.

Each roll-up reads current :class:`~analysis.models.ResultValue` rows (and, for hardness, the
indents kept in the current revisions' summaries) in a fixed number of queries, whatever the
number of pellets, spectra or cells, and returns a table (a ``DataFrame``) plus its statistics.
``to_dict()`` gives the JSON the API serves; ``revision_ids`` are the revisions drawn from, which
key the roll-up's cached plot (:mod:`analysis.plots`).

- :func:`batch_density`: density and relative density per pellet of a batch, mean ± sd, n.
- :func:`foil_hardness`: a foil's Martens hardness, and its % change against a reference foil.
- :func:`cell_resistance`: a cell's R_bulk, R_GB, R_IF and ASR over its repeated spectra.
- :func:`ccd_comparison`: CCD per cell and per (cell type, temperature) group, lower bounds kept.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import F

from analysis.models import Measurement, ResultRevision, ResultValue
from analysis.registry import finite_or_none
from analysis.science import density, hardness
from analysis.science._result import to_jsonable
from lims.models import Record
from processing.models import Pellet

DENSITY_NAMES = ("density_g_cm3", "relative_density_pct", "theoretical_density_g_cm3")
RESISTANCE_NAMES = (
    "r_series_ohm",
    "r_bulk_ohm",
    "r_grain_boundary_ohm",
    "r_interface_ohm",
    "r_total_ohm",
    "asr_interface_ohm_cm2",
)
#: The arcs a cell's resistance plot draws, with the labels people use.
RESISTANCE_LABELS = {
    "r_bulk_ohm": "R_bulk",
    "r_grain_boundary_ohm": "R_GB",
    "r_interface_ohm": "R_IF",
}


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A table as JSON rows (NaN → None, numpy scalars → Python)."""
    rows = frame.replace({np.nan: None}).to_dict(orient="records")
    return [to_jsonable(row) for row in rows]


def _current_values(names: Iterable[str], measurement_type: str, **filters: Any) -> pd.DataFrame:
    """Current values of these names from measurements of one type, one row per value, with
    the measurement's code, time and conditions and the subject's code (one query)."""
    fields = ["revision_id", "name", "value", "std_error", "is_lower_bound", "measurement_id"]
    related = {
        "measurement_code": F("measurement__code"),
        "measured_at": F("measurement__measured_at"),
        "conditions": F("measurement__conditions"),
        "subject_code": F("subject__code"),
    }
    rows = ResultValue.objects.filter(
        is_current=True,
        name__in=list(names),
        measurement__measurement_type=measurement_type,
        **filters,
    ).values(*fields, **related)
    return pd.DataFrame.from_records(list(rows), columns=[*fields, *related])


# --- batch density --------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchDensity:
    """Density per pellet of a batch (the latest current measurement of each) and statistics.

    ``pellets`` has one row per pellet: ``pellet``, ``measurement``, ``measured_at``,
    ``density_g_cm3``, ``relative_density_pct``, ``theoretical_density_g_cm3``.
    """

    batch: str
    pellets: pd.DataFrame
    summary: density.DensitySummary | None
    revision_ids: list[int]

    def to_dict(self) -> dict[str, Any]:
        s = self.summary
        return {
            "batch": self.batch,
            "n": 0 if s is None else s.n,
            "density_g_cm3": None
            if s is None
            else {
                "mean": s.mean_g_cm3,
                "sd": finite_or_none(s.std_g_cm3),
                "min": s.min_g_cm3,
                "max": s.max_g_cm3,
            },
            "relative_density_pct": None
            if s is None or s.relative_mean_percent is None
            else {"mean": s.relative_mean_percent, "sd": finite_or_none(s.relative_std_percent)},
            "theoretical_density_g_cm3": None if s is None else s.theoretical_g_cm3,
            "pellets": _records(self.pellets),
        }


def batch_density(batch: Record) -> BatchDensity:
    """Density statistics over a batch's pellets: mean ± sd (ddof 1), min, max, n, and the
    relative density when the pellets share one theoretical (XRD) density. A pellet measured
    several times counts once, with its latest measurement. One query."""
    values = _current_values(
        DENSITY_NAMES,
        "density",
        subject_id__in=Pellet.objects.filter(batch_id=batch.pk).values("pk"),
    )
    columns = ["pellet", "measurement", "measured_at", *DENSITY_NAMES]
    if values.empty:
        return BatchDensity(batch.code, pd.DataFrame(columns=columns), None, [])
    wide = values.pivot_table(
        index=["subject_code", "measurement_code", "measured_at", "revision_id"],
        columns="name",
        values="value",
        aggfunc="first",
    ).reset_index()
    wide = wide.reindex(columns=[*wide.columns[:4], *DENSITY_NAMES])
    latest = (
        wide.sort_values(["subject_code", "measured_at"])
        .groupby("subject_code", as_index=False)
        .last()
        .dropna(subset=["density_g_cm3"])
    )
    pellets = latest.rename(columns={"subject_code": "pellet", "measurement_code": "measurement"})
    theoretical = pellets["theoretical_density_g_cm3"].dropna().unique()
    shared = (
        float(theoretical[0])
        if len(theoretical) == 1 and pellets["theoretical_density_g_cm3"].notna().all()
        else None
    )
    summary = (
        density.summarize(pellets["density_g_cm3"].to_list(), shared) if len(pellets) else None
    )
    return BatchDensity(
        batch.code,
        pellets[columns].reset_index(drop=True),
        summary,
        sorted(int(r) for r in pellets["revision_id"]),
    )


# --- foil hardness --------------------------------------------------------------------------


@dataclass(frozen=True)
class FoilHardness:
    """A foil's Martens hardness over every indent of its current hardness revisions, and
    against a reference foil's (``summary.change_percent`` ± ``change_std_error_percent``)."""

    foil: str
    reference: str | None
    hm_N_mm2: list[float]
    reference_hm_N_mm2: list[float]
    measurements: list[dict[str, Any]]
    summary: hardness.HardnessSummary | None
    revision_ids: list[int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "foil": self.foil,
            "reference": self.reference,
            "summary": None if self.summary is None else self.summary.to_dict(),
            "measurements": to_jsonable(self.measurements),
        }


def _indents(subjects: Sequence[Record]) -> list[dict[str, Any]]:
    """Each current hardness revision of these records, with its indents (one query)."""
    rows = (
        ResultRevision.objects.filter(
            is_current=True,
            measurement__measurement_type=Measurement.Type.HARDNESS,
            measurement__subject__in=[s.pk for s in subjects],
        )
        .order_by("measurement__measured_at", "pk")
        .values("pk", "summary", "measurement__code", "measurement__subject__code")
    )
    return [
        {
            "revision_id": row["pk"],
            "measurement": row["measurement__code"],
            "subject": row["measurement__subject__code"],
            "hm_N_mm2": [float(v) for v in (row["summary"] or {}).get("hm_N_mm2", [])],
        }
        for row in rows
    ]


def foil_hardness(foil: Record, reference: Record | None = None) -> FoilHardness:
    """Pool the HM values of a foil's current hardness revisions (and the reference's) and
    summarise them with :func:`analysis.science.hardness.summarize`. One query."""
    revisions = _indents([foil] if reference is None else [foil, reference])

    def pooled(code: str) -> list[float]:
        return [v for r in revisions if r["subject"] == code for v in r["hm_N_mm2"]]

    values = pooled(foil.code)
    ref_values = pooled(reference.code) if reference is not None else []
    summary = None
    if values:
        summary = hardness.summarize(values, ref_values or None)
    measurements = [
        {
            "measurement": r["measurement"],
            "foil": r["subject"],
            "revision_id": r["revision_id"],
            "n": len(r["hm_N_mm2"]),
            "mean_N_mm2": float(np.mean(r["hm_N_mm2"])) if r["hm_N_mm2"] else None,
        }
        for r in revisions
    ]
    return FoilHardness(
        foil=foil.code,
        reference=None if reference is None else reference.code,
        hm_N_mm2=values,
        reference_hm_N_mm2=ref_values,
        measurements=measurements,
        summary=summary,
        revision_ids=sorted(r["revision_id"] for r in revisions),
    )


# --- cell resistance series -----------------------------------------------------------------


@dataclass(frozen=True)
class CellResistance:
    """A cell's fitted resistances over its spectra in measurement time order.

    ``series`` has one row per spectrum: ``measurement``, ``measured_at``, ``elapsed_h`` (since
    the first spectrum), ``cycle_number`` (from the measurement's conditions, else empty) and
    each of :data:`RESISTANCE_NAMES` with its ``<name>_std_error``.
    """

    cell: str
    series: pd.DataFrame
    revision_ids: list[int]

    @property
    def by_cycle(self) -> bool:
        """True when every spectrum says after which cycle it was taken."""
        return bool(len(self.series)) and bool(self.series["cycle_number"].notna().all())

    def to_dict(self) -> dict[str, Any]:
        return {
            "cell": self.cell,
            "x": "cycle_number" if self.by_cycle else "elapsed_h",
            "series": _records(self.series),
        }


def cycle_number(conditions: Any) -> float | None:
    """After which cycle of the cell a spectrum was taken: ``cycle_number`` in the conditions.
    (Not ``sweep``, which picks the sweep to fit within a file that holds several.)"""
    value = conditions.get("cycle_number") if isinstance(conditions, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def cell_resistance(cell: Record) -> CellResistance:
    """R_series, R_bulk, R_GB, R_IF, R_total and the interface ASR of each current EIS fit of a
    cell, oldest first. One query."""
    values = _current_values(RESISTANCE_NAMES, "eis", subject_id=cell.pk)
    names = list(RESISTANCE_NAMES)
    columns = ["measurement", "measured_at", "elapsed_h", "cycle_number"]
    columns += [c for n in names for c in (n, f"{n}_std_error")]
    if values.empty:
        return CellResistance(cell.code, pd.DataFrame(columns=columns), [])
    index = ["measurement_code", "measured_at", "revision_id"]
    wide = values.pivot_table(
        index=index, columns="name", values=["value", "std_error"], aggfunc="first"
    )
    wide = wide.reindex(columns=pd.MultiIndex.from_product([["value", "std_error"], names]))
    series = pd.concat([wide["value"], wide["std_error"].add_suffix("_std_error")], axis=1)
    series = series.reset_index().sort_values(["measured_at", "revision_id"])
    conditions = values.drop_duplicates("revision_id").set_index("revision_id")["conditions"]
    series["cycle_number"] = [cycle_number(conditions[r]) for r in series["revision_id"]]
    measured = pd.to_datetime(series["measured_at"], utc=True)
    series["elapsed_h"] = (measured - measured.iloc[0]).dt.total_seconds() / 3600.0
    series = series.rename(columns={"measurement_code": "measurement"})
    revision_ids = [int(r) for r in series["revision_id"]]
    return CellResistance(cell.code, series[columns].reset_index(drop=True), revision_ids)


# --- CCD comparison -------------------------------------------------------------------------


@dataclass(frozen=True)
class CCDComparison:
    """CCD per cell (one row per CCD test) and per group of cell type and test temperature.

    A lower bound is shown as "> x". A group's mean counts a lower bound at its value, so a
    group holding one is itself a lower bound ("> mean"); ``lower_bounds`` says how many.
    """

    cells: pd.DataFrame
    groups: pd.DataFrame
    revision_ids: list[int]

    def to_dict(self) -> dict[str, Any]:
        return {"cells": _records(self.cells), "groups": _records(self.groups)}


def shown(value: float | None, is_lower_bound: bool, digits: int = 2) -> str:
    """A CCD as a paper shows it: ``"1.25"``, or ``"> 5.00"`` for a lower bound."""
    if value is None or not math.isfinite(value):
        return ""
    return f"{'> ' if is_lower_bound else ''}{value:.{digits}f}"


def ccd_comparison(cells: Sequence[Record] | None = None) -> CCDComparison:
    """Every current CCD (of these cells, or of all) with its cell type and test temperature
    (the parameter the analysis ran with), and per group n, mean, sd, min, max and how many
    are lower bounds. One query."""
    filters: dict[str, Any] = {"subject__kind": "cell"}
    if cells is not None:
        filters["subject_id__in"] = [c.pk for c in cells]
    rows = list(
        ResultValue.objects.filter(
            is_current=True, name="ccd_mA_cm2", measurement__measurement_type="ccd", **filters
        )
        .order_by("subject__code", "measurement__measured_at")
        .values(
            "revision_id",
            "value",
            "is_lower_bound",
            "subject__code",
            "measurement__code",
            "measurement__measured_at",
            "measurement__temperature_C",
            "revision__run__parameters",
            "subject__as_cell__cell_type",
        )
    )
    table = pd.DataFrame(
        {
            "cell": [r["subject__code"] for r in rows],
            "cell_type": [r["subject__as_cell__cell_type"] for r in rows],
            "temperature_C": [_test_temperature_C(r) for r in rows],
            "measurement": [r["measurement__code"] for r in rows],
            "measured_at": [r["measurement__measured_at"] for r in rows],
            "ccd_mA_cm2": [r["value"] for r in rows],
            "ccd_is_lower_bound": [bool(r["is_lower_bound"]) for r in rows],
        },
        columns=[
            "cell",
            "cell_type",
            "temperature_C",
            "measurement",
            "measured_at",
            "ccd_mA_cm2",
            "ccd_is_lower_bound",
        ],
    )
    table["ccd_shown"] = [
        shown(v, b) for v, b in zip(table["ccd_mA_cm2"], table["ccd_is_lower_bound"], strict=True)
    ]
    return CCDComparison(table, _ccd_groups(table), sorted(r["revision_id"] for r in rows))


def _test_temperature_C(row: Mapping[str, Any]) -> float | None:
    """The temperature the CCD analysis ran with, else the measurement's."""
    used = (row["revision__run__parameters"] or {}).get("temperature_C")
    return finite_or_none(used if used is not None else row["measurement__temperature_C"])


def _ccd_groups(table: pd.DataFrame) -> pd.DataFrame:
    columns = [
        "cell_type",
        "temperature_C",
        "n",
        "mean_mA_cm2",
        "sd_mA_cm2",
        "min_mA_cm2",
        "max_mA_cm2",
        "lower_bounds",
        "mean_shown",
        "min_shown",
        "max_shown",
    ]
    if table.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    keyed = table.assign(temperature_C=table["temperature_C"].astype(float))
    for (cell_type, temperature), group in keyed.groupby(
        ["cell_type", "temperature_C"], dropna=False, sort=True
    ):
        ccd = group["ccd_mA_cm2"].to_numpy(dtype=float)
        bound = group["ccd_is_lower_bound"].to_numpy(dtype=bool)
        low, high = int(ccd.argmin()), int(ccd.argmax())
        rows.append(
            {
                "cell_type": cell_type,
                "temperature_C": finite_or_none(temperature),
                "n": len(group),
                "mean_mA_cm2": float(ccd.mean()),
                "sd_mA_cm2": finite_or_none(float(ccd.std(ddof=1))) if len(group) > 1 else None,
                "min_mA_cm2": float(ccd[low]),
                "max_mA_cm2": float(ccd[high]),
                "lower_bounds": int(bound.sum()),
                "mean_shown": shown(float(ccd.mean()), bool(bound.any())),
                "min_shown": shown(float(ccd[low]), bool(bound[low])),
                "max_shown": shown(float(ccd[high]), bool(bound[high])),
            }
        )
    return pd.DataFrame(rows, columns=columns)
