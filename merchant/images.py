"""QR code images of payloads: PNG and SVG through `qrcode`, sized for printing."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import qrcode
import qrcode.image.pure
import qrcode.image.svg

# Error correction M (15 %) survives a scuffed counter sticker; the quiet zone is 4 modules.
_ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_M


def _code(payload: str) -> qrcode.QRCode[Any]:
    code: qrcode.QRCode[Any] = qrcode.QRCode(error_correction=_ERROR_CORRECTION, border=4)
    code.add_data(payload)
    code.make(fit=True)
    return code


def qr_png(payload: str, *, pixels_per_module: int = 20) -> bytes:
    """PNG; at 20 pixels a module a typical payment code is about 7 cm wide at 300 dpi."""
    code = _code(payload)
    code.box_size = pixels_per_module
    image = code.make_image(image_factory=qrcode.image.pure.PyPNGImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def qr_svg(payload: str, *, millimetres_per_module: str = "1.5") -> str:
    """SVG in millimetres, for print layouts."""
    code = _code(payload)
    # The SVG factory draws box_size tenths of a millimetre per module.
    code.box_size = int(Decimal(millimetres_per_module) * 10)
    image = code.make_image(image_factory=qrcode.image.svg.SvgPathImage)
    return str(image.to_string(encoding="unicode"))
