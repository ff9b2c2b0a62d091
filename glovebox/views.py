"""The bench pages: find a record, then log its steps. Writes arrive as JSON from the tablet's
outbox (``static/glovebox/bench.js``), each with an ``Idempotency-Key``.

An entry that changes or removes an existing row (polishing a separator, undoing a pass)
carries the version of the row its page showed, and a change made in between comes back as a
conflict naming both values (``services.BenchConflict``). Entries that append a row (passes,
readings, weighings, assembly steps including the melt-quench and sealing, a new cell) carry
none: nothing existing is overwritten, and the services lock and number what they append.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django import forms
from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from cells.models import Cell
from cells.services import cell_assemble
from glovebox import services
from glovebox.forms import (
    AssembleForm,
    MeltQuenchForm,
    PassForm,
    PolishForm,
    ReadingForm,
    StepForm,
    UndoForm,
    WeighingForm,
)
from glovebox.models import BenchCredential, BenchEntry, Device
from lims.history import history_version
from lims.idempotency import KEY_HEADER, IdempotencyError, idempotency_run, request_fingerprint
from lims.models import HistoryEntry, Record
from lims.qr import qr_svg
from processing.models import (
    ChemicalLot,
    Equipment,
    GloveboxReading,
    MetalFoil,
    ProtocolTemplate,
    Separator,
    SynthesisBatch,
)
from processing.services import batch_add_weighing, foil_built_into, glovebox_reading_log

DEVICE_COOKIE = "bench_device"
#: Sent by the tablet when it fetches a page only to keep an offline copy.
REFRESH_HEADER = "X-Bench-Refresh"
#: Sent with every entry from the outbox: the operator who made it.
USER_HEADER = "X-Bench-User"
RECENT_COUNT = 8


def current_device(request: HttpRequest) -> Device | None:
    return services.device_for_secret(request.COOKIES.get(DEVICE_COOKIE))


def recent_records(request: HttpRequest) -> list[Record]:
    """Records this operator opened at the bench or changed lately, newest first."""
    visited = request.session.get("bench_recent", [])
    changed = HistoryEntry.objects.filter(username=request.user.get_username()).values_list(
        "record_code", flat=True
    )
    codes = list(dict.fromkeys([*visited, *changed[:50]]))[:RECENT_COUNT]
    found = {r.code: r for r in Record.objects.filter(code__in=codes)}
    return [found[c] for c in codes if c in found]


def _remember(request: HttpRequest, code: str) -> None:
    visited = [code, *(c for c in request.session.get("bench_recent", []) if c != code)]
    request.session["bench_recent"] = visited[:RECENT_COUNT]


def _page(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    # When the page was rendered (server time, ms): the tablet tells a page fresh from the
    # network from an older copy its service worker serves offline (bench.js, "who is in").
    context |= {"device": current_device(request), "rendered_ms": int(time.time() * 1000)}
    return render(request, f"glovebox/{template}", context, status=status)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return _page(request, "home.html", {"recent": recent_records(request)})


@require_GET
def find(request: HttpRequest) -> HttpResponse:
    code = request.GET.get("code", "").strip()
    record = Record.objects.filter(code__iexact=code).first() if code else None
    if record is not None:
        return redirect("bench:record", code=record.code)
    error = (
        f"No record has the code “{code}”. Check the label and scan or type it again."
        if code
        else "Scan a label or type a code."
    )
    context = {"recent": recent_records(request), "error": error, "code": code}
    return _page(request, "home.html", context, 404)


R = TypeVar("R", bound=Record)


def _get(model: type[R], code: str, what: str) -> R:
    """The ``model`` record with this code, or 404 saying what the page expected."""
    found = model._default_manager.filter(code=code).first()
    if found is None:
        raise Http404(f"{code} is not {what}.")
    return cast(R, found)


def _record(code: str) -> Record:
    record = Record.objects.filter(code=code).first()
    if record is None:
        raise Http404(f"No record has the code {code}.")
    return record.concrete()


@require_GET
def record(request: HttpRequest, code: str) -> HttpResponse:
    rec = _record(code)
    if not request.headers.get(REFRESH_HEADER):  # the tablet renewing its copy is no visit
        _remember(request, rec.code)
    context: dict[str, Any] = {"record": rec, "qr_svg": qr_svg(rec.code)}
    if isinstance(rec, MetalFoil):
        return _page(request, "foil.html", context | foil_context(rec))
    if isinstance(rec, SynthesisBatch):
        plans, problem = services.weighing_plan(rec)
        context |= {
            "plans": plans,
            "problem": problem,
            "tolerance": services.WEIGHING_TOLERANCE_PERCENT,
        }
        return _page(request, "weighing.html", context)
    if isinstance(rec, Separator):
        context |= {"form": PolishForm(initial={"polish_grit": rec.polish_grit or 1200})}
        context["version"] = history_version(rec)
        context["used_by"] = (
            Cell.objects.filter(separator=rec).values_list("code", flat=True).first()
        )
        return _page(request, "separator.html", context)
    if isinstance(rec, Cell):
        return _page(request, "cell.html", context | cell_context(rec))
    if isinstance(rec, Equipment) and rec.equipment_type == Equipment.Type.GLOVEBOX:
        reading = services.latest_reading(rec)
        context |= {"form": ReadingForm(), "reading": reading}
        context["warning"] = services.reading_warning(reading)
        return _page(request, "glovebox.html", context)
    return _page(request, "record.html", context)


def foil_context(foil: MetalFoil) -> dict[str, Any]:
    passes = list(foil.passes.order_by("-pass_number")[:5])
    last = passes[0] if passes else None
    # Undo takes back one row: it names the pass the page shows, at its version.
    last_version = history_version(last) if last else None
    reading = services.latest_reading(foil.glovebox)
    thickness = last.thickness_after_um if last else foil.target_thickness_um
    return {
        "form": PassForm(initial={"thickness_after_um": thickness}),
        "passes": passes,
        "count": foil.passes.count(),
        "target": foil.required_passes,
        "used_by": foil_built_into(foil),
        "reading": reading,
        "warning": services.reading_warning(reading),
        "undo_window_s": int(services.UNDO_WINDOW.total_seconds()),
        "undo_until": services.pass_undo_until(last),
        "last_pass": last,
        "last_version": last_version,
        "thickness_range": (
            (0.8 * foil.target_thickness_um, 1.2 * foil.target_thickness_um)
            if foil.target_thickness_um
            else None
        ),
    }


def _errors(exc: ValidationError | forms.Form) -> dict[str, list[str]]:
    if isinstance(exc, forms.Form):
        return {name: [str(m) for m in messages] for name, messages in exc.errors.items()}
    if hasattr(exc, "error_dict"):
        return {k: list(v) for k, v in exc.message_dict.items()}
    return {"__all__": exc.messages}


def _device_clock(request: HttpRequest) -> dt.datetime | None:
    """The tablet's clock when it sent this request (``X-Device-Time``, ms since the epoch)."""
    try:
        ms = float(request.headers.get("X-Device-Time", ""))
    except ValueError:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


