"""Base classes every domain API builds on: code lookups, service-backed writes, user fields,
and optimistic locking (``ETag`` on every record response, ``If-Match`` on every edit and delete).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any, ClassVar

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from django.db.models import Model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.validators import UniqueValidator

from lims.api.exports import ExportListMixin
from lims.codes import code_format_problem
from lims.history import history_version
from lims.idempotency import KEY_HEADER, IdempotencyError, idempotency_run, request_fingerprint
from lims.models import CODE_MAX_LENGTH, Record
from lims.services import check_version, record_delete, record_update

#: An ETag of this API: the version in double quotes, weak (``W/``) accepted.
ETAG_PATTERN = r'^(W/)?"[0-9]{1,18}"$'

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    pattern=ETAG_PATTERN,
    description=(
        'The ETag of the version you are changing, as the API sent it (`"3"`). A row changed '
        "since answers 412 with both versions; a missing header answers 428."
    ),
)


class PreconditionRequired(APIException):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_detail = (
        "Send If-Match with the ETag of the version you are changing (GET it first), so that "
        "you never overwrite a change you have not seen."
    )
    default_code = "precondition_required"


def etag(instance: Model) -> str:
    """The strong ETag of a row: its version (:func:`~lims.history.history_version`), quoted."""
    return f'"{history_version(instance)}"'


def if_match_version(request: Request) -> int:
    """The version an edit was made against, from ``If-Match``; 428 when it is missing."""
    header = request.headers.get("If-Match", "").strip()
    if not re.fullmatch(ETAG_PATTERN, header):
        raise PreconditionRequired(
            f"If-Match {header!r} is not an ETag of this API. {PreconditionRequired.default_detail}"
            if header
            else None
        )
    return int(header.removeprefix("W/").strip('"'))


def fingerprint_body(request: Request) -> bytes:
    """What identifies a create's body for ``Idempotency-Key``: the exact bytes, except for a
    multipart upload, whose boundary changes with every attempt and whose file must not be read
    into memory (``request.body`` would): there, the form fields and each file's name and
    SHA-256, read in chunks."""
    if request.content_type.split(";")[0].strip() != "multipart/form-data":
        return request.body
    fields = sorted((key, value) for key, values in request.POST.lists() for value in values)
    files = []
    for key, uploads in request.FILES.lists():
        for upload in uploads:
            digest = hashlib.sha256()
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
            files.append((key, upload.name, digest.hexdigest()))
    return json.dumps({"fields": fields, "files": sorted(files)}).encode()


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


class CodeFormatValidator(RegexValidator):
    """A typed-in code's form, in the services' words (:func:`lims.codes.code_format_problem`);
    a ``RegexValidator`` so that the schema states the rule as a pattern."""

    def __init__(self, model: type[Record]) -> None:
        super().__init__(rf"^{re.escape(model.code_prefix)}-\S+$")
        self.model = model

    def __call__(self, value: Any) -> None:
        problem = code_format_problem(model=self.model, code=str(value))
        if problem:
            raise DjangoValidationError(problem, code="invalid")


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

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        # A typed-in code carries its kind's prefix (lims.codes.code_check_typed); saying so
        # here puts the rule in the schema as a pattern, so clients see it before they send.
        model: Any = self.Meta.model
        if "code" in fields and issubclass(model, Record):
            fields["code"].validators.append(CodeFormatValidator(model))
        return fields

    def validate_code(self, value: str) -> str:
        if self.instance is not None and value != self.instance.code:
            raise serializers.ValidationError("A code cannot change once it is printed on labels.")
        if not value.strip() or any(ch.isspace() for ch in value):
            raise serializers.ValidationError("A code has no spaces.")
        return value


class ETagMixin(viewsets.GenericViewSet):
    """Every successful response about one row carries the row's ``ETag``."""

    #: The row the response is about (the one looked up, created or saved).
    _versioned: Model | None = None

    def get_object(self) -> Any:
        self._versioned = super().get_object()
        return self._versioned

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        row = self._versioned
        if row is not None and row.pk is not None and status.is_success(response.status_code):
            response["ETag"] = etag(row)
        return response


@extend_schema_view(
    update=extend_schema(parameters=[IF_MATCH]),
    partial_update=extend_schema(parameters=[IF_MATCH]),
    destroy=extend_schema(parameters=[IF_MATCH]),
)
class ServiceViewSet(ExportListMixin, ETagMixin, viewsets.ModelViewSet):
    """A viewset whose writes go through services: create via ``create_service``, edits and
    deletes through the generic, history-keeping services of ``lims.services``.

    Every response about one row carries its ``ETag``; PUT, PATCH and DELETE need ``If-Match``
    (428 without it) and answer 412 when the row changed since (``VersionConflict``). A detail
    action that edits the row passes ``if_match_version(request)`` to its service.
    """

    #: The service that creates a row; set it with ``staticmethod(...)``.
    create_service: ClassVar[Callable[..., Model]]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # Only for the edit and delete this viewset routes; any other method answers 405.
        if self.action in {"update", "partial_update", "destroy"}:
            self.expected_version = if_match_version(request)
            # Answer a stale version before validating the body; the service checks it again
            # under the row lock, which is what makes it safe.
            check_version(self.get_object(), self.expected_version)

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
            method=request.method or "", path=request.path, body=fingerprint_body(request)
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
        serializer.instance = self._versioned = self.create_service(
            user=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        assert serializer.instance is not None
        data = dict(serializer.validated_data)
        data.pop("code", None)
        serializer.instance = self._versioned = record_update(
            instance=serializer.instance,
            data=data,
            user=self.request.user,
            expected_version=self.expected_version,
        )

    def perform_destroy(self, instance: Model) -> None:
        record_delete(
            instance=instance, user=self.request.user, expected_version=self.expected_version
        )


class RecordViewSet(ServiceViewSet):
    """Records are addressed by their code: ``/api/cells/CELL-0031/``."""

    lookup_field = "code"
    lookup_value_regex = "[^/]+"
