"""Admin of the tablet layer: registered devices, operators' PINs and badges, the entry log."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from glovebox import services
from glovebox.models import BenchCredential, BenchEntry, Device


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    """Tablets are registered from the tablet itself (``/bench/device/``), so the key never
    leaves it; here an admin sees them and retires one by unticking "active"."""

    list_display = ["name", "active", "registered_at", "registered_by"]
    readonly_fields = ["registered_at", "registered_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class CredentialForm(forms.ModelForm):
    new_pin = forms.CharField(
        required=False,
        widget=forms.PasswordInput,
        help_text="4 to 8 digits; stored hashed. Leave empty to keep the current PIN.",
    )

    class Meta:
        model = BenchCredential
        fields = ["user", "failed_attempts", "locked_until"]

    def clean_new_pin(self) -> str:
        pin: str = self.cleaned_data["new_pin"]
        if pin and not (pin.isdigit() and 4 <= len(pin) <= 8):
            raise forms.ValidationError("A PIN is 4 to 8 digits.")
        return pin


@admin.register(BenchCredential)
class BenchCredentialAdmin(admin.ModelAdmin):
    form = CredentialForm
    list_display = ["user", "has_pin", "has_badge", "failed_attempts", "locked_until"]
    actions = ["issue_badge"]

    @admin.display(boolean=True)
    def has_pin(self, obj: BenchCredential) -> bool:
        return bool(obj.pin_hash)

    @admin.display(boolean=True)
    def has_badge(self, obj: BenchCredential) -> bool:
        return bool(obj.badge_sha256)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if form.cleaned_data.get("new_pin"):
            services.bench_pin_set(user=obj.user, pin=form.cleaned_data["new_pin"])

    @admin.action(description="Issue a new badge (print its QR code now; it is shown once)")
    def issue_badge(self, request: HttpRequest, queryset: Any) -> None:
        from lims.qr import qr_svg

        for credential in queryset:
            secret = services.bench_badge_issue(user=credential.user)
            self.message_user(
                request,
                format_html("{}: {}", credential.user, mark_safe(qr_svg(secret))),
            )


@admin.register(BenchEntry)
class BenchEntryAdmin(admin.ModelAdmin):
    list_display = [
        "server_time",
        "device_time",
        "clock_flagged",
        "user",
        "device",
        "record_code",
        "summary",
    ]
    list_filter = ["clock_flagged", "action", "device"]
    search_fields = ["record_code", "key", "user__username"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
