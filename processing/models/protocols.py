"""Protocol templates and the steps that follow them."""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.db import models

from lims.models import OwnedRow, Tracked


def parameters_problem(value: Any) -> str:
    """What is wrong with a protocol's ``parameters``, or ``""``: an object of
    ``{parameter: {default, min, max, unit}}`` whose ranges run upwards."""
    if not isinstance(value, dict):
        return "An object of {parameter: {default, min, max}}."
    for name, spec in value.items():
        if not isinstance(spec, dict) or not set(spec) <= {"default", "min", "max", "unit"}:
            return f"{name}: expected {{default, min, max}}."
        lo, hi = spec.get("min"), spec.get("max")
        if lo is not None and hi is not None and lo > hi:
            return f"{name}: min {lo} is above max {hi}."
    return ""


class ProtocolTemplate(Tracked):
    """Default parameters of a step type and the range each may take.

    ``parameters`` maps a parameter name (with its unit, as on the step) to
    ``{"default": x, "min": lo, "max": hi}``; a logged step whose value is outside the range is
    flagged, not refused. ``{"passes": {"default": 20, "min": 20}}`` on a fold protocol sets
    how many passes a foil needs.
    """

    name = models.CharField(max_length=200, unique=True)
    step_type = models.CharField(max_length=30)
    description = models.TextField(blank=True)
    parameters = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["step_type", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        problem = parameters_problem(self.parameters)
        if problem:
            raise ValidationError({"parameters": problem})

    def default(self, parameter: str) -> Any:
        return (self.parameters.get(parameter) or {}).get("default")

    def out_of_range(self, values: dict[str, Any]) -> list[str]:
        """Human-readable flags for each value outside this protocol's range."""
        flags = []
        for name, spec in sorted(self.parameters.items()):
            value = values.get(name)
            if value is None or not isinstance(spec, dict):
                continue
            lo, hi = spec.get("min"), spec.get("max")
            if (lo is not None and float(value) < lo) or (hi is not None and float(value) > hi):
                span = f"{'' if lo is None else lo}–{'' if hi is None else hi}"
                flags.append(f"{name} {value} outside {span} ({self.name})")
        return flags


class ProtocolStep(OwnedRow):
    """A logged step that may follow a protocol template.

    Values outside the template's ranges are flagged, not refused; the flags are stored with the
    step (they record what was out of range against the template as it was when logged) and are
    recomputed whenever the step is saved through the services.
    """

    #: The step's fields that a protocol template may give ranges for.
    PROTOCOL_PARAMETERS: ClassVar[tuple[str, ...]] = ()

    protocol = models.ForeignKey(ProtocolTemplate, null=True, blank=True, on_delete=models.PROTECT)
    flags = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        abstract = True

    def refresh_derived(self) -> None:
        values = {name: getattr(self, name) for name in self.PROTOCOL_PARAMETERS}
        self.flags = self.protocol.out_of_range(values) if self.protocol else []
