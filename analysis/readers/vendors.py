"""Impedance (and other) text exports of potentiostats other than Bio-Logic, recognised from
their content and read into the canonical columns.

=================  ============================================================================
format             how it is recognised, and where the data are
=================  ============================================================================
``gamry-dta``      Gamry Framework ``.DTA``: first line ``EXPLAIN``, then ``KEY<tab>TYPE<tab>
                   value`` lines. Tables are ``NAME<tab>TABLE``, a row of column names, a row of
                   units, then rows that begin with a tab. The ``ZCURVE`` table is read (else
                   the first ``CURVE`` table); a run stopped early ends its table with
                   ``EXPERIMENTABORTED`` and is read up to there (``meta["aborted"]``).
``zplot``          Scribner ZPlot/ZView ``.z``: first line ``ZPLOT2 ASCII``, ``key: value``
                   lines, a tab-separated column-name row, ``End Comments``, then the rows.
``z60w``           Scribner ``Z60W Data File`` text, as Autolab/NOVA and ZView write it
                   for ZView: quoted title, a row count, a quoted column-name row (names
                   separated by runs of spaces), then comma-separated rows.
``chi``            CH Instruments text export: a date line, the technique (``A.C. Impedance``,
                   ``Cyclic Voltammetry``...), ``key = value`` / ``key: value`` lines
                   (``Instrument Model:  CHI660E``), a ``label/unit, ...`` header, a blank line,
                   then comma-separated rows.
``versastudio``    Princeton Applied Research VersaStudio ``.par``: ``<Section>`` ...
                   ``</Section>`` blocks of ``key=value`` lines; each ``<SegmentN>`` holds a
                   ``Definition=`` column list and comma-separated rows (segments are joined).
=================  ============================================================================

Every one of these writes Im(Z) itself (negative for a capacitive arc), so ``z_imag_ohm`` takes
the file's value unchanged. Unknown columns go to ``Dataset.extra``. Each failure is a
:class:`ReadError` naming the file, the line and what was expected there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any, Final

import numpy as np

from .canonical import unit_factor
from .dataset import Dataset, Planned, assemble
from .errors import ReadError

#: Techniques that open a CH Instruments export (its second line).
CHI_TECHNIQUES: Final = frozenset(
    {
        "A.C. Impedance",
        "Impedance - Time",
        "Impedance - Potential",
        "Cyclic Voltammetry",
        "Linear Sweep Voltammetry",
        "Chronoamperometry",
        "Chronopotentiometry",
        "Amperometric i-t Curve",
        "Open Circuit Potential - Time",
        "Differential Pulse Voltammetry",
        "Square Wave Voltammetry",
        "Tafel Plot",
        "Bulk Electrolysis with Coulometry",
    }
)

_GAMRY_TECHNIQUES: Final = {"EISPOT": "PEIS", "EISGALV": "GEIS", "CV": "CV", "CORPOT": "OCV"}


def detect_vendor(head: bytes) -> str | None:
    """The vendor format of a text file from its first bytes, or None for a plain table."""
    text = head.lstrip(b"\xef\xbb\xbf").decode("latin-1")
    lines = text.splitlines()
    first = lines[0].strip() if lines else ""
    if first == "EXPLAIN" and len(lines) > 1 and lines[1].startswith("TAG\t"):
        return "gamry-dta"
    if first.startswith("ZPLOT2 ASCII"):
        return "zplot"
    if first.strip('"').startswith("Z60W Data File"):
        return "z60w"
    if first == "<Application>" or (first.startswith("<") and "VersaStudio" in text):
        return "versastudio"
    if len(lines) > 1 and (
        lines[1].strip() in CHI_TECHNIQUES
        or any(line.startswith("Instrument Model:") and "CHI" in line for line in lines[:12])
    ):
        return "chi"
    return None


# --- shared ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    """A column a vendor names: canonical target and the unit the format uses without a unit
    row (None: the column's own unit text is required)."""

    canonical: str
    unit: str | None = None


@dataclass(frozen=True)
class _Text:
    """The file as text lines, and whether its last line ends with a line break (every
    exporter here ends each row with one, so a file without it was cut short)."""

    lines: list[str]
    complete: bool


def _lines(stream: IO[bytes]) -> _Text:
    """These exports are ASCII with Windows-1252/Latin-1 symbols (degree sign, micro), or
    UTF-8 behind a byte-order mark; Latin-1 decodes any byte."""
    raw = stream.read()
    complete = raw.endswith((b"\n", b"\r"))
    if raw.startswith(b"\xef\xbb\xbf"):
        return _Text(raw[3:].decode("utf-8", errors="replace").splitlines(), complete)
    return _Text(raw.decode("latin-1").splitlines(), complete)


def _check_not_cut(name: str, text: _Text, rows: Sequence[tuple[int, Sequence[str]]]) -> None:
    if rows and not text.complete and rows[-1][0] == len(text.lines):
        raise ReadError(
            name,
            "the last row has no line break after it: the file looks cut short",
            line=rows[-1][0],
            expected="a line break after every row",
        )


def _plan(
    name: str,
    labels: Sequence[str],
    units: Sequence[str | None],
    vocabulary: dict[str, _Column],
    line: int,
) -> dict[str, Planned]:
    plan: dict[str, Planned] = {}
    for label, unit in zip(labels, units, strict=True):
        column = vocabulary.get(_key(label))
        if column is None:
            continue
        unit_text = unit or column.unit
        try:
            factor = unit_factor(column.canonical, _clean_unit(unit_text))
        except (KeyError, ValueError) as exc:
            raise ReadError(
                name,
                f"column {label!r} has the unit {unit_text!r}, not one for {column.canonical}",
                line=line,
                expected=f"a {column.canonical.rsplit('_', 1)[-1]} unit ({exc})",
            ) from exc
        plan.setdefault(label, Planned(column.canonical, factor, unit_text))
    return plan


def _key(label: str) -> str:
    return re.sub(r"[\s_]+", "", label.strip().lower())


def _clean_unit(unit: str | None) -> str | None:
    if unit is None:
        return None
    # "V vs. Ref." is a potential in V; Latin-1-decoded UTF-8 symbols back to themselves.
    unit = unit.split(" vs", 1)[0].replace("Â°", "°").replace("Âµ", "µ").replace("Î©", "Ω")
    return unit.strip()


def _numbers(
    name: str,
    rows: Sequence[tuple[int, Sequence[str]]],
    labels: Sequence[str],
    wanted: Sequence[str],
    strict: set[str],
    decimal_comma: bool = False,
) -> list[tuple[str, np.ndarray[Any, Any]]]:
    """Float columns ``wanted`` (by label) from text rows of ``len(labels)`` fields each.
    A value that is not a number is an error in a ``strict`` column and NaN in another (an
    unmapped column kept in ``extra`` never makes a file unreadable)."""
    width = len(labels)
    index = {label: i for i, label in enumerate(labels)}
    out = {label: np.empty(len(rows), dtype=np.float64) for label in wanted}
    for r, (line, fields) in enumerate(rows):
        if len(fields) == width + 1 and not fields[-1].strip():
            fields = fields[:-1]
        if len(fields) != width:
            raise ReadError(
                name,
                f"{len(fields)} values in a row",
                line=line,
                expected=f"{width} values, one per column ({', '.join(labels)})",
            )
        for label in wanted:
            text = fields[index[label]].strip()
            if decimal_comma:
                text = text.replace(",", ".")
            try:
                out[label][r] = float(text)
            except ValueError:
                if label not in strict:
                    out[label][r] = np.nan
                    continue
                raise ReadError(
                    name,
                    f"value {text!r} in column {label!r} is not a number",
                    line=line,
                    expected="a number",
                ) from None
    return [(label, out[label]) for label in wanted]


def _dataset(
    name: str,
    labels: Sequence[str],
    units: Sequence[str | None],
    rows: Sequence[tuple[int, Sequence[str]]],
    vocabulary: dict[str, _Column],
    meta: dict[str, Any],
    header_line: int,
    *,
    decimal_comma: bool = False,
) -> Dataset:
    unique = _unique(labels)
    plan = _plan(name, unique, units, vocabulary, header_line)
    if not plan:
        raise ReadError(
            name,
            f"no column is recognised (columns: {list(labels)})",
            line=header_line,
            expected="frequency and impedance columns",
        )
    numeric = [
        label for label in unique if label in plan or _is_numeric_column(rows, unique, label)
    ]
    columns = _numbers(name, rows, unique, numeric, set(plan), decimal_comma)
    return assemble(
        name,
        columns,
        plan,
        meta,
        line_of_row=rows[0][0] if rows else None,
    )


def _unique(labels: Sequence[str]) -> list[str]:
    """Column labels made unique (a repeated label gets " (2)", " (3)"...)."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        label = label.strip() or "column"
        count = seen.get(label, 0) + 1
        seen[label] = count
        out.append(label if count == 1 else f"{label} ({count})")
    return out


def _is_numeric_column(
    rows: Sequence[tuple[int, Sequence[str]]], labels: Sequence[str], label: str
) -> bool:
    """An unmapped column is kept in ``extra`` only when its first row holds a number
    (Gamry's ``Over`` flags such as ``..........a`` are text)."""
    if not rows:
        return False
    i = labels.index(label)
    fields = rows[0][1]
    if i >= len(fields):
        return False
    try:
        float(fields[i].strip().replace(",", "."))
    except ValueError:
        return False
    return True


def _need_rows(name: str, rows: Sequence[Any], line: int, what: str) -> None:
    if not rows:
        raise ReadError(name, f"the {what} holds no data rows", line=line, expected="data rows")


# --- Gamry .DTA ------------------------------------------------------------------------------

_GAMRY: Final = {
    "freq": _Column("freq_Hz", "Hz"),
    "zreal": _Column("z_real_ohm", "ohm"),
    "zimag": _Column("z_imag_ohm", "ohm"),
    "zmod": _Column("z_mod_ohm", "ohm"),
    "zphz": _Column("phase_deg", "deg"),
    "time": _Column("time_s", "s"),
    "t": _Column("time_s", "s"),
    "vf": _Column("voltage_V", "V"),
    "vdc": _Column("voltage_V", "V"),
    "im": _Column("current_mA", "A"),
    "idc": _Column("current_mA", "A"),
    "temp": _Column("temperature_C", "degC"),
}


def read_gamry(stream: IO[bytes], name: str) -> Dataset:
    text = _lines(stream)
    lines = text.lines
    settings: dict[str, str] = {}
    tables: dict[str, int] = {}
    for i, line in enumerate(lines):
        fields = line.split("\t")
        if len(fields) >= 2 and fields[0] and fields[1] == "TABLE":
            tables.setdefault(fields[0], i)
        elif len(fields) >= 2 and fields[0] and not line.startswith("\t"):
            # KEY<tab>TYPE<tab>value..., but TAG<tab>value has no type.
            settings.setdefault(fields[0], fields[2 if len(fields) > 2 else 1].strip())
    table = (
        "ZCURVE" if "ZCURVE" in tables else next((t for t in tables if t.startswith("CURVE")), None)
    )
    if table is None:
        raise ReadError(
            name,
            f"no ZCURVE or CURVE table (tables: {sorted(tables) or 'none'})",
            line=len(lines),
            expected="a Gamry data table such as 'ZCURVE<tab>TABLE'",
        )
    start = tables[table]
    if start + 2 >= len(lines):
        raise ReadError(
            name,
            f"the {table} table ends before its column-name and unit rows",
            line=start + 1,
            expected="a row of column names and a row of units",
        )
    labels = lines[start + 1].split("\t")[1:]
    units: list[str | None] = list(lines[start + 2].split("\t")[1:])
    if len(units) != len(labels) or not labels:
        raise ReadError(
            name,
            f"{len(units)} units for {len(labels)} columns in the {table} table",
            line=start + 3,
            expected="one unit per column",
        )
    # Rows begin with a tab; the table ends at the next line that does not (a run stopped early
    # ends it with EXPERIMENTABORTED).
    rows: list[tuple[int, list[str]]] = []
    for i in range(start + 3, len(lines)):
        if not lines[i].startswith("\t"):
            break
        rows.append((i + 1, lines[i].split("\t")[1:]))
    aborted = any(line.startswith("EXPERIMENTABORTED") for line in lines[start:])
    _check_not_cut(name, text, rows)
    _need_rows(name, rows, start + 1, f"{table} table")
    # Tab-separated: a comma in a value can only be a decimal comma (German-locale Windows).
    decimal_comma = any("," in field for field in rows[0][1])
    tag = settings.get("TAG", "")
    meta: dict[str, Any] = {
        "format": "gamry-dta",
        "technique": _GAMRY_TECHNIQUES.get(tag, tag),
        "technique_name": settings.get("TITLE", tag),
        "instrument": f"Gamry {settings['PSTAT']}" if settings.get("PSTAT") else "Gamry",
        "software": "Gamry Framework",
        "table": table,
        "aborted": aborted,
        "settings": settings,
    }
    if settings.get("FRAMEWORKVERSION"):
        meta["software_version"] = settings["FRAMEWORKVERSION"]
    _area(meta, settings.get("AREA"))
    return _dataset(name, labels, units, rows, _GAMRY, meta, start + 2, decimal_comma=decimal_comma)


def _area(meta: dict[str, Any], text: str | None) -> None:
    """``electrode_area_cm2`` from a settings value in cm^2 ("1", "1.00000E+000", "0.5 cm2")."""
    if not text:
        return
    match = re.match(r"\s*([+-]?\d+(?:[.,]\d*)?(?:[eE][+-]?\d+)?)", text)
    if match:
        value = float(match.group(1).replace(",", "."))
        if value > 0:
            meta["electrode_area_cm2"] = value


# --- Scribner ZPlot .z and Z60W --------------------------------------------------------------

_SCRIBNER: Final = {
    "freq(hz)": _Column("freq_Hz", "Hz"),
    "freq": _Column("freq_Hz", "Hz"),
    "time(sec)": _Column("time_s", "s"),
    "z'(a)": _Column("z_real_ohm", "ohm"),
    "z''(b)": _Column("z_imag_ohm", "ohm"),
}


def read_zplot(stream: IO[bytes], name: str) -> Dataset:
    text = _lines(stream)
    lines = text.lines
    end = next((i for i, line in enumerate(lines) if line.strip() == "End Comments"), None)
    if end is None:
        raise ReadError(
            name,
            "no 'End Comments' line ends the header",
            line=len(lines),
            expected="a ZPlot header closed by 'End Comments'",
        )
    settings = _colon_settings(lines[1:end])
    header_line = end - 1
    labels = [f.strip() for f in lines[header_line].split("\t") if f.strip()]
    if not labels or _key(labels[0]) not in _SCRIBNER:
        raise ReadError(
            name,
            f"the line before 'End Comments' is {lines[header_line]!r}",
            line=header_line + 1,
            expected="the column names (Freq(Hz), Ampl, Bias, Time(Sec), Z'(a), Z''(b), ...)",
        )
    rows = _split_rows(lines, end + 1, lambda line: line.split("\t"))
    _check_not_cut(name, text, rows)
    _need_rows(name, rows, end + 1, "file")
    meta = _scribner_meta("zplot", settings, len(rows))
    meta["software"] = "ZPlot"
    version = settings.get("Measured Data, ZPlot", "")
    if version:
        meta["software_version"] = version
    return _dataset(name, labels, [None] * len(labels), rows, _SCRIBNER, meta, header_line + 1)


def read_z60w(stream: IO[bytes], name: str) -> Dataset:
    text = _lines(stream)
    lines = text.lines
    header_line = next(
        (i for i, line in enumerate(lines[:50]) if "Freq" in line and "Z'" in line), None
    )
    if header_line is None:
        raise ReadError(
            name,
            "no column-name row with Freq and Z' in the first 50 lines",
            line=1,
            expected="a quoted row such as \"Freq (Hz)  Ampl  Bias  Time(Sec)  Z'(a)  Z''(b) ...\"",
        )
    labels = [f for f in re.split(r"\s{2,}|\t", lines[header_line].strip().strip('"')) if f]
    labels = [label.replace("Freq (Hz)", "Freq(Hz)") for label in labels]
    rows = _split_rows(lines, header_line + 1, lambda line: line.split(","))
    _check_not_cut(name, text, rows)
    _need_rows(name, rows, header_line + 1, "file")
    declared = lines[header_line - 1].strip() if header_line else ""
    meta = _scribner_meta("z60w", {"Data Points": declared}, len(rows))
    meta["title"] = lines[0].strip().strip('"')
    return _dataset(name, labels, [None] * len(labels), rows, _SCRIBNER, meta, header_line + 1)


def _scribner_meta(fmt: str, settings: dict[str, str], n_rows: int) -> dict[str, Any]:
    experiment = settings.get("Experiment Type", "")
    technique = (
        "PEIS"
        if "Control Voltage" in experiment
        else "GEIS"
        if "Control Current" in experiment
        else "EIS"
    )
    meta: dict[str, Any] = {"format": fmt, "technique": technique, "settings": settings}
    if experiment:
        meta["technique_name"] = experiment
    declared = settings.get("Data Points", "")
    if declared.isdigit() and int(declared) != n_rows:
        # ZPlot writes the planned count: a sweep stopped early holds fewer rows.
        meta["notes"] = [f"the header announces {declared} points, the file holds {n_rows}"]
    _area(meta, settings.get("Surface Area"))
    return meta


def _colon_settings(lines: Sequence[str]) -> dict[str, str]:
    settings: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.partition(":")
        if sep and key.strip():
            settings.setdefault(key.strip(), value.strip())
    return settings


def _split_rows(
    lines: Sequence[str], start: int, split: Callable[[str], list[str]]
) -> list[tuple[int, list[str]]]:
    return [(i + 1, split(lines[i])) for i in range(start, len(lines)) if lines[i].strip()]


# --- CH Instruments --------------------------------------------------------------------------

_CHI: Final = {
    "freq": _Column("freq_Hz"),
    "z'": _Column("z_real_ohm"),
    "z''": _Column("z_imag_ohm"),
    'z"': _Column("z_imag_ohm"),
    "z": _Column("z_mod_ohm"),
    "phase": _Column("phase_deg"),
    "potential": _Column("voltage_V"),
    "current": _Column("current_mA"),
    "time": _Column("time_s"),
    "charge": _Column("charge_mAh"),
}


def read_chi(stream: IO[bytes], name: str) -> Dataset:
    text = _lines(stream)
    lines = text.lines
    first_row = None
    for i, line in enumerate(lines):
        fields = line.split(",")
        if len(fields) > 1 and _all_numbers(fields):
            first_row = i
            break
    if first_row is None:
        raise ReadError(
            name,
            "no comma-separated data rows",
            line=len(lines),
            expected="a 'label/unit, ...' header, a blank line, then rows of numbers",
        )
    header_line = next((i for i in range(first_row - 1, -1, -1) if lines[i].strip()), None)
    if header_line is None or "/" not in lines[header_line]:
        raise ReadError(
            name,
            "no column header above the data",
            line=first_row + 1,
            expected="a header such as 'Freq/Hz, Z'/ohm, Z\"/ohm, Z/ohm, Phase/deg'",
        )
    labels, units = [], []
    for field in lines[header_line].split(","):
        label, _, unit = field.strip().rpartition("/")
        labels.append(label or field.strip())
        units.append(unit if label else None)
    settings: dict[str, str] = {}
    for line in lines[2:header_line]:
        key, sep, value = line.partition(" = ") if " = " in line else line.partition(":")
        if sep and key.strip():
            settings.setdefault(key.strip(), value.strip())
    rows = _split_rows(lines, first_row, lambda line: line.split(","))
    _check_not_cut(name, text, rows)
    technique = lines[1].strip() if len(lines) > 1 else ""
    meta: dict[str, Any] = {
        "format": "chi",
        # CHI's impedance techniques control the potential.
        "technique": "PEIS" if "Impedance" in technique else technique,
        "technique_name": technique,
        "instrument": settings.get("Instrument Model", "CH Instruments"),
        "software": "CH Instruments",
        "settings": settings,
        "date": lines[0].strip(),
    }
    vocabulary = {_key(label): column for label, column in _CHI.items()}
    return _dataset(name, labels, units, rows, vocabulary, meta, header_line + 1)


def _all_numbers(fields: Sequence[str]) -> bool:
    try:
        for field in fields:
            float(field)
    except ValueError:
        return False
    return True


# --- VersaStudio .par ------------------------------------------------------------------------

_VERSASTUDIO: Final = {
    "frequency(hz)": _Column("freq_Hz", "Hz"),
    "zreal": _Column("z_real_ohm", "ohm"),
    "zimag": _Column("z_imag_ohm", "ohm"),
    "e(v)": _Column("voltage_V", "V"),
    "i(a)": _Column("current_mA", "A"),
    "elapsedtime(s)": _Column("time_s", "s"),
}

_SECTION = re.compile(r"^<(/?)([A-Za-z][A-Za-z0-9]*)>\s*$")


def read_versastudio(stream: IO[bytes], name: str) -> Dataset:
    text = _lines(stream)
    lines = text.lines
    sections: dict[str, dict[str, str]] = {}
    labels: list[str] | None = None
    header_line = 0
    rows: list[tuple[int, list[str]]] = []
    current: str | None = None
    for i, line in enumerate(lines):
        match = _SECTION.match(line.strip())
        if match:
            current = None if match.group(1) else match.group(2)
            if current is not None:
                sections.setdefault(current, {})
            continue
        if current is None:
            continue
        key, sep, value = line.partition("=")
        if current.startswith("Segment") and key == "Definition":
            segment_labels = [f.strip() for f in value.split(",")]
            if labels is None:
                labels, header_line = segment_labels, i + 1
            elif segment_labels != labels:
                raise ReadError(
                    name,
                    f"segment {current} has other columns than the first segment",
                    line=i + 1,
                    expected=", ".join(labels),
                )
        elif current.startswith("Segment") and line and (line[0].isdigit() or line[0] in "+-."):
            rows.append((i + 1, line.split(",")))
        elif sep:
            sections[current].setdefault(key.strip(), value.strip())
    if labels is None:
        raise ReadError(
            name,
            "no <SegmentN> section with a Definition= column list",
            line=len(lines),
            expected="a VersaStudio data segment",
        )
    if (labels and _all_numbers(labels[-1:])) or labels[-1:] == [""]:
        labels = labels[:-1]  # VersaStudio ends the column list with a number (", 0")
    if current is not None and current.startswith("Segment"):
        raise ReadError(
            name,
            f"the file ends inside <{current}>: it looks cut short",
            line=len(lines),
            expected=f"</{current}>",
        )
    _need_rows(name, rows, header_line, "data segment")
    action = next(
        (s for k, s in sections.items() if k.startswith("Action") and s.get("Name") != "Common"),
        {},
    )
    instrument = sections.get("Instrument", {})
    application = sections.get("Application", {})
    common = next((s for k, s in sections.items() if s.get("Name") == "Common"), {})
    meta: dict[str, Any] = {
        "format": "versastudio",
        "technique": "PEIS"
        if action.get("Name") == "Potentiostatic EIS"
        else action.get("Name", ""),
        "technique_name": action.get("Name", ""),
        "instrument": " ".join(
            v
            for v in (
                instrument.get("Type"),
                f"(SN {instrument['SN']})" if instrument.get("SN") else None,
            )
            if v
        ),
        "software": application.get("Name", "VersaStudio"),
        "software_version": application.get("Version", ""),
        "settings": {"action": action, "instrument": instrument},
    }
    _area(meta, common.get("Working Electrode Area (cm2)"))
    return _dataset(name, labels, [None] * len(labels), rows, _VERSASTUDIO, meta, header_line)


READERS: Final[dict[str, Callable[[IO[bytes], str], Dataset]]] = {
    "gamry-dta": read_gamry,
    "zplot": read_zplot,
    "z60w": read_z60w,
    "chi": read_chi,
    "versastudio": read_versastudio,
}
