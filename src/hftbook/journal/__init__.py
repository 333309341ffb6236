"""The write-ahead log around the core (docs/JOURNAL.md): the I/O layer, not the core.

- ``storage``: a directory on disk, or memory that simulates power loss;
- ``record``: segment and record format (CRC32C), the command codec (MessagePack);
- ``wal``: the journal writer: sequence numbers, segments, group commit, sync policies;
- ``recovery``: checkpoints, and recovery (newest checkpoint + the log after it);
- ``tools``: ``hftbook wal inspect | verify | replay | export | repair``.
"""

from hftbook.journal.recovery import CorruptJournal, Recovered, recover, write_checkpoint
from hftbook.journal.storage import DiskStorage, MemoryStorage, Storage
from hftbook.journal.wal import Journal, JournalFailed

__all__ = ["CorruptJournal", "DiskStorage", "Journal", "JournalFailed", "MemoryStorage", "Recovered",
           "Storage", "recover", "write_checkpoint"]
