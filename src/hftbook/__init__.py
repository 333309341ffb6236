"""hftbook: a deterministic, fast matching engine and exchange in pure Python.

The package is layered: `hftbook.core` is the pure state machine (commands in, events out),
everything with I/O, clocks or processes lives around it.
"""

__version__ = "0.1.0"
