"""Read PDFs back with Debian's poppler-utils and zbar-tools, as a person's tools would."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest


def require_tool(name: str) -> str:
    """The path of ``name``; skip when missing (fail under ``CI=true``: bin/test installs it)."""
    path = shutil.which(name)
    if path:
        return path
    reason = f"{name} is not installed (apt-get install poppler-utils zbar-tools)"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


def _run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def pdf_text(pdf: bytes) -> str:
    """The text of every page, in reading order (``pdftotext -layout``)."""
    require_tool("pdftotext")
    return _run_on(pdf, lambda path: _run("pdftotext", "-layout", str(path), "-"))


def page_count(pdf: bytes) -> int:
    require_tool("pdfinfo")
    info = _run_on(pdf, lambda path: _run("pdfinfo", str(path)))
    match = re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE)
    assert match, info
    return int(match.group(1))


def qr_codes(pdf: bytes, *, page: int = 1) -> list[str]:
    """What ``zbarimg`` reads from the QR codes on ``page`` rendered at 150 dpi."""
    require_tool("pdftoppm")
    zbarimg = require_tool("zbarimg")

    def decode(path: Path) -> str:
        image = path.with_suffix("")
        _run(
            "pdftoppm",
            "-r",
            "150",
            "-png",
            "-singlefile",
            "-f",
            str(page),
            "-l",
            str(page),
            str(path),
            str(image),
        )
        return _run(zbarimg, "--quiet", "--raw", f"{image}.png")

    return sorted(
        decode_output for decode_output in _run_on(pdf, decode).splitlines() if decode_output
    )


def _run_on(pdf: bytes, action: Callable[[Path], str]) -> str:
    assert pdf.startswith(b"%PDF-"), pdf[:200]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "doc.pdf"
        path.write_bytes(pdf)
        return action(path)
