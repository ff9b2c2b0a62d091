"""Form helpers shared by the desk and tablet pages: edits that carry the version they began at."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Model

from lims.history import history_version
from lims.services import VersionConflict, record_update


class VersionedForm(forms.ModelForm):
    """A ModelForm that carries the row's version in a hidden field and saves through
    :func:`~lims.services.record_update`; a change made by someone else in between becomes a form
    error naming both versions, and nothing is overwritten.

    ``form.save_as(user=request.user)`` returns the saved row, or None when the form shows the
    conflict (re-render it; the hidden version is then the current one, so a second submit,
    after the user has seen the other change, goes through).
    """

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
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
            self.add_error(None, str(conflict))
            data = self.data.copy()  # type: ignore[attr-defined]  # a QueryDict or a dict
            data["version"] = conflict.current
            self.data = data
            return None
