"""Analysis throughput: upload spectra and CCD files through the API, analyse them on workers.

For each worker count (by default one, then two): upload 1,000 impedance spectra and 100 CCD
files to ``POST /api/measurements/`` (multipart ``upload``, token auth, as an instrument script
does; each upload queues its run on commit), then start that many ``manage.py db_worker``
processes on the database task backend and wait until every run is done or failed. Prints, per
worker count: runs per second (first start to last finish), the mean time of each step of a run
from ``AnalysisRun.timings_s`` (read, analyse, store) and of the worker's own overhead per run
(claiming the task and the run, recovery check, bookkeeping: wall time x workers / runs minus the
three steps), the queue wait (``started_at - queued_at``: here the backlog, as the whole queue is
filled before the workers start), the fit share (time in ``analyse`` over the workers' busy
time) and the peak resident memory (``VmHWM``) of a worker process. Every 0.1 s it samples the
CPU time of the workers and of the whole machine (the rest is mostly the database server's;
the workers' start-up before the first run is left out) and, on PostgreSQL, whether a
transaction is waiting for the history's append lock, the one serial step of a run. Rounds of
one worker count are summarised by their median; at the end the same fit loop runs in one
process and in two at once, with no database: what two busy cores give this machine at best.

The files: copies of the real EC-Lab spectra in ``../shared/data/`` (exampleDataBioLogic.mpt,
geis.mpt) with every impedance column scaled by a different factor, so each copy is a
distinct file; synthetic two-arc spectra made with ``analysis.science.eis`` (0.5 % noise); and
synthetic stepped stripping/plating CCD tests (``time/s, Ewe/V, I/mA`` CSV), half of them with a
failure planted. Everything is written to a temporary folder (with the bench's media files),
never into the project. The second round uploads the same files again as new measurements
(stored files are kept once by SHA-256).

Usage (from the repository root)::

    bin/bench ingest                                   # SQLite file var/bench/ingest_bench.sqlite3
    bin/bench ingest --database-url postgres://postgres@127.0.0.1:5432/lims_bench_ingest
    bin/bench ingest --spectra 100 --ccd 10 --workers 1,2,1,2   # medians of two rounds each

The database is emptied first; its name must contain "bench".
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.trace import database_url, django_start, empty_database, versions  # noqa: E402

DEFAULT_SQLITE = ROOT / "var" / "bench" / "ingest_bench.sqlite3"
LOGS = ROOT / "var" / "bench"
SHARED_DATA = ROOT.parent / "shared" / "data"
# Not peis.mpt: scaled copies of it make the fit fail (ZeroDivisionError in
# analysis.science.eis._arcs_and_combinations, a collapsed arc with tau = 0).
REAL_SPECTRA = ("eis/exampleDataBioLogic.mpt", "eclab/geis.mpt")
SYNTHETIC_CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)"
WORKER_COMMAND = [
    "manage.py",
    "db_worker",
    "--no-reload",
    "--no-startup-delay",
    "--interval",
    "0.2",
]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="", help="bench database (default: SQLite)")
    parser.add_argument("--spectra", type=int, default=1000, help="impedance spectra (1000)")
    parser.add_argument("--ccd", type=int, default=100, help="CCD files (100)")
    parser.add_argument("--workers", default="1,2", help="worker counts, in turn (1,2)")
    parser.add_argument("--cells", type=int, default=20, help="cells measured, in turn (20)")
    parser.add_argument(
        "--fit-loop",
        type=float,
        default=0,
        help=argparse.SUPPRESS,  # internal: fit one spectrum for this many seconds, print count
    )
    args = parser.parse_args(argv)
    args.database_url = args.database_url or f"sqlite:///{DEFAULT_SQLITE}"
    args.worker_counts = [int(n) for n in args.workers.split(",")]
    if args.spectra < 2 or args.ccd < 0 or args.cells < 1 or min(args.worker_counts) < 1:
        parser.error("need --spectra >= 2, --ccd >= 0, --cells >= 1 and worker counts >= 1")
    return args


# ---------------------------------------------------------------------------------------------
# Files


def scaled_mpt(source: Path, factor: float) -> bytes:
    """The EC-Lab text export with every impedance column (Re(Z), -Im(Z), |Z|) times factor."""
    lines = source.read_bytes().decode("latin-1").splitlines(keepends=True)
    n_header = int(lines[1].split(":")[1])
    columns = lines[n_header - 1].rstrip("\r\n").split("\t")
    scaled = [i for i, name in enumerate(columns) if "(Z)/" in name or "|Z|/" in name]
    out = lines[:n_header]
    for line in lines[n_header:]:
        ending = line[len(line.rstrip("\r\n")) :]
        values = line.rstrip("\r\n").split("\t")
        for i in scaled:
            values[i] = f"{float(values[i].replace(',', '.')) * factor:.7E}"
        out.append("\t".join(values) + (ending or "\n"))
    return "".join(out).encode("latin-1")


def synthetic_spectrum(rng: random.Random) -> bytes:
    """A two-arc spectrum (bulk/grain boundary-like, then interface-like), 0.5 % noise."""
    import numpy as np

    from analysis.science import eis

    circuit = eis.parse_circuit(SYNTHETIC_CIRCUIT)
    truth = {
        "R0": rng.uniform(5, 50),
        "R1": rng.uniform(100, 2000),
        "CPE1_Q": 10 ** rng.uniform(-10, -8.5),
        "CPE1_n": rng.uniform(0.85, 0.95),
        "R2": rng.uniform(100, 5000),
        "CPE2_Q": 10 ** rng.uniform(-6.5, -5),
        "CPE2_n": rng.uniform(0.7, 0.9),
    }
    freq = np.logspace(6, -1, 61)
    z = circuit.impedance(freq, [truth[name] for name in circuit.parameter_names])
    noise = np.random.default_rng(rng.randrange(2**32)).normal(0, 0.005, (2, freq.size))
    rows = ["freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm"] + [
        f"{f:.6E},{zr:.6E},{-zi:.6E}"
        for f, zr, zi in zip(freq, z.real * (1 + noise[0]), z.imag * (1 + noise[1]), strict=True)
    ]
    return ("\n".join(rows) + "\n").encode()


def synthetic_ccd(rng: random.Random, area_cm2: float) -> bytes:
    """Stepped stripping/plating, 40 steps 0.05-5 mA/cm², 4,800 rows; half fail somewhere."""
    from tests.analysis.science.synthetic import ccd_test

    fails = rng.random() < 0.5
    t, i, v = ccd_test(
        n_steps=40,
        points_per_half=60,
        fail_step=rng.randrange(10, 40) if fails else None,
        failure=rng.choice(["cutoff", "voltage_drop"]),
    )
    rows = ["time/s,Ewe/V,I/mA"] + [
        f"{a:.3f},{b:.6f},{c:.6f}" for a, b, c in zip(t, v, i * area_cm2, strict=True)
    ]
    return ("\n".join(rows) + "\n").encode()


def write_files(folder: Path, *, spectra: int, ccd: int, area_cm2: float) -> list[tuple[str, Path]]:
    """(measurement type, path) of every file to upload: half the spectra real, half synthetic."""
    rng = random.Random(20261124)
    folder.mkdir(parents=True)
    files: list[tuple[str, Path]] = []
    for n in range(spectra):
        if n % 2 == 0:
            source = SHARED_DATA / REAL_SPECTRA[(n // 2) % len(REAL_SPECTRA)]
            path = folder / f"{source.stem}-{n:04d}.mpt"
            path.write_bytes(scaled_mpt(source, 0.5 + n / spectra))
        else:
            path = folder / f"synthetic-eis-{n:04d}.csv"
            path.write_bytes(synthetic_spectrum(rng))
        files.append(("eis", path))
    for n in range(ccd):
        path = folder / f"synthetic-ccd-{n:04d}.csv"
        path.write_bytes(synthetic_ccd(rng, area_cm2))
        files.append(("ccd", path))
    return files


# ---------------------------------------------------------------------------------------------
# Measuring


def upload_all(files: list[tuple[str, Path]], *, token: str, subjects: list[str]) -> list[int]:
    """POST every file as a new measurement of the cells in turn; returns the measurement ids."""
    from rest_framework.test import APIClient

    from analysis.models import Measurement

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    codes = []
    for n, (kind, path) in enumerate(files):
        subject = subjects[n % len(subjects)]
        with path.open("rb") as stream:
            response = client.post(
                "/api/measurements/",
                {"subject": subject, "measurement_type": kind, "upload": stream},
                format="multipart",
            )
        if response.status_code != 201:
            sys.exit(f"upload of {path.name} failed: {response.status_code} {response.content!r}")
        codes.append(response.json()["code"])
    return list(Measurement.objects.filter(code__in=codes).values_list("pk", flat=True))


def memory_kib(pid: int, field: str) -> int:
    """VmRSS (now) or VmHWM (peak) of a process, in KiB; 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    line = next((x for x in status.splitlines() if x.startswith(f"{field}:")), f"{field}: 0 kB")
    return int(line.split()[1])


