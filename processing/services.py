"""Writes for materials and processing. Each is one transaction that validates, links and logs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from lims.models import Link
from lims.services import acting_user, record_save_new
from processing.models import (
    ChemicalLot,
    ElectrodePiece,
    Equipment,
    FoldPass,
    GloveboxReading,
    MetalFoil,
    Pellet,
    ProcessStep,
    ProtocolTemplate,
    Separator,
    SynthesisBatch,
    WeighingEntry,
)


@transaction.atomic
def chemical_lot_create(*, user: Any, **fields: Any) -> ChemicalLot:
    return record_save_new(instance=ChemicalLot(**fields), user=user)  # type: ignore[return-value]


@transaction.atomic
def equipment_create(*, user: Any, **fields: Any) -> Equipment:
    return record_save_new(instance=Equipment(**fields), user=user)  # type: ignore[return-value]


@transaction.atomic
def protocol_create(*, user: Any, **fields: Any) -> ProtocolTemplate:
    return record_save_new(instance=ProtocolTemplate(**fields), user=user)  # type: ignore[return-value]


@transaction.atomic
def glovebox_reading_log(
    *,
    user: Any,
    glovebox: Equipment,
    o2_ppm: float,
    h2o_ppm: float,
    measured_at: dt.datetime | None = None,
    operator: Any = None,
    **fields: Any,
) -> GloveboxReading:
    if glovebox.equipment_type != Equipment.Type.GLOVEBOX:
        raise ValidationError(
            {"glovebox": f"{glovebox.code} is a {glovebox.equipment_type}, not a glovebox."}
        )
    reading = GloveboxReading(
        glovebox=glovebox,
        o2_ppm=o2_ppm,
        h2o_ppm=h2o_ppm,
        measured_at=measured_at or timezone.now(),
        operator=operator or acting_user(user),
        **fields,
    )
    return record_save_new(instance=reading, user=user)  # type: ignore[return-value]


@transaction.atomic
def batch_create(*, user: Any, **fields: Any) -> SynthesisBatch:
    return record_save_new(instance=SynthesisBatch(**fields), user=user)  # type: ignore[return-value]


@transaction.atomic
def batch_add_weighing(*, user: Any, batch: SynthesisBatch, **fields: Any) -> WeighingEntry:
    fields.setdefault("operator", acting_user(user))
    fields.setdefault("weighed_at", timezone.now())
    return record_save_new(instance=WeighingEntry(batch=batch, **fields), user=user)  # type: ignore[return-value]


@transaction.atomic
def batch_add_step(
    *, user: Any, batch: SynthesisBatch, sequence: int | None = None, **fields: Any
) -> ProcessStep:
    """Append a processing step; its number is the next free one unless given."""
    SynthesisBatch.objects.select_for_update(no_key=True).filter(pk=batch.pk).first()
    if sequence is None:
        sequence = (batch.steps.aggregate(m=Max("sequence"))["m"] or 0) + 1
    fields.setdefault("operator", acting_user(user))
    step = ProcessStep(batch=batch, sequence=sequence, **fields)
    return record_save_new(instance=step, user=user)  # type: ignore[return-value]


@transaction.atomic
def pellet_create(*, user: Any, batch: SynthesisBatch, **fields: Any) -> Pellet:
    return record_save_new(instance=Pellet(batch=batch, **fields), user=user)  # type: ignore[return-value]


@transaction.atomic
def separator_create(*, user: Any, pellet: Pellet, **fields: Any) -> Separator:
    return record_save_new(instance=Separator(pellet=pellet, **fields), user=user)  # type: ignore[return-value]


@transaction.atomic
def foil_create(*, user: Any, **fields: Any) -> MetalFoil:
    return record_save_new(instance=MetalFoil(**fields), user=user)  # type: ignore[return-value]


#: The lineage role of an electrode piece in what it was built into (``cells.Cell``).
ELECTRODE_ROLE = "electrode"


def foil_built_into(foil: MetalFoil) -> str | None:
    """The code of the cell a piece of ``foil`` is an electrode of, if any.

    Read off the lineage graph, which the services keep in step with the records, because
    processing sits below cells and knows no cell model.
    """
    return (
        Link.objects.filter(parent__in=foil.pieces.values("pk"), role=ELECTRODE_ROLE)
        .order_by("child__code")
        .values_list("child__code", flat=True)
        .first()
    )


@transaction.atomic
def foil_log_pass(
    *,
    user: Any,
    foil: MetalFoil,
    thickness_after_um: float,
    pass_number: int | None = None,
    performed_at: dt.datetime | None = None,
    **fields: Any,
) -> FoldPass:
    """Log the next fold/calender pass of a foil.

    The foil row is locked while the next number is worked out, so two operators logging at
    the same moment get consecutive numbers. A ``pass_number`` sent by the client must be the
    next one: a gap or a repeat means the tablet missed or replayed a pass. A foil a piece of
    which is already in a cell takes no more passes.
    """
    MetalFoil.objects.select_for_update(no_key=True).get(pk=foil.pk)
    used_by = foil_built_into(foil)
    if used_by:
        # The cell's electrodes are pieces of the foil as it was: a later pass would make the
        # foil's passes and thickness no longer describe what the cell was built from.
        raise ValidationError(
            {"foil": f"{foil.code} is already in cell {used_by}: no more passes."}
        )
    expected = (foil.passes.aggregate(m=Max("pass_number"))["m"] or 0) + 1
    if pass_number is not None and pass_number != expected:
        raise ValidationError(
            {
                "pass_number": f"{foil.code} is at pass {expected - 1}: the next pass is {expected}, not {pass_number}."
            }
        )
    fields.setdefault("operator", acting_user(user))
    fold_pass = FoldPass(
        foil=foil,
        pass_number=expected,
        thickness_after_um=thickness_after_um,
        performed_at=performed_at or timezone.now(),
        **fields,
    )
    return record_save_new(instance=fold_pass, user=user)  # type: ignore[return-value]


@transaction.atomic
def electrode_cut(*, user: Any, foil: MetalFoil, **fields: Any) -> ElectrodePiece:
    return record_save_new(instance=ElectrodePiece(foil=foil, **fields), user=user)  # type: ignore[return-value]
