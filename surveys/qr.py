"""QR codes for receipts and counter posters (segno: pure Python, SVG and PNG)."""

from __future__ import annotations

import io

import segno

#: An 80 mm thermal receipt prints about 72 mm; 2 mm modules scan reliably from a phone.
RECEIPT_SCALE = 4


def qr_svg(url: str, title: str | None = None, scale: int = RECEIPT_SCALE) -> str:
    """An SVG QR code for ``url`` with an accessible title, medium error correction."""
    code = segno.make(url, error="m", micro=False)
    buffer = io.BytesIO()
    code.save(
        buffer, kind="svg", scale=scale, border=2, title=title, svgclass="qr", lineclass=None, xmldecl=False, nl=False
    )
    return buffer.getvalue().decode("utf-8")


def qr_png(url: str, scale: int = 8) -> bytes:
    code = segno.make(url, error="m", micro=False)
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=scale, border=2)
    return buffer.getvalue()
