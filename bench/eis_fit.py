"""Benchmark: analysis.science.eis.fit against impedance.py on the same spectra.

impedance.py is a bench-only dependency (never a runtime one). From the project root:

    python -m venv .venv-bench
    .venv-bench/bin/pip install -r requirements.txt -r bench/requirements-eis.txt
    .venv-bench/bin/python bench/eis_fit.py

Spectra: the real files in ../shared/data (eis/exampleData.csv, eis/exampleDataBioLogic.mpt,
eclab/peis.mpt, eclab/geis.mpt sweep 1 up to 30 kHz) and synthetic LLZO-like ones. impedance.py
cannot start without an initial guess, so it gets a reasonable hand guess for each spectrum
(read off the Nyquist plot: intercepts, arc spans, apex frequencies via w R C = 1; for the
synthetic ones every value off the truth by +50 %, exponents by -5 %). Our fit runs WITHOUT a
guess. A second table gives the distribution of relaxation times of each spectrum (eis.drt): its
peaks, the regularisation GCV chose, the time with GCV and with the L-curve, and the circuit
eis.suggest_circuit proposes from it. The residual is the same for both: sqrt(mean(|Z_fit - Z|^2 / |Z|^2)), from each
library's own model spectrum. BLAS runs single-threaded (see below). impedance.py runs twice: its default (unweighted) objective and
with weight_by_modulus=True, which is the objective ours minimises. Time: best of 3 runs.
"""

from __future__ import annotations

import math
import os
import sys
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

# Single-threaded BLAS for both libraries: the matrices are small (at most a few hundred by a
# hundred) and on this shared 2-core machine OpenBLAS threads spend their time waiting for each
# other (a 100 x 100 solve takes 60 ms with two threads under load, 1 ms with one). Set before
# numpy is imported; an explicit OPENBLAS_NUM_THREADS wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis.science import eis  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def load_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    data = np.loadtxt(path, delimiter=",")
    return data[:, 0], data[:, 1] + 1j * data[:, 2]


def load_mpt(path: Path, cycle: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    lines = path.read_text(encoding="latin-1").splitlines()
    n_header = int(lines[1].split(":")[1])
    columns = {name: k for k, name in enumerate(lines[n_header - 1].split("\t"))}
    keys = ("freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm", "cycle number")
    rows = np.array(
        [
            [float(line.split("\t")[columns[k]]) for k in keys]
            for line in lines[n_header:]
            if line.strip()
        ]
    )
    rows = rows[rows[:, 0] > 0]
    if cycle is not None:
        rows = rows[rows[:, 3] == cycle]
    return rows[:, 0], rows[:, 1] - 1j * rows[:, 2]


def arc(r_ohm: float, f_c_Hz: float, n: float) -> list[float]:
    tau = 1.0 / (2 * math.pi * f_c_Hz)
    return [r_ohm, tau**n / r_ohm, n]


def synthetic(
    name: str, circuit: str, truth: list[float], f: np.ndarray, noise: float, seed: int
) -> tuple[str, np.ndarray, np.ndarray, str, list[float]]:
    z = eis.parse_circuit(circuit).impedance(f, truth)
    rng = np.random.default_rng(seed)
    z = z * (1 + noise * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)))
    exponents = eis.parse_circuit(circuit).is_exponent
    guess = [v * (0.95 if is_n else 1.5) for v, is_n in zip(truth, exponents, strict=True)]
    return name, f, z, circuit, guess


