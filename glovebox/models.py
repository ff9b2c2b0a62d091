"""The tablet layer's own rows: registered devices and the log of every entry made at the bench."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from django.conf import settings
from django.db import models

User = settings.AUTH_USER_MODEL


class Device(models.Model):
    """A tablet an admin registered. A browser becomes this device by holding its secret in a
    cookie (set by the admin's "enrol this browser" link); only the hash is stored."""

    name = models.CharField(max_length=100, unique=True)
    secret_sha256 = models.CharField(max_length=64, unique=True, editable=False)
    active = models.BooleanField(default=True)
    registered_at = models.DateTimeField(auto_now_add=True)
    registered_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    def __str__(self) -> str:
        return self.name


class BenchEntry(models.Model):
    """One entry made at the bench: who, on which device, when on the device and on the server.

    ``device_time`` is the tablet's clock when the operator tapped (an entry sent later from the
    offline outbox keeps it); ``server_time`` is when it arrived. ``clock_offset_s`` compares the
    tablet's clock at sending with the server's; beyond ``CLOCK_TOLERANCE`` it is flagged. The
    change itself is in the record's history (same ``request_id``).
    """

    CLOCK_TOLERANCE: ClassVar[dt.timedelta] = dt.timedelta(minutes=2)

    key = models.CharField(max_length=255, blank=True, help_text="The tablet's idempotency key")
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    action = models.CharField(max_length=40)
    record_code = models.CharField(max_length=40, db_index=True)
    summary = models.CharField(max_length=200)
    device_time = models.DateTimeField(null=True, blank=True)
    server_time = models.DateTimeField()
    clock_offset_s = models.FloatField(null=True, blank=True)
    clock_flagged = models.BooleanField(default=False)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-server_time", "-id"]
        verbose_name_plural = "bench entries"

    def __str__(self) -> str:
        return f"{self.server_time:%Y-%m-%d %H:%M} {self.record_code} {self.summary}"


class BenchCredential(models.Model):
    """How an operator switches to themselves on a shared tablet: a PIN (stored hashed) or the
    QR code on their badge (only its SHA-256 is stored). Both work only on a registered device;
    ``MAX_FAILURES`` wrong PINs in a row lock the PIN for ``LOCK_TIME``."""

    MAX_FAILURES: ClassVar[int] = 5
    LOCK_TIME: ClassVar[dt.timedelta] = dt.timedelta(minutes=15)

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="bench_credential")
    pin_hash = models.CharField(max_length=128, blank=True, editable=False)
    badge_sha256 = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"bench credential of {self.user}"
