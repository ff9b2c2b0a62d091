"""Instrument and table file readers: one entry point, one dataset shape, one error type.

Pure Python (numpy, pandas, openpyxl); nothing here imports Django.

    >>> from analysis import readers
    >>> ds = readers.read("peis.mpr")                 # path, bytes or binary file object
    >>> ds.data[["freq_Hz", "z_real_ohm", "z_imag_ohm"]]
    >>> ds.meta["technique"], ds.meta["electrode_area_cm2"]
    >>> readers.read(raw_bytes, "spectrum.csv", mapping="eis3")

The format is detected from the content (magic bytes, header lines), never from the name:

=================  ============================================================================
format             content
=================  ============================================================================
``eclab-mpr``      EC-Lab binary ``.mpr`` (module versions 2/3 and the 11.50 layout)
``eclab-mpt``      EC-Lab text ``.mpt``, with or without header block, decimal point or comma
``gamry-dta``      Gamry Framework ``.DTA`` (ZCURVE/CURVE table, aborted runs too)
``zplot``          Scribner ZPlot/ZView ``.z``
``z60w``           ``Z60W Data File`` text (Autolab/NOVA and ZView exports)
``chi``            CH Instruments text export (impedance, voltammetry, i-t)
``versastudio``    Princeton Applied Research VersaStudio ``.par``
``table``          CSV/TSV/XLSX with recognised headers or a :class:`ColumnMapping`
``indentation``    CSV/XLSX table of indents or of load-depth curves (see :mod:`.tabular`)
=================  ============================================================================

Techniques named in ``meta["technique"]``: from EC-Lab .mpr and .mpt alike PEIS, GEIS, GCPL, CA,
CP, OCV, WAIT, CV, CVA, LSV, ZIR, MB, MP, coV, coC (any other technique is read too, its long
name or id kept); from the other vendors PEIS, GEIS or EIS (control mode not stated), or the
vendor's own technique name. EC-Lab .mpr column ids: those met in the real files and those
the public readers document (:mod:`.eclab_columns`); an unknown id is a ReadError naming it.

Canonical columns (``Dataset.data``; every other source column goes to ``Dataset.extra``
unconverted; ``meta["columns"]`` says where each source column went and with which factor):

| column | unit | meaning |
|---|---|---|
| `time_s` | s | time since the start of the experiment |
| `voltage_V` | V | working-electrode potential Ewe (or its average <Ewe>) |
| `counter_voltage_V` | V | counter-electrode potential Ece (or <Ece>) |
| `current_mA` | mA | current I (or its average <I>), + = oxidation |
| `current_density_mA_cm2` | mA/cm2 | current per electrode area, when the file gives a density |
| `charge_mAh` | mAh | charge passed since the start, (Q-Qo) |
| `power_W` | W | power P = Ewe * I |
| `temperature_C` | degC | temperature |
| `cycle` | - | cycle number |
| `half_cycle` | - | half-cycle number |
| `step` | - | technique sequence / step index (EC-Lab Ns) |
| `freq_Hz` | Hz | impedance frequency |
| `z_real_ohm` | Ohm | Re(Z) |
| `z_imag_ohm` | Ohm | Im(Z), NEGATIVE for a capacitive arc (EC-Lab's -Im(Z) is negated) |
| `z_mod_ohm` | Ohm | \\|Z\\| |
| `phase_deg` | deg | arg(Z) in degrees, negative for a capacitive arc |
| `indent` | - | indent number within an indentation series |
| `force_mN` | mN | indentation force (table of indents: maximum force) |
| `depth_um` | um | indentation depth (table of indents: depth at maximum force) |

Every failure is a :class:`ReadError` (a ValueError) naming the file, the line, byte offset or
cell, and what was expected; no partial dataset is ever returned.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO

from .canonical import CANONICAL_COLUMNS, Canonical, canonical_table_markdown
from .dataset import Dataset
from .eclab_mpr import read_mpr
from .eclab_mpt import looks_like_headerless_mpt, read_mpt
from .errors import ReadError
from .mapping import TEMPLATES, ColumnMapping
from .source import Source, detect, open_source
from .tabular import read_text_table, read_xlsx
from .vendors import READERS as VENDOR_READERS
from .vendors import detect_vendor

__all__ = [
    "CANONICAL_COLUMNS",
    "TEMPLATES",
    "Canonical",
    "ColumnMapping",
    "Dataset",
    "ReadError",
    "canonical_table_markdown",
    "detect_format",
    "read",
]


def _mapping(mapping: ColumnMapping | str | dict[str, str] | None) -> ColumnMapping | None:
    if mapping is None or isinstance(mapping, ColumnMapping):
        return mapping
    if isinstance(mapping, str):
        if mapping not in TEMPLATES:
            raise ValueError(f"no template {mapping!r} (templates: {sorted(TEMPLATES)})")
        return TEMPLATES[mapping]
    return ColumnMapping(columns=dict(mapping))


def _format(head: bytes, stream: IO[bytes], name: str) -> str:
    kind = detect(head, stream, name)
    if kind != "text":
        return kind
    if looks_like_headerless_mpt(head.split(b"\n", 1)[0]):
        return "eclab-mpt"
    return detect_vendor(head) or "text"


def detect_format(source: Source, filename: str | None = None) -> str:
    """The format :func:`read` would use: eclab-mpr, eclab-mpt, xlsx, one of the vendor text
    formats (gamry-dta, zplot, z60w, chi, versastudio) or text (CSV/TSV)."""
    with open_source(source, filename) as (stream, name):
        return _format(stream.read(4096), stream, name)


def read(
    source: Source,
    filename: str | None = None,
    *,
    mapping: ColumnMapping | str | dict[str, str] | None = None,
    require: Iterable[str] = (),
) -> Dataset:
    """Read an instrument or table file into a :class:`Dataset`.

    ``source``: a path (str or PathLike), bytes, or a binary file object. ``filename``: the name
    to use in messages and metadata (an upload's original name); it is never used to choose the
    format. ``mapping``: for CSV/TSV/XLSX, a :class:`ColumnMapping`, a template name from
    :data:`TEMPLATES` or a plain ``{"source column": "canonical"}`` dict; EC-Lab files ignore
    it. ``require``: canonical columns the caller needs; a file without them is refused.
    """
    cmap = _mapping(mapping)
    needed = list(require)
    unknown = [c for c in needed if c not in CANONICAL_COLUMNS]
    if unknown:
        raise ValueError(f"require names unknown canonical columns {unknown}")
    with open_source(source, filename) as (stream, name):
        kind = _format(stream.read(4096), stream, name)
        stream.seek(0)
        if kind == "eclab-mpr":
            ds = read_mpr(stream, name)
        elif kind == "eclab-mpt":
            ds = read_mpt(stream, name)
        elif kind == "xlsx":
            ds = read_xlsx(stream, name, cmap)
        elif kind in VENDOR_READERS:
            ds = VENDOR_READERS[kind](stream, name)
        else:
            ds = read_text_table(stream, name, cmap)
    missing = [c for c in needed if c not in ds.columns]
    if missing:
        raise ReadError(
            name,
            f"required column(s) {missing} not in the file (it has {ds.columns})",
            expected="a file with " + ", ".join(needed),
        )
    ds.meta["filename"] = name
    return ds
