"""One client session: logon state, sequence numbers both ways, throttle, the send queue.

Every message the server sends a session carries the session's next outgoing sequence number
(`seq`, 1, 2, ...); every command a client sends carries its own (`seq`), which must be the
last one plus 1 (a gap or a repeat is refused with `sequence_gap`, and nothing is applied).
The send queue is bounded: a consumer that falls `send_queue` messages behind is disconnected
(`slow_consumer`) rather than let memory grow or the engine wait for it.

Invariants: the user of every command is the session's (a client never names its user, so
another user's order is answered exactly like an unknown one by the engine); a closed session
takes no more messages; the throttle is a token bucket on the monotonic clock.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from hftbook.server.metrics import Metrics

# What a client may send as `cmd`; venue commands need an admin user.
ORDER_COMMANDS = frozenset({"new", "cancel", "modify", "cancel_all", "oco", "bracket", "algo", "algo_pause",
                            "algo_resume", "algo_cancel", "book", "metrics"})
ADMIN_COMMANDS = frozenset({"instrument", "halt", "resume", "end_of_day", "limits", "kill_switch", "tick"})
_ENCODE = json.JSONEncoder(separators=(",", ":"), default=str).encode


class Session:
    def __init__(self, sid: int, metrics: Metrics, queue_size: int, rate: int, burst: int,
                 heartbeat_s: float) -> None:
        self.id = sid
        self.metrics = metrics
        self.user: str | None = None
        self.admin = False
        self.seq_in = 0
        self.seq_out = 0
        self.out: asyncio.Queue[str | bytes | None] = asyncio.Queue(queue_size)  # frames to send
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.refilled = time.monotonic()
        self.heartbeat_s = heartbeat_s
        self.last_recv = time.monotonic()
        self.last_sent = time.monotonic()
        self.subscriptions: set[str] = set()
        self.closed: str | None = None  # why the session ended

    def send(self, msg: dict[str, Any]) -> None:
        """Queue a message with the next sequence number; a full queue ends the session."""
        if self.closed is not None:
            return
        self.seq_out += 1
        msg["seq"] = self.seq_out
        try:
            self.out.put_nowait(_ENCODE(msg))
        except asyncio.QueueFull:
            self.metrics.counters["slow_consumers"] += 1
            self.close("slow_consumer")
        self.last_sent = time.monotonic()

    def reject(self, reason: str, message: str, **extra: Any) -> None:
        self.send({"type": "session_reject", "reason": reason, "message": message, **extra})

    def close(self, reason: str) -> None:
        if self.closed is None:
            self.closed = reason
            try:
                self.out.put_nowait(None)  # wakes the writer, which closes the connection
            except asyncio.QueueFull:
                while not self.out.empty():
                    self.out.get_nowait()
                self.out.put_nowait(None)

    def take_token(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.refilled) * self.rate)
        self.refilled = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    def check_command(self, msg: dict[str, Any]) -> dict[str, Any] | None:
        """A client `cmd` message checked (sequence, throttle, permission): the command to
        apply, or None after a session reject."""
        seq = msg.get("seq")
        if type(seq) is not int or seq != self.seq_in + 1:
            got = seq if type(seq) is int else None
            self.reject("sequence_gap", f"expected seq {self.seq_in + 1}", got=got)
            return None
        self.seq_in = seq
        cmd = msg.get("cmd")
        if not isinstance(cmd, dict):
            self.reject("bad_message", "'cmd' must be an object", ref_seq=seq)
            return None
        name = cmd.get("cmd")
        if name not in ORDER_COMMANDS and not (self.admin and name in ADMIN_COMMANDS):
            self.reject("not_permitted", f"command {name!r} is not available to this user", ref_seq=seq)
            return None
        if not self.take_token():
            self.metrics.counters["throttled"] += 1
            self.reject("throttled", f"more than {self.rate} messages a second", ref_seq=seq)
            return None
        cmd = dict(cmd)
        cmd.pop("ts", None)  # time is the venue's: set when the engine takes the command
        if name in ORDER_COMMANDS and name not in ("book", "metrics"):
            cmd["user"] = self.user  # venue commands (limits, kill_switch) name the user they act on
        return cmd


__all__ = ["ADMIN_COMMANDS", "ORDER_COMMANDS", "Session"]
