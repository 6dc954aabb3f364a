"""Ticket codes that carry their own signature, and their QR codes.

A code is ``BX-<payload>-<mac>``: the payload is 12 random bytes (base32), the mac the first
10 bytes of HMAC-SHA256(TICKET_SIGNING_KEY, payload) (base32). Forged or altered codes fail the
HMAC check before any database lookup; a valid-looking code still has to exist, belong to a
confirmed booking and not be checked in yet.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import secrets

import qrcode
from django.conf import settings

PREFIX = "BX"


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=")


def _mac(payload: str) -> str:
    key = settings.TICKET_SIGNING_KEY.encode()
    return _b32(hmac.new(key, payload.encode(), hashlib.sha256).digest()[:10])


def new_code() -> str:
    payload = _b32(secrets.token_bytes(12))
    return f"{PREFIX}-{payload}-{_mac(payload)}"


def is_authentic(code: str) -> bool:
    if not isinstance(code, str) or len(code) > 64:
        return False
    parts = code.strip().upper().split("-")
    if len(parts) != 3 or parts[0] != PREFIX:
        return False
    # Bytes, not str: compare_digest refuses non-ASCII strings (a scanner may send anything).
    return hmac.compare_digest(parts[2].encode(), _mac(parts[1]).encode())


def qr_png(code: str) -> bytes:
    image = qrcode.make(code, box_size=6, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
