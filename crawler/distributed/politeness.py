"""Per-host politeness shared by every worker: a source's ``concurrency`` and ``download_delay`` are global.

Before a request is sent, the worker reserves a slot on its host in Redis with one Lua script
(atomic, on the Redis server's clock, so machines' clocks do not matter):

- at most ``concurrency`` requests to the host are in flight across all workers (a sorted set of
  holders ``WORKER|id``: a holder whose worker's heartbeat has lapsed is free at once, so a killed
  worker's slots come back within ``DISTRIBUTED_LEASE_TIMEOUT``; any holder expires after ``hold_ms``);
- sends are spaced ``download_delay`` apart across all workers (the host's next free send time).

The script answers how long to wait before sending (the slot is then held), or -1 when every slot
is taken (ask again shortly). The slot is released when the response or the error arrives.

A reservation plans a send time; a busy worker may wake from its wait late and send closer to the
next worker's send than the delay. So, right before the send, :meth:`HostSlots.confirm` stamps the
real send time on the Redis clock, or answers how much longer to wait when the host's last real
send is nearer than ``download_delay``: real sends, not planned ones, are spaced.
"""

from __future__ import annotations

import redis

from crawler.distributed.keys import Keys

RESERVE = """
local slots, next_key = KEYS[1], KEYS[2]
local holder, concurrency, delay_ms, hold_ms = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local heartbeat_prefix = ARGV[5]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', slots, '-inf', now)
for _, member in ipairs(redis.call('ZRANGE', slots, 0, -1)) do
  local worker = string.match(member, '^(.-)|')
  if worker and redis.call('EXISTS', heartbeat_prefix .. worker) == 0 then
    redis.call('ZREM', slots, member)
  end
end
if redis.call('ZCARD', slots) >= concurrency then
  return -1
end
local send_at = math.max(now, tonumber(redis.call('GET', next_key) or '0'))
redis.call('SET', next_key, send_at + delay_ms, 'PX', math.max(delay_ms, 1) + 60000)
redis.call('ZADD', slots, now + hold_ms + (send_at - now), holder)
redis.call('PEXPIRE', slots, hold_ms + (send_at - now) + 60000)
return send_at - now
"""

CONFIRM = """
local last_key, next_key = KEYS[1], KEYS[2]
local delay_ms = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local last = tonumber(redis.call('GET', last_key) or '')
if last and now < last + delay_ms then
  return last + delay_ms - now
end
redis.call('SET', last_key, now, 'PX', delay_ms + 60000)
local planned = tonumber(redis.call('GET', next_key) or '0')
if planned < now + delay_ms then
  redis.call('SET', next_key, now + delay_ms, 'PX', delay_ms + 60000)
end
return 0
"""


class HostSlots:
    def __init__(self, server: redis.Redis, keys: Keys, hold_seconds: float) -> None:
        self.server = server
        self.keys = keys
        self.hold_ms = int(hold_seconds * 1000)
        self.script = server.register_script(RESERVE)
        self.confirm_script = server.register_script(CONFIRM)

    def reserve(self, host: str, holder: str, concurrency: int, delay: float) -> float | None:
        """Seconds to wait before sending (the slot is held), or None when the host is at its concurrency.

        ``holder``: ``WORKER|id`` (:func:`holder_of`), so that a dead worker's slots are freed."""
        base = self.keys.host(host)
        heartbeat_prefix = self.keys.heartbeat("")
        wait_ms = self.script(
            keys=[f"{base}:slots", f"{base}:next"],
            args=[holder, max(1, concurrency), int(delay * 1000), self.hold_ms, heartbeat_prefix],
        )
        return None if int(wait_ms) < 0 else int(wait_ms) / 1000

    def confirm(self, host: str, delay: float) -> float:
        """Right before a send: 0 when it may go now (its time is stamped), else seconds to wait first."""
        base = self.keys.host(host)
        wait_ms = self.confirm_script(keys=[f"{base}:sent", f"{base}:next"], args=[int(delay * 1000)])
        return int(wait_ms) / 1000

    def release(self, host: str, holder: str) -> None:
        self.server.zrem(f"{self.keys.host(host)}:slots", holder)


def holder_of(worker: str, request_id: str) -> str:
    """A slot holder: the worker (whose heartbeat keeps the slot) and the request."""
    return f"{worker}|{request_id}"
