"""QR codes for labels: the code itself, so a USB scanner types it into any find field."""

from __future__ import annotations

import segno


def qr_svg(code: str, *, scale: int = 5) -> str:
    """An inline SVG QR code of ``code`` (medium error correction survives a scuffed label).

    Always a full QR code: for a short code segno would pick a Micro QR, which tablet cameras
    and most scanner guns cannot read.
    """
    qr = segno.make_qr(code, error="m")
    return str(qr.svg_inline(scale=scale, title=code, border=4, omitsize=True))
