"""The desk's create and edit form of a measurement: recorded (with its raw file, which is then
analysed) through ``measurement_create``, as the API's multipart POST does."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Model

from analysis import services
from analysis.models import Measurement
from lims.forms import DeskForm


class MeasurementForm(DeskForm):
    create_service = staticmethod(services.measurement_create)
    list_view = "measurement-list"
    # What was measured is fixed once recorded; a raw file is never replaced.
    create_only = ("subject", "upload")
    selects = ("instrument",)
    suggest = {"subject": lambda rows: rows.exclude(kind__in=["measurement", "gloveboxreading"])}

    upload = forms.FileField(
        required=False,
        help_text="The raw instrument file; stored under its SHA-256 and analysed at once.",
    )

    class Meta:
        model = Measurement
        fields = [
            "subject",
            "measurement_type",
            "upload",
            "instrument",
            "temperature_C",
            "measured_at",
            "protocol",
            "conditions",
            "notes",
        ]
        help_texts = {
            "subject": "Code of the measured record (pellet, foil, cell ...).",
            "measured_at": "Now, when left empty.",
            "conditions": 'JSON, units in the names: {"current_density_mA_cm2": 0.1}',
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.editing:
            self.fields["measured_at"].required = False

    def create(self, *, user: Any, upload: Any = None, **values: Any) -> Model:
        if upload is not None:
            # the upload gate sniffs the type from the bytes, never the browser's claim
            values.update(raw_stream=upload, raw_name=upload.name)
        return services.measurement_create(user=user, **values)
