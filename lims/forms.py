"""Form helpers shared by the desk and tablet pages: edits that carry the version they began at,
and the desk's create/edit forms of every kind (:class:`DeskForm`)."""

from __future__ import annotations

import copy
import datetime as dt
import decimal
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.db.models import Model, QuerySet
from django.forms.models import apply_limit_choices_to_to_formfield
from django.utils import timezone
from django.utils.text import capfirst

from lims.history import history_since, history_version, snapshot_field
from lims.models import CODE_MAX_LENGTH, Record
from lims.services import VersionConflict, record_update
from lims.units import label_of, unit_of


@dataclass
class ConflictRow:
    """One field someone else changed while the form was open: their value and the editor's."""

    name: str
    yours: str
    current: str
    changed_by: str
    #: True when the editor changed the field too (the form keeps their value and shows both);
    #: False when they had left it alone (the form now shows the current value).
    both_changed: bool


class VersionedForm(forms.ModelForm):
    """A ModelForm that carries the row's version in a hidden field and saves through
    :func:`~lims.services.record_update`; a change made by someone else in between becomes a form
    error naming both versions, and nothing is overwritten.

    ``form.save_as(user=request.user)`` returns the saved row, or None when the form shows the
    conflict (re-render it; the hidden version is then the current one, so a second submit,
    after the user has seen the other change, goes through). On a conflict ``form.conflicts``
    lists the fields changed in between with both values: a field the editor had left alone
    takes the current value, and a field both changed keeps the editor's value with an error
    beside it naming the current one, so saving again never undoes the other change unseen.
    """

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conflict: VersionConflict | None = None
        self.conflicts: list[ConflictRow] = []
        if self.instance.pk is not None and not self.is_bound:
            self.initial["version"] = history_version(self.instance)

    def save_as(self, *, user: Any) -> Model | None:
        if not self.is_valid():
            return None
        data = {name: self.cleaned_data[name] for name in self.changed_data if name != "version"}
        try:
            return record_update(
                instance=self.instance,
                data=data,
                user=user,
                expected_version=self.cleaned_data["version"],
            )
        except VersionConflict as conflict:
            data = self.data.copy()  # type: ignore[attr-defined]  # a QueryDict or a dict
            data[self.add_prefix("version")] = conflict.current
            self.data = data
            self.show_conflict(conflict)
            return None

    def show_conflict(self, conflict: VersionConflict) -> None:
        """Compare what changed since the editor's version with what they sent (both as the
        history writes values), and show each field changed in between with both values."""
        self.conflict = conflict
        current = type(self.instance)._default_manager.get(pk=self.instance.pk)
        opened: dict[str, Any] = {}  # a field's value when the editor opened the form
        changed_by: dict[str, list[str]] = {}
        for entry in history_since(current, conflict.expected):
            for name, (old, _new) in entry.changes.items():
                opened.setdefault(name, old)
                who = changed_by.setdefault(name, [])
                if entry.username not in who:
                    who.append(entry.username)
        everyone = [name for names in changed_by.values() for name in names]
        self.add_error(
            None,
            f"{current} was changed by {', '.join(dict.fromkeys(everyone)) or 'someone else'} "
            f"since you opened it (you edited version {conflict.expected}, it is now at version "
            f"{conflict.current}); nothing was saved. The form shows what changed: check it and "
            "save again.",
        )
        sent = dict(self.cleaned_data)
        data = self.data.copy()  # type: ignore[attr-defined]  # a QueryDict or a dict
        for name in self.fields:
            if name not in opened or name not in sent:
                continue
            probe = copy.copy(current)
            setattr(probe, name, sent[name])
            yours, now = snapshot_field(probe, name), snapshot_field(current, name)
            if yours == now:
                continue  # both made the same change
            both = yours != opened[name]
            self.conflicts.append(
                ConflictRow(
                    name=name,
                    yours=_shown(sent[name]),
                    current=_shown(getattr(current, name)),
                    changed_by=", ".join(changed_by[name]),
                    both_changed=both,
                )
            )
            if both:
                self.add_error(
                    name,
                    f"Changed by {', '.join(changed_by[name])} since you opened this form: it is "
                    f"now {_shown(getattr(current, name))}; yours is {_shown(sent[name])}. "
                    "Save again to replace it with yours.",
                )
            else:
                data[self.add_prefix(name)] = self.fields[name].prepare_value(
                    getattr(current, name)
                )
        self.data = data