def bench_write(
    request: HttpRequest,
    *,
    form_class: type[forms.Form],
    action: str,
    record_code: str | None,
    run: Callable[[dict[str, Any]], tuple[str, dict[str, Any]]],
) -> JsonResponse:
    """Validate the tablet's JSON, run the write once per idempotency key, log the entry.

    ``run(cleaned_data)`` makes the change and returns a one-line summary and the JSON to send
    back; a ``record_code`` of None means the entry made a record, named by the JSON's
    ``code``. Errors come back as ``{"errors": {field: [message]}}`` with status 400.
    """
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        return JsonResponse(
            {"errors": {"__all__": ["The tablet sent unreadable data."]}}, status=400
        )
    key = request.headers.get(KEY_HEADER, "")
    made_by = request.headers.get(USER_HEADER)
    if made_by is not None and made_by != request.user.get_username():
        # Signed in as someone else since (on another page, or the desk): the entry waits on
        # the tablet for its maker rather than being filed under the wrong name.
        message = (
            f"This entry was made by {made_by or 'nobody'}, but the tablet is signed in as "
            f"{request.user.get_username()}: switch to {made_by} to send it."
        )
        return JsonResponse({"errors": {"__all__": [message]}}, status=409)

    def work() -> tuple[int, Any]:
        form = form_class(data)
        if not form.is_valid():
            return 400, {"errors": _errors(form)}
        try:
            with transaction.atomic():
                summary, body = run(form.cleaned_data)
                entry = services.bench_entry_log(
                    user=request.user,
                    device=current_device(request),
                    action=action,
                    record_code=body["code"] if record_code is None else record_code,
                    summary=summary,
                    device_time=form.cleaned_data.get("device_time"),
                    device_clock=_device_clock(request),
                    key=key,
                )
        except ValidationError as exc:
            return 400, {"errors": _errors(exc)}
        except services.BenchConflict as conflict:
            errors = {"errors": {"__all__": [conflict.message]}, "version": conflict.current}
            return 400, conflict.details | errors
        return 201, body | {"entry": _entry_json(entry)}

    if not key:
        status, body = work()
        return JsonResponse(body, status=status)
    fingerprint = request_fingerprint(method="POST", path=request.path, body=request.body)
    try:
        outcome = idempotency_run(user=request.user, key=key, fingerprint=fingerprint, work=work)
    except IdempotencyError as exc:
        return JsonResponse({"errors": {"__all__": [exc.message]}}, status=exc.status)
    return JsonResponse(outcome.body, status=outcome.status)


