"""Signatures in the admin: to look them up, never to write them (they are append-only)."""

from __future__ import annotations

from django.contrib import admin

from lims.admin import ReadOnlyAdmin
from reports.models import Signature, SignatureAttempt


@admin.register(Signature)
class SignatureAdmin(ReadOnlyAdmin):
    list_display = ("record_code", "meaning", "signer_username", "signed_at", "revision")
    list_filter = ("meaning",)
    search_fields = ("record_code", "signer_username", "state_hash")
    date_hierarchy = "signed_at"


@admin.register(SignatureAttempt)
class SignatureAttemptAdmin(ReadOnlyAdmin):
    list_display = ("at", "user", "record_code")
    list_select_related = ("user",)
    search_fields = ("record_code", "user__username")
    date_hierarchy = "at"