def cpu_s(pid: int | None = None) -> float:
    """CPU seconds (user + system): of one process, or of the whole machine (``pid=None``)."""
    ticks = os.sysconf("SC_CLK_TCK")
    if pid is None:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        # user nice system idle iowait irq softirq steal: everything but idle and iowait
        return sum(int(x) for i, x in enumerate(fields[:8]) if i not in (3, 4)) / ticks
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / ticks


@dataclass
class Sample:
    """What the drain loop saw at one moment: CPU seconds so far (the whole machine's and the
    workers') and whether a transaction was waiting for the history's append lock."""

    at: float  # epoch seconds
    machine_cpu_s: float
    worker_cpu_s: float
    lock_wait: bool


#: Transactions waiting for the history chain's append lock (lims.chain.APPEND_LOCK_KEY).
LOCK_WAITS_SQL = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
    "AND ((classid::bigint << 32) | objid::bigint) = %s"
)


def lock_waiting() -> bool:
    from django.db import connection

    from lims.chain import APPEND_LOCK_KEY

    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(LOCK_WAITS_SQL, [APPEND_LOCK_KEY])
        return bool(cursor.fetchone()[0])


def drain(
    measurement_ids: list[int], workers: int, env: dict[str, str]
) -> tuple[int, list[Sample]]:
    """Start the workers, wait until every run of these measurements settled, sampling CPU
    times and the append lock every 0.1 s; returns the peak RSS of any worker in KiB and the
    samples (the machine's CPU less the workers' is mostly the database server's)."""
    from analysis.models import AnalysisRun

    runs = AnalysisRun.objects.filter(measurement_id__in=measurement_ids)
    processes = []
    LOGS.mkdir(parents=True, exist_ok=True)
    for n in range(workers):
        with (LOGS / f"ingest-worker-{workers}-{n}.log").open("w") as log:
            processes.append(
                subprocess.Popen(
                    [sys.executable, *WORKER_COMMAND],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    peak = 0
    samples: list[Sample] = []
    try:
        while True:
            unsettled = runs.filter(status__in=["queued", "running"]).exists()
            for p in processes:
                if p.poll() is not None:
                    sys.exit(f"a worker exited with {p.returncode}; see {LOGS}")
                peak = max(peak, memory_kib(p.pid, "VmHWM"))
            samples.append(
                Sample(
                    time.time(),
                    cpu_s(),
                    sum(cpu_s(p.pid) for p in processes),
                    lock_waiting(),
                )
            )
            if not unsettled:
                break
            time.sleep(0.1)
    finally:
        for p in processes:
            p.terminate()
        for p in processes:
            p.wait(timeout=60)
    return peak, samples


def in_window(samples: list[Sample], start: float, end: float) -> tuple[float, float, float]:
    """Machine and worker CPU seconds between the samples nearest ``start`` and ``end``
    (so a worker's start-up before its first run is left out), and the share of samples in
    between that saw a transaction waiting for the append lock."""
    first = min(samples, key=lambda x: abs(x.at - start))
    last = min(samples, key=lambda x: abs(x.at - end))
    inside = [x for x in samples if first.at <= x.at <= last.at]
    return (
        last.machine_cpu_s - first.machine_cpu_s,
        last.worker_cpu_s - first.worker_cpu_s,
        sum(x.lock_wait for x in inside) / max(len(inside), 1),
    )


def report(
    label: str,
    measurement_ids: list[int],
    workers: int,
    drained: tuple[int, list[Sample]],
) -> dict[str, Any]:
    from analysis.models import AnalysisRun

    runs = list(
        AnalysisRun.objects.filter(measurement_id__in=measurement_ids).values(
            "analysis", "status", "queued_at", "started_at", "finished_at", "timings_s", "error"
        )
    )
    wall_s = (
        max(r["finished_at"] for r in runs) - min(r["started_at"] for r in runs)
    ).total_seconds()
    steps = {s: [r["timings_s"].get(s, 0.0) for r in runs] for s in ("read", "analyse", "store")}
    busy_s = wall_s * workers
    measured_s = sum(sum(v) for v in steps.values())
    means = {s: statistics.fmean(v) * 1e3 for s, v in steps.items()}
    means["worker overhead"] = (busy_s - measured_s) / len(runs) * 1e3
    waits = [(r["started_at"] - r["queued_at"]).total_seconds() for r in runs]
    by_kind = {
        kind: statistics.fmean(
            r["timings_s"].get("analyse", 0.0) for r in runs if r["analysis"] == kind
        )
        * 1e3
        for kind in sorted({r["analysis"] for r in runs})
    }
    failed = [r for r in runs if r["status"] != "done"]
    peak_kib, samples = drained
    first_start = min(r["started_at"] for r in runs).timestamp()
    last_finish = max(r["finished_at"] for r in runs).timestamp()
    machine_cpu_s, worker_cpu_s, lock_wait_share = in_window(samples, first_start, last_finish)
    row = {
        "label": label,
        "workers": workers,
        "runs": len(runs),
        "failed": len(failed),
        "wall_s": wall_s,
        "runs_per_s": len(runs) / wall_s,
        "means_ms": means,
        "slowest": max(means, key=lambda s: means[s]),
        "fit_share": sum(steps["analyse"]) / busy_s,
        "wait_mean_s": statistics.fmean(waits),
        "wait_max_s": max(waits),
        "analyse_by_kind_ms": by_kind,
        "peak_mib": peak_kib / 1024,
        "worker_cpu_ms": worker_cpu_s / len(runs) * 1e3,
        "other_cpu_ms": (machine_cpu_s - worker_cpu_s) / len(runs) * 1e3,
        "cpu_use": machine_cpu_s / (wall_s * (os.cpu_count() or 1)),
        "lock_wait_share": lock_wait_share,
        "failures": sorted({r["error"][:100] for r in failed})[:5],
    }
    return row


def fit_loop(seconds: float) -> int:
    """Analyse one spectrum over and over for ``seconds`` (no database); the count."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lims.settings")
    django.setup()
    from analysis.readers import read
    from analysis.registry import analysis_for

    eis = analysis_for("eis")
    assert eis is not None
    source = SHARED_DATA / REAL_SPECTRA[0]
    name, content = (
        (source.name, source.read_bytes())
        if source.exists()
        else ("synthetic.csv", synthetic_spectrum(random.Random(1)))
    )
    with tempfile.NamedTemporaryFile(suffix=Path(name).suffix) as f:
        f.write(content)
        f.flush()
        dataset = read(f.name, name, mapping=eis.mapping, require=eis.require)
    parameters = eis.defaults()
    eis.function(dataset, parameters)  # warm up
    count, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        eis.function(dataset, parameters)
        count += 1
    return count


def fit_ceiling(processes: int, seconds: float = 8.0) -> float:
    """Fits per second of ``processes`` fit loops at once: what the machine's cores give for
    the fits alone, with no database, queue or history (the ceiling for as many workers)."""
    loops = [
        subprocess.Popen(
            [sys.executable, __file__, "--fit-loop", str(seconds)],
            cwd=ROOT,
            env={**os.environ, "SECRET_KEY": os.environ.get("SECRET_KEY", "bench")},
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    return sum(int(loop.communicate()[0].split()[-1]) for loop in loops) / seconds


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.fit_loop:
        print(fit_loop(args.fit_loop))
        return
    url = database_url(args)
    scratch = Path(tempfile.mkdtemp(prefix="lims-bench-ingest-"))
    os.environ["MEDIA_ROOT"] = str(scratch / "media")
    os.environ["TASKS_BACKEND"] = "django_tasks_db.DatabaseBackend"
    os.environ["LOG_LEVEL"] = "WARNING"
    sqlite_file = DEFAULT_SQLITE if url == f"sqlite:///{DEFAULT_SQLITE}" else None
    try:
        django_start(url, fresh_sqlite_file=sqlite_file)
        empty_database()
        run(args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run(args: argparse.Namespace, scratch: Path) -> None:
    from rest_framework.authtoken.models import Token

    from bench.trace import bench_users
    from tests.factories import build_chain

    users = bench_users()
    cells = [build_chain(user=users["scientist"]).cell for _ in range(args.cells)]
    token = Token.objects.create(user=users["operator"]).key
    started = time.perf_counter()
    files = write_files(
        scratch / "files", spectra=args.spectra, ccd=args.ccd, area_cm2=cells[0].electrode_area_cm2
    )
    size_mb = sum(p.stat().st_size for _, p in files) / 1e6
    print(f"{versions()}")
    print(
        f"{len(files)} files ({args.spectra} spectra, {args.ccd} CCD; {size_mb:.0f} MB) written in "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "lims.settings"}
    rows = []
    for workers in args.worker_counts:
        started = time.perf_counter()
        ids = upload_all(files, token=token, subjects=[c.code for c in cells])
        upload_s = time.perf_counter() - started
        print(
            f"\n{workers} worker(s): {len(ids)} uploads in {upload_s:.1f} s "
            f"({len(ids) / upload_s:.1f}/s, each queueing its run)",
            flush=True,
        )
        drained = drain(ids, workers, env)
        row = report(f"{workers} worker(s)", ids, workers, drained)
        rows.append(row)
        print(
            f"  {row['runs']} runs ({row['failed']} failed) in {row['wall_s']:.1f} s: "
            f"{row['runs_per_s']:.1f} runs/s; mean ms per run: "
            + ", ".join(f"{k} {v:.1f}" for k, v in row["means_ms"].items())
            + "; analyse by kind: "
            + ", ".join(f"{k} {v:.1f}" for k, v in row["analyse_by_kind_ms"].items())
            + f"; fit share {row['fit_share']:.0%}; queue wait mean {row['wait_mean_s']:.0f} s, "
            f"max {row['wait_max_s']:.0f} s; worker peak RSS {row['peak_mib']:.0f} MiB; CPU per run: "
            f"workers {row['worker_cpu_ms']:.1f} ms, rest of the machine (database server) "
            f"{row['other_cpu_ms']:.1f} ms; CPU in use {row['cpu_use']:.0%} of {os.cpu_count()} "
            f"cores; a transaction waited for the history append lock "
            f"{row['lock_wait_share']:.0%} of the time",
            flush=True,
        )
        for failure in row["failures"]:
            print(f"  failed: {failure}")
    print("\n| workers | runs | runs/s | read ms | analyse ms | store ms | overhead ms | "
          "slowest step | fit share | worker CPU ms | other CPU ms | CPU in use | lock wait | "
          "worker peak RSS |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        m = row["means_ms"]
        print(
            f"| {row['workers']} | {row['runs']} | {row['runs_per_s']:.1f} | {m['read']:.1f} | "
            f"{m['analyse']:.1f} | {m['store']:.1f} | {m['worker overhead']:.1f} | "
            f"{row['slowest']} | {row['fit_share']:.0%} | {row['worker_cpu_ms']:.1f} | "
            f"{row['other_cpu_ms']:.1f} | {row['cpu_use']:.0%} | {row['lock_wait_share']:.0%} | "
            f"{row['peak_mib']:.0f} MiB |"
        )
    # Rounds of the same worker count (--workers 1,2,1,2) are summarised by their median: the
    # machine's speed drifts between rounds by more than a second worker's losses.
    rates = {
        n: statistics.median(r["runs_per_s"] for r in rows if r["workers"] == n)
        for n in sorted({r["workers"] for r in rows})
    }
    if len(rates) > 1:
        low, high = min(rates), max(rates)
        print(f"\nSpeed-up {high} vs {low} worker(s), medians of their rounds: "
              f"{rates[high] / rates[low]:.2f}x")  # fmt: skip
        # Two busy cores each run slower than one busy core (shared caches and memory, the
        # host's clock): the same fit loop in parallel shows how much, with nothing else.
        alone, together = fit_ceiling(low), fit_ceiling(high)
        print(f"The fits alone, no database: {alone:.1f} fits/s in {low} process(es), "
              f"{together:.1f} in {high}: {together / alone:.2f}x, this machine's ceiling "
              f"for {high} vs {low} worker(s)")  # fmt: skip


if __name__ == "__main__":
    main()
