"""Benchmark analysis.readers against galvani, yadg and impedance.py on every real file and a
large .mpt. galvani and yadg read EC-Lab files; impedance.py (``impedance.preprocessing``)
reads the impedance exports of every vendor, so it is run on each file that holds a spectrum.

Run with ``bin/bench readers [--repeat 20] [--rounds 5] [--rows 1000000]``: galvani, yadg and
impedance.py are bench-only and pin their own numpy/pandas ranges (yadg needs pandas < 3), so
they get their own venv, .venv-bench-readers, where our reader runs too. Without them,
``.venv/bin/python bench/readers.py`` times our reader alone.

Wall time: for each file, every reader runs ``--repeat`` times in a row, in ``--rounds`` rounds
that take the readers in turn (so a burst of load from other processes does not fall on one
reader only); the best run counts. Shown per reader: that time, MB/s, rows/s, and whether the
other reader's values agree with ours (every column both name, float32 tolerance). A reader that
refuses a file is shown as "fails" with the first line of its error. Our reader is shown twice:
``ours`` is ``read()`` (file parsed and checked, canonical columns converted to numpy arrays;
the DataFrames are built on first use), ``ours + frames`` also builds ``data`` and ``extra``.

``--instructions``: on a loaded machine wall times of a fraction of a millisecond move by tens
of per cent; instruction counts do not. Runs ours, ours + frames and galvani on every .mpr
under valgrind's callgrind, one process per reader, and prints the instructions per read: the
count of ``--repeat`` reads of a file after two warm-up reads, divided by ``--repeat``
(callgrind dumps its counters at a marker call before and after them). Needs valgrind.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis import readers  # noqa: E402

DATA = ROOT.parent / "shared" / "data"

# Our source column name → the names galvani and yadg give the same quantity.
ALIASES = {
    "time/s": ["time/s", "time"],
    "Ewe/V": ["Ewe/V", "Ewe", "<Ewe>/V", "<Ewe>"],
    "<Ewe>/V": ["<Ewe>/V", "<Ewe>", "Ewe/V", "Ewe"],
    "I/mA": ["I/mA", "I"],
    "<I>/mA": ["<I>/mA", "<I>", "I/mA"],
    "freq/Hz": ["freq/Hz", "freq"],
    "Re(Z)/Ohm": ["Re(Z)/Ohm", "Re(Z)"],
    "-Im(Z)/Ohm": ["-Im(Z)/Ohm", "-Im(Z)"],
}


def mapping_for(path: Path) -> str | None:
    """The headerless impedance CSV needs the template its user would name."""
    return "eis3" if path.suffix == ".csv" and readers.detect_format(path) == "text" else None


def ours(path: Path) -> readers.Dataset:
    return readers.read(path, mapping=mapping_for(path))


def columns_of(ds: readers.Dataset) -> tuple[int, dict[str, np.ndarray]]:
    """Rows, and every column under its source name and, when mapped, its canonical name."""
    cols: dict[str, np.ndarray] = {c: ds.data[c].to_numpy() for c in ds.data.columns}
    for rec in ds.meta["columns"]:
        src = rec["source"]
        if rec["canonical"]:
            cols[src] = ds.data[rec["canonical"]].to_numpy() / rec["factor"]
        else:
            cols[src] = ds.extra[src].to_numpy()
    return len(ds.data), cols


def galvani_reader() -> Callable[[Path], tuple[int, dict[str, np.ndarray]]] | None:
    try:
        from galvani import BioLogic
    except ImportError:
        return None

    def read(path: Path) -> tuple[int, dict[str, np.ndarray]]:
        if path.suffix == ".mpr":
            arr = BioLogic.MPRfile(str(path)).data
        elif path.suffix == ".mpt":
            arr, _ = BioLogic.MPTfile(str(path), encoding="latin1")
        else:
            raise ValueError("not an EC-Lab file")
        return len(arr), {n: np.asarray(arr[n]) for n in arr.dtype.names or ()}

    return read


def yadg_reader() -> Callable[[Path], tuple[int, dict[str, np.ndarray]]] | None:
    try:
        from yadg import extractors
    except ImportError:
        return None
    logging.getLogger("yadg").setLevel(logging.ERROR)

    def read(path: Path) -> tuple[int, dict[str, np.ndarray]]:
        kind = {".mpr": "eclab.mpr", ".mpt": "eclab.mpt"}.get(path.suffix)
        if kind is None:
            raise ValueError("not an EC-Lab file")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree: Any = extractors.extract(filetype=kind, path=str(path))
        ds = tree.to_dataset() if hasattr(tree, "to_dataset") else tree
        n = int(ds.sizes.get("uts", 0))
        return n, {str(k): np.asarray(v.values) for k, v in ds.data_vars.items()}

    return read


# Our format → impedance.py's instrument name (None: its plain three-column CSV reader).
IMPEDANCE_INSTRUMENTS = {
    "gamry-dta": "gamry",
    "zplot": "zplot",
    "z60w": "autolab",
    "chi": "chinstruments",
    "versastudio": "versastudio",
    "eclab-mpt": "biologic",
    "text": None,
}


def impedance_reader() -> Callable[[Path], tuple[int, dict[str, np.ndarray]]] | None:
    try:
        from impedance import preprocessing
    except ImportError:
        return None

    def read(path: Path) -> tuple[int, dict[str, np.ndarray]]:
        fmt = readers.detect_format(path)
        if fmt not in IMPEDANCE_INSTRUMENTS:
            raise ValueError(f"impedance.py reads no {fmt} files")
        freq, z = preprocessing.readFile(str(path), instrument=IMPEDANCE_INSTRUMENTS[fmt])
        freq = np.asarray(freq, dtype=float)
        z = np.asarray(z, dtype=complex)
        return len(freq), {"freq_Hz": freq, "z_real_ohm": z.real, "z_imag_ohm": z.imag}

    return read


def agree(mine: dict[str, np.ndarray], theirs: dict[str, np.ndarray]) -> str:
    checked = 0
    for src, values in mine.items():
        for alias in ALIASES.get(src, [src]):
            other = theirs.get(alias)
            if other is None or other.shape != values.shape or other.dtype.kind not in "fiu":
                continue
            if not np.allclose(values.astype(float), other.astype(float), rtol=2e-7, atol=1e-12):
                return f"DIFFERS in {src}"
            checked += 1
            break
    return f"agrees ({checked} cols)" if checked else "no shared column"


ROUND_BUDGET_S = 0.5


def ours_with_frames(path: Path) -> readers.Dataset:
    ds = ours(path)
    _ = ds.data, ds.extra
    return ds


def timed(
    fns: dict[str, Callable[[Path], Any]], path: Path, repeat: int, rounds: int
) -> dict[str, tuple[float, Any] | Exception]:
    """Best wall time and result of each reader, or the exception it raised on its first run.

    Each round runs every reader ``repeat`` times in a row (fewer once a round has taken
    ROUND_BUDGET_S), readers in turn; the result of each run is held until the next one
    returns, as a caller would hold it.
    """
    out: dict[str, tuple[float, Any] | Exception] = {}
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        for _ in range(rounds):
            for name, fn in fns.items():
                previous = out.get(name)
                if isinstance(previous, Exception):
                    continue
                best, result = previous if previous is not None else (float("inf"), None)
                try:
                    spent = 0.0
                    for _ in range(repeat):
                        t0 = time.perf_counter()
                        result = fn(path)
                        took = time.perf_counter() - t0
                        best = min(best, took)
                        spent += took
                        if spent > ROUND_BUDGET_S:  # a slow reader: fewer runs, same rounds
                            break
                except Exception as exc:
                    out[name] = exc
                    continue
                out[name] = (best, result)
                sink.seek(0)
                sink.truncate()
    return out


def child(reader: str, paths: list[Path], reads: int) -> None:
    """The process callgrind counts. Per file: two warm-up reads, then ``reads`` reads between
    two calls of ``os.getppid``, at each of which callgrind dumps and zeroes its counters
    (``--dump-before``), with the garbage collector off so that no collection falls into one
    file's count by chance."""
    fn: Callable[[Path], Any] | None = {"ours": ours, "ours + frames": ours_with_frames}.get(reader)
    if fn is None:
        fn = galvani_reader()
        assert fn is not None, "galvani is not installed"
    for path in paths:
        fn(path)
        fn(path)
        gc.collect()
        gc.disable()
        os.getppid()  # marker: dump, counters to zero
        for _ in range(reads):
            fn(path)
        os.getppid()  # marker: this dump holds the reads of ``path``
        gc.enable()


