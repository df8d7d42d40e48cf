"""Worker heartbeats and the leases of in-flight requests.

A worker that takes a request from the shared queue holds a lease on it (``leases``: lease id ->
the worker and the encoded request) until Scrapy is done with it: downloaded, parsed, its items
pushed to the item queue and its new requests queued. A worker is alive while its heartbeat key
exists (renewed every second, expiring after ``DISTRIBUTED_LEASE_TIMEOUT``). The leases of a worker
whose heartbeat expired (kill -9, a lost machine) go back to the request queue (:meth:`Leases.reap`;
``HDEL`` decides which reaper requeues one, so each goes back once): the page in flight is fetched
again by another worker, and what it had pushed already is written idempotently by the archive.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import redis

from crawler.distributed.keys import Keys


def new_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class Heartbeats:
    def __init__(self, server: redis.Redis, keys: Keys, timeout: float) -> None:
        self.server = server
        self.keys = keys
        self.timeout = timeout

    def beat(self, worker: str, info: Mapping[str, Any]) -> None:
        pipe = self.server.pipeline(transaction=False)
        pipe.set(self.keys.heartbeat(worker), json.dumps({**info, "at": time.time()}), px=int(self.timeout * 1000))
        pipe.sadd(self.keys.workers, worker)
        pipe.execute()

    def leave(self, worker: str) -> None:
        pipe = self.server.pipeline(transaction=False)
        pipe.delete(self.keys.heartbeat(worker))
        pipe.srem(self.keys.workers, worker)
        pipe.execute()

    def alive(self) -> dict[str, dict[str, Any]]:
        """Live workers of this crawl and what they last said."""
        workers = sorted(member.decode() for member in self.server.smembers(self.keys.workers))
        if not workers:
            return {}
        beats = self.server.mget([self.keys.heartbeat(worker) for worker in workers])
        return {worker: json.loads(beat) for worker, beat in zip(workers, beats) if beat is not None}

    def forget_dead(self) -> None:
        workers = [member.decode() for member in self.server.smembers(self.keys.workers)]
        alive = self.alive()
        dead = [worker for worker in workers if worker not in alive]
        if dead:
            self.server.srem(self.keys.workers, *dead)


# Release lease ARGV[1] and queue its request (ARGV[3] at score ARGV[2]) if the lease was still there.
REQUEUE = """
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 1
"""


class Leases:
    def __init__(self, server: redis.Redis, keys: Keys) -> None:
        self.server = server
        self.keys = keys
        self.requeue_script: Any = None

    def hold(self, lease: str, worker: str, request: str, priority: int) -> None:
        self.server.hset(
            self.keys.leases, lease, json.dumps({"worker": worker, "request": request, "priority": priority})
        )

    def release(self, leases: Iterable[str]) -> None:
        leases = list(leases)
        if leases:
            self.server.hdel(self.keys.leases, *leases)

    def count(self) -> int:
        return int(self.server.hlen(self.keys.leases))

    def requeue_orphans(self, worker: str, known: Iterable[str]) -> int:
        """Requeue the requests Redis says ``worker`` holds that the worker does not know it holds:
        taken by a script whose answer was lost (Redis went away between running it and replying),
        they would keep the crawl from ever going quiet. How many went back."""
        known = set(known)
        requeued = 0
        for lease, value in self.server.hgetall(self.keys.leases).items():
            held = json.loads(value)
            if held["worker"] != worker or lease.decode() in known:
                continue
            requeued += self._requeue(lease, held)
        return requeued

    def reap(self, alive: Iterable[str]) -> int:
        """Requeue the requests held by workers not in ``alive``; how many went back."""
        living = set(alive)
        requeued = 0
        for lease, value in self.server.hgetall(self.keys.leases).items():
            held = json.loads(value)
            if held["worker"] in living:
                continue
            requeued += self._requeue(lease, held)
        return requeued

    def _requeue(self, lease: bytes, held: Mapping[str, Any]) -> int:
        """Put a held request back in the queue; 1 if this call did it. One script: the ``HDEL`` decides
        which reaper requeues it (it goes back once), and the request is never out of both."""
        if self.requeue_script is None:
            self.requeue_script = self.server.register_script(REQUEUE)
        priority = -int(held.get("priority") or 0)
        return int(
            self.requeue_script(keys=[self.keys.leases, self.keys.requests], args=[lease, priority, held["request"]])
        )
