"""Integrity benchmark: verifying a 100,000-entry history chain, and what history costs a create.

Run with ``bin/bench integrity [--entries N] [--creates N] [--database-url URL]``. It builds its
own database (SQLite ``var/bench/integrity_bench.sqlite3`` by default; a URL's database name
must contain ``bench``), so nothing else is touched.

- *verify*: ``chain_verify()`` over N entries of realistic size (a create of a lot's fields),
  median of 3 runs.
- *create*: a chemical lot through ``chemical_lot_create`` (validation, code, lineage, history),
  median per create over the run, in three set-ups: as shipped (history entry chained under the
  append lock), with the entry written but not chained (no lock, no hash), and with no history
  at all. The differences are what the history and the chain add to a create.
- *backup*: ``manage.py backup`` and ``manage.py restore`` of the lab ``bench/trace.py`` builds
  (10,000 cells, 100,000 measurements, by its own fill), plus ``--raw-files`` raw files
  (distinct cycling exports of ~80 KiB, each through the upload gate, attached to
  measurements). Each command runs as its own process, as an operator would run it: wall time
  and that process's peak resident memory. The restore goes into the same database, flushed,
  with the raw files deleted; afterwards the row counts of every table, the history's chain
  head and every raw file's bytes are compared with the original.

``--parts creates,verify,backup`` chooses what runs (all by default).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import io
import os
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE = ROOT / "var" / "bench" / "integrity_bench.sqlite3"
MEDIA = ROOT / "var" / "bench" / "integrity_media"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--creates", type=int, default=300)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--parts", default="creates,verify,backup")
    parser.add_argument("--lab-cells", type=int, default=10_000)
    parser.add_argument("--lab-measurements", type=int, default=100_000)
    parser.add_argument("--raw-files", type=int, default=1_000)
    return parser.parse_args()


def setup(url: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = url
    os.environ["MEDIA_ROOT"] = str(MEDIA)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lims.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)


@contextmanager
def patched(module: Any, name: str, replacement: Callable[..., Any]) -> Iterator[None]:
    original = getattr(module, name)
    setattr(module, name, replacement)
    try:
        yield
    finally:
        setattr(module, name, original)


def time_creates(n: int, user: Any, tag: str) -> float:
    from processing.services import chemical_lot_create

    times = []
    for i in range(n):
        start = time.perf_counter()
        chemical_lot_create(user=user, chemical="ZrO2", supplier="Acme", lot_number=f"{tag}{i}")
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def bench_creates(n: int) -> dict[str, float]:
    from django.contrib.auth import get_user_model

    import lims.history
    from lims.models import HistoryEntry

    user = get_user_model().objects.create_user("bench-scientist")

    def unchained(entry: HistoryEntry) -> HistoryEntry:
        entry.save(force_insert=True)
        return entry

    results = {"history, chained (as shipped)": time_creates(n, user, "a")}
    with patched(lims.history, "chain_append", unchained):
        results["history, not chained"] = time_creates(n, user, "b")
    with patched(lims.history, "history_log", lambda **kwargs: None):
        results["no history"] = time_creates(n, user, "c")
    return results


def bench_verify(entries: int) -> tuple[int, float]:
    from django.core.management import call_command
    from django.utils import timezone

    from lims.chain import chain_head, chain_link, chain_verify
    from lims.models import HistoryEntry

    # The unchained creates above left entries without hashes: start the chain afresh.
    call_command("flush", interactive=False, verbosity=0)
    missing = entries
    now = timezone.now()
    batch: list[HistoryEntry] = []
    head = chain_head()[1]
    for i in range(missing):
        batch.append(
            HistoryEntry(
                at=now,
                username="bench-scientist",
                action="create",
                model="processing.chemicallot",
                object_id=str(100_000 + i),
                record_id=100_000 + i,
                record_code=f"LOT-{100_000 + i}",
                object_repr=f"LOT-{100_000 + i}",
                changes={
                    "code": [None, f"LOT-{100_000 + i}"],
                    "chemical": [None, "ZrO2"],
                    "supplier": [None, "Acme"],
                    "lot_number": [None, str(i)],
                    "purity_percent": [None, "99.99"],
                },
                request_id="0" * 32,
            )
        )
        if len(batch) == 5000 or i == missing - 1:
            head = chain_link(batch, head)
            HistoryEntry.objects.bulk_create(batch)
            batch = []
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        result = chain_verify()
        runs.append(time.perf_counter() - start)
        assert result.first_break is None
    return result.checked, statistics.median(runs)


def load_trace_bench() -> Any:
    """bench/trace.py as a module (its name would shadow the standard library's ``trace``)."""
    spec = importlib.util.spec_from_file_location("bench_trace", ROOT / "bench" / "trace.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_trace"] = module
    spec.loader.exec_module(module)
    return module


def cycling_export(i: int, rows: int = 2_000) -> bytes:
    """A distinct galvanostatic cycling table of about 80 KiB."""
    rng = random.Random(i)
    lines = ["time/s,Ewe/V,I/mA,cycle number"]
    for k in range(rows):
        cycle, phase = divmod(k, 200)
        current = 0.1 if phase < 100 else -0.1
        voltage = 0.02 * (1 if current > 0 else -1) + rng.gauss(0, 1e-4)
        lines.append(f"{k * 30.0:.1f},{voltage:.6f},{current:.4f},{cycle}")
    return ("\n".join(lines) + "\n").encode()


def add_raw_files(count: int) -> int:
    """``count`` raw files through the upload gate, attached to cell measurements; bytes."""
    from analysis.models import Measurement
    from lims.files import stored_file_create

    targets = list(
        Measurement.objects.filter(raw_file__isnull=True, measurement_type="cycling")
        .order_by("pk")
        .values_list("pk", flat=True)[:count]
    )
    total = 0
    for i, pk in enumerate(targets):
        content = cycling_export(i)
        stored = stored_file_create(stream=io.BytesIO(content), original_name=f"cycling-{i}.csv")
        Measurement.objects.filter(pk=pk).update(raw_file=stored)
        total += len(content)
    return total


def run_command(*command: str) -> tuple[float, int, str]:
    """Run ``manage.py COMMAND`` in its own process: wall seconds, peak RSS in bytes, output."""
    start = time.perf_counter()
    with subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), *command],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        output = process.stdout.read() if process.stdout else ""
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        sys.exit(f"manage.py {' '.join(command)} failed ({process.returncode}):\n{output}")
    return seconds, usage.ru_maxrss * 1024, output.strip()