def _shown(value: Any) -> str:
    """A value in a sentence: "empty", a code, local time, or its text."""
    if value is None or value == "":
        return "empty"
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class CodeInput(forms.TextInput):
    """A record typed or scanned as its code, with a list of likely codes to choose from."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(
            {"autocomplete": "off", "spellcheck": "false", "class": "code", **(attrs or {})}
        )


class RecordChoiceField(forms.ModelChoiceField):
    """A link to another row, shown and written as its code (or name), as the API does."""

    def label_from_instance(self, obj: Model) -> str:
        if isinstance(obj, Record) and obj.label:
            return f"{obj.code} · {obj.label}"
        return str(obj)


@dataclass
class DeskField:
    """One field of a desk form as the page lays it out: the field, its label in words (the
    stored name is shown beneath), its unit, its code list."""

    field: forms.BoundField
    unit: str
    codes: list[tuple[str, str]]
    label: str


class DeskForm(VersionedForm):
    """The desk's create and edit form of one kind, saving through the same services as the API.

    A subclass names its model and fields (``Meta``), the create service the API's viewset
    uses (``create_service``), and which fields exist only when creating (``create_only``: the
    parts a cell was built from, the batch a pellet came from) or only when editing
    (``edit_only``: a cell's status). Creating calls ``create_service(user=..., **values)``
    with the values given, like the API's POST; editing calls
    :func:`~lims.services.record_update` with the changed values and the version the editor
    saw, like the API's PATCH with ``If-Match``. Validation is the services' (the form checks
    only that each value parses), and their errors are shown next to the field they name.

    Links to records are typed or scanned as codes (with a list of likely codes), links named in
    ``selects`` and links to other rows (protocols) are a list to choose from; dates and times
    get the browser's pickers; every number shows its unit, from its name (``thickness_um`` →
    µm) or from ``units``. A new record may be given a code; left empty, the next one is made.
    """

    #: The service that creates a row, as the API's viewset names it.
    create_service: ClassVar[Callable[..., Model]]
    create_only: ClassVar[tuple[str, ...]] = ()
    edit_only: ClassVar[tuple[str, ...]] = ()
    #: Links to records offered as a list rather than a code field (short lists: equipment).
    selects: ClassVar[tuple[str, ...]] = ()
    #: Units of numbers whose name does not end in one.
    units: ClassVar[dict[str, str]] = {}
    #: Which codes a link's list offers: field name → a filter of the field's queryset.
    suggest: ClassVar[dict[str, Callable[[QuerySet[Any]], QuerySet[Any]]]] = {}
    #: The URL name of the kind's desk list (where "Cancel" of a new row leads).
    list_view: ClassVar[str] = ""
    #: Codes a link's list offers at most.
    SUGGESTIONS: ClassVar[int] = 50

    #: A key per opened form: a double submit of a create stores one row (``lims.idempotency``).
    idempotency_key = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.order_fields(self._meta.fields)  # declared fields (a file) where Meta puts them
        self.editing = self.instance.pk is not None
        for name in self.create_only if self.editing else self.edit_only:
            self.fields.pop(name, None)
        if self.editing:
            del self.fields["idempotency_key"]
        else:
            del self.fields["version"]
            if not self.is_bound:
                self.initial.setdefault("idempotency_key", uuid.uuid4().hex)
            if isinstance(self.instance, Record):
                prefix = type(self.instance).code_prefix
                code = forms.CharField(
                    required=False,
                    max_length=CODE_MAX_LENGTH,
                    help_text=f"Leave empty for the next free {prefix}-… code.",
                    widget=CodeInput(),
                )
                self.fields = {"code": code, **self.fields}
        for name in list(self.fields):
            self._shape(name)

    def _shape(self, name: str) -> None:
        field = self.fields[name]
        model_field = _model_field(self._meta.model, name)
        if isinstance(field, forms.ModelChoiceField) and model_field is not None:
            assert field.queryset is not None
            related = field.queryset.model
            is_record = issubclass(related, Record)
            as_code = is_record and name not in self.selects
            replaced = model_field.formfield(
                form_class=RecordChoiceField,
                to_field_name="code" if is_record else _natural_key(related),
                widget=CodeInput({"list": f"id_{name}-codes"}) if as_code else forms.Select,
                error_messages={
                    "invalid_choice": (
                        f"No {related._meta.verbose_name} has the code “%(value)s”."
                        if is_record
                        else "%(value)s is not one of the choices."
                    )
                },
            )
            apply_limit_choices_to_to_formfield(replaced)
            replaced.required = field.required
            self.fields[name] = replaced
            if self.editing and not self.is_bound:
                linked = getattr(self.instance, name)
                self.initial[name] = None if linked is None else replaced.prepare_value(linked)
        elif isinstance(field, forms.DateTimeField):
            field.widget = forms.DateTimeInput(
                attrs={"type": "datetime-local", "step": 1}, format="%Y-%m-%dT%H:%M:%S"
            )
            field.widget.is_required = field.required
        elif isinstance(field, forms.DateField):
            field.widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
            field.widget.is_required = field.required

    def _post_clean(self) -> None:
        """Leave the model's validation to the service, which runs it (``full_clean``) with
        its own checks first, so the page words every refusal as the API does."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name, value in cleaned.items():
            field = self.fields.get(name)
            places = getattr(field, "decimal_places", None)
            if isinstance(value, decimal.Decimal) and places is not None:
                # As the API's DecimalField hands it on: to the column's places (99.9900).
                cleaned[name] = value.quantize(decimal.Decimal(1).scaleb(-places))
        return cleaned

    def unit(self, name: str) -> str:
        field = self.fields[name]
        if not isinstance(field, forms.IntegerField | forms.FloatField | forms.DecimalField):
            return ""
        return self.units.get(name) or unit_of(name)

    def field_rows(self) -> list[DeskField]:
        """The visible fields in order, each with its unit and the codes its list offers."""
        rows = []
        for bound in self.visible_fields():
            field = bound.field
            codes: list[tuple[str, str]] = []
            if isinstance(field, forms.ModelChoiceField) and isinstance(field.widget, CodeInput):
                narrow = self.suggest.get(bound.name, lambda rows: rows)
                codes = list(
                    narrow(field.queryset)
                    .order_by("-created_at")
                    .values_list("code", "label")[: self.SUGGESTIONS]
                )
            # an explicit label stays; Django's default ("Diameter mm") repeats the unit
            default = capfirst(bound.name.replace("_", " "))
            label = label_of(bound.name) if bound.label == default else str(bound.label)
            rows.append(DeskField(bound, self.unit(bound.name), codes, label))
        return rows

    def save_new(self, *, user: Any) -> Model:
        """Create the row through the create service, with the values given (empty ones left
        to the service's and the model's defaults, as an API client leaves them out)."""
        values = {
            name: value
            for name, value in self.cleaned_data.items()
            if name != "idempotency_key" and value is not None and value != ""
        }
        return self.create(user=user, **values)

    def create(self, *, user: Any, **values: Any) -> Model:
        return type(self).create_service(user=user, **values)

    def show_errors(self, error: ValidationError) -> None:
        """Put a service's ``ValidationError`` next to the fields it names (the rest on top)."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error.messages)
            return
        for name, errors in error.error_dict.items():
            if name in self.fields:
                self.add_error(name, errors)
            elif name == NON_FIELD_ERRORS:
                self.add_error(None, errors)
            else:
                self.add_error(None, [f"{name}: {m}" for e in errors for m in e.messages])


def _model_field(model: type[Model], name: str) -> Any:
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _natural_key(model: type[Model]) -> str | None:
    """The unique field a row is named by in the API (a protocol's ``name``), else the id."""
    for f in model._meta.fields:
        if f.name == "name" and f.unique:
            return "name"
    return None