def cases() -> list[tuple[str, np.ndarray, np.ndarray, str, list[float]]]:
    out = []
    f, z = load_csv(DATA / "eis" / "exampleData.csv")
    out.append(
        ("exampleData.csv", f, z, "R0-p(R1,C1)-p(R2-Wo1,C2)", [0.01, 0.01, 100, 0.01, 0.05, 100, 1])
    )
    out.append(
        (
            "exampleData.csv",
            f,
            z,
            "L0-R0-p(R1,CPE1)-p(R2,CPE2)",
            [1e-7, 0.015, 0.02, 5.0, 0.5, 0.1, 500.0, 0.7],
        )
    )
    f, z = load_mpt(DATA / "eis" / "exampleDataBioLogic.mpt")
    out.append(("exampleDataBioLogic.mpt", f, z, "R0-p(R1,CPE1)", [63.0, 45.0, 1e-2, 0.9]))
    f, z = load_mpt(DATA / "eclab" / "peis.mpt")
    out.append(("peis.mpt", f, z, "R0-p(R1,CPE1)", [10.0, 5.0, 1e-3, 0.9]))
    f, z = load_mpt(DATA / "eclab" / "geis.mpt", cycle=1)
    window = f <= 3e4
    out.append(
        (
            "geis.mpt (sweep 1, <=30 kHz)",
            f[window],
            z[window],
            "R0-p(R1,CPE1)-p(R2,CPE2)",
            [8.0, 130.0, 4e-6, 0.9, 20.0, 1e-2, 0.6],
        )
    )
    three = "R0-p(R1,CPE1)-p(R2,CPE2)-p(R3,CPE3)"
    truth3 = [5.0, *arc(500, 1e6, 0.95), *arc(300, 1e4, 0.85), *arc(800, 5, 0.8)]
    out.append(
        synthetic(
            "synthetic LLZO 3 arcs, 1 % noise", three, truth3, np.logspace(7, -1, 81), 0.01, 1
        )
    )
    two = "R0-p(R1,CPE1)-p(R2,CPE2)"
    truth2 = [10.0, *arc(200, 5e4, 0.9), *arc(1500, 2, 0.75)]
    out.append(synthetic("synthetic 2 arcs, no noise", two, truth2, np.logspace(6, -2, 57), 0.0, 2))
    truth_hidden = [20.0, *arc(400, 1e7, 0.95), *arc(1000, 100, 0.85)]
    out.append(
        synthetic(
            "synthetic, arc above window, 0.2 %",
            two,
            truth_hidden,
            np.logspace(5, -1, 61),
            0.002,
            3,
        )
    )
    return out


def relative_rms(z_fit: np.ndarray, z: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.abs(z_fit - z) ** 2 / np.abs(z) ** 2)))


def best_time(run: Callable[[], Any], repeats: int = 3) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    assert result is not None
    return min(times), result


def fit_ours(f: np.ndarray, z: np.ndarray, circuit: str) -> np.ndarray:
    return eis.fit(f, z, circuit).z_fit_ohm


def fit_theirs(
    custom_circuit: Any,
    f: np.ndarray,
    z: np.ndarray,
    circuit: str,
    guess: list[float],
    weighted: bool,
) -> np.ndarray:
    model = custom_circuit(circuit, initial_guess=list(guess))
    model.fit(f, z, weight_by_modulus=weighted)
    return np.asarray(model.predict(f))


def main() -> None:
    from impedance.models.circuits import CustomCircuit

    warnings.filterwarnings("ignore")
    header = "| spectrum | circuit | ours, no guess: residual | time | impedance.py (guess): residual | time | impedance.py, modulus-weighted: residual | time |"
    print(header)
    print("|" + "---|" * 8)
    for name, f, z, circuit, guess in cases():
        ours = partial(fit_ours, f, z, circuit)
        t_ours, z_ours = best_time(ours)
        order = np.argsort(-f, kind="stable")  # our result is sorted by decreasing frequency
        cells = [f"{relative_rms(z_ours, z[order]):.4%}", f"{t_ours * 1e3:.0f} ms"]
        for weighted in (False, True):
            try:
                t_theirs, z_theirs = best_time(
                    partial(fit_theirs, CustomCircuit, f, z, circuit, guess, weighted)
                )
                cells += [f"{relative_rms(z_theirs, z):.4%}", f"{t_theirs * 1e3:.0f} ms"]
            except Exception as exc:  # impedance.py gives up on some spectra
                cells += [f"failed ({type(exc).__name__})", "-"]
        print(f"| {name} | `{circuit}` | " + " | ".join(cells) + " |")
    print()
    print(
        "| spectrum | points | DRT peaks (GCV) | lambda | time (GCV) | time (L-curve) | suggested circuit |"
    )
    print("|" + "---|" * 7)
    seen = set()
    for name, f, z, _, _ in cases():
        if name in seen:  # one spectrum fitted with two circuits above
            continue
        seen.add(name)
        t_gcv, gcv = best_time(partial(eis.drt, f, z))
        t_lcurve, _ = best_time(partial(eis.drt, f, z, regularisation="lcurve"))
        print(
            f"| {name} | {f.size} | {len(gcv.peaks_tau_s)} | {gcv.regularisation:.1e} | "
            f"{t_gcv * 1e3:.0f} ms | {t_lcurve * 1e3:.0f} ms | `{eis.suggest_circuit(f, z)}` |"
        )


if __name__ == "__main__":
    main()
