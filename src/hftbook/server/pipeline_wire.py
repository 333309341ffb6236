"""The messages on the pipeline's rings (MessagePack; pure, no I/O).

Command ring (gateway process -> engine process k), one message per command:

    [t_ns, command]            command: the journal codec's bytes (`encode_command`)

Result ring (engine process k -> journal, responses, market data), one message per command:

    [seq, ts, t_ns, command, events, ended]

- `seq`: the command's journal sequence number (consecutive per engine); `ts`: the time the
  journal records for it (the command's `ts`, as `JournaledVenue` takes it);
- `command`: the very bytes the gateway encoded: the journal writes them as they are;
- `events`: the contract events, `encode_command(list_of_event_dicts)`;
- `ended`: `[user, id]` pairs the command made unknown to the engine (finished orders and
  parents), so the gateway can forget where they live;
- `t_ns`: `time.perf_counter_ns()` when the message was written (CLOCK_MONOTONIC, the same
  clock in every process of the host): each reader records its queue wait from it.

Messages longer than a slot travel as fragments (`runtime.ring_frames`).

Ids across engines: each engine numbers its orders and trades 1, 2, 3, ...; with `n` engines
the events carry `global_id(local, k, n) = (local - 1) * n + k + 1` instead (`globalize`),
so order and trade ids stay unique on the venue, and with one engine nothing changes.

Invariants: `unpack_*` of `pack_*` gives the fields back; the command bytes are never decoded
and re-encoded on their way to the journal.
"""

from __future__ import annotations

from typing import Any

import msgpack

from hftbook.journal.record import decode_command, encode_command

Ended = list[list[Any]]


def pack_command(t_ns: int, command: bytes) -> bytes:
    data: bytes = msgpack.packb((t_ns, command))
    return data


def unpack_command(message: bytes) -> tuple[int, bytes]:
    t_ns, command = msgpack.unpackb(message)
    return t_ns, command


def pack_result(seq: int, ts: int, t_ns: int, command: bytes, events: list[dict[str, Any]],
                ended: Ended) -> bytes:
    return encode_command((seq, ts, t_ns, command, encode_command(events), ended))


def unpack_result(message: bytes) -> tuple[int, int, int, bytes, bytes, Ended]:
    """The fields, with `events` still encoded (the journal never needs them)."""
    seq, ts, t_ns, command, events, ended = decode_command(message)
    return seq, ts, t_ns, command, events, ended


def global_id(local: int, k: int, n: int) -> int:
    return (local - 1) * n + k + 1


def globalize(value: Any, k: int, n: int) -> None:
    """Rewrite every `order_id` and `trade_id` in events (nested too) to the venue's ids."""
    if isinstance(value, dict):
        for key, v in value.items():
            if (key == "order_id" or key == "trade_id") and type(v) is int:
                value[key] = (v - 1) * n + k + 1
            elif isinstance(v, dict | list):
                globalize(v, k, n)
    elif isinstance(value, list):
        for v in value:
            if isinstance(v, dict | list):
                globalize(v, k, n)


def decode_events(events: bytes) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = decode_command(events)
    return out


__all__ = [
    "decode_command",
    "decode_events",
    "encode_command",
    "global_id",
    "globalize",
    "pack_command",
    "pack_result",
    "unpack_command",
    "unpack_result",
]
