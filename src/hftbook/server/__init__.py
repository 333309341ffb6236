"""`hftbook serve`: the exchange as a network service (I/O around the pure core).

- ``config``: embedded defaults and the TOML file;
- ``auth``: HMAC-SHA256 logons;
- ``session``: one client session: sequence numbers, throttle, bounded send queue;
- ``engine``: the engine task: a journaled venue fed in batches (group commit), answers routed;
- ``gateway_ws``: the WebSocket JSON gateway (and ``/metrics``);
- ``metrics``: HDR latency histograms per stage, Prometheus text;
- ``client``: a Python client (async and sync);
- ``app``: start, stop, signals.
"""
