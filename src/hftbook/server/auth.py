"""Session authentication: HMAC-SHA256 over the API key and a timestamp.

A client signs `f"{api_key}:{ts_ns}"` with its secret: `hex(HMAC-SHA256(secret, message))`.
The server accepts a logon when the key is known, the signature matches (compared in
constant time), the timestamp is within `window_ns` of the server's clock, and it is newer
than the last accepted logon of that key (a replayed logon is refused even inside the window).

Invariants: secrets never leave this module's callers; a refusal says which check failed
but never how close a wrong signature was.
"""

from __future__ import annotations

import hashlib
import hmac


def sign(api_key: str, ts_ns: int, secret: str) -> str:
    return hmac.new(secret.encode(), f"{api_key}:{ts_ns}".encode(), hashlib.sha256).hexdigest()


class Authenticator:
    def __init__(self, secrets: dict[str, str], window_ns: int) -> None:
        self.secrets = secrets  # api key -> secret
        self.window_ns = window_ns
        self.last: dict[str, int] = {}  # api key -> timestamp of its last accepted logon

    def check(self, api_key: object, ts_ns: object, signature: object, now_ns: int) -> str | None:
        """None when the logon is good (and remembered), else the reason it is not."""
        if type(api_key) is not str or type(ts_ns) is not int or type(signature) is not str:
            return "bad_logon"
        secret = self.secrets.get(api_key)
        if secret is None:
            return "unknown_key"
        if not hmac.compare_digest(sign(api_key, ts_ns, secret), signature):
            return "bad_signature"
        return self.fresh(api_key, ts_ns, now_ns)

    def fresh(self, api_key: str, ts_ns: int, now_ns: int) -> str | None:
        """The timestamp checks of a logon whose signature was verified (by either
        gateway's scheme): within the window and newer than the key's last logon on any
        gateway; remembered when good."""
        if abs(now_ns - ts_ns) > self.window_ns:
            return "stale_logon"
        if ts_ns <= self.last.get(api_key, -1):
            return "replayed_logon"
        self.last[api_key] = ts_ns
        return None


__all__ = ["Authenticator", "sign"]
