"""EC-Lab column vocabulary shared by the .mpt and .mpr readers.

Two sources for the .mpr column ids, marked in :data:`MPR_COLUMNS`:

* the ids met in the real files of ``shared/data/eclab``: each was identified by reading the
  .mpr next to its .mpt export of the same experiment (same column order, same values within
  float32 precision), and each dtype is confirmed by the record size (``module length == data
  offset + rows * record size``);
* the ids the public readers document from files we do not have (CV, LSV, Modulo Bat, external
  analog channels, stack and harmonic columns of newer EC-Lab versions): the column lists of
  galvani (``galvani/BioLogic.py``, ``VMPdata_colID_dtype_map``) and yadg
  (``yadg/extractors/eclab/common/mpr_columns.py``, ``data_columns``). Only ids on which the
  record size is stated the same way are taken; names are written as EC-Lab writes them in the
  .mpt header, so a .mpr and its .mpt give the same column names.

An id not listed here is refused with an error that names it: an unknown id means an unknown
record size, so nothing after it can be read reliably.

Looked up and still unknown: id 880, which issue 10 met in a real file. Neither yadg 7.0.1 nor
its current ``mpr_columns.py``, neither galvani 0.5.0 nor the later ``BioLogic.py`` of
datalab-org/galvani-mirror, nor any galvani issue names it, and nothing gives its size.
That later galvani names some ids differently from yadg: 241 (``|I h7|/A`` there, ``|E1|/V``
in yadg, both float32) and 498-502 (float64 charge, step-time, efficiency and capacity columns
there, float32 ``|Ece h2..h6|/V`` in yadg; this module follows yadg). Were the float64 reading
right, the record-size check would refuse such a file rather than misread it; a 241 column
could only be misnamed.
"""

from __future__ import annotations

from typing import Final

from .dataset import Planned

# id → (name exactly as EC-Lab writes it in the .mpt header, numpy dtype)
MPR_COLUMNS: Final[dict[int, tuple[str, str]]] = {
    4: ("time/s", "<f8"),
    5: ("control/V/mA", "<f4"),
    6: ("Ewe/V", "<f4"),
    7: ("dq/mA.h", "<f8"),
    8: ("I/mA", "<f4"),
    # Ece/V: only in wait.mpr, which has no rows, so its float32 size is by analogy with Ewe/V
    # (6) and <Ece>/V (441, 471); the name is certain from wait.mpt.
    9: ("Ece/V", "<f4"),
    13: ("(Q-Qo)/mA.h", "<f8"),
    19: ("control/V", "<f4"),
    20: ("control/mA", "<f4"),
    24: ("cycle number", "<f8"),
    32: ("freq/Hz", "<f4"),
    33: ("|Ewe|/V", "<f4"),
    34: ("|I|/A", "<f4"),
    35: ("Phase(Z)/deg", "<f4"),
    36: ("|Z|/Ohm", "<f4"),
    37: ("Re(Z)/Ohm", "<f4"),
    38: ("-Im(Z)/Ohm", "<f4"),
    39: ("I Range", "<u2"),
    70: ("P/W", "<f4"),
    76: ("<I>/mA", "<f4"),
    77: ("<Ewe>/V", "<f4"),
    96: ("|Ece|/V", "<f4"),
    98: ("Phase(Zce)/deg", "<f4"),
    99: ("|Zce|/Ohm", "<f4"),
    100: ("Re(Zce)/Ohm", "<f4"),
    101: ("-Im(Zce)/Ohm", "<f4"),
    123: ("Energy charge/W.h", "<f8"),
    124: ("Energy discharge/W.h", "<f8"),
    125: ("Capacitance charge/µF", "<f8"),
    126: ("Capacitance discharge/µF", "<f8"),
    131: ("Ns", "<u2"),
    169: ("Cs/µF", "<f4"),
    172: ("Cp/µF", "<f4"),
    174: ("<Ewe>/V", "<f4"),
    430: ("Phase(Zwe-ce)/deg", "<f4"),
    431: ("|Zwe-ce|/Ohm", "<f4"),
    432: ("Re(Zwe-ce)/Ohm", "<f4"),
    433: ("-Im(Zwe-ce)/Ohm", "<f4"),
    434: ("(Q-Qo)/C", "<f4"),
    435: ("dQ/C", "<f4"),
    441: ("<Ece>/V", "<f4"),
    467: ("Q charge/discharge/mA.h", "<f8"),
    468: ("half cycle", "<u4"),
    471: ("<Ece>/V", "<f4"),
    # --- documented by the public readers (see the module docstring) -------------------------
    11: ("<I>/mA", "<f8"),
    16: ("Analog IN 1/V", "<f4"),
    17: ("Analog IN 2/V", "<f4"),
    23: ("dQ/mA.h", "<f8"),
    69: ("R/Ohm", "<f4"),
    74: ("|Energy|/W.h", "<f8"),
    75: ("Analog OUT/V", "<f4"),
    78: ("Cs-2/µF-2", "<f4"),
    163: ("|Estack|/V", "<f4"),
    168: ("Rcmp/Ohm", "<f4"),
    173: ("Cp-2/µF-2", "<f4"),
    178: ("(Q-Qo)/C", "<f4"),
    179: ("dQ/C", "<f4"),
    182: ("step time/s", "<f8"),
    211: ("Q charge/discharge/C", "<f8"),
    217: ("THD Ewe/%", "<f4"),
    241: ("|E1|/V", "<f4"),
    242: ("|E2|/V", "<f4"),
    271: ("Phase(Z1)/deg", "<f4"),
    272: ("Phase(Z2)/deg", "<f4"),
    295: ("I Range", "<u2"),
    301: ("|Z1|/Ohm", "<f4"),
    302: ("|Z2|/Ohm", "<f4"),
    326: ("P/W", "<f4"),
    331: ("Re(Z1)/Ohm", "<f4"),
    332: ("Re(Z2)/Ohm", "<f4"),
    361: ("-Im(Z1)/Ohm", "<f4"),
    362: ("-Im(Z2)/Ohm", "<f4"),
    379: ("Energy charge/W.h", "<f8"),
    391: ("<E1>/V", "<f4"),
    392: ("<E2>/V", "<f4"),
    422: ("Phase(Zstack)/deg", "<f4"),
    423: ("|Zstack|/Ohm", "<f4"),
    424: ("Re(Zstack)/Ohm", "<f4"),
    425: ("-Im(Zstack)/Ohm", "<f4"),
    426: ("<Estack>/V", "<f4"),
    462: ("Temperature/°C", "<f4"),
    469: ("z cycle", "<u4"),
    473: ("THD Ewe/%", "<f4"),
    474: ("THD I/%", "<f4"),
    475: ("THD Ece/%", "<f4"),
    476: ("NSD Ewe/%", "<f4"),
    477: ("NSD I/%", "<f4"),
    478: ("NSD Ece/%", "<f4"),
    479: ("NSR Ewe/%", "<f4"),
    480: ("NSR I/%", "<f4"),
    481: ("NSR Ece/%", "<f4"),
    **{486 + k: (f"|Ewe h{k + 2}|/V", "<f4") for k in range(6)},
    **{492 + k: (f"|I h{k + 2}|/A", "<f4") for k in range(6)},
    **{498 + k: (f"|Ece h{k + 2}|/V", "<f4") for k in range(6)},
}

