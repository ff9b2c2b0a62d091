"""Signing: the only write of the reports app."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from lims.context import acting_as
from lims.history import history_log
from lims.models import HistoryEntry, Record
from lims.state import lineage_state_hash, record_revision
from reports.models import Signature, SignatureAttempt

#: Wrong passwords allowed per user within the window before signing is locked.
MAX_FAILED_ATTEMPTS = 5
ATTEMPT_WINDOW = dt.timedelta(minutes=15)
SIGNABLE_KINDS = ("cell", "synthesisbatch")
#: Granted to scientists and admins by the roles (Signature is an append-only model).
SIGN_PERMISSION = "reports.add_signature"


class SignatureRefused(Exception):
    """Why a signature was not made; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, *, status: int = 403) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def signature_sign(*, record: Record, user: Any, password: str, meaning: str) -> Signature:
    """Sign ``record`` after checking the signer's password again.

    Only users whose role may add signatures (scientists and admins, see ``lims.roles``) sign,
    only cells and batches. A wrong password is refused and
    recorded; after ``MAX_FAILED_ATTEMPTS`` within ``ATTEMPT_WINDOW`` every attempt is refused,
    even with the right password, until the window has passed.
    """
    if not user.has_perm(SIGN_PERMISSION):
        raise SignatureRefused("Only a scientist or an admin can sign.")
    if record.kind not in SIGNABLE_KINDS:
        raise SignatureRefused(
            f"{record.code} cannot be signed: only cells and batches are.", status=400
        )
    if meaning not in Signature.Meaning.values:
        raise SignatureRefused(
            f"meaning must be one of {', '.join(Signature.Meaning.values)}.", status=400
        )
    now = timezone.now()
    recent = SignatureAttempt.objects.filter(user=user, at__gte=now - ATTEMPT_WINDOW)
    failures = recent.count()
    if failures >= MAX_FAILED_ATTEMPTS:
        unlock = timezone.localtime(recent.order_by("at").first().at + ATTEMPT_WINDOW)  # type: ignore[union-attr]
        raise SignatureRefused(
            f"Signing is locked after {failures} wrong passwords; try again after {unlock:%H:%M}.",
            status=429,
        )
    if not user.check_password(password):
        SignatureAttempt.objects.create(user=user, record_code=record.code, at=now)
        raise SignatureRefused(
            f"Wrong password: not signed ({failures + 1} of {MAX_FAILED_ATTEMPTS} attempts "
            f"within {ATTEMPT_WINDOW.seconds // 60} minutes)."
        )
    return _signature_create(record=record, user=user, meaning=meaning)


@transaction.atomic
def _signature_create(*, record: Record, user: Any, meaning: str) -> Signature:
    # Lock the record's row so a change cannot land between hashing and storing.
    Record.objects.select_for_update(no_key=True).filter(pk=record.pk).get()
    signature = Signature.objects.create(
        record=record,
        record_code=record.code,
        meaning=meaning,
        signer=user,
        signer_username=user.get_username(),
        signed_at=timezone.now(),
        revision=record_revision(record),
        state_hash=lineage_state_hash(record),
    )
    with acting_as(user):
        history_log(
            instance=signature,
            action=HistoryEntry.Action.CREATE,
            filed_under=(record.pk, record.code),
        )
    return signature


def signature_is_valid(signature: Signature, current_hash: str) -> bool:
    """Valid while the record and its lineage are exactly as signed."""
    return signature.state_hash == current_hash
