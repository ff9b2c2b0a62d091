"""Writes made at the bench: each wraps a domain service and logs who, device and clocks.

The domain services validate, save, link and write the history; these add what only the bench
knows (the tablet's clock, the device) and the checks an operator needs before a step.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from analysis.science.composition import ANION_ELEMENTS, parse_formula, precursor_masses
from cells.models import AssemblyStep, Cell
from cells.services import cell_add_step
from glovebox.models import BenchCredential, BenchEntry, Device
from lims.context import current_request_id
from lims.history import history_version
from lims.models import HistoryEntry, IdempotencyKey
from lims.services import VersionConflict, check_version, record_delete, record_update
from processing.models import (
    ChemicalLot,
    Equipment,
    FoldPass,
    GloveboxReading,
    MetalFoil,
    ProtocolTemplate,
    Separator,
    SynthesisBatch,
    WeighingEntry,
)
from processing.services import foil_log_pass

#: An operator may take back the last pass this long after logging it.
UNDO_WINDOW = dt.timedelta(minutes=2)
#: A glovebox reading older than this is not "recent": steps warn before they start.
READING_MAX_AGE = dt.timedelta(hours=12)


def bench_entry_log(
    *,
    user: Any,
    device: Device | None,
    action: str,
    record_code: str,
    summary: str,
    device_time: dt.datetime | None,
    device_clock: dt.datetime | None,
    key: str = "",
) -> BenchEntry:
    """Log one bench entry. ``device_clock`` is the tablet's clock when it sent the entry."""
    now = timezone.now()
    offset = None if device_clock is None else (now - device_clock).total_seconds()
    flagged = offset is not None and abs(offset) > BenchEntry.CLOCK_TOLERANCE.total_seconds()
    if device_time is not None and device_time > now + BenchEntry.CLOCK_TOLERANCE:
        flagged = True
    return BenchEntry.objects.create(
        key=key,
        user=user,
        device=device,
        action=action,
        record_code=record_code,
        summary=summary[:200],
        device_time=device_time,
        server_time=now,
        clock_offset_s=offset,
        clock_flagged=flagged,
        request_id=current_request_id(),
    )


def latest_reading(glovebox: Equipment | None) -> GloveboxReading | None:
    if glovebox is None:
        return None
    return GloveboxReading.objects.filter(glovebox=glovebox).order_by("-measured_at").first()


def reading_warning(reading: GloveboxReading | None, *, at: dt.datetime | None = None) -> str:
    """What an operator must hear before a step in the glovebox, or ``""``."""
    if reading is None:
        return "No glovebox reading yet: log O2 and H2O before this step."
    at = at or timezone.now()
    if at - reading.measured_at > READING_MAX_AGE:
        hours = (at - reading.measured_at).total_seconds() / 3600
        return f"Last glovebox reading {reading.code} is {hours:.0f} h old: log a new one."
    if not reading.within_target:
        return (
            f"Last reading {reading.code}: {reading.describe()}, above the "
            f"{GloveboxReading.TARGET_PPM:g} ppm limit."
        )
    return ""


@transaction.atomic
def bench_pass_log(
    *,
    user: Any,
    foil: MetalFoil,
    thickness_after_um: float,
    performed_at: dt.datetime | None,
    calender: Equipment | None = None,
) -> FoldPass:
    """Log the next pass of ``foil`` with the foil's latest glovebox reading (a foil already in
    a cell is refused by :func:`~processing.services.foil_log_pass`, for every caller)."""
    return foil_log_pass(
        user=user,
        foil=foil,
        thickness_after_um=thickness_after_um,
        performed_at=performed_at,
        calender=calender,
        glovebox_reading=latest_reading(foil.glovebox),
    )


def pass_undo_until(fold_pass: FoldPass | None) -> int | None:
    """Until when (seconds since the epoch) ``fold_pass`` may still be undone."""
    if fold_pass is None:
        return None
    logged = (
        HistoryEntry.objects.filter(
            model="processing.foldpass", object_id=str(fold_pass.pk), action="create"
        )
        .values_list("at", flat=True)
        .first()
    )
    return None if logged is None else int((logged + UNDO_WINDOW).timestamp())