# Flag ids share one byte per record, placed where the first flag id appears: id → (name, mask)
MPR_FLAGS: Final[dict[int, tuple[str, int]]] = {
    1: ("mode", 0x03),
    2: ("ox/red", 0x04),
    3: ("error", 0x08),
    21: ("control changes", 0x10),
    31: ("Ns changes", 0x20),
    65: ("counter inc.", 0x80),
}

# EC-Lab column name → canonical column. Instantaneous values win over averages when a file has
# both (priority 0 before 1).
ECLAB_CANONICAL: Final[dict[str, Planned]] = {
    "time/s": Planned("time_s", 1.0, "s"),
    "Ewe/V": Planned("voltage_V", 1.0, "V"),
    "<Ewe>/V": Planned("voltage_V", 1.0, "V", priority=1),
    "Ece/V": Planned("counter_voltage_V", 1.0, "V"),
    "<Ece>/V": Planned("counter_voltage_V", 1.0, "V", priority=1),
    "I/mA": Planned("current_mA", 1.0, "mA"),
    "<I>/mA": Planned("current_mA", 1.0, "mA", priority=1),
    "(Q-Qo)/mA.h": Planned("charge_mAh", 1.0, "mA.h"),
    "(Q-Qo)/C": Planned("charge_mAh", 1.0 / 3.6, "C", priority=1),
    "P/W": Planned("power_W", 1.0, "W"),
    "Temperature/°C": Planned("temperature_C", 1.0, "°C"),
    "cycle number": Planned("cycle", 1.0, None),
    "half cycle": Planned("half_cycle", 1.0, None),
    "Ns": Planned("step", 1.0, None),
    "freq/Hz": Planned("freq_Hz", 1.0, "Hz"),
    "Re(Z)/Ohm": Planned("z_real_ohm", 1.0, "Ohm"),
    # EC-Lab stores -Im(Z); the canonical column is Im(Z) itself.
    "-Im(Z)/Ohm": Planned("z_imag_ohm", -1.0, "Ohm"),
    "|Z|/Ohm": Planned("z_mod_ohm", 1.0, "Ohm"),
    "Phase(Z)/deg": Planned("phase_deg", 1.0, "deg"),
}

# EC-Lab's long technique names (line 4 of a .mpt) and the technique byte of a .mpr settings
# module, both as met in the real files.
TECHNIQUE_NAMES: Final[dict[str, str]] = {
    "Potentio Electrochemical Impedance Spectroscopy": "PEIS",
    "Galvano Electrochemical Impedance Spectroscopy": "GEIS",
    "Galvanostatic Cycling with Potential Limitation": "GCPL",
    "Chronoamperometry / Chronocoulometry": "CA",
    "Chronopotentiometry": "CP",
    "Open Circuit Voltage": "OCV",
    "Wait": "WAIT",
    "Modulo Bat": "MB",
    "Cyclic Voltammetry": "CV",
    "Cyclic Voltammetry Advanced": "CVA",
    "Linear Sweep Voltammetry": "LSV",
    "IR compensation (PEIS)": "ZIR",
    "Constant Voltage": "coV",
    "Constant Current": "coC",
    "Modular Pulse": "MP",
}
# The first seven as met in the real files; the others as the public readers document them
# (yadg's ``technique_params_dtypes``). CPLIMIT (chronopotentiometry with limits) is an EC-Lab
# technique (Bio-Logic's development package ships ``cplimit.ecc``), but no public reader gives
# its technique byte or .mpt long name: such a file reads with "unknown (id N)" or its long name.
TECHNIQUE_IDS: Final[dict[int, str]] = {
    0x04: "GCPL",
    0x0B: "OCV",
    0x18: "CA",
    0x19: "CP",
    0x1C: "WAIT",
    0x1D: "PEIS",
    0x1E: "GEIS",
    0x06: "CV",
    0x16: "MP",
    0x30: "CV",
    0x32: "ZIR",
    0x33: "CVA",
    0x6C: "LSV",
    0x75: "coV",
    0x76: "coC",
    0x77: "GCPL",
    0x7F: "MB",
}
