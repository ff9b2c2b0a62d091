"""Plots of results as SVG, drawn with matplotlib and cached through Django's default storage.

Drawing uses ``matplotlib.figure.Figure`` objects only (never ``pyplot``, whose global current
figure is shared between threads), saved by matplotlib's SVG canvas without any GUI backend
(PNGs, for a look, come from Agg the same way). Text is kept as SVG text (selectable,
searchable, small) in a sans-serif font.

A revision's plots (:data:`REVISION_PLOTS`) are cached under ``plots/revisions/``: revisions are
immutable, so a cached SVG never goes stale. A roll-up's plot (a cell's resistances, a foil's
hardness, a batch's densities) is cached under ``plots/rollups/`` keyed by a hash of the data it
draws, which names every revision it came from: a new revision gives a new key. Bump
:data:`PLOT_VERSION` when a drawing changes; older files are then simply never read again.
The storage is ``STORAGES["default"]``, so a deployment on S3 caches there too.

:func:`record_plots` lists the plots of a record for its page, and for PDF sheets, which embed
each plot's SVG (:meth:`Plot.svg`, read through the same cache) as a ``data:`` URI.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import matplotlib
import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from analysis import rollups
from analysis.models import ResultRevision
from lims.models import Record

#: Part of every cache key: raise it when a drawing changes.
PLOT_VERSION = 1
#: Width × height in inches: fills a tablet's width and a PDF column at 10-point text.
SIZE_IN = (6.4, 4.2)
COLOURS = {"data": "#1f4e79", "fit": "#c0392b", "bulk": "#1f77b4", "grain_boundary": "#2ca02c"}
COLOURS |= {"interface": "#d62728", "reference": "#7f7f7f", "sample": "#1f4e79"}
ARC_NAMES = {"bulk": "bulk", "grain_boundary": "grain boundary", "interface": "interface"}

# Set once for the process, never per plot (rcParams are global): text as <text> elements
# rather than glyph outlines, and a fixed salt for the SVG's element ids, so that the same plot
# gives the same bytes in any thread.
matplotlib.rcParams["svg.fonttype"] = "none"
matplotlib.rcParams["svg.hashsalt"] = "lina-lims"


def _figure(height_in: float = SIZE_IN[1]) -> Figure:
    return Figure(figsize=(SIZE_IN[0], height_in), layout="constrained")


def _svg(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    # No date in the metadata either.
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def _style(axes: Axes) -> None:
    axes.grid(True, color="#dddddd", linewidth=0.6)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def _ohm_scale(values: Sequence[float]) -> tuple[float, str]:
    """Divide by this to show resistances in Ω, kΩ or MΩ without an exponent on the axis."""
    top = max((abs(v) for v in values if v is not None and math.isfinite(v)), default=0.0)
    for factor, unit in ((1e6, "MΩ"), (1e3, "kΩ")):
        if top >= 10 * factor:
            return factor, unit
    return 1.0, "Ω"


def _digits(value: float, significant: int) -> str:
    """A number to so many significant digits, without an exponent (``1500``, ``0.012``)."""
    return np.format_float_positional(
        value, precision=significant, unique=False, fractional=False, trim="-"
    )


def _no_results(axes: Axes, empty: bool) -> None:
    if empty:
        axes.text(0.5, 0.5, "No results yet", transform=axes.transAxes, ha="center", va="center")


def _time_scale(seconds: float) -> tuple[float, str]:
    if seconds >= 3 * 3600:
        return 3600.0, "h"
    if seconds >= 3 * 60:
        return 60.0, "min"
    return 1.0, "s"


# --- drawings: plain data in, a Figure out (usable without a database) -------------------


def nyquist_figure(summary: dict[str, Any], title: str) -> Figure:
    """−Z″ against Z′ of the fitted spectrum: data as circles, the fitted model as a line,
    each arc's apex (its characteristic frequency) marked and named in the legend below."""
    z_real = np.asarray(summary["z_real_ohm"], dtype=float)
    z_imag = np.asarray(summary["z_imag_ohm"], dtype=float)
    fit_real = np.asarray(summary.get("z_fit_real_ohm", []), dtype=float)
    fit_imag = np.asarray(summary.get("z_fit_imag_ohm", []), dtype=float)
    freq = np.asarray(summary.get("freq_Hz", []), dtype=float)
    factor, unit = _ohm_scale([*z_real, *(-z_imag)])
    figure = _figure(SIZE_IN[1] + 0.6)
    axes = figure.add_subplot()
    _style(axes)
    axes.plot(
        z_real / factor,
        -z_imag / factor,
        "o",
        markersize=4,
        markerfacecolor="none",
        color=COLOURS["data"],
        label="data",
    )
    if fit_real.size:
        axes.plot(
            fit_real / factor,
            -fit_imag / factor,
            "-",
            color=COLOURS["fit"],
            linewidth=1.6,
            label=f"fit {summary.get('circuit', '')}".strip(),
        )
    for number, arc in enumerate(summary.get("arcs", []), start=1):
        label = str(arc.get("label", ""))
        if freq.size and fit_real.size and arc.get("characteristic_freq_Hz"):
            k = int(np.argmin(np.abs(np.log(freq) - math.log(arc["characteristic_freq_Hz"]))))
            apex = (fit_real[k] / factor, -fit_imag[k] / factor)
            axes.plot(
                *apex,
                marker="v",
                markersize=9,
                linestyle="none",
                color=COLOURS.get(label, "#9467bd"),
                label=_arc_legend(number, arc),
            )
            axes.annotate(
                str(number),
                apex,
                xytext=(0, 8),
                textcoords="offset points",
                ha="center",
                fontsize=9,
                fontweight="bold",
            )
    axes.set_aspect("equal", adjustable="datalim")
    axes.set_xlabel(f"Z′ ({unit})")
    axes.set_ylabel(f"−Z″ ({unit})")
    axes.set_title(title, fontsize=11)
    figure.legend(loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    return figure


def _arc_legend(number: int, arc: dict[str, Any]) -> str:
    r = float(arc["resistance_ohm"])
    factor, unit = _ohm_scale([r])
    se = arc.get("resistance_std_error_ohm")
    spread = f" ± {_digits(se / factor, 2)}" if se is not None and math.isfinite(se) else ""
    name = ARC_NAMES.get(str(arc.get("label")), str(arc.get("label", "arc")))
    return (
        f"{number}: {name}, R = {_digits(r / factor, 4)}{spread} {unit}, "
        f"C = {float(arc['capacitance_F']):.2g} F"
    )


def ccd_figure(summary: dict[str, Any], title: str) -> Figure:
    """Voltage (top) and current density (bottom) against time, the CCD marked: a line at the
    failure (or at the end, for a lower bound), the cut-off, and the CCD in words."""
    curve = summary["curve"]
    t = np.asarray(curve["time_s"], dtype=float)
    scale, unit = _time_scale(float(t.max() - t.min()) if t.size else 0.0)
    figure = _figure(SIZE_IN[1] + 0.8)
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    for axes in (top, bottom):
        _style(axes)
    top.plot(t / scale, curve["voltage_V"], color=COLOURS["data"], linewidth=0.8)
    bottom.plot(t / scale, curve["current_density_mA_cm2"], color=COLOURS["fit"], linewidth=0.8)
    cutoff = summary.get("cutoff_V")
    if cutoff:
        for sign in (1, -1):
            top.axhline(sign * cutoff, color="#888888", linestyle=":", linewidth=0.9)
    ccd = _ccd_value(summary)
    if summary.get("is_lower_bound"):
        text = f"CCD > {ccd:g} mA/cm² (no step failed)"
        at = t.max() / scale if t.size else None
    else:
        why = {"cutoff": "cut-off reached", "voltage_drop": "voltage drop: soft short"}
        text = f"CCD = {ccd:g} mA/cm² ({why.get(summary.get('criterion', ''), 'failure')})"
        at = summary.get("failure_time_s")
        at = None if at is None else at / scale
    if at is not None:
        for axes in (top, bottom):
            axes.axvline(at, color=COLOURS["interface"], linestyle="--", linewidth=1.2)
    top.set_title(f"{title}\n{text}", fontsize=11)
    top.set_ylabel("Voltage (V)")
    bottom.set_ylabel("j (mA/cm²)")
    bottom.set_xlabel(f"Time ({unit})")
    return figure


def _ccd_value(summary: dict[str, Any]) -> float:
    steps = summary.get("steps", [])
    index = summary.get("failed_step_index")
    if index is not None and 0 <= index < len(steps):
        return float(steps[index]["current_density_mA_cm2"])
    return max((float(s["current_density_mA_cm2"]) for s in steps), default=math.nan)


def hardness_figure(samples: dict[str, Sequence[float]], title: str, note: str = "") -> Figure:
    """Martens hardness of each sample (foil) as a box over its indents, every indent as a dot
    and the mean ± sd in the label: the reference (if any) first, grey."""
    figure = _figure()
    axes = figure.add_subplot()
    _style(axes)
    names = [n for n in samples if len(samples[n])]
    data = [np.asarray(samples[n], dtype=float) for n in names]
    _no_results(axes, not names)
    if names:
        axes.boxplot(
            data,
            positions=range(1, len(names) + 1),
            widths=0.45,
            showfliers=False,
            medianprops={"color": "#333333"},
        )
    rng = np.random.default_rng(0)  # fixed jitter: the same plot every time
    for position, (name, values) in enumerate(zip(names, data, strict=True), start=1):
        colour = COLOURS["reference"] if name.endswith("(reference)") else COLOURS["sample"]
        axes.plot(
            position + rng.uniform(-0.15, 0.15, values.size),
            values,
            "o",
            markersize=3,
            alpha=0.55,
            color=colour,
        )
    labels = []
    for name, values in zip(names, data, strict=True):
        sd = f" ± {np.std(values, ddof=1):.2f}" if values.size > 1 else ""
        labels.append(f"{name}\n{np.mean(values):.2f}{sd} N/mm²\nn = {values.size}")
    axes.set_xticks(range(1, len(names) + 1), labels, fontsize=8)
    axes.set_ylabel("Martens hardness HM (N/mm²)")
    axes.set_title(f"{title}\n{note}" if note else title, fontsize=11)
    return figure


def resistance_figure(rollup: rollups.CellResistance) -> Figure:
    """R_bulk, R_GB and R_IF of a cell against cycle number (or time), with fit errors."""
    series = rollup.series
    if rollup.by_cycle:
        x, xlabel = series["cycle_number"].astype(float), "Cycle number"
    else:
        x, xlabel = series["elapsed_h"].astype(float), "Time since first spectrum (h)"
    columns = [c for c in rollups.RESISTANCE_LABELS if series[c].notna().any()]
    factor, unit = _ohm_scale([float(v) for c in columns for v in series[c].dropna()])
    figure = _figure()
    axes = figure.add_subplot()
    _style(axes)
    for column in columns:
        label = column.removeprefix("r_").removesuffix("_ohm")
        error = series[f"{column}_std_error"].astype(float) / factor
        axes.errorbar(
            x,
            series[column].astype(float) / factor,
            yerr=error.fillna(0.0),
            marker="o",
            markersize=5,
            capsize=3,
            linewidth=1.4,
            color=COLOURS.get(label),
            label=rollups.RESISTANCE_LABELS[column],
        )
    _no_results(axes, not columns)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(f"Resistance ({unit})")
    axes.set_ylim(bottom=0)
    axes.set_title(f"{rollup.cell}: resistances over {len(series)} spectra", fontsize=11)
    if columns:
        figure.legend(loc="outside lower center", ncols=len(columns), fontsize=9, frameon=False)
    return figure


def density_figure(rollup: rollups.BatchDensity) -> Figure:
    """Relative density (or density, without a theoretical one) of each pellet of a batch,
    with the batch mean ± sd as a band."""
    pellets = rollup.pellets
    relative = bool(len(pellets)) and bool(pellets["relative_density_pct"].notna().all())
    column = "relative_density_pct" if relative else "density_g_cm3"
    values = pellets[column].astype(float).to_numpy()
    figure = _figure()
    axes = figure.add_subplot()
    _style(axes)
    positions = np.arange(len(values))
    axes.plot(positions, values, "o", markersize=7, color=COLOURS["data"], label="pellet")
    if values.size:
        mean = float(values.mean())
        sd = float(values.std(ddof=1)) if values.size > 1 else 0.0
        unit = "%" if relative else "g/cm³"
        axes.axhline(mean, color=COLOURS["fit"], linewidth=1.2, label=f"mean {mean:.2f} {unit}")
        if sd:
            axes.axhspan(
                mean - sd,
                mean + sd,
                color=COLOURS["fit"],
                alpha=0.12,
                label=f"± sd {sd:.2f} {unit}",
            )
    # At most ~15 names fit under the axis; beyond that every k-th pellet is named.
    every = max(1, math.ceil(len(values) / 15))
    axes.set_xticks(
        positions[::every],
        list(pellets["pellet"])[::every],
        rotation=45 if len(values) > 4 else 0,
        ha="right" if len(values) > 4 else "center",
        fontsize=8,
    )
    _no_results(axes, not values.size)
    axes.set_xlabel("Pellet")
    axes.set_ylabel("Relative density (%)" if relative else "Density (g/cm³)")
    axes.set_title(f"{rollup.batch}: density of {len(values)} pellets", fontsize=11)
    axes.margins(x=0.15)
    figure.legend(loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    return figure


# --- plots of a revision ------------------------------------------------------------------


def _nyquist(revision: ResultRevision) -> Figure:
    return nyquist_figure(revision.summary, _revision_title(revision, "impedance"))


def _ccd(revision: ResultRevision) -> Figure:
    summary = {**revision.summary, "cutoff_V": revision.run.parameters.get("cutoff_V")}
    return ccd_figure(summary, _revision_title(revision, "CCD test"))


def _hardness(revision: ResultRevision) -> Figure:
    values = revision.summary.get("hm_N_mm2", [])
    return hardness_figure(
        {revision.measurement.subject.code: values}, _revision_title(revision, "hardness")
    )


def _revision_title(revision: ResultRevision, what: str) -> str:
    m = revision.measurement
    return f"{m.subject.code}: {what}, {m.code} rev. {revision.number}"


@dataclass(frozen=True)
class PlotKind:
    name: str
    title: str
    draw: Callable[[ResultRevision], Figure]


#: The plots of a revision, by analysis key.
REVISION_PLOTS: dict[str, tuple[PlotKind, ...]] = {
    "eis": (PlotKind("nyquist", "Nyquist plot with the fitted model", _nyquist),),
    "ccd": (PlotKind("ccd", "Voltage and current density against time", _ccd),),
    "hardness": (PlotKind("hardness", "Hardness of the indents", _hardness),),
}


class PlotNotFound(LookupError):
    """No such plot for this revision."""


def revision_plot_kinds(revision: ResultRevision) -> tuple[PlotKind, ...]:
    return REVISION_PLOTS.get(revision.run.analysis, ())


def _cached(path: str, draw: Callable[[], Figure]) -> bytes:
    """The SVG at ``path`` in the default storage, drawn and saved first if absent.

    Two workers drawing the same plot at once both save; the storage keeps the first under
    ``path`` and the second under a suffixed name that is never read: harmless."""
    if default_storage.exists(path):
        with default_storage.open(path, "rb") as stream:
            return bytes(stream.read())
    svg = _svg(draw())
    default_storage.save(path, ContentFile(svg))
    return svg


def revision_svg(revision: ResultRevision, name: str) -> bytes:
    """The SVG of one plot of a revision (``revision.run`` and ``.measurement.subject``
    selected), cached."""
    kind = next((k for k in revision_plot_kinds(revision) if k.name == name), None)
    if kind is None:
        raise PlotNotFound(f"Revision {revision.pk} has no plot '{name}'.")
    # The creation time tells apart revisions of equal id in different databases (a test
    # database, a restored backup) sharing one storage.
    stamp = hashlib.sha256(f"{revision.pk}|{revision.created_at.isoformat()}".encode())
    path = f"plots/revisions/{revision.pk}/{name}-v{PLOT_VERSION}-{stamp.hexdigest()[:12]}.svg"
    return _cached(path, lambda: kind.draw(revision))


# --- plots of roll-ups --------------------------------------------------------------------


def _resistance(record: Record, reference: Record | None) -> tuple[Any, Callable[[], Figure]]:
    rollup = rollups.cell_resistance(record)
    return rollup.to_dict(), lambda: resistance_figure(rollup)


def _foil_hardness(record: Record, reference: Record | None) -> tuple[Any, Callable[[], Figure]]:
    rollup = rollups.foil_hardness(record, reference)
    return {"revisions": rollup.revision_ids, **rollup.to_dict()}, lambda: foil_hardness_figure(
        rollup
    )


def _density(record: Record, reference: Record | None) -> tuple[Any, Callable[[], Figure]]:
    rollup = rollups.batch_density(record)
    return rollup.to_dict(), lambda: density_figure(rollup)


#: Roll-up plots by name: the record kind they are of, their title, what they draw.
ROLLUP_PLOTS: dict[str, tuple[str, str, Callable[..., tuple[Any, Callable[[], Figure]]]]] = {
    "resistance": ("cell", "Resistances against cycle number", _resistance),
    "hardness": ("metalfoil", "Martens hardness of the indents", _foil_hardness),
    "density": ("synthesisbatch", "Density per pellet", _density),
}


def rollup_svg(name: str, record: Record, reference: Record | None = None) -> bytes:
    """The SVG of a roll-up plot of a record (see :data:`ROLLUP_PLOTS`; ``reference`` is the
    reference foil of ``hardness``), cached under a hash of the data drawn."""
    if name not in ROLLUP_PLOTS or ROLLUP_PLOTS[name][0] != record.kind:
        raise PlotNotFound(f"{record.code} has no roll-up plot '{name}'.")
    data, draw = ROLLUP_PLOTS[name][2](record, reference)
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode())
    return _cached(
        f"plots/rollups/{name}/{record.code}-v{PLOT_VERSION}-{digest.hexdigest()[:16]}.svg", draw
    )


def foil_hardness_figure(rollup: rollups.FoilHardness) -> Figure:
    samples: dict[str, Sequence[float]] = {}
    note = ""
    if rollup.reference is not None and rollup.reference_hm_N_mm2:
        samples[f"{rollup.reference} (reference)"] = rollup.reference_hm_N_mm2
    samples[rollup.foil] = rollup.hm_N_mm2
    s = rollup.summary
    if s is not None and s.change_percent is not None:
        note = (
            f"{s.change_percent:+.1f} ± {s.change_std_error_percent:.1f} % against "
            f"{rollup.reference}"
        )
    return hardness_figure(samples, f"{rollup.foil}: Martens hardness", note)


# --- the plots of a record, for its page ---------------------------------------------------


@dataclass(frozen=True)
class Plot:
    """A plot to show on a record's page: its title and the URL of its SVG; :meth:`svg` gives
    the SVG itself (from the cache), for PDFs that embed it."""

    title: str
    url: str
    source: Callable[[], bytes] | None = field(default=None, compare=False, repr=False)

    def svg(self) -> bytes:
        if self.source is None:
            raise PlotNotFound(f"{self.title}: no SVG source.")
        return self.source()


def _rollup_source(name: str, record: Record) -> Callable[[], bytes]:
    return lambda: rollup_svg(name, record)


def _revision_source(pk: int, name: str) -> Callable[[], bytes]:
    # The page's query loads only what the titles need; drawing needs the whole revision.
    def read() -> bytes:
        revision = ResultRevision.objects.select_related("run", "measurement__subject").get(pk=pk)
        return revision_svg(revision, name)

    return read


def record_plots(record: Record) -> list[Plot]:
    """The plots a record's page shows, in at most two queries: a measurement's current
    revision's plots; for a measured record its roll-up plot (a cell's resistances, a foil's
    hardness, a batch's densities) and the plots of the latest current revision of each other
    kind (a cell's latest spectrum and CCD test)."""
    if record.kind == "measurement":
        revisions = list(
            ResultRevision.objects.filter(measurement_id=record.pk, is_current=True)
            .select_related("run", "measurement")
            .only("pk", "run__analysis", "measurement__code")
        )
    else:
        revisions = _latest_current_revisions(record)
    plots: list[Plot] = []
    for name, (kind, title, _draw) in ROLLUP_PLOTS.items():
        if kind == record.kind:
            url = reverse(f"rollup-{name}-plot", kwargs={"code": record.code})
            plots.append(Plot(title, url, _rollup_source(name, record)))
            # A foil's hardness roll-up pools its hardness revisions: no need to show them too.
            revisions = [r for r in revisions if r.run.analysis != name]
    for revision in revisions:
        for plot in revision_plot_kinds(revision):
            url = reverse("revision-plot", kwargs={"pk": revision.pk, "name": plot.name})
            plots.append(
                Plot(
                    f"{plot.title} ({revision.measurement.code})",
                    url,
                    _revision_source(revision.pk, plot.name),
                )
            )
    return plots


def _latest_current_revisions(record: Record) -> list[ResultRevision]:
    """The current revision of the latest measurement of each plotted type on the record."""
    revisions = (
        ResultRevision.objects.filter(
            is_current=True,
            measurement__subject_id=record.pk,
            run__analysis__in=list(REVISION_PLOTS),
        )
        .select_related("run", "measurement")
        .order_by("-measurement__measured_at", "-pk")
    )
    latest: dict[str, ResultRevision] = {}
    for revision in revisions.only("pk", "run__analysis", "measurement__code"):
        latest.setdefault(revision.run.analysis, revision)
    return sorted(latest.values(), key=lambda r: r.run.analysis)
