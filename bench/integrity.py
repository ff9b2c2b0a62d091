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
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE = ROOT / "var" / "bench" / "integrity_bench.sqlite3"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--creates", type=int, default=300)
    parser.add_argument("--database-url", default="")
    return parser.parse_args()


def setup(url: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = url
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


def main() -> None:
    args = parse_args()
    url = args.database_url or f"sqlite:///{DEFAULT_SQLITE}"
    name = url.rsplit("/", 1)[-1]
    if "bench" not in name:
        sys.exit(f"bench/integrity.py: refusing {name!r}: the database name must contain 'bench'.")
    if not args.database_url:
        DEFAULT_SQLITE.parent.mkdir(parents=True, exist_ok=True)
    setup(url)
    from django.db import connection

    print(f"database: {connection.vendor}")
    for label, ms in bench_creates(args.creates).items():
        print(f"create a chemical lot, {label}: {ms:.2f} ms (median of {args.creates})")
    checked, seconds = bench_verify(args.entries)
    print(
        f"verify_history over {checked:,} entries: {seconds:.2f} s "
        f"({checked / seconds:,.0f} entries/s, median of 3)"
    )


if __name__ == "__main__":
    main()
