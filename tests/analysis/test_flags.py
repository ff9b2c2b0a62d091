"""Record checks and result flags: raised once, cleared when they no longer hold, never deleted."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from analysis.models import Flag
from analysis.services import measurement_create
from cells.services import cell_add_step
from demo.synthetic import eis_spectrum_csv as spectrum_csv
from lims.services import record_update
from processing import services as proc

pytestmark = pytest.mark.django_db


def open_flags(record: Any, kind: str) -> list[Flag]:
    return list(Flag.objects.filter(record=record, kind=kind, cleared_at__isnull=True))


def test_foil_with_too_few_passes_flags_its_cells_until_it_no_longer_holds(
    lab: Any, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    user = users["scientist"]
    fold = proc.protocol_create(
        user=user, name="Fold 5", step_type="fold", parameters={"passes": {"default": 5}}
    )
    with django_capture_on_commit_callbacks(execute=True):
        record_update(instance=lab.foil, data={"protocol": fold}, user=user)
    (flag,) = open_flags(lab.cell, "passes_short")
    assert lab.foil.code in flag.message and "1 of the 5 passes" in flag.message
    assert flag.threshold == {"passes": 5, "source": "protocol Fold 5"}
    with django_capture_on_commit_callbacks(execute=True):
        record_update(instance=lab.foil, data={"notes": "checked"}, user=user)
    assert [f.pk for f in open_flags(lab.cell, "passes_short")] == [flag.pk]  # raised once
    # The foil is in the cell, so the missing passes cannot be logged now; the scientist finds
    # the foil was made under a one-pass protocol and corrects it.
    with pytest.raises(ValidationError, match="no more passes"):
        proc.foil_log_pass(user=user, foil=lab.foil, thickness_after_um=100)
    one = proc.protocol_create(
        user=user, name="Fold 1", step_type="fold", parameters={"passes": {"default": 1}}
    )
    with django_capture_on_commit_callbacks(execute=True):
        record_update(instance=lab.foil, data={"protocol": one}, user=user)
    assert open_flags(lab.cell, "passes_short") == []
    flag.refresh_from_db()
    assert flag.cleared_reason == "no longer holds" and flag.cleared_at is not None


def test_step_under_a_bad_or_missing_glovebox_reading_is_flagged(
    lab: Any, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    user = users["operator"]
    wet = proc.glovebox_reading_log(user=user, glovebox=lab.glovebox, o2_ppm=0.05, h2o_ppm=0.8)
    with django_capture_on_commit_callbacks(execute=True):
        cell_add_step(
            user=user,
            cell=lab.cell,
            step_type="seal",
            glovebox_reading=wet,
            performed_at=wet.measured_at + dt.timedelta(minutes=5),
        )
    (flag,) = open_flags(lab.cell, "atmosphere")
    assert flag.key == "step 2 (seal)"
    assert "H2O 0.8 ppm > 0.1 ppm" in flag.message and wet.code in flag.message
    assert flag.threshold["source"] == "lab default"
    # a step with no reading, in a cell with no glovebox recorded: nothing to judge it by
    with django_capture_on_commit_callbacks(execute=True):
        cell_add_step(user=user, cell=lab.cell, step_type="other", performed_at=wet.measured_at)
    keys = sorted(f.key for f in open_flags(lab.cell, "atmosphere"))
    assert keys == ["step 2 (seal)", "step 3 (other)"]
    assert "no glovebox reading" in Flag.objects.get(key="step 3 (other)").message
    # the melt-quench step ran under a good reading: not flagged
    assert not Flag.objects.filter(record=lab.cell, key__startswith="step 1").exists()


def test_interface_asr_rise_over_a_cells_spectra_is_flagged(
    lab: Any, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    t0 = lab.measurement.measured_at
    for hours, r_if in ((1, 40.0), (30, 60.0), (60, 100.0)):
        with django_capture_on_commit_callbacks(execute=True):
            measurement_create(
                user=users["operator"],
                subject=lab.cell,
                measurement_type="eis",
                measured_at=t0 + dt.timedelta(hours=hours),
                raw_stream=SimpleUploadedFile("s.csv", spectrum_csv(r_interface_ohm=r_if)),
                raw_name=f"cell-{hours}h.csv",
            )
    (flag,) = open_flags(lab.cell, "asr_rise")
    assert "2.5×" in flag.message and flag.threshold == {"asr_rise_factor": 2.0}


def test_a_flag_on_a_cell_leaves_its_lineage_whole(
    lab: Any, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    from lims.models import Link

    parents = set(Link.objects.filter(child=lab.cell).values_list("parent_id", "role"))
    assert len(parents) >= 4
    wet = proc.glovebox_reading_log(
        user=users["operator"], glovebox=lab.glovebox, o2_ppm=3, h2o_ppm=0
    )
    with django_capture_on_commit_callbacks(execute=True):
        cell_add_step(
            user=users["operator"],
            cell=lab.cell,
            step_type="seal",
            glovebox_reading=wet,
            performed_at=wet.measured_at,
        )
    assert open_flags(lab.cell, "atmosphere")
    after = set(Link.objects.filter(child=lab.cell).values_list("parent_id", "role"))
    assert after == parents | {(wet.pk, "atmosphere")}
