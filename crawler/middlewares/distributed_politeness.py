"""Per-host politeness across every worker of a distributed crawl (crawler.distributed.politeness).

A source's ``concurrency`` and ``download_delay`` hold for the whole crawl, not per worker: before a
request is sent, this middleware reserves a slot on its host in Redis (at most ``concurrency``
requests to the host in flight across all workers, sends spaced ``download_delay`` apart on the
Redis server's clock) and waits as long as the reservation says, then confirms the send (a worker
that woke late waits on until the host's last real send is ``download_delay`` behind); the slot is
released when the response or the error comes back. The worker's own Scrapy delay is then 0 and
AutoThrottle off (spiders.distributed_news): the shared reservation is the one that paces the host.
Placed last before the download (950+), so that nothing waits between the reservation and the send.

Settings: ``DISTRIBUTED_REDIS_URL``, ``DISTRIBUTED_KEY_PREFIX``, ``DISTRIBUTED_HOST_SLOT_TIMEOUT``,
``DISTRIBUTED_RETRY_BASE``, ``DISTRIBUTED_RETRY_MAX``; the source's concurrency and delay from the
spider.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.task import deferLater

from crawler.distributed.connection import REDIS_DOWN, Outage, client
from crawler.distributed.keys import Keys
from crawler.distributed.politeness import HostSlots, holder_of

FULL_RETRY_S = 0.05  # every slot of the host is taken: ask again this soon


async def sleep(seconds: float) -> None:
    from twisted.internet import reactor  # the running one

    await maybe_deferred_to_future(deferLater(reactor, seconds, lambda: None))


class DistributedPolitenessMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if settings.get("DISTRIBUTED_ROLE") != "worker":
            raise NotConfigured("not a distributed worker")
        self.crawler = crawler
        self.slots = HostSlots(
            client(settings.get("DISTRIBUTED_REDIS_URL")),
            Keys(settings.get("DISTRIBUTED_KEY_PREFIX"), ""),
            settings.getfloat("DISTRIBUTED_HOST_SLOT_TIMEOUT"),
        )
        self.unreleased: list[tuple[str, str]] = []  # slots whose release found Redis away: released once it is back
        self.outage = Outage(
            "host politeness", settings.getfloat("DISTRIBUTED_RETRY_BASE"), settings.getfloat("DISTRIBUTED_RETRY_MAX")
        )

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DistributedPolitenessMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request, spider: Any = None) -> None:
        spider = self.crawler.spider
        host = (urlsplit(request.url).hostname or "").lower()
        port = urlsplit(request.url).port
        name = f"{host}:{port}" if port else host
        worker = getattr(self.crawler, "distributed_worker_id", None)
        holder = holder_of(worker, uuid.uuid4().hex) if worker else uuid.uuid4().hex  # freed if the worker dies
        waited = 0.0
        while True:
            try:
                while self.unreleased:
                    self.slots.release(*self.unreleased[0])
                    self.unreleased.pop(0)
                wait = self.slots.reserve(name, holder, spider.host_concurrency, spider.host_delay)
            except REDIS_DOWN as error:
                await sleep(self.outage.failed(error))
                continue
            self.outage.succeeded()
            if wait is not None:
                break
            waited += FULL_RETRY_S
            await sleep(FULL_RETRY_S)
        if wait > 0:
            await sleep(wait)
        waited += wait
        while spider.host_delay > 0:  # the real send time, not the planned one, is what the host sees
            try:
                late = self.slots.confirm(name, spider.host_delay)
            except REDIS_DOWN as error:
                await sleep(self.outage.failed(error))
                continue
            self.outage.succeeded()
            if late <= 0:
                break
            waited += late
            await sleep(late)
        self.crawler.stats.inc_value("newsarchive/distributed/host_wait_seconds", round(waited, 3))
        request.meta["host_slot"] = (name, holder)

    def _release(self, request: Request) -> None:
        slot = request.meta.pop("host_slot", None)
        if slot is None:
            return
        try:
            self.slots.release(*slot)
        except REDIS_DOWN:
            self.unreleased.append(slot)  # released before the next reservation

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Response:
        self._release(request)
        return response

    def process_exception(self, request: Request, exception: Exception, spider: Any = None) -> None:
        self._release(request)
