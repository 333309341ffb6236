"""Where the journal's bytes live: a directory on disk, or memory that can simulate a crash.

The journal only ever appends to files, reads them whole, truncates a torn tail, writes small
files atomically and removes files; `Storage` is exactly that, so the same journal code runs
on `DiskStorage` (real files, real fsync) and on `MemoryStorage` (tests: it remembers which
bytes were made durable and, at a simulated power loss, keeps, drops or garbles the rest).

Invariants:
- DiskStorage: `sync` returns only after `os.fsync` of the file succeeded; a failed fsync
  raises and the journal treats it as fatal (after a failed fsync the kernel may have dropped
  the dirty pages, so carrying on could acknowledge lost data). `write_atomic` is temporary
  file, fsync, rename, fsync of the directory: a reader sees the old file or the new one.
- MemoryStorage: per file, `durable` is a prefix of `data`: what a power loss cannot take;
  a file created (or renamed into place) since the last directory sync may vanish entirely.
"""

from __future__ import annotations

import os
import random
from typing import Protocol


class Storage(Protocol):
    def names(self) -> list[str]: ...

    def read(self, name: str) -> bytes: ...

    def append(self, name: str, data: bytes) -> None: ...

    def sync(self, name: str) -> None: ...

    def truncate(self, name: str, size: int) -> None: ...

    def write_atomic(self, name: str, data: bytes) -> None: ...

    def remove(self, name: str) -> None: ...


class DiskStorage:
    """A directory of real files; append handles stay open until `close`."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        self._handles: dict[str, int] = {}
        self._new_files = False  # created since the last directory fsync

    def _path(self, name: str) -> str:
        return os.path.join(self.directory, name)

    def names(self) -> list[str]:
        return sorted(n for n in os.listdir(self.directory) if not n.endswith(".tmp"))

    def read(self, name: str) -> bytes:
        with open(self._path(name), "rb") as f:
            return f.read()

    def append(self, name: str, data: bytes) -> None:
        fd = self._handles.get(name)
        if fd is None:
            fd = os.open(self._path(name), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            self._handles[name] = fd
            self._new_files = True
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]

    def sync(self, name: str) -> None:
        fd = self._handles.get(name)
        if fd is not None:
            os.fsync(fd)
        if self._new_files:
            self._sync_dir()

    def truncate(self, name: str, size: int) -> None:
        with open(self._path(name), "r+b") as f:
            f.truncate(size)
            f.flush()
            os.fsync(f.fileno())

    def write_atomic(self, name: str, data: bytes) -> None:
        tmp = self._path(name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self._path(name))
        self._sync_dir()

    def remove(self, name: str) -> None:
        fd = self._handles.pop(name, None)
        if fd is not None:
            os.close(fd)
        os.remove(self._path(name))
        self._sync_dir()

    def _sync_dir(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        self._new_files = False

    def close(self) -> None:
        for fd in self._handles.values():
            os.close(fd)
        self._handles.clear()


class MemoryStorage:
    """Files in memory with a durability model, for power-loss tests (see `crash`)."""

    def __init__(self) -> None:
        self.data: dict[str, bytearray] = {}
        self.durable: dict[str, int] = {}  # bytes of each file that survive a power loss
        self.listed: set[str] = set()  # files whose directory entry is durable
        self.writes: dict[str, list[tuple[int, int]]] = {}  # unsynced appends: (start, end)
        self.syncs = 0

    def names(self) -> list[str]:
        return sorted(self.data)

    def read(self, name: str) -> bytes:
        return bytes(self.data[name])

    def append(self, name: str, data: bytes) -> None:
        if name not in self.data:
            self.data[name] = bytearray()
            self.durable[name] = 0
        start = len(self.data[name])
        self.data[name] += data
        self.writes.setdefault(name, []).append((start, start + len(data)))

    def sync(self, name: str) -> None:
        self.syncs += 1
        if name in self.data:
            self.durable[name] = len(self.data[name])
            self.writes.pop(name, None)
        self.listed = set(self.data)  # the journal syncs the directory with a new file

    def truncate(self, name: str, size: int) -> None:
        del self.data[name][size:]
        self.durable[name] = min(self.durable[name], size)
        self.writes[name] = [(a, min(b, size)) for a, b in self.writes.get(name, []) if a < size]

    def write_atomic(self, name: str, data: bytes) -> None:
        self.data[name] = bytearray(data)
        self.durable[name] = len(data)
        self.writes.pop(name, None)
        self.listed = set(self.data)

    def remove(self, name: str) -> None:
        del self.data[name]
        del self.durable[name]
        self.writes.pop(name, None)
        self.listed = set(self.data)

    def crash(self, seed: int) -> MemoryStorage:
        """The storage as a power loss now could leave it. Durable bytes stay. Each write
        since a file's last sync independently survives, is lost, or survives garbled (a few
        flipped bits); a lost write reads as zeros when a later one survived, and lost writes
        at the end leave the file shorter (a torn tail). A file whose directory entry was
        never synced may vanish. Seeded: the same seed, the same outcome."""
        rng = random.Random(seed)
        after = MemoryStorage()
        for name in self.names():
            if name not in self.listed and rng.random() < 0.5:
                continue
            buf = bytearray(self.data[name])
            keep = self.durable[name]
            size = keep
            for start, end in self.writes.get(name, []):
                if end <= keep:
                    continue
                start = max(start, keep)
                fate = rng.randrange(3)
                if fate == 0:
                    size = end
                elif fate == 1:
                    buf[start:end] = bytes(end - start)
                else:
                    for _ in range(rng.randrange(1, 4)):
                        i = rng.randrange(start, end)
                        buf[i] ^= 1 << rng.randrange(8)
                    size = end
            after.data[name] = buf[:size]
            after.durable[name] = size
        after.listed = set(after.data)
        return after


__all__ = ["DiskStorage", "MemoryStorage", "Storage"]
