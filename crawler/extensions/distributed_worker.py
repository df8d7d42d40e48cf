"""A distributed worker's life: heartbeats, its stats for the run row, dead workers' leases, and its end.

Every ``DISTRIBUTED_HEARTBEAT_INTERVAL`` seconds: the heartbeat (alive for ``DISTRIBUTED_LEASE_TIMEOUT``,
with the requests it holds), the pages fetched since the last beat (``newsarchive status``'s pages/s),
its Scrapy stats since the last push added to the crawl's stats hash (the writer adds them to the run
row, so the run's requests and responses are the workers'), and the leases of workers whose heartbeat
expired sent back to the queue (any worker may: each lease goes back once).

The worker does not end when its queue is empty (another worker may still add to it): it ends when
the writer has marked the crawl done (crawler.distributed.crawls: queue empty and no request held).
While Redis is away it keeps going on what it holds, logs that once, and waits.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy.utils.defer import _schedule_coro
from twisted.internet.task import LoopingCall

from crawler.distributed.connection import REDIS_DOWN, Outage, client
from crawler.distributed.crawls import is_done, note_pages
from crawler.distributed.keys import Keys
from crawler.distributed.leases import Heartbeats, Leases

logger = logging.getLogger(__name__)
NOT_SUMMED = ("start_time", "finish_time", "elapsed_time_seconds", "finish_reason", "memusage/", "newsarchive/run_id")


class DistributedWorkerExtension:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if settings.get("DISTRIBUTED_ROLE") != "worker":
            raise NotConfigured("not a distributed worker")
        self.crawler = crawler
        self.server = client(settings.get("DISTRIBUTED_REDIS_URL"))
        self.prefix = settings.get("DISTRIBUTED_KEY_PREFIX")
        self.interval = settings.getfloat("DISTRIBUTED_HEARTBEAT_INTERVAL")
        self.timeout = settings.getfloat("DISTRIBUTED_LEASE_TIMEOUT")
        self.outage = Outage(
            "worker heartbeat", settings.getfloat("DISTRIBUTED_RETRY_BASE"), settings.getfloat("DISTRIBUTED_RETRY_MAX")
        )
        self.pushed: dict[str, float] = {}
        self.pages = 0
        self.pages_noted = 0
        self.closing = False
        self.loop: LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DistributedWorkerExtension:
        extension = cls(crawler)
        crawler.signals.connect(extension.opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.idle, signal=signals.spider_idle)
        crawler.signals.connect(extension.closed, signal=signals.spider_closed)
        crawler.signals.connect(extension.response, signal=signals.response_received)
        return extension

    @property
    def worker_id(self) -> str:
        return self.crawler.distributed_worker_id

    def opened(self, spider: Any) -> None:
        self.keys = Keys(self.prefix, spider.source.name)
        self.heartbeats = Heartbeats(self.server, self.keys, self.timeout)
        self.leases = Leases(self.server, self.keys)
        self.tick()
        self.loop = LoopingCall(self.tick)
        self.loop.start(self.interval, now=False)

    def response(self, response: Any, request: Any, spider: Any) -> None:
        self.pages += 1

    def _held(self) -> int:
        scheduler = getattr(getattr(self.crawler.engine, "_slot", None), "scheduler", None)
        return len(getattr(scheduler, "held", ()))

    def tick(self) -> None:
        spider = self.crawler.spider
        try:
            self.heartbeats.beat(self.worker_id, {"held": self._held(), "pages": self.pages})
            if getattr(spider, "seeding", False):
                self.server.set(self.keys.seed_claim, self.worker_id, px=int(self.timeout * 1000))
            new_pages = self.pages - self.pages_noted
            note_pages(self.server, self.keys, [f"{self.worker_id}:{n}" for n in range(self.pages_noted, self.pages)])
            self.pages_noted += new_pages
            self.push_stats()
            reaped = self.leases.reap(self.heartbeats.alive())
            done = is_done(self.server, self.keys)
        except REDIS_DOWN as error:
            self.outage.failed(error)
            return
        self.outage.succeeded()
        if reaped:
            self.crawler.stats.inc_value("newsarchive/distributed/leases_requeued", reaped)
            logger.warning(
                "%d request(s) of a worker that stopped answering went back to the queue",
                reaped,
                extra={"event": "leases_requeued"},
            )
        if done and not self.closing and self.crawler.engine.spider_is_idle():
            self.closing = True
            _schedule_coro(self.crawler.engine.close_spider_async(reason="finished"))

    def push_stats(self) -> None:
        """The stats that grew since the last push, added to the crawl's stats hash."""
        current = {
            key: value
            for key, value in self.crawler.stats.get_stats().items()
            if isinstance(value, (int, float)) and not isinstance(value, bool) and not key.startswith(NOT_SUMMED)
        }
        pipe = self.server.pipeline(transaction=True)
        changes = {}
        for key, value in current.items():
            delta = value - self.pushed.get(key, 0)
            if delta:
                pipe.hincrbyfloat(self.keys.stats, key, delta)
                changes[key] = value
        if changes:
            pipe.execute()
            self.pushed.update(changes)

    def idle(self, spider: Any) -> None:
        if self.closing:
            return
        try:
            done = is_done(self.server, self.keys)
        except REDIS_DOWN as error:
            self.outage.failed(error)
            done = False
        if not done:
            raise DontCloseSpider

    def closed(self, spider: Any, reason: str) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        try:
            self.push_stats()
            self.heartbeats.leave(self.worker_id)
        except REDIS_DOWN:
            logger.warning(
                "could not send this worker's last stats: Redis is unreachable", extra={"event": "redis_down"}
            )