def _entry_json(entry: BenchEntry) -> dict[str, Any]:
    return {
        "summary": entry.summary,
        "device_time": entry.device_time.isoformat() if entry.device_time else None,
        "server_time": entry.server_time.isoformat(),
        "clock_flagged": entry.clock_flagged,
    }


def _refused(request: HttpRequest, perm: str) -> JsonResponse | None:
    if request.user.has_perm(perm):
        return None
    message = f"{request.user.get_username()} may not log this: ask a scientist for the role."
    return JsonResponse({"errors": {"__all__": [message]}}, status=403)


@require_POST
def pass_log(request: HttpRequest, code: str) -> JsonResponse:
    if refused := _refused(request, "processing.add_foldpass"):
        return refused
    foil = _get(MetalFoil, code, "a foil")

    def run(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        calender = foil.passes.order_by("-pass_number").values_list("calender", flat=True).first()
        fold_pass = services.bench_pass_log(
            user=request.user,
            foil=foil,
            thickness_after_um=data["thickness_after_um"],
            performed_at=data.get("device_time"),
            calender=Equipment.objects.filter(pk=calender).first() if calender else None,
        )
        summary = f"pass {fold_pass.pass_number}: {fold_pass.thickness_after_um:g} µm"
        # A pass is appended (a new row), so it carries no version; its own version comes
        # back for an Undo that names it.
        made = {"pass_number": fold_pass.pass_number, "version": history_version(fold_pass)}
        return summary, made | _foil_counts(foil)

    return bench_write(request, form_class=PassForm, action="fold_pass", record_code=code, run=run)


@require_POST
def pass_undo(request: HttpRequest, code: str) -> JsonResponse:
    if refused := _refused(request, "processing.add_foldpass"):
        return refused
    foil = _get(MetalFoil, code, "a foil")

    def run(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        undone = services.bench_pass_undo(
            user=request.user,
            foil=foil,
            pass_number=data.get("pass_number"),
            expected_version=data.get("version"),
            pass_key=data.get("pass_key") or "",
        )
        summary = f"undo pass {undone.pass_number} ({undone.thickness_after_um:g} µm)"
        return summary, {"undone": undone.pass_number} | _foil_counts(foil)

    return bench_write(request, form_class=UndoForm, action="undo_pass", record_code=code, run=run)


def _foil_counts(foil: MetalFoil) -> dict[str, Any]:
    return {"count": foil.passes.count(), "target": foil.required_passes}


@require_POST
def reading_log(request: HttpRequest, code: str) -> JsonResponse:
    if refused := _refused(request, "processing.add_gloveboxreading"):
        return refused
    glovebox = _get(Equipment, code, "a glovebox")

    def run(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        reading: GloveboxReading = glovebox_reading_log(
            user=request.user,
            glovebox=glovebox,
            o2_ppm=data["o2_ppm"],
            h2o_ppm=data["h2o_ppm"],
            measured_at=data.get("device_time"),
        )
        return f"{reading.code}: {reading.describe()}", {
            "code": reading.code,
            "within_target": reading.within_target,
            "warning": services.reading_warning(reading),
        }

    return bench_write(
        request, form_class=ReadingForm, action="glovebox_reading", record_code=code, run=run
    )


def cell_context(cell: Cell) -> dict[str, Any]:
    """The cell's steps so far, and the assembly's steps in order with the next one marked."""
    reading = services.latest_reading(cell.glovebox)
    steps = list(cell.assembly_steps.order_by("-sequence"))
    done = {s.step_type for s in steps}
    order = [{"type": t, "title": title, "done": t in done} for t, title in ASSEMBLY_ORDER]
    upcoming = next((o for o in order if not o["done"]), None)
    if upcoming:
        upcoming["next"] = True
    return {
        "order": order,
        "steps": steps,
        "reading": reading,
        "warning": services.reading_warning(reading),
    }


@require_POST
def weighing_log(request: HttpRequest, code: str) -> JsonResponse:
    if refused := _refused(request, "processing.add_weighingentry"):
        return refused
    batch = _get(SynthesisBatch, code, "a synthesis batch")

    def run(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        lot = ChemicalLot.objects.filter(code=data["lot"]).first()
        if lot is None:
            raise ValidationError({"lot": f"No chemical lot has the code {data['lot']}."})
        entry = batch_add_weighing(
            user=request.user,
            batch=batch,
            lot=lot,
            target_mass_g=data["target_mass_g"],
            actual_mass_g=data["actual_mass_g"],
            weighed_at=data.get("device_time") or timezone.now(),
        )
        flagged = abs(entry.deviation_percent) > services.WEIGHING_TOLERANCE_PERCENT
        summary = (
            f"{lot.chemical}: {entry.actual_mass_g:g} g for {entry.target_mass_g:g} g "
            f"({entry.deviation_percent:+.2f} %{', flagged' if flagged else ''})"
        )
        return summary, {"deviation_percent": entry.deviation_percent, "flagged": flagged}

    return bench_write(
        request, form_class=WeighingForm, action="weighing", record_code=code, run=run
    )


@require_POST
def separator_polish(request: HttpRequest, code: str) -> JsonResponse:
    # Whoever builds cells prepares their separators (operators included, lims/roles.py).
    if refused := _refused(request, "cells.add_cell"):
        return refused
    separator = _get(Separator, code, "a separator")

    def run(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        polished = services.bench_separator_polish(
            user=request.user,
            separator=separator,
            polish_grit=data["polish_grit"],
            polished_in=data["polished_in"],
            thickness_um=data["thickness_um"],
            polished_at=data.get("device_time"),
            expected_version=data["version"],
        )
        summary = (
            f"polished to grit {polished.polish_grit} in {polished.polished_in}, "
            f"{polished.thickness_um:g} µm"
        )
        return summary, {
            "thickness_um": polished.thickness_um,
            "version": history_version(polished),
        }

    return bench_write(request, form_class=PolishForm, action="polish", record_code=code, run=run)


@require_POST
def step_log(request: HttpRequest, code: str) -> JsonResponse:
    if refused := _refused(request, "cells.add_assemblystep"):
        return refused
    cell = _get(Cell, code, "a cell")

    def run(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        step = services.bench_cell_step(
            user=request.user,
            cell=cell,
            step_type=data["step_type"],
            performed_at=data.get("device_time"),
        )
        return f"step {step.sequence}: {step.step_type}", {"sequence": step.sequence}

    return bench_write(
        request, form_class=StepForm, action="assembly_step", record_code=code, run=run
    )


def melt_quench(request: HttpRequest, code: str) -> HttpResponse:
    """The melt-quench screen (GET) and its entry (POST, JSON from the outbox)."""
    cell = _get(Cell, code, "a cell")
    protocol = services.melt_protocol()
    if request.method != "POST":
        context = {"record": cell, "qr_svg": qr_svg(cell.code), "protocol": protocol}
        context |= cell_context(cell)
        if protocol:
            context["ranges"] = protocol.parameters
            setpoint = dict(protocol.parameters.get("setpoint_C") or {})
            for end, label in (("min", "lo_label"), ("max", "hi_label")):
                if setpoint.get(end) is not None:
                    setpoint[label] = f"the protocol's {setpoint[end]} °C"
            context["setpoint"] = setpoint
        return _page(request, "melt_quench.html", context)
    if refused := _refused(request, "cells.add_assemblystep"):
        return refused

    def run(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        chosen = (
            ProtocolTemplate.objects.filter(pk=data["protocol"]).first()
            if data.get("protocol")
            else None
        )
        step = services.bench_melt_quench(
            user=request.user,
            cell=cell,
            protocol=chosen,
            started_at=data["started_at"],
            ended_at=data["ended_at"],
            quenched_at=data["quenched_at"],
            setpoint_C=data["setpoint_C"],
            measured_C=data.get("measured_C"),
            quench_surface=data.get("quench_surface") or "",
        )
        summary = f"melt-quench: hold {step.hold_time_s:g} s, quench {step.time_to_quench_s:g} s"
        return summary, {"sequence": step.sequence, "flags": step.flags}

    return bench_write(
        request, form_class=MeltQuenchForm, action="melt_quench", record_code=code, run=run
    )


@login_not_required
@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """Served under ``/bench/`` so its scope covers every bench page."""
    response = render(
        request,
        "glovebox/sw.js",
        {"home": reverse("bench:home")},
        content_type="application/javascript",
    )
    response["Cache-Control"] = "no-cache"
    return response


def _switch_users() -> list[Any]:
    return [
        c.user
        for c in BenchCredential.objects.select_related("user")
        .exclude(pin_hash="")
        .filter(user__is_active=True)
        .order_by("user__username")
    ]


@login_not_required
@require_GET
def switch(request: HttpRequest) -> HttpResponse:
    """Who is at the tablet: tap your name for the PIN pad, or scan your badge."""
    return _page(request, "switch.html", {"people": _switch_users()})


@login_not_required
def switch_pin(request: HttpRequest, username: str) -> HttpResponse:
    if request.method != "POST":
        return _page(request, "pin.html", {"username": username})
    try:
        user = services.bench_switch_by_pin(
            device=current_device(request), username=username, pin=request.POST.get("pin", "")
        )
    except services.SwitchRefused as refused:
        return _page(request, "pin.html", {"username": username, "error": str(refused)}, 403)
    login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
    return redirect("bench:home")


@login_not_required
@require_POST
def switch_badge(request: HttpRequest) -> HttpResponse:
    try:
        user = services.bench_switch_by_badge(
            device=current_device(request), badge=request.POST.get("badge", "")
        )
    except services.SwitchRefused as refused:
        context = {"people": _switch_users(), "badge_error": str(refused)}
        return _page(request, "switch.html", context, 403)
    login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
    return redirect("bench:home")


def device_enrol(request: HttpRequest) -> HttpResponse:
    """An admin registers the tablet this browser runs on (it keeps the secret in a cookie)."""
    if not request.user.has_perm("glovebox.add_device"):
        return _page(request, "device.html", {"error": "Only an admin can register a tablet."}, 403)
    if request.method != "POST":
        return _page(request, "device.html", {})
    try:
        _, secret = services.device_register(
            user=request.user, name=request.POST.get("name", "").strip()
        )
    except ValidationError as exc:
        messages = [m for ms in _errors(exc).values() for m in ms]
        return _page(request, "device.html", {"error": " ".join(messages)}, 400)
    response = redirect("bench:switch")
    response.set_cookie(
        DEVICE_COOKIE,
        secret,
        max_age=10 * 365 * 24 * 3600,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
    return response


ASSEMBLY_ORDER = [
    ("press", "Press the foil pieces onto both faces"),
    ("melt_quench", "Melt-quench"),
    ("seal", "Seal in the housing"),
]


ASSEMBLY_CHECKLIST = [
    ("separator", "Polished separator", "SEP-0001-01-03"),
    ("electrode_1", "First electrode piece", "EL-0001-03"),
    ("electrode_2", "Second electrode piece", "EL-0001-04"),
    ("collector_lot", "Ni current collectors (lot)", "LOT-0007"),
    ("glovebox", "Glovebox", "EQ-0007"),
]


PART_WORDS = {"electrode_1": "the first piece", "electrode_2": "the second piece"}


def _in_words(errors: dict[str, list[str]], words: dict[str, str]) -> dict[str, list[str]]:
    """The services name fields (``electrode_2``); the checklist says what the operator sees."""
    said = {}
    for name, messages in errors.items():
        for field, text in words.items():
            messages = [m.replace(field, text) for m in messages]
        said[name] = [m[:1].upper() + m[1:] for m in messages]
    return said


def assemble(request: HttpRequest) -> HttpResponse:
    """The cell assembly checklist (GET): scan the separator, the two electrodes, the
    collectors' lot and the glovebox; *Build the cell* puts the cell in the outbox (POST, JSON),
    so a network dropped at that moment loses nothing and a repeat builds it once."""
    if request.method == "POST":
        return assemble_log(request)
    glovebox = Equipment.objects.filter(equipment_type=Equipment.Type.GLOVEBOX).first()
    reading = services.latest_reading(glovebox)
    lot = ChemicalLot.objects.filter(chemical="Ni").order_by("-created_at").first()
    initial = {
        "glovebox": glovebox.code if glovebox else "",
        "separator": request.GET.get("separator", ""),
        "collector_lot": lot.code if lot else "",
    }
    form = AssembleForm(initial=initial)
    context = {
        "reading": reading,
        "warning": services.reading_warning(reading),
        "form": form,
        "checklist": [(form[name], title, example) for name, title, example in ASSEMBLY_CHECKLIST],
    }
    return _page(request, "assemble.html", context)


def assemble_log(request: HttpRequest) -> JsonResponse:
    if refused := _refused(request, "cells.add_cell"):
        return refused

    def run(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        try:
            cell = cell_assemble(
                user=request.user,
                separator=data["separator"],
                electrode_1=data["electrode_1"],
                electrode_2=data["electrode_2"],
                collector_lot=data["collector_lot"],
                glovebox=data["glovebox"],
                assembled_at=data.get("device_time") or timezone.now(),
            )
        except ValidationError as exc:
            raise ValidationError(_in_words(_errors(exc), PART_WORDS)) from exc
        return f"assembled {cell.code}: {cell.label}", {"code": cell.code}

    return bench_write(
        request, form_class=AssembleForm, action="cell_assemble", record_code=None, run=run
    )
