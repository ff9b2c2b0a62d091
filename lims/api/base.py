"""Base classes every domain API builds on: code lookups, service-backed writes, user fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.contrib.auth import get_user_model
from django.db.models import Model
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.validators import UniqueValidator

from lims.idempotency import KEY_HEADER, IdempotencyError, idempotency_run, request_fingerprint
from lims.models import CODE_MAX_LENGTH, Record
from lims.services import record_delete, record_update


def code_field(model: type[Model], **kwargs: Any) -> serializers.SlugRelatedField:
    """A link to another record, written and shown as its code (``"PEL-0007-03"``)."""
    return serializers.SlugRelatedField(
        slug_field="code", queryset=model._default_manager.all(), **kwargs
    )


def user_field(**kwargs: Any) -> serializers.SlugRelatedField:
    kwargs.setdefault("required", False)
    kwargs.setdefault("allow_null", True)
    return serializers.SlugRelatedField(
        slug_field="username", queryset=get_user_model().objects.all(), **kwargs
    )


class RecordSerializer(serializers.ModelSerializer):
    """Fields every record has. ``code`` is generated when left out and fixed once created."""

    code = serializers.CharField(
        required=False,
        max_length=CODE_MAX_LENGTH,
        validators=[
            UniqueValidator(Record.objects.all(), message="A record with this code already exists.")
        ],
        help_text="Unique code people type, scan and print; generated when left out.",
    )
    kind = serializers.CharField(read_only=True)
    label = serializers.CharField(read_only=True)  # type: ignore[assignment]
    url = serializers.CharField(source="get_absolute_url", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None)

    BASE_FIELDS: ClassVar[list[str]] = [
        "code",
        "kind",
        "label",
        "url",
        "notes",
        "created_at",
        "updated_at",
        "created_by",
    ]

    def validate_code(self, value: str) -> str:
        if self.instance is not None and value != self.instance.code:
            raise serializers.ValidationError("A code cannot change once it is printed on labels.")
        if not value.strip() or any(ch.isspace() for ch in value):
            raise serializers.ValidationError("A code has no spaces.")
        return value


class ServiceViewSet(viewsets.ModelViewSet):
    """A viewset whose writes go through services: create via ``create_service``, edits and
    deletes through the generic, history-keeping services of ``lims.services``."""

    #: The service that creates a row; set it with ``staticmethod(...)``.
    create_service: ClassVar[Callable[..., Model]]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                KEY_HEADER,
                str,
                OpenApiParameter.HEADER,
                description=(
                    "A unique key (a UUID) sent with every attempt of one create: the row is "
                    "stored once and a repeat gets the first response. The same key with "
                    "another body answers 422; while the first attempt runs, 409."
                ),
            )
        ]
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(KEY_HEADER)
        if key is None:
            return super().create(request, *args, **kwargs)

        def work() -> tuple[int, Any]:
            response = super(ServiceViewSet, self).create(request, *args, **kwargs)
            return response.status_code, response.data

        fingerprint = request_fingerprint(
            method=request.method or "", path=request.path, body=request.body
        )
        try:
            outcome = idempotency_run(
                user=request.user, key=key, fingerprint=fingerprint, work=work
            )
        except IdempotencyError as exc:
            return Response({"detail": exc.message}, status=exc.status)
        headers = self.get_success_headers(outcome.body) if outcome.status == 201 else {}
        if outcome.replayed:
            headers["Idempotent-Replayed"] = "true"
        return Response(outcome.body, status=outcome.status, headers=headers)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = self.create_service(
            user=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        assert serializer.instance is not None
        data = dict(serializer.validated_data)
        data.pop("code", None)
        serializer.instance = record_update(
            instance=serializer.instance, data=data, user=self.request.user
        )

    def perform_destroy(self, instance: Model) -> None:
        record_delete(instance=instance, user=self.request.user)


class RecordViewSet(ServiceViewSet):
    """Records are addressed by their code: ``/api/cells/CELL-0031/``."""

    lookup_field = "code"
    lookup_value_regex = "[^/]+"
