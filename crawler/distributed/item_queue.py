"""The reliable item queue between the workers and the one archive writer.

Workers ``LPUSH`` encoded items to ``items``. The writer moves a batch to ``processing`` with
``LMOVE`` (atomic: an item is in exactly one of the two lists), writes it through the archive's
normal write path, commits, and only then removes it from ``processing`` (:meth:`ack`). A writer
that dies at any point leaves its uncommitted batch in ``processing``; the next writer puts it back
first (:meth:`recover`). An item committed but not yet acknowledged when the writer died is written
again: the archive stores an article under its canonical URL and content hash, so the second write
is ``unchanged``, never a second article.

Redis can carry out a command and go away before its answer arrives. A take is therefore one
script that hands back the unacknowledged batch while there is one (the writer acknowledges every
batch before it takes the next, and only one writer runs per crawl), so a take retried after a lost
answer gets the same items instead of stranding them in ``processing``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis

from crawler.distributed.keys import Keys

# The unacknowledged batch if there is one, else up to ARGV[1] items moved to processing; newest first.
TAKE = """
if redis.call('LLEN', KEYS[2]) > 0 then return redis.call('LRANGE', KEYS[2], 0, -1) end
local taken = {}
for _ = 1, tonumber(ARGV[1]) do
  local entry = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT')
  if not entry then break end
  table.insert(taken, 1, entry)
end
return taken
"""


class ItemQueue:
    def __init__(self, server: redis.Redis, keys: Keys) -> None:
        self.server = server
        self.keys = keys
        self.take_script: Any = None

    def push(self, data: str | bytes) -> None:
        self.server.lpush(self.keys.items, data)

    def push_many(self, entries: Sequence[str | bytes]) -> None:
        if entries:
            self.server.lpush(self.keys.items, *entries)

    def take(self, batch: int) -> list[bytes]:
        """Up to ``batch`` items, oldest first, moved to ``processing``; [] when none waits. While
        ``processing`` holds a batch not acknowledged yet, that batch again (see the module's doc)."""
        if self.take_script is None:
            self.take_script = self.server.register_script(TAKE)
        return list(reversed(self.take_script(keys=[self.keys.items, self.keys.processing], args=[batch])))

    def ack(self, entries: Sequence[bytes]) -> None:
        """The archive committed these: remove them from ``processing``."""
        if not entries:
            return
        pipe = self.server.pipeline(transaction=False)
        for entry in entries:
            pipe.lrem(self.keys.processing, -1, entry)
        pipe.execute()

    def recover(self) -> int:
        """Put back what a writer took and never acknowledged (it died); how many."""
        moved = 0
        while self.server.lmove(self.keys.processing, self.keys.items, "RIGHT", "RIGHT") is not None:
            moved += 1
        return moved

    def waiting(self) -> int:
        pipe = self.server.pipeline(transaction=False)
        pipe.llen(self.keys.items).llen(self.keys.processing)
        items, processing = pipe.execute()
        return int(items) + int(processing)