class BenchConflict(Exception):
    """The row changed since the tablet's page showed it: what changed and what the operator
    sent, in their words. ``current`` is the row's version now: the page keeps it, so a second
    tap, once the operator has read the message, goes through. Nothing was saved."""

    def __init__(self, message: str, *, current: int | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message, self.current, self.details = message, current, details


def changed_since(instance: Any, version: int) -> list[HistoryEntry]:
    """The history entries of ``instance`` after the first ``version`` (what the page missed)."""
    entries = HistoryEntry.objects.filter(
        model=instance._meta.label_lower, object_id=str(instance.pk)
    ).order_by("id")
    return list(entries[version:])


def _who_when(entries: list[HistoryEntry]) -> str:
    names = ", ".join(dict.fromkeys(e.username or "someone" for e in entries)) or "someone"
    last = timezone.localtime(entries[-1].at) if entries else None
    return f"{names}{f' at {last:%H:%M}' if last else ''}"


def _pass_words(fold_pass: FoldPass) -> str:
    return f"pass {fold_pass.pass_number} ({fold_pass.thickness_after_um:g} µm)"


@transaction.atomic
def bench_pass_undo(
    *,
    user: Any,
    foil: MetalFoil,
    pass_number: int | None = None,
    expected_version: int | None = None,
    pass_key: str = "",
) -> FoldPass:
    """Take back the foil's last pass within ``UNDO_WINDOW`` of logging it (one's own pass;
    a scientist may take back anyone's).

    The tablet names the pass it means: ``pass_number`` at ``expected_version`` as its page
    showed it, or ``pass_key``, the idempotency key of a pass it logged itself (still in its
    outbox when Undo was tapped). If that pass is no longer the last one, or was corrected
    since, :class:`BenchConflict` says so and nothing is undone.

    The pass row goes (so the count is right and the next pass takes its number); the history
    keeps both its creation and its removal with every value, so nothing is lost.
    """
    MetalFoil.objects.select_for_update(no_key=True).get(pk=foil.pk)
    last = foil.passes.order_by("-pass_number").first()
    if pass_key:
        sent = IdempotencyKey.objects.filter(
            user=user, key=pass_key, response_status__isnull=False
        ).first()
        if sent is None or not isinstance(sent.response_body, dict):
            raise ValidationError({"undo": "That pass never reached the server: nothing to undo."})
        pass_number = sent.response_body.get("pass_number")
        expected_version = sent.response_body.get("version")
    if last is None:
        raise ValidationError({"undo": f"{foil.code} has no pass to undo."})
    if pass_number is not None and pass_number != last.pass_number:
        meant = foil.passes.filter(pass_number=pass_number).first()
        raise BenchConflict(
            f"{'You meant ' + _pass_words(meant) if meant else f'Pass {pass_number} is gone'}, "
            f"but the last pass is now {_pass_words(last)}, logged by {last.operator or 'someone'}"
            " since. Nothing was undone.",
            current=history_version(last),
            pass_number=last.pass_number,
        )
    if expected_version is not None:
        try:
            check_version(last, expected_version)
        except VersionConflict as conflict:
            since = changed_since(last, expected_version)
            was = since[0].changes.get("thickness_after_um", [None])[0] if since else None
            change = f": {was:g} µm → {last.thickness_after_um:g} µm" if was is not None else ""
            raise BenchConflict(
                f"Pass {last.pass_number} was corrected by {_who_when(since)} since this page "
                f"showed it{change}. Nothing was undone: check it, then tap Undo again if it "
                "must still go.",
                current=conflict.current,
            ) from conflict
    if last.operator_id != getattr(user, "pk", None) and not user.has_perm(
        "processing.delete_foldpass"
    ):
        raise ValidationError(
            {
                "undo": f"Pass {last.pass_number} was logged by {last.operator}: only they can undo it."
            }
        )
    until = pass_undo_until(last)
    if until is None or timezone.now().timestamp() > until:
        minutes = UNDO_WINDOW.total_seconds() / 60
        raise ValidationError(
            {
                "undo": f"Pass {last.pass_number} was logged over {minutes:g} min ago: ask a "
                "scientist to correct it."
            }
        )
    record_delete(instance=last, user=user)
    return last


def melt_protocol() -> ProtocolTemplate | None:
    """The lab's melt-quench template the tablet pre-fills from (the first by name)."""
    return ProtocolTemplate.objects.filter(step_type="melt_quench").order_by("name").first()


@transaction.atomic
def bench_cell_step(
    *, user: Any, cell: Cell, step_type: str, performed_at: dt.datetime | None, **fields: Any
) -> AssemblyStep:
    """Log an assembly step of ``cell`` linked to its glovebox's latest reading."""
    return cell_add_step(
        user=user,
        cell=cell,
        step_type=step_type,
        performed_at=performed_at or timezone.now(),
        glovebox_reading=latest_reading(cell.glovebox),
        **fields,
    )


@transaction.atomic
def bench_melt_quench(
    *,
    user: Any,
    cell: Cell,
    started_at: dt.datetime,
    ended_at: dt.datetime,
    quenched_at: dt.datetime,
    protocol: ProtocolTemplate | None,
    **fields: Any,
) -> AssemblyStep:
    """The melt-quench from its three tapped times: hold = lift off − start, time to quench =
    quenched − lift off; the times themselves go into the step's notes."""
    start, end, quench = (timezone.localtime(t) for t in (started_at, ended_at, quenched_at))
    notes = f"Hold start {start:%H:%M:%S}, lift off {end:%H:%M:%S}, quenched {quench:%H:%M:%S}"
    return bench_cell_step(
        user=user,
        cell=cell,
        step_type="melt_quench",
        performed_at=started_at,
        protocol=protocol,
        hold_time_s=round((ended_at - started_at).total_seconds(), 1),
        time_to_quench_s=round((quenched_at - ended_at).total_seconds(), 1),
        notes=notes,
        **fields,
    )


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def device_register(*, user: Any, name: str) -> tuple[Device, str]:
    """Register a tablet; returns the device and the secret its browser keeps (shown once)."""
    secret = secrets.token_urlsafe(32)
    device = Device(name=name, secret_sha256=_sha256(secret), registered_by=user)
    device.full_clean()
    device.save()
    return device, secret


def device_for_secret(secret: str | None) -> Device | None:
    if not secret:
        return None
    return Device.objects.filter(secret_sha256=_sha256(secret), active=True).first()


def bench_pin_set(*, user: Any, pin: str) -> BenchCredential:
    if not (pin.isdigit() and 4 <= len(pin) <= 8):
        raise ValidationError({"pin": "A PIN is 4 to 8 digits."})
    credential, _ = BenchCredential.objects.get_or_create(user=user)
    credential.pin_hash = make_password(pin)
    credential.failed_attempts, credential.locked_until = 0, None
    credential.save()
    return credential


def bench_badge_issue(*, user: Any) -> str:
    """A new badge secret for ``user`` (print it as a QR code); the previous badge stops working."""
    secret = "BADGE-" + secrets.token_urlsafe(24)
    credential, _ = BenchCredential.objects.get_or_create(user=user)
    credential.badge_sha256 = _sha256(secret)
    credential.save(update_fields=["badge_sha256"])
    return secret


class SwitchRefused(Exception):
    """Why a PIN or badge did not switch the user, in words for the operator."""


def bench_switch_by_pin(*, device: Device | None, username: str, pin: str) -> Any:
    """The user whose PIN this is, or :class:`SwitchRefused`. Wrong PINs count towards the lock
    (committed even though the switch is refused)."""
    if device is None:
        raise SwitchRefused("This tablet is not registered: PINs work only on registered tablets.")
    user, refusal = _pin_check(username=username, pin=pin)
    if refusal:
        raise SwitchRefused(refusal)
    return user


@transaction.atomic
def _pin_check(*, username: str, pin: str) -> tuple[Any, str]:
    credential = (
        BenchCredential.objects.select_for_update(no_key=True)
        .select_related("user")
        .filter(user__username=username, user__is_active=True)
        .exclude(pin_hash="")
        .first()
    )
    if credential is None:
        return None, f"{username} has no PIN: ask an admin to set one."
    now = timezone.now()
    if credential.locked_until and credential.locked_until > now:
        until = timezone.localtime(credential.locked_until)
        return None, f"PIN locked until {until:%H:%M} after too many wrong tries."
    if check_password(pin, credential.pin_hash):
        credential.failed_attempts, credential.locked_until = 0, None
        credential.save(update_fields=["failed_attempts", "locked_until"])
        return credential.user, ""
    credential.failed_attempts += 1
    left = BenchCredential.MAX_FAILURES - credential.failed_attempts
    if left <= 0:
        credential.locked_until = now + BenchCredential.LOCK_TIME
        credential.failed_attempts = 0
    credential.save(update_fields=["failed_attempts", "locked_until"])
    if credential.locked_until and left <= 0:
        until = timezone.localtime(credential.locked_until)
        return None, f"Wrong PIN. PIN locked until {until:%H:%M}."
    return None, f"Wrong PIN: {left} {'try' if left == 1 else 'tries'} left."


def bench_switch_by_badge(*, device: Device | None, badge: str) -> Any:
    if device is None:
        raise SwitchRefused(
            "This tablet is not registered: badges work only on registered tablets."
        )
    credential = (
        BenchCredential.objects.select_related("user")
        .filter(badge_sha256=_sha256(badge.strip()), user__is_active=True)
        .exclude(badge_sha256="")
        .first()
    )
    if credential is None:
        raise SwitchRefused("This badge is not known: ask an admin for a new one.")
    return credential.user


def _polish_words(*, polish_grit: Any, polished_in: Any, thickness_um: Any) -> str:
    where = {"glovebox": "in the glovebox", "air": "in air"}.get(polished_in, "not polished")
    grit = f"grit P{polish_grit}" if polish_grit else "no grit"
    thickness = f"{thickness_um:g} µm" if thickness_um is not None else "no thickness"
    return f"{thickness}, {grit}, {where}"


@transaction.atomic
def bench_separator_polish(
    *,
    user: Any,
    separator: Separator,
    polish_grit: int,
    polished_in: str,
    thickness_um: float,
    polished_at: dt.datetime | None,
    expected_version: int | None = None,
) -> Separator:
    """Record the polishing of a separator that is not yet in a cell. ``expected_version`` is
    the separator's version the page showed: changed since, :class:`BenchConflict` names both
    the values now and the operator's, and nothing is overwritten."""
    used_by = Cell.objects.filter(separator=separator).values_list("code", flat=True).first()
    if used_by:
        raise ValidationError(
            {"thickness_um": f"{separator.code} is already in cell {used_by}: polish before."}
        )
    data = {
        "polish_grit": polish_grit,
        "polished_in": polished_in,
        "thickness_um": thickness_um,
        "polished_at": polished_at or timezone.now(),
    }
    try:
        return record_update(  # type: ignore[return-value]
            instance=separator, data=data, user=user, expected_version=expected_version
        )
    except VersionConflict as conflict:
        now = Separator.objects.get(pk=separator.pk)
        since = changed_since(now, conflict.expected)
        raise BenchConflict(
            f"{_who_when(since)} changed {separator.code} after this page showed it. "
            f"Now: {_polish_words(polish_grit=now.polish_grit, polished_in=now.polished_in, thickness_um=now.thickness_um)}. "
            f"Yours: {_polish_words(polish_grit=polish_grit, polished_in=polished_in, thickness_um=thickness_um)}. "
            "Check the separator, then tap Save polishing again to keep yours.",
            current=conflict.current,
        ) from conflict


#: A weighed mass further than this from its target is flagged.
WEIGHING_TOLERANCE_PERCENT = 1.0


@dataclass
class WeighingPlan:
    """One precursor of a batch: the lot to weigh from and the target mass."""

    chemical: str
    lot: ChemicalLot
    target_mass_g: float | None
    weighed: WeighingEntry | None = None

    @property
    def flagged(self) -> bool:
        return bool(self.weighed) and abs(self.weighed.deviation_percent) > (  # type: ignore[union-attr]
            WEIGHING_TOLERANCE_PERCENT
        )


def weighing_plan(batch: SynthesisBatch) -> tuple[list[WeighingPlan], str]:
    """Which lot supplies each cation of the batch's formula (the newest lot of a compound that
    supplies only it), the target mass of each, and what went wrong working them out (or
    ``""``)."""
    try:
        cations = [e for e in parse_formula(batch.target_formula) if e not in ANION_ELEMENTS]
    except ValueError as exc:
        return [], f"The formula {batch.target_formula} cannot be read: {exc}"
    lots: dict[str, ChemicalLot] = {}
    for lot in ChemicalLot.objects.order_by("-received_on", "-created_at"):
        try:
            elements = parse_formula(lot.chemical)
        except ValueError:
            continue
        supplies = [e for e in elements if e in cations]
        is_compound = any(e in ANION_ELEMENTS for e in elements)  # not a metal foil's lot
        if is_compound and len(supplies) == 1 and supplies[0] not in lots:
            lots[supplies[0]] = lot
    weighed = {w.lot.chemical: w for w in batch.weighings.select_related("lot")}
    chemicals = [lots[e].chemical for e in cations if e in lots]
    problem = ""
    try:
        targets = precursor_masses(
            batch.target_formula,
            chemicals,
            batch.batch_size_g,
            excess_percent={"Li": batch.li_excess_percent} if "Li" in cations else None,
        )
    except ValueError as exc:
        targets, problem = {}, f"Target masses cannot be worked out: {exc}"
    plans = [
        WeighingPlan(
            chemical=lots[e].chemical,
            lot=weighed[lots[e].chemical].lot if lots[e].chemical in weighed else lots[e],
            target_mass_g=round(targets[lots[e].chemical], 4) if targets else None,
            weighed=weighed.get(lots[e].chemical),
        )
        for e in cations
        if e in lots
    ]
    return plans, problem
