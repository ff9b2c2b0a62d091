"""Page actions of the analysis app: re-run a measurement, acknowledge a flag.

Both call the same services as the API; the record page shows the outcome.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from analysis.flagging import ACKNOWLEDGE_PERMISSION, flag_acknowledge
from analysis.models import Flag, Measurement
from analysis.runs import RERUN_PERMISSION, analysis_request


def _form_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text  # a plain string, e.g. a circuit


@require_POST
@permission_required(RERUN_PERMISSION, raise_exception=True)
def rerun(request: HttpRequest, code: str) -> HttpResponse:
    measurement = get_object_or_404(Measurement, code=code)
    given = {key: str(request.POST.get(key, "")).strip() for key in request.POST}
    parameters = {
        key.removeprefix("param-"): _form_value(value)
        for key, value in given.items()
        if key.startswith("param-") and value
    }
    try:
        run = analysis_request(measurement=measurement, user=request.user, parameters=parameters)
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        messages.success(request, f"Run {run.pk if run else ''} queued.")
    return redirect(measurement.get_absolute_url())


@require_POST
@permission_required(ACKNOWLEDGE_PERMISSION, raise_exception=True)
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    flag = get_object_or_404(Flag.objects.select_related("record"), pk=pk)
    try:
        flag_acknowledge(flag=flag, user=request.user, comment=request.POST.get("comment", ""))
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        messages.success(request, "Flag acknowledged.")
    return redirect(flag.record.get_absolute_url())
