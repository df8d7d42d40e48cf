"""The shared request queue of a distributed crawl: scrapy-redis's scheduler, with leases and outage handling.

``SCHEDULER = "crawler.extensions.redis_scheduler.LeasingScheduler"`` in a worker
(crawler.run.distributed_process). It is scrapy-redis's ``Scheduler`` (its priority queue, a sorted
set, and its ``RFPDupeFilter``, a set of request fingerprints, both in Redis, keys per source:
crawler.distributed.keys) with what a crawl spread over machines needs on top:

- **Leases.** A request is taken from the queue and recorded as held by this worker in one Lua
  script (no moment where it is in neither). The lease is released once Scrapy is done with the
  request (it leaves the engine's in-progress set only after its response was parsed, its items
  went through the pipelines, i.e. were pushed to Redis, and its new requests were queued), checked
  every quarter second. A worker that dies leaves its leases; the others requeue them once its
  heartbeat has expired (crawler.distributed.leases).
- **Redis away.** A request found while Redis is unreachable waits in memory and is queued when it
  is back; the queue then counts as non-empty, so the crawl neither takes more nor ends.
- **Frontier.** A URL queued for the first time (new to the archive) is sent to the writer as a
  frontier entry, as the archive pipeline records it in a local crawl, so a killed run's next run
  continues it.
- **Seen locally.** A fingerprint Redis has once called seen (or this worker queued) stays seen for
  the crawl: the worker drops a link it meets again without asking Redis (``SEEN_CACHE_MAX``).
- **Nudging.** An idle Scrapy engine looks at its queue only every 5 s; another worker's requests
  are taken within a quarter second instead.

``SCHEDULER_PERSIST`` is in effect always on: a worker that stops never clears the shared queue
(the writer removes a crawl's keys when it ends). Settings: ``DISTRIBUTED_REDIS_URL``,
``DISTRIBUTED_KEY_PREFIX``, ``DISTRIBUTED_RETRY_BASE``, ``DISTRIBUTED_RETRY_MAX``.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.utils.request import request_from_dict
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.scheduler import Scheduler
from twisted.internet.task import LoopingCall

from crawler.discovery.recrawl import Fetching, Visit
from crawler.distributed import codec
from crawler.distributed.connection import REDIS_DOWN, Outage, client
from crawler.distributed.keys import Keys
from crawler.distributed.leases import Leases

logger = logging.getLogger(__name__)
LEASE_CHECK_S = 0.25
# How often a worker looks for leases Redis records for it that it never heard of (see Leases.requeue_orphans).
ORPHAN_CHECK_S = 5.0
# Fingerprints this worker knows the shared seen set holds: a link met again (a site's navigation,
# related articles) is dropped without encoding it or asking Redis. Cleared when it grows past this
# (a few dozen MB); Redis still answers for whatever the cache forgot.
SEEN_CACHE_MAX = 200_000

# Take the best request and record it as held, atomically.
TAKE = """
local r = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #r == 0 then return false end
redis.call('ZREM', KEYS[1], r[1])
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode({worker = ARGV[2], request = r[1], priority = -tonumber(r[2])}))
return r[1]
"""

# Mark the fingerprint seen (ARGV[1]; "" for a request that is never filtered), queue the request and
# send its frontier entry (ARGV[4], if any), all or nothing; 1 if queued, 0 if it had been seen.
PUSH = """
if ARGV[1] ~= '' and redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
if ARGV[4] ~= '' then redis.call('LPUSH', KEYS[3], ARGV[4]) end
return 1
"""


class LeasingScheduler(Scheduler):
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        server = client(settings.get("DISTRIBUTED_REDIS_URL"))
        super().__init__(server=server, persist=True, serializer=codec)
        self.crawler = crawler
        self.stats = crawler.stats
        self.prefix = settings.get("DISTRIBUTED_KEY_PREFIX")
        self.worker_id: str = getattr(crawler, "distributed_worker_id", None) or uuid.uuid4().hex
        self.outage = Outage(
            "request queue", settings.getfloat("DISTRIBUTED_RETRY_BASE"), settings.getfloat("DISTRIBUTED_RETRY_MAX")
        )
        self.waiting: list[Request] = []  # found while Redis was away
        self.held: dict[str, Request] = {}  # lease id -> the request Scrapy is working on
        self.released: list[str] = []  # done, not yet released in Redis (it was away)
        self.orphans_checked = time.monotonic()
        self.known_seen: set[str] = set()  # fingerprints the shared seen set holds (SEEN_CACHE_MAX)
        self.take_script: Any = None
        self.push_script: Any = None
        self.checker: LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LeasingScheduler:
        return cls(crawler)

    def open(self, spider: Any) -> None:
        self.spider = spider
        self.keys = Keys(self.prefix, spider.source.name)
        self.queue_key = self.keys.requests
        self.leases = Leases(self.server, self.keys)
        self.df = RFPDupeFilter(self.server, key=self.keys.dupefilter)
        self.take_script = self.server.register_script(TAKE)
        self.push_script = self.server.register_script(PUSH)
        self.checker = LoopingCall(self.check)
        self.checker.start(LEASE_CHECK_S, now=False)

    def close(self, reason: str) -> None:
        if self.checker is not None and self.checker.running:
            self.checker.stop()
        self.check()
        # Whatever is still held (a forced stop) goes back to the queue now rather than after the timeout.
        for lease, request in list(self.held.items()):
            try:
                self.server.zadd(self.keys.requests, {self._encode(request): -request.priority})
                self.leases.release([lease])
            except REDIS_DOWN:
                break  # the others requeue it once this worker's heartbeat has expired
            del self.held[lease]

    def __len__(self) -> int:
        return int(self.server.zcard(self.keys.requests))

    def _encode(self, request: Request) -> str:
        return codec.dumps(request.to_dict(spider=self.spider))

    def _push(self, request: Request) -> bool:
        """Queue ``request`` unless the seen set has it: one script, so a push retried after Redis
        went away before answering finds the request either queued or not seen, never only seen."""
        fingerprint = "" if request.dont_filter else self.df.request_fingerprint(request)
        if fingerprint in self.known_seen:  # the seen set only grows during a crawl: still seen
            self.df.log(request, self.spider)
            return False
        entry = self._frontier_entry(request)
        frontier = (
            codec.encode_message("frontier", {"source": self.spider.source.name, "entries": [entry]}) if entry else ""
        )
        queued = self.push_script(
            keys=[self.keys.dupefilter, self.keys.requests, self.keys.items],
            args=[fingerprint, -request.priority, self._encode(request), frontier],
        )
        if fingerprint:
            if len(self.known_seen) >= SEEN_CACHE_MAX:
                self.known_seen.clear()
            self.known_seen.add(fingerprint)
        if not queued:
            self.df.log(request, self.spider)
            return False
        self.stats.inc_value("scheduler/enqueued/redis")
        return True

    @staticmethod
    def _frontier_entry(request: Request) -> dict[str, Any] | None:
        visit: Visit | None = request.meta.get("visit")
        if visit is None or visit.known is not None or visit.fetching != Fetching.NEW:
            return None
        if request.meta.get("redirect_urls"):
            return None
        return visit.frontier_entry(request.url)

    def enqueue_request(self, request: Request) -> bool:
        if self.waiting:
            self.waiting.append(request)
            return True
        try:
            queued = self._push(request)
        except REDIS_DOWN as error:
            self.outage.failed(error)
            self.waiting.append(request)
            return True
        self.outage.succeeded()
        return queued

    def next_request(self) -> Request | None:
        if self.waiting or self.outage.down:
            return None  # the tick flushes what waits once Redis answers
        lease = uuid.uuid4().hex
        try:
            data = self.take_script(keys=[self.keys.requests, self.keys.leases], args=[lease, self.worker_id])
        except REDIS_DOWN as error:
            self.outage.failed(error)
            return None
        if not data:
            return None
        request = request_from_dict(codec.loads(data), spider=self.spider)
        request.meta["lease"] = lease
        self.held[lease] = request
        self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        if self.waiting or self.outage.down:
            return True
        try:
            return len(self) > 0
        except REDIS_DOWN as error:
            self.outage.failed(error)
            return True

    def check(self) -> None:
        """Release the leases of requests Scrapy is done with; queue what waited; wake an idle engine."""
        engine = self.crawler.engine
        slot = getattr(engine, "_slot", None)
        inprogress = slot.inprogress if slot is not None else set()
        for lease, request in list(self.held.items()):
            if request not in inprogress:
                del self.held[lease]
                self.released.append(lease)
        try:
            if self.released:
                self.leases.release(self.released)
                self.released = []
            while self.waiting:
                self._push(self.waiting[0])
                self.waiting.pop(0)
            if time.monotonic() - self.orphans_checked >= ORPHAN_CHECK_S:
                self.orphans_checked = time.monotonic()
                orphans = self.leases.requeue_orphans(self.worker_id, [*self.held, *self.released])
                if orphans:
                    self.stats.inc_value("newsarchive/distributed/orphan_leases_requeued", orphans)
                    logger.warning(
                        "%d request(s) recorded as held by this worker, whose taking it never heard of, went back to the queue",
                        orphans,
                        extra={"event": "orphan_leases_requeued"},
                    )
            pending = len(self) > 0
        except REDIS_DOWN as error:
            self.outage.failed(error)
            return
        self.outage.succeeded()
        if pending and slot is not None and not engine.needs_backout():
            slot.nextcall.schedule()

    def lease_ids(self) -> list[str]:
        return list(self.held)
