"""Processing services called directly, as scripts and the other layers call them."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from analysis.services import measurement_create
from cells.services import cell_assemble
from processing.models import FoldPass
from processing.services import electrode_cut, foil_built_into, foil_log_pass

pytestmark = pytest.mark.django_db


def test_a_foil_takes_no_pass_once_a_piece_of_it_is_in_a_cell(
    users: Any, lab: Any, free_foil: Any
) -> None:
    scientist = users["scientist"]
    foil_log_pass(user=scientist, foil=free_foil, thickness_after_um=100)
    pieces = [electrode_cut(user=scientist, foil=free_foil) for _ in range(2)]
    # A piece measured on its own is not built into anything: passes go on.
    measurement_create(user=scientist, subject=pieces[0], measurement_type="hardness")
    assert foil_built_into(free_foil) is None
    foil_log_pass(user=scientist, foil=free_foil, thickness_after_um=99)

    cell = cell_assemble(
        user=scientist, separator=lab.separators[1], electrode_1=pieces[0], electrode_2=pieces[1]
    )
    assert foil_built_into(free_foil) == cell.code
    with pytest.raises(ValidationError) as refused:
        foil_log_pass(user=users["operator"], foil=free_foil, thickness_after_um=98)
    assert refused.value.message_dict == {
        "foil": [f"{free_foil.code} is already in cell {cell.code}: no more passes."]
    }
    assert list(FoldPass.objects.filter(foil=free_foil).values_list("pass_number", flat=True)) == [
        1,
        2,
    ]
