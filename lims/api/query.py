"""Query parameters of the API, read strictly: a malformed one answers 400 naming it.

The desk pages bind the same FilterSets to HTML forms, where an empty field means "any"; the API
states each parameter's type in its schema, so it holds clients to it instead of guessing:

- every parameter is given once (``?page_size=10&page_size=20`` is refused, not "the last wins");
- a typed parameter (date, date-time, number, boolean, choice) is never empty, and a boolean is
  ``true`` or ``false``;
- ``page`` and ``page_size`` are whole numbers in range (:mod:`lims.api.pagination`),
  ``ordering`` names only fields the list sorts by, ``format`` only formats the view renders.

Unknown parameters are ignored, as HTTP APIs commonly do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet
from django_filters import filters as django_filters
from django_filters.rest_framework import DjangoFilterBackend, FilterSet
from rest_framework import filters
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

BOOLEAN_VALUES = {"true": True, "false": False}


def query_value(request: Request, name: str) -> str | None:
    """The one value of query parameter ``name``, or None when absent; 400 when repeated."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise ValidationError({name: [f"Given {len(values)} times; give it once."]})
    return values[0] if values else None


def query_int(
    request: Request, name: str, *, minimum: int, maximum: int | None = None
) -> int | None:
    """Query parameter ``name`` as a whole number within bounds, or None when absent."""
    raw = query_value(request, name)
    if raw is None:
        return None
    value = int(raw) if re.fullmatch(r"[0-9]{1,18}", raw) else None
    if value is None or value < minimum or (maximum is not None and value > maximum):
        bounds = f"from {minimum} to {maximum}" if maximum is not None else f"of {minimum} or more"
        raise ValidationError({name: [f"{raw!r} is not a whole number {bounds}."]})
    return value


def _takes_any_text(filter_: django_filters.Filter) -> bool:
    # The schema types a CharFilter as a plain string, of which "" is one.
    return isinstance(filter_, django_filters.CharFilter)


class FilterBackend(DjangoFilterBackend):
    """django-filter for the API: the FilterSet's own validation (a date that is not a date,
    a choice that is not one) plus the rules of this module for each of its parameters."""

    def get_filterset(self, request: Request, queryset: QuerySet, view: Any) -> FilterSet | None:
        filterset = super().get_filterset(request, queryset, view)
        if filterset is not None:
            errors: dict[str, list[str]] = {}
            for name, filter_ in filterset.filters.items():
                try:
                    value = query_value(request, name)
                except ValidationError as exc:
                    errors.update(exc.detail)  # type: ignore[arg-type]
                    continue
                if value is None or _takes_any_text(filter_):
                    continue
                if value == "":
                    errors[name] = ["Empty; give a value or leave the parameter out."]
                elif (
                    isinstance(filter_, django_filters.BooleanFilter)
                    and value.lower() not in BOOLEAN_VALUES
                ):
                    errors[name] = [f"{value!r} is not a boolean; use true or false."]
            if errors:
                raise ValidationError(errors)
        return filterset


class OrderingFilter(filters.OrderingFilter):
    """``?ordering=-created_at,code``: only fields the list sorts by; 400 naming any other."""

    def get_ordering(self, request: Request, queryset: QuerySet, view: Any) -> Any:
        raw = query_value(request, self.ordering_param)
        if raw is None:
            return self.get_default_ordering(view)
        terms = [term.strip() for term in raw.split(",")]
        valid = self._field_names(queryset, view, request)
        unknown = [term for term in terms if term.removeprefix("-") not in valid]
        if unknown:
            raise ValidationError(
                {
                    self.ordering_param: [
                        f"Cannot order by {', '.join(repr(t) for t in unknown)}; use "
                        f"{', '.join(valid)}, each with a leading '-' for descending."
                    ]
                }
            )
        return terms

    def _field_names(self, queryset: QuerySet, view: Any, request: Request | None) -> list[str]:
        return sorted(
            name for name, _ in self.get_valid_fields(queryset, view, {"request": request})
        )

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        # The class queryset, if any: building the schema must not run a view's own query.
        queryset = getattr(view, "queryset", None)
        names = self._field_names(view.get_queryset() if queryset is None else queryset, view, None)
        field = "-?(" + "|".join(re.escape(name) for name in names) + ")"
        for parameter in parameters:
            parameter["schema"]["pattern"] = f"^{field}(,{field})*$"
            parameter["description"] = (
                f"Comma-separated fields to sort by ({', '.join(names)}), each with a leading "
                "'-' for descending."
            )
        return parameters


class ContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, with ``?format=`` given once and an unknown one a 400, not a 404."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        view = (request.parser_context or {}).get("view")
        if view is not None and request.method not in view.allowed_methods:
            # Negotiation runs before dispatch: let a method the view does not take answer 405.
            return renderers[0], renderers[0].media_type
        query_value(request, self.settings.URL_FORMAT_OVERRIDE)
        return super().select_renderer(request, renderers, format_suffix)

    def filter_renderers(
        self, renderers: Iterable[BaseRenderer], format: str
    ) -> list[BaseRenderer]:
        chosen = [renderer for renderer in renderers if renderer.format == format]
        if not chosen:
            known = ", ".join(sorted({str(renderer.format) for renderer in renderers}))
            raise ValidationError(
                {self.settings.URL_FORMAT_OVERRIDE: [f"Unknown format {format!r}; use {known}."]}
            )
        return chosen
