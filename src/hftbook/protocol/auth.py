"""HMAC-SHA256 session authentication of a Logon, as pure functions (no clock, no I/O).

The client signs, with the secret that belongs to its api key, the ASCII payload

    "hftbook-logon\\n" + str(timestamp_ns) + "\\n" + api_key + "\\n" + str(heartbeat_interval_ms)

and sends the 32-byte digest as the Logon's `signature`. The server finds the secret by
`api_key`, recomputes the digest, compares it in constant time, and requires
`timestamp_ns` within `max_skew_ns` of its own clock (replayed old Logons fail). Signing the
heartbeat interval too means a man in the middle cannot change it without the secret.

Invariants: the payload is a pure function of the three fields (so any language can build
it from the Logon it sends); `verify_logon` never raises for a wrong signature or an old
timestamp, it returns False.
"""

from __future__ import annotations

import hashlib
import hmac

from hftbook.protocol.messages import Logon

DEFAULT_MAX_SKEW_NS = 5_000_000_000  # 5 s either way
ZERO_SIGNATURE = bytes(32)  # what the server's accepting Logon carries


def logon_payload(api_key: str, timestamp_ns: int, heartbeat_interval_ms: int) -> bytes:
    return f"hftbook-logon\n{timestamp_ns}\n{api_key}\n{heartbeat_interval_ms}".encode("ascii")


def sign_logon(secret: bytes, api_key: str, timestamp_ns: int, heartbeat_interval_ms: int) -> bytes:
    """The 32-byte HMAC-SHA256 signature of a Logon."""
    payload = logon_payload(api_key, timestamp_ns, heartbeat_interval_ms)
    return hmac.new(secret, payload, hashlib.sha256).digest()


def signed_logon(secret: bytes, api_key: str, timestamp_ns: int, heartbeat_interval_ms: int) -> Logon:
    """A ready Logon message (the client side)."""
    return Logon(api_key, timestamp_ns, sign_logon(secret, api_key, timestamp_ns, heartbeat_interval_ms),
                 heartbeat_interval_ms)


def verify_logon(secret: bytes, logon: Logon, now_ns: int, max_skew_ns: int = DEFAULT_MAX_SKEW_NS) -> bool:
    """True when `logon` is signed with `secret` and its timestamp is within `max_skew_ns` of
    `now_ns` (the server's clock, passed in)."""
    if abs(now_ns - logon.timestamp_ns) > max_skew_ns:
        return False
    expected = sign_logon(secret, logon.api_key, logon.timestamp_ns, logon.heartbeat_interval_ms)
    return hmac.compare_digest(expected, logon.signature)
