"""A source's distributed crawl in Redis: opened by the seeder, watched by everyone, closed at its end.

``crawl`` (a hash) holds the run id the archive gave it, its state (``running`` until
:func:`mark_done`), whether the start requests were all queued (``seeded``) and when it started;
``state`` the source's crawl state rows (the archive's ``crawl_state``, zlib-compressed JSON) so
that workers, which never open the archive, decide new / signalled / due exactly as a local crawl.

The crawl is complete (:func:`is_quiet`) when it was seeded, the request queue is empty and no
worker holds a lease: every request was fetched and its items pushed, and nothing waits to be
fetched. The writer decides it (after the condition held for ``DISTRIBUTED_IDLE_CONFIRM`` seconds),
marks it done, drains the item queue and closes the run.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import redis

from crawler.distributed import codec
from crawler.distributed.keys import Keys, active_key
from crawler.distributed.leases import Heartbeats

PAGES_WINDOW_S = 10.0  # pages/s in `newsarchive status` is over this window


def open_crawl(
    server: redis.Redis,
    keys: Keys,
    run_id: int,
    db: str,
    state_rows: Iterable[Mapping[str, Any]],
    learned: Sequence[str] = (),
) -> None:
    """A fresh crawl of ``keys.source`` for ``run_id``: whatever an earlier crawl of it left is removed first.

    ``learned``: the fingerprints of the source's boilerplate lines the archive knows, for the workers
    from their first page (the writer publishes what it learns after each batch)."""
    server.delete(*keys.all_keys())
    state = zlib.compress(codec.dumps(list(state_rows)).encode("utf-8"), 6)
    pipe = server.pipeline(transaction=True)
    pipe.set(keys.state, state)
    if learned:
        pipe.set(keys.boilerplate, json.dumps(list(learned)))
    pipe.hset(keys.crawl, mapping={"run_id": run_id, "db": db, "state": "running", "started_at": time.time()})
    pipe.sadd(active_key(keys.prefix), keys.source)
    pipe.execute()


def crawl_info(server: redis.Redis, keys: Keys) -> dict[str, str]:
    return {key.decode(): value.decode() for key, value in server.hgetall(keys.crawl).items()}


def load_state_rows(server: redis.Redis, keys: Keys) -> list[dict[str, Any]]:
    data = server.get(keys.state)
    return codec.loads(zlib.decompress(data).decode("utf-8")) if data else []


def active_sources(server: redis.Redis, prefix: str) -> list[str]:
    return sorted(member.decode() for member in server.smembers(active_key(prefix)))


def mark_seeded(server: redis.Redis, keys: Keys) -> None:
    server.hset(keys.crawl, "seeded", "1")


def is_quiet(server: redis.Redis, keys: Keys) -> bool:
    """Seeded, nothing queued, no request held by a worker."""
    pipe = server.pipeline(transaction=True)
    pipe.hget(keys.crawl, "seeded").zcard(keys.requests).hlen(keys.leases)
    seeded, queued, held = pipe.execute()
    return bool(seeded) and not queued and not held


def mark_done(server: redis.Redis, keys: Keys) -> None:
    server.hset(keys.crawl, "state", "done")


def is_done(server: redis.Redis, keys: Keys) -> bool:
    state = server.hget(keys.crawl, "state")
    return state is None or state == b"done"  # no crawl (closed, or never opened): nothing to do either


def close_crawl(server: redis.Redis, keys: Keys) -> None:
    """Remove the crawl's keys (queue, seen set, leases, items, stats) and take it off the active set."""
    pipe = server.pipeline(transaction=True)
    pipe.delete(*keys.all_keys())
    pipe.srem(active_key(keys.prefix), keys.source)
    pipe.execute()


def note_pages(server: redis.Redis, keys: Keys, members: Iterable[str]) -> None:
    now = time.time()
    members = list(members)
    pipe = server.pipeline(transaction=False)
    if members:
        pipe.zadd(keys.pages, dict.fromkeys(members, now))
    pipe.zremrangebyscore(keys.pages, "-inf", now - PAGES_WINDOW_S)
    pipe.execute()


def progress(server: redis.Redis, keys: Keys, lease_timeout: float = 10.0) -> dict[str, Any]:
    """What `newsarchive status` shows of one crawl."""
    now = time.time()
    pipe = server.pipeline(transaction=False)
    pipe.zcard(keys.requests).hlen(keys.leases).llen(keys.items).llen(keys.processing)
    pipe.zcount(keys.pages, now - PAGES_WINDOW_S, "+inf").scard(keys.dupefilter)
    queued, held, items, processing, recent, seen = pipe.execute()
    info = crawl_info(server, keys)
    return {
        "source": keys.source,
        "run_id": int(info["run_id"]) if info.get("run_id") else None,
        "state": info.get("state", "?"),
        "queued": int(queued),
        "in_flight": int(held),
        "seen": int(seen),
        "items_waiting": int(items) + int(processing),
        "workers": len(Heartbeats(server, keys, lease_timeout).alive()),
        "pages_per_s": round(int(recent) / PAGES_WINDOW_S, 1),
    }
