"""Raising, clearing and acknowledging flags.

Two sources raise flags, both on the record people look at (the measured pellet or cell, the
foil): an analysis outcome (its revision's flags: density, Kramers–Kronig, identifiability, CCD
lower bound, XRD phase) and checks of the records themselves, run whenever a cell or a foil
changes (``record_changed``, wired in settings as a record-change hook):

- ``passes_short``: a cell's electrode comes from a foil with fewer passes than the foil's
  protocol asks for (``passes`` default);
- ``atmosphere``: a step (assembly step, fold pass) whose glovebox reading (the linked one, else
  the glovebox's last before the step) is above the limit or older than allowed. Limits come
  from the step's protocol (``glovebox_o2_ppm``, ``glovebox_h2o_ppm`` and
  ``glovebox_reading_age_h``, each ``{"max": ...}``), else :data:`ATMOSPHERE_DEFAULTS`;
- ``asr_rise``: a cell whose interface ASR, over its impedance spectra in time order, rose by
  more than ``asr_rise_factor`` (an EIS parameter, default 2) from the first.

Flags are never deleted: a flag that no longer holds is cleared with the reason.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from analysis.models import Flag, ResultRevision, ResultValue
from analysis.registry import FlagSpec
from lims.chain import chain_lock
from lims.context import acting_as
from lims.models import Record
from lims.services import record_save_new, record_update, system_row_check

#: Lab defaults when a step's protocol sets no glovebox limits: DOMAIN.md's target atmosphere
#: (< 0.1 ppm O2 and H2O) and one reading per working day.
ATMOSPHERE_DEFAULTS = {
    "glovebox_o2_ppm": 0.1,
    "glovebox_h2o_ppm": 0.1,
    "glovebox_reading_age_h": 24.0,
}
#: The ASR-rise factor when no EIS run of the cell says otherwise.
ASR_RISE_FACTOR = 2.0

#: Who may acknowledge a flag: scientists and admins (lims/roles.py).
ACKNOWLEDGE_PERMISSION = "analysis.change_flag"

RECORD_CHECK_KINDS = (Flag.Kind.PASSES_SHORT, Flag.Kind.ATMOSPHERE)


def flags_for_revision(
    *, revision: ResultRevision, previous: list[ResultRevision], specs: list[FlagSpec]
) -> list[Flag]:
    """Clear the flags of the superseded revisions and raise the new revision's.

    A revision's flags are rows the system makes from the analysis' specs: each is checked
    field by field (``system_row_check``; the open-flag constraint is for check flags only) and
    all are inserted in one statement, each with its history entry.
    """
    now = timezone.now()
    if previous:
        for old in Flag.objects.filter(revision__in=previous, cleared_at__isnull=True):
            _clear(old, f"superseded by revision {revision.number}", now)
    measurement = revision.measurement
    flags = [
        Flag(
            record=measurement.subject,
            revision=revision,
            kind=spec.kind,
            key=spec.key[:80],
            message=f"{measurement.code}: {spec.message}",
            threshold=spec.threshold,
            raised_at=now,
        )
        for spec in specs
    ]
    if not flags:
        return []
    for flag in flags:
        system_row_check(flag)
    with acting_as(None):  # raised by the system, as check flags are
        return Flag.objects.bulk_create(flags)


def _raise(*, record: Record, revision: ResultRevision | None, spec: FlagSpec, now: Any) -> Flag:
    flag = Flag(
        record=record,
        revision=revision,
        kind=spec.kind,
        key=spec.key[:80],
        message=spec.message,
        threshold=spec.threshold,
        raised_at=now,
    )
    return record_save_new(instance=flag, user=None)  # type: ignore[return-value]


def _clear(flag: Flag, reason: str, now: Any) -> None:
    record_update(
        instance=flag, data={"cleared_at": now, "cleared_reason": reason[:200]}, user=None
    )


def _sync(record: Record, kinds: tuple[str, ...], wanted: list[FlagSpec]) -> None:
    """Make the open check flags of these kinds on ``record`` match ``wanted``."""
    now = timezone.now()
    existing = {
        (f.kind, f.key): f
        for f in Flag.objects.filter(
            record=record, kind__in=kinds, revision__isnull=True, cleared_at__isnull=True
        )
    }
    wanted_keys = {(s.kind, s.key[:80]): s for s in wanted}
    for key, flag in existing.items():
        if key not in wanted_keys:
            _clear(flag, "no longer holds", now)
    for key, spec in wanted_keys.items():
        if key not in existing:
            _raise(record=record, revision=None, spec=spec, now=now)


# ---------------------------------------------------------------------------------------------
# Record checks


def _limit(protocol: Any, name: str) -> float:
    spec = (protocol.parameters.get(name) if protocol else None) or {}
    value = spec.get("max") if isinstance(spec, dict) else None
    return float(ATMOSPHERE_DEFAULTS[name] if value is None else value)


def _atmosphere_problem(
    *, what: str, at: dt.datetime, reading: Any, glovebox: Any, protocol: Any
) -> FlagSpec | None:
    from processing.models import GloveboxReading

    if reading is None and glovebox is not None:
        reading = (
            GloveboxReading.objects.filter(glovebox=glovebox, measured_at__lte=at)
            .order_by("-measured_at")
            .first()
        )
    source = f"protocol {protocol.name}" if protocol else "lab default"
    limits = {n: _limit(protocol, n) for n in ATMOSPHERE_DEFAULTS}
    threshold = {**limits, "source": source}
    if reading is None:
        return FlagSpec("atmosphere", f"{what}: no glovebox reading before it.", threshold, what)
    age_h = (at - reading.measured_at).total_seconds() / 3600.0
    problems = []
    if reading.o2_ppm > limits["glovebox_o2_ppm"]:
        problems.append(f"O2 {reading.o2_ppm:g} ppm > {limits['glovebox_o2_ppm']:g} ppm")
    if reading.h2o_ppm > limits["glovebox_h2o_ppm"]:
        problems.append(f"H2O {reading.h2o_ppm:g} ppm > {limits['glovebox_h2o_ppm']:g} ppm")
    if age_h > limits["glovebox_reading_age_h"]:
        problems.append(
            f"last reading {age_h:.0f} h old (> {limits['glovebox_reading_age_h']:g} h)"
        )
    if not problems:
        return None
    return FlagSpec(
        "atmosphere", f"{what} under {reading.code}: {'; '.join(problems)}.", threshold, what
    )


def _cell_checks(cell: Any) -> list[FlagSpec]:
    specs = []
    for piece in (cell.electrode_1, cell.electrode_2):
        foil = piece.foil
        required = foil.required_passes
        done = foil.passes.count()
        if required is not None and done < required:
            specs.append(
                FlagSpec(
                    "passes_short",
                    f"{piece.code} is cut from {foil.code}, which has {done} of the "
                    f"{required} passes its protocol asks for.",
                    {"passes": required, "source": f"protocol {foil.protocol.name}"},
                    foil.code,
                )
            )
    for step in cell.assembly_steps.select_related("glovebox_reading", "protocol"):
        problem = _atmosphere_problem(
            what=f"step {step.sequence} ({step.step_type})",
            at=step.performed_at,
            reading=step.glovebox_reading,
            glovebox=cell.glovebox,
            protocol=step.protocol,
        )
        if problem:
            specs.append(problem)
    return specs


def _foil_checks(foil: Any) -> list[FlagSpec]:
    specs = []
    for fold in foil.passes.select_related("glovebox_reading"):
        problem = _atmosphere_problem(
            what=f"pass {fold.pass_number}",
            at=fold.performed_at,
            reading=fold.glovebox_reading,
            glovebox=foil.glovebox,
            protocol=foil.protocol,
        )
        if problem:
            specs.append(problem)
    return specs


@transaction.atomic
def record_checks(*, record_id: int) -> None:
    """Re-run the record checks of a cell or a foil (and of the cells made from the foil)."""
    from cells.models import Cell
    from processing.models import MetalFoil

    chain_lock()  # before any flag's row lock (see lims.chain.chain_lock)
    record = Record.objects.filter(pk=record_id).first()
    if record is None:
        return
    record = record.concrete()
    if isinstance(record, Cell):
        _sync(record, RECORD_CHECK_KINDS, _cell_checks(record))
    elif isinstance(record, MetalFoil):
        _sync(record, (Flag.Kind.ATMOSPHERE,), _foil_checks(record))
        for cell in Cell.objects.filter(electrode_1__foil=record) | Cell.objects.filter(
            electrode_2__foil=record
        ):
            _sync(cell, RECORD_CHECK_KINDS, _cell_checks(cell))


#: The kinds of record whose changes the record checks follow.
CHECKED_KINDS = {"cell", "metalfoil"}


def record_changed(record_id: int) -> None:
    """Record-change hook (``RECORD_CHANGE_HOOKS``): queue the checks of a cell or a foil."""
    kind = Record.objects.filter(pk=record_id).values_list("kind", flat=True).first()
    if kind in CHECKED_KINDS:
        from analysis.tasks import check_record

        check_record.enqueue(record_id)


def subject_checks(*, subject: Record) -> None:
    """Checks over all of a subject's results: the interface ASR rise of a cell."""
    series: list[Any] = list(
        ResultValue.objects.filter(
            subject=subject,
            name="asr_interface_ohm_cm2",
            is_current=True,
            value__isnull=False,
        )
        .order_by("measurement__measured_at", "measurement_id")
        .values_list("value", "measurement__code", "revision__run__parameters")
    )
    wanted = []
    if len(series) >= 2:
        factor = float(series[-1][2].get("asr_rise_factor") or ASR_RISE_FACTOR)
        (first, first_code, _), (last, last_code, _) = series[0], series[-1]
        if first > 0 and last / first > factor:
            wanted.append(
                FlagSpec(
                    "asr_rise",
                    f"Interface ASR rose {last / first:.1f}× from {first:.3g} Ω·cm² "
                    f"({first_code}) to {last:.3g} Ω·cm² ({last_code}).",
                    {"asr_rise_factor": factor},
                    "asr",
                )
            )
    _sync(subject, (Flag.Kind.ASR_RISE,), wanted)


@transaction.atomic
def flag_acknowledge(*, flag: Flag, user: Any, comment: str) -> Flag:
    """A person has looked at the flag: who, when and why, kept in the record's history."""
    chain_lock()
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError({"comment": "Say why the flag is acceptable or what was done."})
    if flag.acknowledged_at is not None:
        raise ValidationError(
            {"flag": f"Already acknowledged by {flag.acknowledged_by} at {flag.acknowledged_at}."}
        )
    return record_update(  # type: ignore[return-value]
        instance=flag,
        data={
            "acknowledged_at": timezone.now(),
            "acknowledged_by": user,
            "acknowledgement": comment,
        },
        user=user,
    )
