"""Bench forms: what the tablet sends, checked with messages an operator understands."""

from __future__ import annotations

from typing import Any

from django import forms


class DecimalInput(forms.NumberInput):
    """A number field that opens the tablet's numeric keypad (decimal point included)."""

    input_type = "text"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"inputmode": "decimal", "autocomplete": "off", **(attrs or {})})


def in_sentence(label: str) -> str:
    """A field's label inside a sentence: "Actual mass" → "actual mass", but "O2" stays."""
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


def measured(label: str, *, allow_zero: bool = False, **kwargs: Any) -> forms.FloatField:
    """A required measured value: a number, positive (or zero when ``allow_zero``)."""
    bound = "zero or more" if allow_zero else "more than 0"
    name = in_sentence(label)
    return forms.FloatField(
        label=label,
        widget=DecimalInput(),
        min_value=0 if allow_zero else None,
        error_messages={
            "required": f"Enter the {name}.",
            "invalid": f"The {name} must be a number, like 98.5.",
            "min_value": f"The {name} must be {bound}.",
        },
        **kwargs,
    )


class EntryForm(forms.Form):
    """Every bench entry carries the tablet's clock at the moment of the tap."""

    device_time = forms.DateTimeField(required=False)


class PassForm(EntryForm):
    thickness_after_um = measured("Thickness after the pass")

    def clean_thickness_after_um(self) -> float:
        value: float = self.cleaned_data["thickness_after_um"]
        if value <= 0:
            raise forms.ValidationError("The thickness after the pass must be more than 0.")
        return value


OUT_OF_DATE = "This page is out of date: reload it, then tap again."


class VersionField(forms.IntegerField):
    """The version of the row a page showed (:func:`lims.history.history_version`): an entry
    that changes an existing row carries it, so a change made in between is not overwritten."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs: Any) -> None:
        messages = {"required": OUT_OF_DATE, "invalid": OUT_OF_DATE, "min_value": OUT_OF_DATE}
        super().__init__(min_value=0, error_messages=messages, **kwargs)


class UndoForm(EntryForm):
    """Which pass the operator takes back: the last one the page showed (its number and
    version) or, when the page logged it itself, its idempotency key."""

    pass_number = forms.IntegerField(required=False, min_value=1)
    version = VersionField(required=False)
    pass_key = forms.CharField(required=False, max_length=255)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("pass_key") and data.get("pass_number") is None:
            raise forms.ValidationError(OUT_OF_DATE)
        return data


class ReadingForm(EntryForm):
    o2_ppm = measured("O2", allow_zero=True)
    h2o_ppm = measured("H2O", allow_zero=True)


class StepForm(EntryForm):
    """A one-tap assembly step (press, seal): what and when."""

    step_type = forms.ChoiceField(choices=[("press", "press"), ("seal", "seal")])


class MeltQuenchForm(EntryForm):
    """The melt-quench as it happened: three taps (start of the hold, lift off, on the quench
    plate) and the temperatures."""

    protocol = forms.IntegerField(required=False, widget=forms.HiddenInput)
    setpoint_C = measured("Setpoint")
    measured_C = measured("Measured temperature", required=False)
    quench_surface = forms.CharField(max_length=100, required=False)
    started_at = forms.DateTimeField(error_messages={"required": "Tap Start when the hold begins."})
    ended_at = forms.DateTimeField(
        error_messages={"required": "Tap Lift off when the stack leaves the hot plate."}
    )
    quenched_at = forms.DateTimeField(
        error_messages={"required": "Tap Quenched when the stack is on the quench plate."}
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        started, ended, quenched = (data.get(k) for k in ("started_at", "ended_at", "quenched_at"))
        if started and ended and ended < started:
            self.add_error("ended_at", "Lift off cannot be before the start.")
        if ended and quenched and quenched < ended:
            self.add_error("quenched_at", "The quench cannot be before lift off.")
        return data


class CodeField(forms.CharField):
    """A record code typed or scanned, looked up as a record of one kind."""

    def __init__(self, model: type[Any], what: str, **kwargs: Any) -> None:
        self.model, self.what = model, what
        super().__init__(max_length=40, **kwargs)

    def clean(self, value: Any) -> Any:
        code = (super().clean(value) or "").strip()
        if not code:
            return None
        found = self.model.objects.filter(code__iexact=code).first()
        if found is None:
            from lims.models import Record

            other = Record.objects.filter(code__iexact=code).first()
            if other is not None:
                raise forms.ValidationError(f"{other.code} is a {other.kind}, not {self.what}.")
            raise forms.ValidationError(f"No record has the code “{code}”.")
        return found


class AssembleForm(EntryForm):
    """The cell assembly checklist: the parts, scanned one after the other."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from processing.models import ChemicalLot, ElectrodePiece, Equipment, Separator

        super().__init__(*args, **kwargs)
        required = {"required": "Scan or type the code."}
        self.fields["separator"] = CodeField(Separator, "a separator", error_messages=required)
        self.fields["electrode_1"] = CodeField(
            ElectrodePiece, "an electrode piece", error_messages=required
        )
        self.fields["electrode_2"] = CodeField(
            ElectrodePiece, "an electrode piece", error_messages=required
        )
        self.fields["collector_lot"] = CodeField(ChemicalLot, "a chemical lot", required=False)
        self.fields["glovebox"] = CodeField(Equipment, "a glovebox", required=False)

    def clean_glovebox(self) -> Any:
        glovebox = self.cleaned_data.get("glovebox")
        if glovebox is not None and glovebox.equipment_type != "glovebox":
            raise forms.ValidationError(f"{glovebox.code} is a {glovebox.equipment_type}.")
        return glovebox


class PolishForm(EntryForm):
    """Separator polishing: the last grit, where, and the thickness after polishing. It
    changes the separator's row, so it carries the version the page showed."""

    version = VersionField()

    polish_grit = forms.IntegerField(
        min_value=1,
        error_messages={
            "required": "Enter the grit of the last polishing paper.",
            "invalid": "The grit is a whole number, like 1200.",
            "min_value": "The grit must be more than 0.",
        },
    )
    polished_in = forms.ChoiceField(
        choices=[("glovebox", "glovebox"), ("air", "air")],
        error_messages={"required": "Tap where it was polished: glovebox or air."},
    )
    thickness_um = measured("Thickness after polishing")

    def clean_thickness_um(self) -> float:
        value: float = self.cleaned_data["thickness_um"]
        if value <= 0:
            raise forms.ValidationError("The thickness after polishing must be more than 0.")
        return value


class WeighingForm(EntryForm):
    lot = forms.CharField(max_length=40)
    target_mass_g = forms.FloatField(min_value=0)
    actual_mass_g = measured("Actual mass")

    def clean_actual_mass_g(self) -> float:
        value: float = self.cleaned_data["actual_mass_g"]
        if value <= 0:
            raise forms.ValidationError("The actual mass must be more than 0.")
        return value
