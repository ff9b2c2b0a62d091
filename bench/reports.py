"""Time the desk's sheets and exports of LiNa LIMS at the size of a busy lab.

Fills a database with bench/trace.py's lab (by default 10,000 cells with their chains and
100,000 measurements, written with batched INSERTs), adds one LLZO batch with 200 cells built
through the real services (20 pellets × 10 separators, 10 foils × 40 pieces, three assembly
steps per cell), then measures, through Django's test client as a scientist:

- the build sheet PDF of one of those cells and the batch report PDF of the 200-cell batch,
- the measurement list exported as CSV and as XLSX at 10,000 rows (filtered) and at
  100,000 rows (everything), and the results table (one row per cell) of every cell: time, and
  how far the peak resident memory rose above what the process held before the export. Each export runs in a fresh process (``--export``), so the
  memory the fill once used cannot hide the export's; the peak is read from ``VmHWM`` (Linux).
  ``tracemalloc`` would slow the export several times over. A streaming export stays flat as
  the rows grow.

Usage (from the repository root)::

    .venv/bin/python bench/reports.py                     # fresh SQLite file var/bench/lims_reports_bench.sqlite3
    .venv/bin/python bench/reports.py --reuse             # keep the filled file
    .venv/bin/python bench/reports.py --database-url postgres://postgres@127.0.0.1:5432/lims_reports_bench
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE = ROOT / "var" / "bench" / "lims_reports_bench.sqlite3"
BIG_BATCH_CELLS = 200


def _trace_module() -> Any:
    # bench/trace.py by path: "trace" is also a standard-library module.
    spec = importlib.util.spec_from_file_location("bench_trace", ROOT / "bench" / "trace.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_trace"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, default=10_000)
    parser.add_argument("--measurements", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--export", default="", help=argparse.SUPPRESS)  # child: csv or xlsx
    parser.add_argument("--after", default="", help=argparse.SUPPRESS)  # child: measured_after
    parser.add_argument("--list", default="/measurements/", help=argparse.SUPPRESS)  # child
    return parser.parse_args(argv)


def build_big_batch(users: dict[str, Any]) -> tuple[Any, Any]:
    """A batch with 200 cells, through the services, as the lab would log it."""
    from django.db import transaction
    from django.utils import timezone

    from cells.services import cell_add_step, cell_assemble
    from processing import services as proc
    from processing.models import ChemicalLot, Equipment, SynthesisBatch

    sci, op = users["scientist"], users["operator"]
    existing = SynthesisBatch.objects.filter(notes="bench/reports.py").first()
    if existing is not None:
        return existing, existing.pellets.first().separators.first().cell
    lots = list(ChemicalLot.objects.order_by("code")[:6])
    furnace = Equipment.objects.filter(equipment_type="furnace").first()
    glovebox = Equipment.objects.filter(equipment_type="glovebox").first()
    t0 = timezone.now() - dt.timedelta(days=10)
    with transaction.atomic():
        reading = proc.glovebox_reading_log(user=op, glovebox=glovebox, o2_ppm=0.05, h2o_ppm=0.04)
        batch = proc.batch_create(
            user=sci,
            target_formula="Li6.4La3Zr1.4Ta0.6O12",
            batch_size_g=50,
            li_excess_percent=10,
            notes="bench/reports.py",
        )
        for lot in lots[:3]:
            proc.batch_add_weighing(
                user=op, batch=batch, lot=lot, target_mass_g=5, actual_mass_g=5.02
            )
        for seq, step in enumerate(("calcine", "grind", "calcine", "press", "sinter"), start=1):
            proc.batch_add_step(
                user=op,
                batch=batch,
                step_type=step,
                sequence=seq,
                equipment=furnace,
                setpoint_C=1000 if step != "grind" else None,
            )
        separators = []
        for _ in range(BIG_BATCH_CELLS // 10):
            pellet = proc.pellet_create(
                user=sci, batch=batch, diameter_mm=12, thickness_mm=1.5, mass_g=0.78
            )
            separators += [
                proc.separator_create(user=sci, pellet=pellet, thickness_um=600) for _ in range(10)
            ]
        pieces = []
        for _ in range(BIG_BATCH_CELLS * 2 // 40):
            foil = proc.foil_create(
                user=sci, li_lot=lots[3], na_lot=lots[4], target_na_mol_percent=3
            )
            pieces += [proc.electrode_cut(user=op, foil=foil, diameter_mm=6) for _ in range(40)]
        cells = []
        for i, separator in enumerate(separators):
            cell = cell_assemble(
                user=op,
                separator=separator,
                electrode_1=pieces[2 * i],
                electrode_2=pieces[2 * i + 1],
            )
            for seq, step in enumerate(("press", "melt_quench", "seal"), start=1):
                cell_add_step(
                    user=op,
                    cell=cell,
                    step_type=step,
                    sequence=seq,
                    glovebox_reading=reading,
                    performed_at=t0 + dt.timedelta(minutes=10 * seq),
                )
            cells.append(cell)
    return batch, cells[0]


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def export_child(args: argparse.Namespace) -> None:
    """Run one export in this fresh process; print its time, size and memory rise as JSON."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username="scientist"))
    params = {"measured_after": args.after} if args.after else {}
    # Warm-up on an empty result: imports, templates and openpyxl are loaded before measuring.
    client.get(args.list, {"code": "none", "format": args.export}).getvalue()
    before = _status_kib("VmRSS")
    start = time.perf_counter()
    response = client.get(args.list, {**params, "format": args.export})
    size = sum(len(chunk) for chunk in response.streaming_content)
    seconds = time.perf_counter() - start
    rise_kib = _status_kib("VmHWM") - before
    print(json.dumps({"seconds": seconds, "bytes": size, "rise_kib": rise_kib}))