def lab_state() -> dict[str, Any]:
    """What must come back: rows of every table, the chain head, every raw file's bytes."""
    from django.apps import apps
    from django.core.files.storage import default_storage

    from lims.chain import chain_head
    from lims.models import StoredFile

    rows = {m._meta.label: m._base_manager.count() for m in apps.get_models()}
    rows.pop("sessions.Session", None)
    digests = {}
    for stored in StoredFile.objects.order_by("sha256"):
        with default_storage.open(stored.file.name, "rb") as fh:
            digests[stored.sha256] = hashlib.sha256(fh.read()).hexdigest()
    return {"rows": rows, "head": chain_head(), "files": digests}


def bench_backup_restore(cells: int, measurements: int, raw_files: int) -> None:
    from django.core.management import call_command
    from django.db import connection, transaction

    trace = load_trace_bench()
    call_command("flush", interactive=False, verbosity=0)
    shutil.rmtree(MEDIA, ignore_errors=True)
    start = time.perf_counter()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous = OFF")  # the fill only: a crash loses the bench
    with transaction.atomic():
        users = trace.bench_users()
        trace.Filler(cells=cells, measurements=measurements, users=users).fill()
    raw_bytes = add_raw_files(raw_files)
    trace.analyze()
    fill_s = time.perf_counter() - start
    before = lab_state()
    rows = before["rows"]
    print(
        f"lab: {rows['cells.Cell']:,} cells, {rows['analysis.Measurement']:,} measurements, "
        f"{rows['lims.Record']:,} records, {rows['lims.Link']:,} links, "
        f"{rows['lims.HistoryEntry']:,} history entries, {sum(rows.values()):,} rows in all, "
        f"{len(before['files']):,} raw files ({raw_bytes / 2**20:.0f} MiB); filled in "
        f"{fill_s:.0f} s",
        flush=True,
    )
    archive = ROOT / "var" / "bench" / f"integrity_lab_{connection.vendor}.tar"
    archive.unlink(missing_ok=True)
    connection.close()
    backup_s, backup_rss, _ = run_command("backup", str(archive))
    with tarfile.open(archive) as tar:
        data_size = tar.getmember("data.limsjson").size
    print(
        f"manage.py backup: {backup_s:.1f} s, peak RSS {backup_rss / 2**20:.0f} MiB; archive "
        f"{archive.stat().st_size / 2**20:.0f} MiB (data.limsjson {data_size / 2**20:.0f} MiB)",
        flush=True,
    )
    call_command("flush", interactive=False, verbosity=0)
    shutil.rmtree(MEDIA, ignore_errors=True)
    connection.close()
    restore_s, restore_rss, said = run_command("restore", str(archive))
    print(
        f"manage.py restore: {restore_s:.1f} s, peak RSS {restore_rss / 2**20:.0f} MiB", flush=True
    )
    print(f"  {said}")
    after = lab_state()
    differing_tables = sorted(
        label for label in before["rows"] if before["rows"][label] != after["rows"].get(label)
    )
    differing_files = sum(1 for sha, d in before["files"].items() if after["files"].get(sha) != d)
    print(
        f"after restore: {len(differing_tables)} tables with other row counts "
        f"{differing_tables or ''}, chain head {'equal' if after['head'] == before['head'] else 'DIFFERENT'}, "
        f"{differing_files} of {len(before['files'])} raw files differing"
    )


def main() -> None:
    args = parse_args()
    parts = set(args.parts.split(","))
    url = args.database_url or f"sqlite:///{DEFAULT_SQLITE}"
    name = url.rsplit("/", 1)[-1]
    if "bench" not in name:
        sys.exit(f"bench/integrity.py: refusing {name!r}: the database name must contain 'bench'.")
    if not args.database_url:
        DEFAULT_SQLITE.parent.mkdir(parents=True, exist_ok=True)
    setup(url)
    from django.db import connection

    print(f"database: {connection.vendor}")
    if "creates" in parts:
        for label, ms in bench_creates(args.creates).items():
            print(f"create a chemical lot, {label}: {ms:.2f} ms (median of {args.creates})")
    if "verify" in parts:
        checked, seconds = bench_verify(args.entries)
        print(
            f"verify_history over {checked:,} entries: {seconds:.2f} s "
            f"({checked / seconds:,.0f} entries/s, median of 3)"
        )
    if "backup" in parts:
        bench_backup_restore(args.lab_cells, args.lab_measurements, args.raw_files)


if __name__ == "__main__":
    main()
