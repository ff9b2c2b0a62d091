"""Print today's anchor of the history chain, to keep off-site (paper, e-mail, another system)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from lims.chain import chain_head


class Command(BaseCommand):
    help = (
        "Print the head of the history chain as 'DATE ID:HASH'. Kept elsewhere every day, it "
        "lets verify_history --anchor ID:HASH prove later that nothing up to it was changed."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        head_id, head_hash = chain_head()
        self.stdout.write(f"{timezone.now():%Y-%m-%d} {head_id or 0}:{head_hash}")
