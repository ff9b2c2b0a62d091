"""What the records say about a measurement's subject: electrode area, thickness, formula ...

Each function takes a measurement and returns a value or None; the registry's ``Param.context``
points at them. They read cells and processing (the layers below analysis).
"""

from __future__ import annotations

from typing import Any


def subject(measurement: Any) -> Any:
    """The measured record as its own kind (a ``Cell``, a ``Pellet`` ...)."""
    cached = getattr(measurement, "_concrete_subject", None)
    if cached is None:
        cached = measurement.subject.concrete()
        measurement._concrete_subject = cached
    return cached


def electrode_area_cm2(measurement: Any) -> float | None:
    """A cell's electrode area (mask, else separator face); a separator's face area."""
    from cells.models import Cell
    from processing.models import Separator

    record = subject(measurement)
    if isinstance(record, Cell):
        return record.electrode_area_cm2
    if isinstance(record, Separator):
        return record.face_area_cm2
    return None


def separator_thickness_um(measurement: Any) -> float | None:
    from cells.models import Cell
    from processing.models import Separator

    record = subject(measurement)
    if isinstance(record, Cell):
        return record.separator.thickness_um
    if isinstance(record, Separator):
        return record.thickness_um
    return None


def _pellet(measurement: Any) -> Any:
    from processing.models import Pellet

    record = subject(measurement)
    return record if isinstance(record, Pellet) else None


def pellet_field(name: str) -> Any:
    def read(measurement: Any) -> Any:
        pellet = _pellet(measurement)
        return None if pellet is None else getattr(pellet, name)

    return read


def _batch(measurement: Any) -> Any:
    from processing.models import SynthesisBatch

    record = subject(measurement)
    if isinstance(record, SynthesisBatch):
        return record
    pellet = _pellet(measurement)
    return None if pellet is None else pellet.batch


def batch_formula(measurement: Any) -> str | None:
    batch = _batch(measurement)
    return None if batch is None else batch.target_formula


def batch_lattice_parameter_A(measurement: Any) -> float | None:
    """The lattice parameter of the batch's latest XRD result (current revision)."""
    from analysis.models import ResultValue

    batch = _batch(measurement)
    if batch is None:
        return None
    value = (
        ResultValue.objects.filter(
            subject=batch, name="lattice_parameter_A", is_current=True, value__isnull=False
        )
        .order_by("-measurement__measured_at")
        .values_list("value", flat=True)
        .first()
    )
    return value
