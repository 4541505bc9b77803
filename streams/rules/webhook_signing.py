"""Webhook signatures: HMAC-SHA256 over "<timestamp>.<body>" with the number's secret.

Headers on every webhook request:
    X-OptOut-Timestamp: 1795678304          (Unix seconds when the request was signed)
    X-OptOut-Signature: v1=<hex digest>
    Idempotency-Key:    <message id>        (the same on every retry of one message)
Customers verify with `verify_signature` (or the same few lines in their own language) and
should reject requests whose timestamp is more than five minutes off, against replays.
"""

from __future__ import annotations

import hashlib
import hmac
import time

__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "SCHEME",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "sign",
    "signed_headers",
    "verify_signature",
]

TIMESTAMP_HEADER = "X-OptOut-Timestamp"
SIGNATURE_HEADER = "X-OptOut-Signature"
SCHEME = "v1="
DEFAULT_TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The X-OptOut-Signature value for a body sent at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return SCHEME + digest.hexdigest()


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


def verify_signature(
    secret: str,
    body: bytes,
    timestamp_header: str | None,
    signature_header: str | None,
    now: float | None = None,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """For customers: is this request from Opt-Out Assist, unaltered and recent?"""
    if not timestamp_header or not signature_header or not timestamp_header.isdigit():
        return False
    timestamp = int(timestamp_header)
    if abs((time.time() if now is None else now) - timestamp) > tolerance_seconds:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature_header)
