"""Admin base classes: every admin write goes through the history-keeping services."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import admin
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from lims.models import HistoryEntry, Link, StoredFile
from lims.services import record_delete, record_save_new, record_update

admin.site.site_header = "LiNa LIMS administration"
admin.site.site_title = "LiNa LIMS"


class ServiceAdmin(admin.ModelAdmin):
    """Saves and deletes through ``lims.services`` so admin edits are validated and logged."""

    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: bool) -> None:
        if change:
            data = {name: getattr(obj, name) for name in form.changed_data if hasattr(obj, name)}
            original = type(obj)._default_manager.get(pk=obj.pk)
            record_update(instance=original, data=data, user=request.user)
        else:
            with transaction.atomic():
                record_save_new(instance=obj, user=request.user)

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        record_delete(instance=obj, user=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        with transaction.atomic():
            for obj in queryset:
                record_delete(instance=obj, user=request.user)


class RecordAdmin(ServiceAdmin):
    list_display: tuple[Any, ...] = ("code", "label", "created_at", "created_by")
    search_fields: ClassVar[tuple[str, ...]] = ("code", "label")
    readonly_fields: ClassVar[tuple[str, ...]] = (
        "kind",
        "label",
        "created_at",
        "updated_at",
        "created_by",
    )
    list_select_related: ClassVar[tuple[str, ...]] = ("created_by",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The code is printed on labels: typed (or generated) once, never changed.
        return (*self.readonly_fields, "code") if obj else self.readonly_fields


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(HistoryEntry)
class HistoryEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "username", "action", "model", "record_code", "object_repr")
    list_filter = ("action", "model")
    search_fields = ("record_code", "username", "request_id")
    date_hierarchy = "at"


@admin.register(Link)
class LinkAdmin(ReadOnlyAdmin):
    list_display = ("parent", "role", "child")
    list_select_related = ("parent", "child")
    search_fields = ("parent__code", "child__code")
    list_filter = ("role",)


@admin.register(StoredFile)
class StoredFileAdmin(ReadOnlyAdmin):
    list_display = ("original_name", "sha256", "size_bytes", "uploaded_at", "uploaded_by")
    search_fields = ("original_name", "sha256")
