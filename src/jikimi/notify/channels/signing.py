"""HMAC signatures for gateway and webhook requests, in both directions.

The signature covers a timestamp and the raw body (`<ts>.<body>`), so a captured request
cannot be replayed after `MAX_SKEW` seconds.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Jikimi-Signature"
TIMESTAMP_HEADER = "X-Jikimi-Timestamp"
MAX_SKEW = 300


def sign(secret: str, body: bytes, ts: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if ts is None else ts
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return {TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: f"sha256={mac}"}


def verify(
    secret: str,
    body: bytes,
    ts_header: str | None,
    sig_header: str | None,
    now: float | None = None,
) -> bool:
    if not ts_header or not sig_header or not ts_header.isdigit():
        return False
    now = time.time() if now is None else now
    if abs(now - int(ts_header)) > MAX_SKEW:
        return False
    expected = sign(secret, body, int(ts_header))[SIGNATURE_HEADER]
    return hmac.compare_digest(expected, sig_header)
