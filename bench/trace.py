"""Time lineage traces and the cell list of LiNa LIMS at the size of a busy lab.

Fills a database of its own with a realistic lab — by default 10,000 cells with their whole
chains (chemical lots; LLZO batches with weighings and eight process steps; pellets; separators;
LiNa foils with 20 fold passes each; electrode pieces; daily glovebox readings; three assembly
steps per cell) and 100,000 measurements — then prints, as a Markdown table, the time (median
and min of several runs, after one warm-up run) and the number of SQL queries of:

- a backward trace of a cell ("what went into CELL-05000?"),
- forward traces of a La2O3 lot used by ten batches, of the Al2O3 lot used by every batch (the
  worst case: everything downstream of every batch), of a furnace and of one day's glovebox
  reading ("that lot / furnace / atmosphere was bad: which cells and results are affected?"),
- the cell list API, plain and filtered, and two record pages.

Usage (from the repository root)::

    .venv/bin/python bench/trace.py                       # fresh SQLite file var/bench/lims_bench.sqlite3
    .venv/bin/python bench/trace.py --reuse               # keep the filled file, only measure
    .venv/bin/python bench/trace.py --database-url postgres://postgres@127.0.0.1:5432/lims_bench
    .venv/bin/python bench/trace.py --cells 1000 --measurements 10000 --repeat 3

The database is the script's own: the default SQLite file, or the one ``--database-url`` names,
whose name must contain "bench" because the script empties it before filling (a PostgreSQL
database is created when missing). The test suite's ``test`` database is never touched.

How the fill works, and why it does not call the services
---------------------------------------------------------
The services (``record_save_new`` and friends) allocate a code under a row lock, validate,
save, sync the record's lineage edges and write a history entry: about ten queries per row,
which would take hours for the ~150,000 records and ~70,000 sub-rows here. Instead every row is
built in memory with explicit primary keys and written with batched multi-row INSERTs
(``bulk_create(batch_size=...)``; no per-row queries, one transaction). ``bulk_create`` refuses
multi-table-inherited models, so for each record kind the ``lims_record`` row and the kind's
own row are written with the batched INSERT that ``bulk_create`` uses internally
(``QuerySet._insert``), with ``raw=True`` so that ``created_at`` keeps the historical date
instead of the fill's ``now()``.

What the services would have written is written too, so traces and pages see a normal database:

- ``Record.kind`` (the model name), ``code`` (``LOT-0001``, ``LLZO-0007``, ``PEL-0007-03``,
  ``SEP-0007-03-02``, ``FOIL-0001``, ``EL-0001-05``, ``CELL-0031``, ``GB-000001``,
  ``MEAS-000001``, as ``code_allocate`` makes them, and the ``CodeSequence`` counters to match)
  and ``label`` (``describe()``).
- The lineage ``Link`` rows, taken from each record's own ``lineage_parents()`` — the method
  ``lineage_sync`` uses — with its sub-rows (weighings, steps, passes, assembly steps) handed to
  it as a prefetch cache, and deduplicated per (parent, role) the way ``lineage_sync`` does.
- One ``HistoryEntry`` ("created", with the ``snapshot()`` of the row) per record and sub-row.

While rows are built, any SQL query is refused (an execute wrapper), so a related object that
was not handed over in memory fails loudly instead of costing one query per row; after the fill,
a sample of every kind is re-read from the database and its links compared with
``lineage_parents()`` computed by the ORM.

Measuring
---------
Traces call ``lims.lineage.lineage_trace`` (what ``/api/trace/`` runs) and, once, the trace API
itself; lists and pages go through ``rest_framework.test.APIClient`` as an auditor
authenticated by token, so every request pays for authentication and permission checks as a
real client does. Queries are counted with ``CaptureQueriesContext`` on the warm-up run. After
the fill the database is ANALYZEd, as autovacuum (PostgreSQL) or ``PRAGMA optimize``
(SQLite) would do in a database that has been in use.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import random
import statistics
import sys
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE = ROOT / "var" / "bench" / "lims_bench.sqlite3"

# Shape of the lab: how many of each thing feed the next. Spare separators and pieces stay
# unused, as they do in a real lab.
SEPARATORS_PER_PELLET = 5
USED_SEPARATORS_PER_PELLET = 4
PELLETS_PER_BATCH = 10
PIECES_PER_FOIL = 12
USED_PIECES_PER_FOIL = 10
FOLD_PASSES = 20  # the fold protocol of processing/protocols.py asks for 20
LAB_DAYS = 3 * 365
FORMULA = "Li6.45Al0.05La3Zr1.6Ta0.4O12"
PRECURSORS = ["LiOH·H2O", "Al2O3", "La2O3", "ZrO2", "Ta2O5"]
# A new lot of a chemical is opened every this many batches (foils, cells); the single Al2O3
# lot (a dopant, used in small amounts) is the worst case of a forward trace.
LOT_EVERY = {"LiOH·H2O": 20, "La2O3": 10, "ZrO2": 25, "Ta2O5": 50, "Al2O3": 10**9}
LI_LOT_EVERY_FOILS, NA_LOT_EVERY_FOILS, NI_LOT_EVERY_CELLS = 200, 400, 2000
INSERT_ROWS = 1000
BENCH_USERS = ("scientist", "operator", "operator2", "operator3", "auditor")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, default=10_000, help="cells to fill (10000)")
    parser.add_argument(
        "--measurements", type=int, default=100_000, help="measurements to fill (100000)"
    )
    parser.add_argument(
        "--database-url",
        default="",
        help=f"database to fill; its name must contain 'bench' (default: sqlite:///{DEFAULT_SQLITE})",
    )
    parser.add_argument(
        "--reuse", action="store_true", help="skip the fill when the database already holds it"
    )
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per operation (7)")
    args = parser.parse_args(argv)
    if args.cells < 10 or args.measurements < 0 or args.repeat < 1:
        parser.error("need --cells >= 10, --measurements >= 0, --repeat >= 1")
    return args


# ---------------------------------------------------------------------------------------------
# Database set-up (before and right after django.setup())


def database_url(args: argparse.Namespace) -> str:
    url = args.database_url or f"sqlite:///{DEFAULT_SQLITE}"
    import dj_database_url

    name = str(dj_database_url.parse(url)["NAME"] or "")
    # The script empties the database it is given: only ever one meant for it.
    if "bench" not in Path(name).name or Path(name).name.startswith("test"):
        sys.exit(f"bench/trace.py: refusing {name!r}: the database name must contain 'bench'.")
    return url


def postgres_create_if_missing(url: str) -> None:
    import dj_database_url
    import psycopg
    from psycopg import sql

    cfg = dj_database_url.parse(url)
    params: dict[str, Any] = {
        k: v
        for k, v in {
            "host": cfg.get("HOST"),
            "port": cfg.get("PORT"),
            "user": cfg.get("USER"),
            "password": cfg.get("PASSWORD"),
        }.items()
        if v
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]]
        ).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(cfg["NAME"])))
            print(f"Created PostgreSQL database {cfg['NAME']}.")


def django_start(url: str, *, fresh_sqlite_file: Path | None) -> None:
    if fresh_sqlite_file is not None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{fresh_sqlite_file}{suffix}").unlink(missing_ok=True)
    if url.startswith(("postgres://", "postgresql://")):
        postgres_create_if_missing(url)
    # The settings read the environment once, at import: point them at the bench database.
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lims.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    # WhiteNoise warns that collectstatic never ran; the benchmark serves no static files.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    # Lets the test client talk to "testserver" and keeps e-mail in memory.
    setup_test_environment()
    call_command("migrate", verbosity=0, interactive=False)


# ---------------------------------------------------------------------------------------------
# Fill


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Filler:
    """Builds the lab in memory with explicit ids, then writes each table with batched INSERTs."""

    def __init__(self, *, cells: int, measurements: int, users: dict[str, Any]) -> None:
        from django.utils import timezone

        self.n_cells, self.n_measurements, self.users = cells, measurements, users
        self.rng = random.Random(20260412)
        self.t0 = timezone.now().replace(microsecond=0) - dt.timedelta(days=LAB_DAYS + 30)
        self.next_id: dict[Any, int] = {}
        self.pending: dict[Any, list[Any]] = defaultdict(list)
        self.sequences: dict[str, int] = {}
        self.rows_written: dict[str, int] = defaultdict(int)

    # -- building blocks ------------------------------------------------------------------------

    def at(self, days: float, hours: float = 0) -> dt.datetime:
        return self.t0 + dt.timedelta(days=days, hours=hours)

    def take_id(self, model: Any) -> int:
        from django.db.models import Max

        if model not in self.next_id:
            self.next_id[model] = (model._base_manager.aggregate(m=Max("pk"))["m"] or 0) + 1
        value = self.next_id[model]
        self.next_id[model] += 1
        return value

    def code(self, model: Any, parent_code: str | None = None) -> str:
        """The code ``code_allocate`` would hand out next, counted the same way."""
        from lims.codes import code_suffix

        if parent_code:
            base, digits = f"{model.code_prefix}-{code_suffix(parent_code)}", 2
        else:
            base, digits = model.code_prefix, model.code_digits
        self.sequences[base] = self.sequences.get(base, 0) + 1
        return f"{base}-{self.sequences[base]:0{digits}d}"

    def record(self, model: Any, *, at: dt.datetime, user: Any, **fields: Any) -> Any:
        """One record, as ``record_save_new`` leaves it: kind, code, label, creator, history."""
        obj = model(kind=model._meta.model_name, created_by=user, notes="", **fields)
        obj.pk = obj.id = self.take_id(self.record_base)
        obj.created_at = obj.updated_at = at
        parent = getattr(obj, "code_parent", None)
        obj.code = self.code(model, parent.code if parent is not None else None)
        obj.label = obj.describe()[:200]
        self.pending[model].append(obj)
        self.history(obj, at=at, user=user)
        return obj

    def sub_row(self, model: Any, *, at: dt.datetime, user: Any, **fields: Any) -> Any:
        obj = model(**fields)
        obj.pk = self.take_id(model)
        self.pending[model].append(obj)
        self.history(obj, at=at, user=user)
        return obj

    def history(self, obj: Any, *, at: dt.datetime, user: Any) -> None:
        from lims.history import history_owner, history_owner_code, snapshot
        from lims.models import HistoryEntry

        changes = {k: [None, v] for k, v in snapshot(obj).items() if v is not None}
        owner = history_owner(obj)
        entry = HistoryEntry(
            record_id=owner.pk if owner is not None else None,
            at=at,
            user=user,
            username=user.get_username(),
            action=HistoryEntry.Action.CREATE,
            model=obj._meta.label_lower,
            object_id=str(obj.pk),
            record_code=history_owner_code(obj),
            object_repr=str(obj)[:200],
            changes=changes,
            request_id="",
        )
        entry.pk = self.take_id(HistoryEntry)
        self.pending[HistoryEntry].append(entry)

    def link(self, obj: Any, **prefetched: list[Any]) -> None:
        """The record's lineage edges, from its own ``lineage_parents()`` like ``lineage_sync``.

        Sub-rows are handed over as a prefetch cache, so ``self.steps.all()`` reads them from
        memory instead of querying.
        """
        from lims.models import Link

        if prefetched:
            obj._prefetched_objects_cache = prefetched
        wanted = {(p.pk, role) for p, role in obj.lineage_parents() if p is not None}
        for parent_id, role in sorted(wanted):
            edge = Link(parent_id=parent_id, child_id=obj.pk, role=role)
            edge.pk = self.take_id(Link)
            self.pending[Link].append(edge)

    def operator(self, i: int) -> Any:
        return self.users[("operator", "operator2", "operator3")[i % 3]]

    # -- writing --------------------------------------------------------------------------------

    def flush(self) -> None:
        """Write everything built so far: record tables parent-first, then plain tables."""
        from django.db import connection

        from lims.models import Record

        record_kinds = [m for m in self.pending if issubclass(m, Record)]
        for model in record_kinds:
            objs = self.pending.pop(model)
            for table_model in (Record, model):
                fields = table_model._meta.local_concrete_fields
                size = min(INSERT_ROWS, connection.ops.bulk_batch_size(fields, objs) or INSERT_ROWS)
                for batch in chunks(objs, size):
                    table_model._base_manager._insert(batch, fields=fields, raw=True)  # type: ignore[union-attr]
            self.rows_written[model._meta.label] += len(objs)
        # Links after records (foreign keys), history last; dict order keeps sub-rows in order.
        for model in sorted(self.pending, key=lambda m: m._meta.label == "lims.HistoryEntry"):
            objs = self.pending.pop(model)
            if model._meta.label == "lims.HistoryEntry":
                from lims.chain import chain_head, chain_link

                chain_link(objs, chain_head()[1])  # the bench holds the database to itself
            fields = model._meta.local_concrete_fields
            size = min(INSERT_ROWS, connection.ops.bulk_batch_size(fields, objs) or INSERT_ROWS)
            model._base_manager.bulk_create(objs, batch_size=size)
            self.rows_written[model._meta.label] += len(objs)

    # -- the lab --------------------------------------------------------------------------------

    def fill(self) -> None:
        from django.db import connection

        from lims.models import Record

        self.record_base = Record

        def no_queries(execute: Any, sql: str, *args: Any) -> Any:
            raise AssertionError(f"bench fill: a query while building rows in memory: {sql[:200]}")

        steps = [
            self.build_base,
            self.build_batches,
            self.build_foils,
            self.build_cells,
            *[self.measurement_builder(part) for part in range(10)],
        ]
        for build in steps:
            # Build with queries refused (only id counters are read first), then write.
            self.prime_ids()
            with connection.execute_wrapper(no_queries):
                build()
            self.flush()
        self.write_sequences()

    def prime_ids(self) -> None:
        from cells.models import AssemblyStep
        from lims.models import HistoryEntry, Link, Record
        from processing.models import FoldPass, ProcessStep, ProtocolTemplate, WeighingEntry

        for model in (
            Record,
            Link,
            HistoryEntry,
            ProtocolTemplate,
            WeighingEntry,
            ProcessStep,
            FoldPass,
            AssemblyStep,
        ):
            if model not in self.next_id:
                self.take_id(model)
                self.next_id[model] -= 1

    def build_base(self) -> None:
        from processing.models import ChemicalLot, Equipment, GloveboxReading, ProtocolTemplate
        from processing.protocols import DEFAULT_PROTOCOLS

        sci = self.users["scientist"]
        n_batches = self.n_batches
        self.equipment: dict[str, list[Any]] = defaultdict(list)
        for key, kind, names in [
            (
                "furnace",
                "furnace",
                ["Muffle furnace N11/H A", "Muffle furnace N11/H B", "Tube furnace RS 80"],
            ),
            ("mixer", "mixer", ["Intensive mixer EL1"]),
            ("press", "press", ["Uniaxial press 10 t", "Uniaxial press 25 t"]),
            ("grinder", "grinder", ["Mortar grinder RM 200 (WC)"]),
            ("balance", "balance", ["Analytical balance XPR205", "Analytical balance in glovebox"]),
            ("saw", "saw", ["Diamond wire saw"]),
            ("polisher", "polisher", ["Polisher (in glovebox)"]),
            ("glovebox", "glovebox", ["Ar glovebox MB-200B", "Ar glovebox LABstar"]),
            ("calender", "calender", ["Rolling mill MB-200B", "Rolling mill LABstar"]),
            ("hotplate", "hotplate", ["Hot plate MB-200B", "Hot plate LABstar"]),
            ("indenter", "indenter", ["Nanoindenter (Vickers)"]),
            ("diffractometer", "diffractometer", ["Bruker D8"]),
            ("potentiostat", "potentiostat", [f"Bio-Logic VMP-300 #{i}" for i in range(1, 5)]),
        ]:
            for name in names:
                self.equipment[key].append(
                    self.record(
                        Equipment,
                        at=self.at(0),
                        user=sci,
                        equipment_type=kind,
                        name=name,
                        location="Lab 2.18" if "glovebox" in name.lower() else "Lab 2.14",
                    )
                )

        self.protocols = {}
        for key, (name, step, params) in DEFAULT_PROTOCOLS.items():
            protocol = ProtocolTemplate(name=name, step_type=step, parameters=params)
            protocol.pk = self.take_id(ProtocolTemplate)
            self.pending[ProtocolTemplate].append(protocol)
            self.protocols[key] = protocol

        def lot(chemical: str, supplier: str, number: str, purity: str, day: float) -> Any:
            return self.record(
                ChemicalLot,
                at=self.at(day),
                user=sci,
                chemical=chemical,
                supplier=supplier,
                lot_number=number,
                purity_percent=purity,
                received_on=self.at(day).date(),
                opened_on=self.at(day + 1).date(),
            )

        span = LAB_DAYS / max(1, n_batches)
        self.lots: dict[str, list[Any]] = {}
        for chem, supplier, purity in [
            ("LiOH·H2O", "Sigma-Aldrich", "99.995"),
            ("Al2O3", "Sigma-Aldrich", "99.99"),
            ("La2O3", "Alfa Aesar", "99.99"),
            ("ZrO2", "Sigma-Aldrich", "99.0"),
            ("Ta2O5", "Alfa Aesar", "99.85"),
        ]:
            count = math.ceil(n_batches / min(LOT_EVERY[chem], n_batches))
            self.lots[chem] = [
                lot(
                    chem, supplier, f"{chem[:2].upper()}{i:05d}", purity, i * LOT_EVERY[chem] * span
                )
                for i in range(count)
            ]
        for chem, supplier, every, n in [
            ("Li", "Albemarle", LI_LOT_EVERY_FOILS, self.n_foils),
            ("Na", "Sigma-Aldrich", NA_LOT_EVERY_FOILS, self.n_foils),
            ("Ni", "Goodfellow", NI_LOT_EVERY_CELLS, self.n_cells),
        ]:
            self.lots[chem] = [
                lot(chem, supplier, f"{chem.upper()}-{i:05d}", "99.9", i * every * LAB_DAYS / n)
                for i in range(math.ceil(n / every))
            ]

        # One reading per glovebox and working day: every step in the box that day links to it.
        self.readings: dict[tuple[int, int], Any] = {}
        for day in range(LAB_DAYS + 30):
            for g, box in enumerate(self.equipment["glovebox"]):
                self.readings[g, day] = self.record(
                    GloveboxReading,
                    at=self.at(day, 8),
                    user=self.operator(day + g),
                    glovebox=box,
                    measured_at=self.at(day, 8),
                    o2_ppm=round(self.rng.uniform(0.01, 0.12), 3),
                    h2o_ppm=round(self.rng.uniform(0.01, 0.09), 3),
                    operator=self.operator(day + g),
                )
                self.link(self.readings[g, day])

    @property
    def n_pellets(self) -> int:
        return math.ceil(self.n_cells / USED_SEPARATORS_PER_PELLET)

    @property
    def n_batches(self) -> int:
        return math.ceil(self.n_pellets / PELLETS_PER_BATCH)

    @property
    def n_foils(self) -> int:
        return math.ceil(2 * self.n_cells / USED_PIECES_PER_FOIL)

    def build_batches(self) -> None:
        from analysis.science.composition import precursor_masses
        from processing.models import Pellet, ProcessStep, Separator, SynthesisBatch, WeighingEntry

        sci, eq = self.users["scientist"], self.equipment
        targets = precursor_masses(FORMULA, PRECURSORS, 20.0, excess_percent={"Li": 10.0})
        span = LAB_DAYS / self.n_batches
        self.separators: list[Any] = []
        self.batches: list[Any] = []
        for b in range(self.n_batches):
            day, op = b * span, self.operator(b)
            batch = self.record(
                SynthesisBatch,
                at=self.at(day),
                user=sci,
                target_formula=FORMULA,
                batch_size_g=20.0,
                li_excess_percent=10.0,
                started_on=self.at(day).date(),
            )
            self.batches.append(batch)
            weighings = []
            for i, chem in enumerate(PRECURSORS):
                target = round(targets[chem], 4)
                lot = self.lots[chem][min(b // LOT_EVERY[chem], len(self.lots[chem]) - 1)]
                weighings.append(
                    self.sub_row(
                        WeighingEntry,
                        at=self.at(day, 2 + i * 0.1),
                        user=op,
                        batch=batch,
                        lot=lot,
                        target_mass_g=target,
                        actual_mass_g=round(target * (1 + self.rng.uniform(-0.003, 0.003)), 4),
                        balance=eq["balance"][0],
                        weighed_at=self.at(day, 2 + i * 0.1),
                        operator=op,
                    )
                )
            furnace = eq["furnace"][b % len(eq["furnace"])]
            plan: list[tuple[str, Any, str | None, dict[str, Any], float]] = [
                (
                    "dry",
                    furnace,
                    None,
                    {"setpoint_C": 900, "dwell_h": 10, "atmosphere": "air", "crucible": "alumina"},
                    -20,
                ),
                ("mix", eq["mixer"][0], None, {}, 3),
                ("press", eq["press"][0], None, {"pressure_MPa": 50}, 4),
                (
                    "calcine",
                    furnace,
                    "calcine1",
                    {
                        "setpoint_C": 850,
                        "ramp_up_C_min": 5,
                        "ramp_down_C_min": 5,
                        "dwell_h": 20,
                        "atmosphere": "air",
                        "crucible": "alumina",
                    },
                    5,
                ),
                ("grind", eq["grinder"][0], None, {"crucible": "WC"}, 30),
                (
                    "calcine",
                    furnace,
                    "calcine2",
                    {
                        "setpoint_C": 1000,
                        "ramp_up_C_min": 5,
                        "ramp_down_C_min": 5,
                        "dwell_h": 20,
                        "atmosphere": "air",
                        "crucible": "alumina",
                    },
                    32,
                ),
                ("press", eq["press"][1], None, {"pressure_MPa": 200}, 60),
                (
                    "sinter",
                    furnace,
                    "sinter",
                    {
                        "setpoint_C": 1175,
                        "ramp_up_C_min": 3,
                        "ramp_down_C_min": 3,
                        "dwell_h": 10,
                        "atmosphere": "air",
                        "crucible": "closed alumina",
                    },
                    62,
                ),
            ]
            steps = []
            for seq, (step_type, equipment, protocol_key, values, hours) in enumerate(plan, 1):
                protocol = self.protocols[protocol_key] if protocol_key else None
                flags = protocol.out_of_range(values) if protocol else []
                steps.append(
                    self.sub_row(
                        ProcessStep,
                        at=self.at(day, hours),
                        user=op,
                        batch=batch,
                        sequence=seq,
                        step_type=step_type,
                        protocol=protocol,
                        equipment=equipment,
                        started_at=self.at(day, hours),
                        ended_at=self.at(day, hours + (values.get("dwell_h") or 1)),
                        operator=op,
                        flags=flags,
                        **values,
                    )
                )
            self.link(batch, weighings=weighings, steps=steps)

            for p in range(PELLETS_PER_BATCH):
                thickness = round(self.rng.uniform(1.1, 1.3), 3)
                diameter = round(self.rng.uniform(6.9, 7.1), 3)
                pellet = self.record(
                    Pellet,
                    at=self.at(day + 4, p * 0.2),
                    user=op,
                    batch=batch,
                    diameter_mm=diameter,
                    thickness_mm=thickness,
                    mass_g=round(5.0 * math.pi * (diameter / 20) ** 2 * thickness / 10, 4),
                )
                self.link(pellet)
                for s in range(SEPARATORS_PER_PELLET):
                    separator = self.record(
                        Separator,
                        at=self.at(day + 6, p * 0.2 + s * 0.02),
                        user=op,
                        pellet=pellet,
                        thickness_um=round(self.rng.uniform(650, 750)),
                        polish_grit=800,
                        polished_in="glovebox",
                        polished_at=self.at(day + 20, s),
                    )
                    self.link(separator)
                    if s < USED_SEPARATORS_PER_PELLET:
                        self.separators.append(separator)

    def build_foils(self) -> None:
        from processing.models import ElectrodePiece, FoldPass, MetalFoil

        self.pieces: list[Any] = []
        self.foils: list[Any] = []
        span = LAB_DAYS / self.n_foils
        for f in range(self.n_foils):
            day, op, g = int(f * span) + 20, self.operator(f), f % 2
            foil = self.record(
                MetalFoil,
                at=self.at(day, 9),
                user=op,
                foil_type=MetalFoil.Type.LINA,
                li_lot=self.lots["Li"][min(f // LI_LOT_EVERY_FOILS, len(self.lots["Li"]) - 1)],
                na_lot=self.lots["Na"][min(f // NA_LOT_EVERY_FOILS, len(self.lots["Na"]) - 1)],
                target_na_mol_percent=3.0,
                li_mass_g=0.6496,
                na_mass_g=0.0664,
                target_thickness_um=100,
                protocol=self.protocols["fold"],
                glovebox=self.equipment["glovebox"][g],
            )
            self.foils.append(foil)
            passes = [
                self.sub_row(
                    FoldPass,
                    at=self.at(day, 9 + n * 0.1),
                    user=op,
                    foil=foil,
                    pass_number=n,
                    thickness_after_um=100 + (n % 2) * 5,
                    performed_at=self.at(day, 9 + n * 0.1),
                    operator=op,
                    calender=self.equipment["calender"][g],
                    glovebox_reading=self.readings[g, day],
                    notes="",
                )
                for n in range(1, FOLD_PASSES + 1)
            ]
            self.link(foil, passes=passes)
            for k in range(PIECES_PER_FOIL):
                piece = self.record(
                    ElectrodePiece,
                    at=self.at(day, 12 + k * 0.05),
                    user=op,
                    foil=foil,
                    diameter_mm=6.0,
                    mass_mg=round(self.rng.uniform(1.3, 1.7), 3),
                )
                self.link(piece)
                if k < USED_PIECES_PER_FOIL:
                    self.pieces.append(piece)

    def build_cells(self) -> None:
        from cells.models import AssemblyStep, Cell

        statuses = ["assembled", "on_test", "failed", "retired"]
        self.cells: list[Any] = []
        for c in range(self.n_cells):
            separator, e1, e2 = self.separators[c], self.pieces[2 * c], self.pieces[2 * c + 1]
            # A cell is built once both its separator and its foil exist.
            day = max(separator.polished_at, e1.created_at).date() - self.t0.date()
            day_n, g, op = min(day.days + 1, LAB_DAYS + 29), c % 2, self.operator(c)
            reading = self.readings[g, day_n]
            t = reading.measured_at + dt.timedelta(hours=1, minutes=(c % 20) * 20)
            # Older cells are mostly finished; the recent ones are still on test.
            recent = c / self.n_cells
            weights = [0.05, 0.15, 0.3, 0.5] if recent < 0.8 else [0.3, 0.55, 0.1, 0.05]
            cell = self.record(
                Cell,
                at=t,
                user=op,
                cell_type="LiNa|LLZO|LiNa",
                separator=separator,
                electrode_1=e1,
                electrode_2=e2,
                collector_lot=self.lots["Ni"][
                    min(c // NI_LOT_EVERY_CELLS, len(self.lots["Ni"]) - 1)
                ],
                status=self.rng.choices(statuses, weights)[0],
                assembled_at=t,
                glovebox=self.equipment["glovebox"][g],
            )
            self.cells.append(cell)
            steps = []
            for seq, (step_type, minutes, extra) in enumerate(
                [
                    ("press", 0, {"notes": "Foil pieces pressed by hand onto both polished faces"}),
                    (
                        "melt_quench",
                        10,
                        {
                            "protocol": self.protocols["melt"],
                            "equipment": self.equipment["hotplate"][g],
                            "setpoint_C": 300,
                            "measured_C": round(self.rng.uniform(292, 305), 1),
                            "hold_time_s": 300,
                            "quench_surface": "steel plate at room temperature",
                            "time_to_quench_s": 4,
                        },
                    ),
                    ("seal", 25, {"notes": "Sealed in Swagelok housing"}),
                ],
                1,
            ):
                when = t + dt.timedelta(minutes=minutes)
                protocol = extra.get("protocol")
                flags = protocol.out_of_range(extra) if protocol else []
                steps.append(
                    self.sub_row(
                        AssemblyStep,
                        at=when,
                        user=op,
                        cell=cell,
                        sequence=seq,
                        step_type=step_type,
                        performed_at=when,
                        glovebox_reading=reading,
                        operator=op,
                        flags=flags,
                        **extra,
                    )
                )
            self.link(cell, assembly_steps=steps)

    def measurement_plan(self) -> list[tuple[Any, str, Any, dt.datetime]]:
        """(subject, type, instrument, when) of every measurement, oldest subject first.

        One density per pellet, one XRD per batch and one hardness per foil, as far as the
        total allows; the rest on cells, mostly impedance spectra (taken every few cycles).
        """
        eq = self.equipment
        fixed: list[tuple[Any, str, Any, dt.datetime]] = []
        fixed += [
            (b, "xrd", eq["diffractometer"][0], b.created_at + dt.timedelta(days=5))
            for b in self.batches
        ]
        fixed += [
            (f, "hardness", eq["indenter"][0], f.created_at + dt.timedelta(days=1))
            for f in self.foils
        ]
        pellets = [s.pellet for s in self.separators[::USED_SEPARATORS_PER_PELLET]]
        fixed += [
            (p, "density", eq["balance"][0], p.created_at + dt.timedelta(hours=2)) for p in pellets
        ]
        fixed = fixed[: self.n_measurements]
        plan = list(fixed)
        on_cells = self.n_measurements - len(fixed)
        kinds = ["eis"] * 14 + ["cycling"] * 3 + ["ccd"] * 2 + ["stripping"]
        for k in range(on_cells):
            cell = self.cells[k % self.n_cells]
            round_ = k // self.n_cells
            plan.append(
                (
                    cell,
                    "eis" if round_ == 0 else kinds[(round_ + k) % len(kinds)],
                    eq["potentiostat"][k % len(eq["potentiostat"])],
                    cell.assembled_at + dt.timedelta(hours=2 + 12 * round_),
                )
            )
        return plan

    def measurement_builder(self, part: int) -> Callable[[], None]:
        def build() -> None:
            from analysis.models import Measurement

            if part == 0:
                self.plan = self.measurement_plan()
            size = math.ceil(len(self.plan) / 10)
            for i, (subject, kind, instrument, when) in enumerate(
                self.plan[part * size : (part + 1) * size], part * size
            ):
                op = self.operator(i)
                measurement = self.record(
                    Measurement,
                    at=when,
                    user=op,
                    subject=subject,
                    measurement_type=kind,
                    instrument=instrument,
                    temperature_C=25.0 if kind != "hardness" else 22.0,
                    conditions={"current_density_mA_cm2": 0.1}
                    if kind in {"cycling", "ccd"}
                    else {},
                    operator=op,
                    measured_at=when,
                )
                self.link(measurement)

        return build

    def write_sequences(self) -> None:
        from django.core.management.color import no_style
        from django.db import connection

        from lims.models import CodeSequence

        CodeSequence.objects.bulk_create(
            [CodeSequence(prefix=p, last_value=v) for p, v in sorted(self.sequences.items())],
            batch_size=INSERT_ROWS,
        )
        # Explicit ids do not move PostgreSQL's sequences: the next service insert would collide.
        with connection.cursor() as cursor:
            for statement in connection.ops.sequence_reset_sql(no_style(), list(self.next_id)):
                cursor.execute(statement)


def bench_users() -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from lims.roles import ensure_roles

    ensure_roles()
    users = {}
    for username in BENCH_USERS:
        role = username.rstrip("0123456789")
        user, created = get_user_model().objects.get_or_create(username=username)
        if created:
            user.set_unusable_password()
            user.save()
            user.groups.set([Group.objects.get(name=role)])
        users[username] = user
    return users


def is_filled(cells: int, measurements: int) -> bool:
    from analysis.models import Measurement
    from cells.models import Cell

    return Cell.objects.count() == cells and Measurement.objects.count() == measurements


def empty_database() -> None:
    from django.core.management import call_command

    # flush is TRUNCATE on PostgreSQL (allowed by the history triggers) and DELETE on SQLite
    # (where only updates of history are refused).
    call_command("flush", verbosity=0, interactive=False)


def check_lineage(sample_per_kind: int = 25) -> int:
    """Re-read a sample of every kind through the ORM and compare its links with
    ``lineage_parents()``: the bulk fill must leave the graph the services would have."""
    from lims.models import Link, Record, record_models

    checked = 0
    rng = random.Random(7)
    for kind in sorted(record_models()):
        ids = list(Record.objects.filter(kind=kind).values_list("pk", flat=True))
        for pk in rng.sample(ids, min(sample_per_kind, len(ids))):
            record = Record.objects.get(pk=pk).concrete()
            wanted = {(p.pk, role) for p, role in record.lineage_parents() if p is not None}
            stored = set(Link.objects.filter(child=record).values_list("parent_id", "role"))
            if wanted != stored:
                raise AssertionError(f"{record.code}: links {stored} but lineage_parents {wanted}")
            if record.label != (record.describe()[:200] if hasattr(record, "describe") else ""):
                raise AssertionError(f"{record.code}: label {record.label!r} is stale")
            checked += 1
    return checked


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# ---------------------------------------------------------------------------------------------
# Measure


@dataclass
class Result:
    operation: str
    size: str
    queries: int
    median_ms: float
    min_ms: float


def measure(operation: str, run: Callable[[], str], repeat: int) -> Result:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        size = run()  # warm-up, and the query count
    # Read now: the next request's request_started signal clears the connection's query log.
    queries = len(captured.captured_queries)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return Result(operation, size, queries, statistics.median(times), min(times))


def run_benchmarks(repeat: int) -> list[Result]:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from cells.models import Cell
    from lims.lineage import lineage_trace
    from lims.models import Record
    from processing.models import ChemicalLot, Equipment, GloveboxReading

    auditor = get_user_model().objects.get(username="auditor")
    token, _ = Token.objects.get_or_create(user=auditor)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    pages = Client()
    pages.force_login(auditor)

    n_cells = Cell.objects.count()
    cell = Cell.objects.order_by("code")[n_cells // 2]
    la_lots = list(ChemicalLot.objects.filter(chemical="La2O3").order_by("code"))
    la_lot = la_lots[len(la_lots) // 2]
    al_lot = ChemicalLot.objects.filter(chemical="Al2O3").order_by("code").first()
    furnace = Equipment.objects.filter(equipment_type="furnace").order_by("code").first()
    glovebox = Equipment.objects.filter(equipment_type="glovebox").order_by("code").first()
    # The atmosphere of the day the traced cell was assembled: "that day's box was bad".
    first_step = cell.assembly_steps.order_by("sequence").first()
    assert first_step is not None and first_step.glovebox_reading_id is not None
    reading = GloveboxReading.objects.get(pk=first_step.glovebox_reading_id)
    batch_code = cell.separator.pellet.batch.code
    deep_page = max(1, n_cells // 50 // 2)
    assert al_lot and furnace and glovebox

    def trace(root: Record, direction: str) -> Callable[[], str]:
        def run() -> str:
            result = lineage_trace(root=root, direction=direction)
            cells = sum(1 for n in result.nodes if n["kind"] == "cell")
            meas = sum(1 for n in result.nodes if n["kind"] == "measurement")
            return f"{len(result.nodes)} nodes ({cells} cells, {meas} meas.), {len(result.edges)} edges"

        return run

    def get(client: Client, url: str) -> Callable[[], str]:
        def run() -> str:
            response = client.get(url)
            if response.status_code != 200:
                raise AssertionError(
                    f"GET {url}: {response.status_code} {response.content[:300]!r}"
                )
            if response["Content-Type"].startswith("application/json"):
                body = response.json()
                if "count" in body:
                    return f"{len(body['results'])} of {body['count']} rows"
                return f"{len(body.get('nodes', []))} nodes, {len(response.content) // 1024:,} KiB JSON"
            return f"{len(response.content) // 1024} KiB HTML"

        return run

    uses = {
        al_lot.code: ChemicalLot.objects.get(pk=al_lot.pk).weighings.count(),
        la_lot.code: ChemicalLot.objects.get(pk=la_lot.pk).weighings.count(),
    }
    operations: list[tuple[str, Callable[[], str]]] = [
        (f"Trace backward: cell {cell.code}", trace(cell, "backward")),
        (
            f"Trace forward: La2O3 lot {la_lot.code} ({uses[la_lot.code]} batches)",
            trace(la_lot, "forward"),
        ),
        (
            f"Trace forward: Al2O3 lot {al_lot.code} ({uses[al_lot.code]} batches, worst case)",
            trace(al_lot, "forward"),
        ),
        (f"Trace forward: furnace {furnace.code}", trace(furnace, "forward")),
        (f"Trace forward: glovebox reading {reading.code} (one day)", trace(reading, "forward")),
        (f"`GET /api/trace/{cell.code}/`", get(api, f"/api/trace/{cell.code}/")),
        (
            f"`GET /api/trace/{al_lot.code}/?direction=forward` (worst case)",
            get(api, f"/api/trace/{al_lot.code}/?direction=forward"),
        ),
        ("`GET /api/cells/?page_size=50`", get(api, "/api/cells/?page_size=50")),
        (
            "`GET /api/cells/?page_size=50&status=on_test`",
            get(api, "/api/cells/?page_size=50&status=on_test"),
        ),
        (
            f"`GET /api/cells/?page_size=50&batch={batch_code}`",
            get(api, f"/api/cells/?page_size=50&batch={batch_code}"),
        ),
        (
            f"`GET /api/cells/?page_size=50&page={deep_page}`",
            get(api, f"/api/cells/?page_size=50&page={deep_page}"),
        ),
        ("`GET /api/measurements/?page_size=50`", get(api, "/api/measurements/?page_size=50")),
        (f"Record page `/r/{cell.code}/`", get(pages, f"/r/{cell.code}/")),
        (
            f"Record page `/r/{glovebox.code}/` (glovebox, most used)",
            get(pages, f"/r/{glovebox.code}/"),
        ),
    ]
    results = []
    for name, run in operations:
        results.append(measure(name, run, repeat))
        r = results[-1]
        print(f"  {r.operation}: {r.median_ms:.1f} ms median, {r.queries} queries", flush=True)
    return results


def database_size() -> tuple[str, int]:
    from django.conf import settings
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            return "PostgreSQL", cursor.fetchone()[0]
    name = Path(settings.DATABASES["default"]["NAME"])
    size = sum(p.stat().st_size for p in name.parent.glob(name.name + "*") if p.is_file())
    return "SQLite", size


def table_counts() -> dict[str, int]:
    from django.apps import apps

    counted = {}
    for label in (
        "lims.Record",
        "lims.Link",
        "lims.HistoryEntry",
        "processing.ChemicalLot",
        "processing.SynthesisBatch",
        "processing.WeighingEntry",
        "processing.ProcessStep",
        "processing.Pellet",
        "processing.Separator",
        "processing.MetalFoil",
        "processing.FoldPass",
        "processing.ElectrodePiece",
        "processing.GloveboxReading",
        "cells.Cell",
        "cells.AssemblyStep",
        "analysis.Measurement",
    ):
        counted[label] = apps.get_model(label)._base_manager.count()
    return counted


def versions() -> str:
    import django
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
        else:
            cursor.execute("SELECT sqlite_version()")
        server = cursor.fetchone()[0]
    return f"{connection.vendor} {server}, Django {django.get_version()}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    url = database_url(args)
    default_file = DEFAULT_SQLITE if not args.database_url else None
    fresh_file = default_file if (default_file and not args.reuse) else None
    django_start(url, fresh_sqlite_file=fresh_file)

    from django.db import connection, transaction

    fill_s: float | None = None
    if args.reuse and is_filled(args.cells, args.measurements):
        print("Database already filled at this size (--reuse): skipping the fill.")
    else:
        if not is_filled(0, 0):
            empty_database()
        start = time.perf_counter()
        if connection.vendor == "sqlite":
            # A crash mid-fill only loses the bench database: trade durability for speed.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA synchronous = OFF")
        with transaction.atomic():
            users = bench_users()
            Filler(cells=args.cells, measurements=args.measurements, users=users).fill()
        fill_s = time.perf_counter() - start
        analyze()
        print(f"Filled in {fill_s:.0f} s; lineage check: {check_lineage()} records match.")
    bench_users()  # the auditor exists even in a database filled by an older run

    counts = table_counts()
    backend, size = database_size()
    print(f"\n{versions()}")
    print(", ".join(f"{label.split('.')[1]} {n:,}" for label, n in counts.items()))
    print("\nMeasuring ...", flush=True)
    results = run_benchmarks(args.repeat)

    fill = f"{fill_s:.0f} s" if fill_s is not None else "reused"
    print(
        f"\n### {backend}: {counts['cells.Cell']:,} cells, {counts['analysis.Measurement']:,} measurements, "
        f"{counts['lims.Record']:,} records, {counts['lims.Link']:,} links "
        f"(fill {fill}, database {size / 2**20:.0f} MiB)\n"
    )
    print(f"Median and min of {args.repeat} runs after one warm-up; queries of one run.\n")
    print("| Operation | Result | Queries | Median ms | Min ms |")
    print("|---|---|---:|---:|---:|")
    for r in results:
        print(f"| {r.operation} | {r.size} | {r.queries} | {r.median_ms:.1f} | {r.min_ms:.1f} |")


if __name__ == "__main__":
    main()