def instructions(files: list[Path], repeat: int) -> None:
    """Instructions per read of each file, by ours, ours + frames and galvani."""
    if shutil.which("valgrind") is None:
        sys.exit("--instructions needs valgrind (apt-get install valgrind)")
    readers_ = ["ours", "ours + frames"] + (["galvani"] if galvani_reader() else [])
    counts: dict[str, list[int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for reader in readers_:
            out = Path(tmp) / reader.replace(" ", "").replace("+", "_")
            cmd = ["valgrind", "--tool=callgrind", "--dump-before=os_getppid*"]
            cmd += [f"--callgrind-out-file={out}.%p", sys.executable, __file__, "--child", reader]
            cmd += [str(repeat), *map(str, files)]
            subprocess.run(cmd, capture_output=True, text=True, check=True)
            dumps = sorted(
                Path(tmp).glob(f"{out.name}.*.*"), key=lambda d: int(d.name.rsplit(".", 1)[1])
            )
            totals = []
            for dump in dumps:
                match = re.search(r"^totals: (\d+)", dump.read_text(), re.MULTILINE)
                assert match, dump
                totals.append(int(match.group(1)))
            # Dumps 2, 4, 6, ... (1-based) end a file's measured reads.
            counts[reader] = [totals[2 * k + 1] // repeat for k in range(len(files))]
    print("| file | rows | " + " | ".join(f"{r} (instructions/read)" for r in readers_) + " |")
    print("|---|---:|" + "---:|" * len(readers_))
    for k, path in enumerate(files):
        per = " | ".join(f"{counts[r][k]:,}" for r in readers_)
        print(f"| {path.name} | {ours(path).rows} | {per} |")


def synthetic_mpt(directory: Path, rows: int) -> Path:
    """A GCPL-like .mpt with ``rows`` rows in EC-Lab's number formats."""
    path = directory / f"synthetic_{rows}.mpt"
    rng = np.random.default_rng(0)
    t = np.arange(rows) * 1.0
    ewe = 3.7 + 0.1 * np.sin(t / 500) + rng.normal(0, 1e-4, rows)
    cur = np.where((t // 3600) % 2 == 0, 0.5, -0.5)
    cyc = (t // 7200).astype(int)
    names = ["mode", "time/s", "Ewe/V", "I/mA", "cycle number"]

    def e3(x: np.ndarray, digits: int) -> list[str]:
        # EC-Lab writes three exponent digits (1.0E+003); Python's %E writes two.
        return [v[:-2] + "0" + v[-2:] for v in np.char.mod(f"%.{digits}E", x).tolist()]

    with path.open("w", encoding="latin-1", newline="") as fh:
        fh.write(
            "EC-Lab ASCII FILE\r\nNb header lines : 5\r\n\r\nGalvanostatic Cycling with "
            "Potential Limitation\r\n"
        )
        fh.write("\t".join(names) + "\t")
        chunk = 100_000
        for a in range(0, rows, chunk):
            b = min(rows, a + chunk)
            cols = [e3(t[a:b], 15), e3(ewe[a:b], 7), e3(cur[a:b], 7), e3(cyc[a:b] * 1.0, 15)]
            lines = ["\r\n1\t" + "\t".join(vals) for vals in zip(*cols, strict=True)]
            fh.write("".join(lines))
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000, help="synthetic .mpt rows (0: none)")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--instructions", action="store_true", help="callgrind counts on .mpr files")
    ap.add_argument("--child", nargs="+", metavar="READER READS PATH", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], [Path(p) for p in args.child[2:]], int(args.child[1]))
        return 0
    if args.instructions:
        instructions(sorted(DATA.rglob("*.mpr")), args.repeat)
        return 0
    others = {
        "galvani": galvani_reader(),
        "yadg": yadg_reader(),
        "impedance.py": impedance_reader(),
    }
    for name, fn in others.items():
        if fn is None:
            print(f"# {name} not installed: timing our reader only for it", file=sys.stderr)
    suffixes = {".mpr", ".mpt", ".csv", ".DTA", ".z", ".txt", ".par"}
    files = sorted(p for p in DATA.rglob("*") if p.suffix in suffixes)
    with tempfile.TemporaryDirectory() as tmp:
        if args.rows:
            t0 = time.perf_counter()
            files.append(synthetic_mpt(Path(tmp), args.rows))
            print(
                f"# wrote {args.rows:,}-row synthetic .mpt in {time.perf_counter() - t0:.1f} s",
                file=sys.stderr,
            )
        header = "| file | MB | rows | reader | time (ms) | MB/s | Mrows/s | vs ours |"
        print(header)
        print("|" + "---|" * 8)
        for path in files:
            size_mb = path.stat().st_size / 1e6
            big = size_mb > 20
            fns: dict[str, Callable[[Path], Any]] = {
                "ours": ours,
                "ours + frames": ours_with_frames,
            }
            eclab = path.suffix in {".mpr", ".mpt"}
            spectrum = path.suffix != ".mpr" and "freq_Hz" in ours(path).columns
            for name, fn in others.items():
                if fn is None or (name == "impedance.py" and not spectrum):
                    continue
                if name != "impedance.py" and not eclab:
                    continue
                fns[name] = fn
            results = timed(fns, path, 1 if big else args.repeat, 1 if big else args.rounds)
            mine_result = results["ours"]
            if isinstance(mine_result, Exception):
                print(f"| {path.name} | {size_mb:.2f} | - | ours | fails: {mine_result} |||||")
                continue
            n, mine = columns_of(mine_result[1])
            for name, result in results.items():
                if isinstance(result, Exception):
                    text = str(result).splitlines()[0][:60] if str(result) else ""
                    kind = type(result).__name__
                    print(f"| {path.name} | | | {name} | fails: {kind}: {text} ||||")
                    continue
                sec, value = result
                if name.startswith("ours"):
                    m, verdict = n, "-"
                    label = f"**{name}**" if name == "ours" else name
                else:
                    m, theirs = value
                    verdict = agree(mine, theirs) if m == n else f"{m} rows vs {n}"
                    label = name
                mb = f"{size_mb:.2f}" if name == "ours" else ""
                print(
                    f"| {path.name} | {mb} | {m} | {label} | {sec * 1e3:.3f} | "
                    f"{size_mb / sec:.0f} | {m / sec / 1e6:.2f} | {verdict} |",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
