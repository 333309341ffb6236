"""The server's settings: embedded defaults (so `make run` needs no file) and a TOML file.

    [server]            host, port (JSON over WebSocket), binary_port (SBE over TCP), data_dir,
                        fsync ("batch" | "interval" | "none"),
                        checkpoint_every, max_connections, max_batch, cancel_on_disconnect,
                        logon_timeout_s, heartbeat_s (the default a logon may lower or raise,
                        1-60), send_queue (messages a slow consumer may fall behind), throttle
                        (messages per second per session) and throttle_burst, logon_window_s
                        (how stale a logon's timestamp may be); pipeline (run the engine,
                        journal and market data in processes behind ring buffers), engines
                        (engine processes the symbols are sharded over), md_port (the
                        pipeline's market-data WebSocket feed), ring_slots (per ring, a power
                        of two)
    [[instrument]]      symbol, tick_size, lot_size, and any other `instrument` field
                        (risk, breaker, halt_orders, ...) as the protocol names them
    [[user]]            name, api_key, secret, optional admin (venue commands allowed)

Invariants: a loaded config is complete (every field has a value) and checked (a wrong type
or range raises `ConfigError` naming the key); the demo users' secrets are public and only
for a local demo: a deployment gives its own users in the file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from typing import Any


class ConfigError(ValueError):
    pass


@dataclass
class UserConfig:
    name: str
    api_key: str
    secret: str
    admin: bool = False  # may send venue commands (instrument, halt, resume, end_of_day, limits, ...)


DEFAULT_INSTRUMENTS: list[dict[str, Any]] = [
    {"symbol": "BTC-USD", "tick_size": "0.5", "lot_size": "0.001"},
    {"symbol": "ETH-USD", "tick_size": "0.05", "lot_size": "0.01"},
    {"symbol": "AAPL", "tick_size": "0.01", "lot_size": "1"},
    {"symbol": "SPY", "tick_size": "0.01", "lot_size": "1"},
]
DEFAULT_USERS = [UserConfig(f"demo{i}", f"demo-key-{i}", f"demo-secret-{i}") for i in range(1, 5)] + [
    UserConfig("admin", "admin-key", "admin-secret", admin=True)]


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8765  # the WebSocket JSON gateway (and /metrics)
    binary_port: int = 8766  # the SBE gateway over TCP
    data_dir: str = "data"
    fsync: str = "batch"
    checkpoint_every: int = 100_000
    max_connections: int = 1000
    max_batch: int = 512
    cancel_on_disconnect: bool = True
    logon_timeout_s: float = 5.0
    heartbeat_s: float = 10.0
    send_queue: int = 10_000
    throttle: int = 5_000
    throttle_burst: int = 1_000
    logon_window_s: float = 30.0
    tick_s: float = 0.1  # a `tick` command this often, so time-driven work (algos, expiries) runs
    pipeline: bool = False  # engine, journal and market data in their own processes (pipeline.py)
    engines: int = 1  # engine processes of the pipeline; symbols sharded by a stable hash
    md_port: int = 8767  # the pipeline's market-data feed (WebSocket)
    ring_slots: int = 8192
    instruments: list[dict[str, Any]] = field(default_factory=lambda: [dict(i) for i in DEFAULT_INSTRUMENTS])
    users: list[UserConfig] = field(default_factory=lambda: list(DEFAULT_USERS))

    def user_by_key(self) -> dict[str, UserConfig]:
        return {u.api_key: u for u in self.users}


_TYPES: dict[str, type | tuple[type, ...]] = {
    "host": str, "port": int, "binary_port": int, "data_dir": str, "fsync": str, "checkpoint_every": int,
    "max_connections": int, "max_batch": int, "cancel_on_disconnect": bool,
    "logon_timeout_s": (int, float), "heartbeat_s": (int, float), "send_queue": int, "throttle": int,
    "throttle_burst": int, "logon_window_s": (int, float), "tick_s": (int, float), "pipeline": bool,
    "engines": int, "md_port": int, "ring_slots": int,
}


def check(cfg: ServerConfig) -> None:
    """Refuse out-of-range settings (the file's, or the command line's overrides)."""
    for key in ("port", "binary_port", "md_port", "max_connections", "max_batch", "send_queue", "throttle",
                "throttle_burst", "engines"):
        if getattr(cfg, key) < (0 if key.endswith("port") else 1):
            raise ConfigError(f"[server] {key}: out of range")
    if cfg.engines > 64:
        raise ConfigError("[server] engines: at most 64")
    if cfg.ring_slots < 64 or cfg.ring_slots & (cfg.ring_slots - 1):
        raise ConfigError("[server] ring_slots: a power of two, at least 64")


def load(path: str | None) -> ServerConfig:
    """The defaults, overridden by the TOML file at `path` (if given)."""
    cfg = ServerConfig()
    if path is None:
        return cfg
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    server = data.get("server", {})
    names = {f.name for f in fields(ServerConfig)}
    for key, value in server.items():
        if key not in names or key in ("instruments", "users"):
            raise ConfigError(f"[server] {key}: unknown setting")
        want = _TYPES[key]
        if isinstance(value, bool) != (want is bool) or not isinstance(value, want):
            raise ConfigError(f"[server] {key}: wrong type {type(value).__name__}")
        setattr(cfg, key, value)
    if cfg.fsync not in ("batch", "interval", "none"):
        raise ConfigError("[server] fsync: batch, interval or none")
    check(cfg)
    if "instrument" in data:
        cfg.instruments = [dict(i) for i in data["instrument"]]
        for i in cfg.instruments:
            if not {"symbol", "tick_size", "lot_size"} <= set(i):
                raise ConfigError("[[instrument]] needs symbol, tick_size and lot_size")
    if "user" in data:
        try:
            cfg.users = [UserConfig(u["name"], u["api_key"], u["secret"], bool(u.get("admin", False)))
                         for u in data["user"]]
        except KeyError as exc:
            raise ConfigError(f"[[user]] needs name, api_key and secret (missing {exc})") from exc
    return cfg


__all__ = ["DEFAULT_USERS", "ConfigError", "ServerConfig", "UserConfig", "check", "load"]