def timed(run: Callable[[], Any], repeat: int) -> tuple[float, float]:
    run()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    bench = _trace_module()
    url = args.database_url or f"sqlite:///{DEFAULT_SQLITE}"
    if "bench" not in url.rsplit("/", 1)[-1]:
        sys.exit("bench/reports.py: the database name must contain 'bench' (it is emptied).")
    DEFAULT_SQLITE.parent.mkdir(parents=True, exist_ok=True)
    fresh = DEFAULT_SQLITE if not args.database_url and not args.reuse else None
    if args.export:
        bench.django_start(url, fresh_sqlite_file=None)
        export_child(args)
        return
    bench.django_start(url, fresh_sqlite_file=fresh)

    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.test import Client

    from analysis.models import Measurement
    from cells.models import Cell

    filled = any(
        bench.is_filled(cells, args.measurements)
        for cells in (args.cells, args.cells + BIG_BATCH_CELLS)  # with the 200-cell batch
    )
    if not (args.reuse and filled):
        if not bench.is_filled(0, 0):
            bench.empty_database()
        start = time.perf_counter()
        with transaction.atomic():
            users = bench.bench_users()
            bench.Filler(cells=args.cells, measurements=args.measurements, users=users).fill()
        print(
            f"Filled {args.cells:,} cells, {args.measurements:,} measurements in "
            f"{time.perf_counter() - start:.0f} s",
            flush=True,
        )
    users = bench.bench_users()
    start = time.perf_counter()
    batch, cell = build_big_batch(users)
    print(
        f"Batch {batch.code} with {BIG_BATCH_CELLS} cells ready in {time.perf_counter() - start:.0f} s"
    )

    client = Client()
    client.force_login(get_user_model().objects.get(username="scientist"))
    rows: list[tuple[str, str, str]] = []

    def pdf(url: str) -> Callable[[], int]:
        def run() -> int:
            response = client.get(url)
            assert response.status_code == 200, response.content[:300]
            return len(response.content)

        return run

    for label, path in (
        (f"cell build sheet ({cell.code})", f"/sheet/{cell.code}/"),
        (f"batch report ({batch.code}, {BIG_BATCH_CELLS} cells)", f"/sheet/{batch.code}/"),
    ):
        size = pdf(path)()
        median, best = timed(pdf(path), args.repeat)
        rows.append((label, f"{size / 1024:.0f} KiB PDF", f"{median:.0f} ms (min {best:.0f})"))

    total = Measurement.objects.count()
    tenth = Measurement.objects.order_by("-measured_at").values_list("measured_at", flat=True)[
        9_999
    ]
    for fmt in ("csv", "xlsx"):
        for params in ({"measured_after": tenth.isoformat()}, {}):
            after = params.get("measured_after", "")
            command = [sys.executable, __file__, "--database-url", url, "--export", fmt]
            child = subprocess.run(
                [*command, "--after", after],
                check=True,
                capture_output=True,
                text=True,
            )
            result = json.loads(child.stdout.strip().splitlines()[-1])
            size, seconds, rise = result["bytes"], result["seconds"], result["rise_kib"] / 1024
            n = Measurement.objects.filter(measured_at__gte=tenth).count() if params else total
            rows.append(
                (
                    f"measurement export, {fmt.upper()}, {n:,} rows",
                    f"{size / 2**20:.1f} MiB file, peak memory +{rise:.0f} MiB",
                    f"{seconds:.1f} s",
                )
            )

    for fmt in ("csv", "xlsx"):
        command = [sys.executable, __file__, "--database-url", url, "--export", fmt]
        child = subprocess.run(
            [*command, "--list", "/results-table/"], check=True, capture_output=True, text=True
        )
        result = json.loads(child.stdout.strip().splitlines()[-1])
        rows.append(
            (
                f"results table, {fmt.upper()}, {Cell.objects.count():,} rows",
                f"{result['bytes'] / 2**20:.1f} MiB file, peak memory "
                f"+{result['rise_kib'] / 1024:.0f} MiB",
                f"{result['seconds']:.1f} s",
            )
        )

    print(f"\n### {connection.vendor}: {Measurement.objects.count():,} measurements\n")
    print("| operation | result | time |")
    print("|---|---|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
