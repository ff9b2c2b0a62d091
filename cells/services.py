"""Writes for cells: assembly from its parts, assembly steps and status changes."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from cells.models import AssemblyStep, Cell
from lims.services import acting_user, record_save_new, record_update
from processing.models import ElectrodePiece, Separator


@transaction.atomic
def cell_assemble(
    *,
    user: Any,
    separator: Separator,
    electrode_1: ElectrodePiece,
    electrode_2: ElectrodePiece,
    **fields: Any,
) -> Cell:
    """Record a cell built from one separator and two electrode pieces.

    The parts are locked first, so two people cannot put the same separator into two cells;
    the database's unique constraints back this up.
    """
    Separator.objects.select_for_update(no_key=True).get(pk=separator.pk)
    ElectrodePiece.objects.select_for_update(no_key=True).filter(
        pk__in=[electrode_1.pk, electrode_2.pk]
    ).count()
    errors: dict[str, str] = {}
    used = Cell.objects.filter(separator=separator).values_list("code", flat=True).first()
    if used:
        errors["separator"] = f"{separator.code} is already used by {used}."
    for name, piece in (("electrode_1", electrode_1), ("electrode_2", electrode_2)):
        other = (
            (Cell.objects.filter(electrode_1=piece) | Cell.objects.filter(electrode_2=piece))
            .values_list("code", flat=True)
            .first()
        )
        if other:
            errors[name] = f"{piece.code} is already used by {other}."
    if electrode_1.pk == electrode_2.pk:
        errors["electrode_2"] = "electrode_2 must be a different piece from electrode_1."
    if errors:
        raise ValidationError(errors)
    cell = Cell(separator=separator, electrode_1=electrode_1, electrode_2=electrode_2, **fields)
    return record_save_new(instance=cell, user=user)  # type: ignore[return-value]


@transaction.atomic
def cell_add_step(
    *, user: Any, cell: Cell, sequence: int | None = None, **fields: Any
) -> AssemblyStep:
    Cell.objects.select_for_update(no_key=True).get(pk=cell.pk)
    if sequence is None:
        sequence = (cell.assembly_steps.aggregate(m=Max("sequence"))["m"] or 0) + 1
    fields.setdefault("operator", acting_user(user))
    step = AssemblyStep(cell=cell, sequence=sequence, **fields)
    return record_save_new(instance=step, user=user)  # type: ignore[return-value]


def cell_set_status(
    *, user: Any, cell: Cell, status: str, expected_version: int | None = None
) -> Cell:
    if status not in Cell.Status.values:
        raise ValidationError(
            {"status": f"{status!r} is not one of {', '.join(Cell.Status.values)}."}
        )
    return record_update(  # type: ignore[return-value]
        instance=cell, data={"status": status}, user=user, expected_version=expected_version
    )
