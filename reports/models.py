"""Release signatures: a scientist's signed statement about the state of a cell or a batch."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from lims.models import CODE_MAX_LENGTH, Record


class Signature(models.Model):
    """A scientist signed a cell or a batch ("reviewed", "released") by re-entering a password.

    It keeps who, when, what the signature means and the SHA-256 of the signed state of the
    record and its whole lineage (:func:`lims.state.lineage_state_hash`). A signature is never
    edited, moved or deleted (database triggers refuse it, see the migration); it is *void*
    when the record or anything it was made from has changed since, i.e. when the hash of the
    current state differs, until someone signs again.

    Like the history, it is an append-only log of its own, not a tracked row: the service files
    one history entry under the record when it signs.
    """

    #: Roles (lims.roles): scientists and admins may add (sign); nobody changes or deletes.
    append_only = True

    class Meaning(models.TextChoices):
        REVIEWED = "reviewed"
        RELEASED = "released"

    # No reverse accessor: a signature is about the record, not part of the state it signs.
    record = models.ForeignKey(Record, on_delete=models.PROTECT, related_name="+")
    record_code = models.CharField(max_length=CODE_MAX_LENGTH, editable=False)
    meaning = models.CharField(max_length=20, choices=Meaning.choices)
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )
    signer_username = models.CharField(max_length=150, editable=False)
    signed_at = models.DateTimeField(editable=False)
    revision = models.PositiveIntegerField(editable=False)
    state_hash = models.CharField(max_length=64, editable=False)

    class Meta:
        ordering = ["-signed_at", "-id"]
        indexes = [models.Index(fields=["record", "-signed_at"], name="signature_record_idx")]

    def __str__(self) -> str:
        return f"{self.meaning} by {self.signer_username} {self.signed_at:%Y-%m-%d %H:%M}"


class SignatureAttempt(models.Model):
    """A signature refused for a wrong password: counted to rate-limit guessing."""

    #: Written by the signing service only: no role may add, change or delete one.
    system_kept = True

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    record_code = models.CharField(max_length=CODE_MAX_LENGTH)
    at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.user_id} {self.at:%Y-%m-%d %H:%M} {self.record_code}"
