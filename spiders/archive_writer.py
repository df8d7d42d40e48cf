"""The archive writer of a distributed crawl: items from Redis through the archive's normal write path.

:class:`ArchiveWriterSpider` fetches nothing. Its ``start()`` takes the items the workers pushed
(crawler.distributed.item_queue: a batch moved to the processing list), yields them to the writer's
item pipelines, the same ``pipelines.boilerplate.BoilerplatePipeline`` and
``pipelines.archive.ArchivePipeline`` a local crawl runs (crawler.run.distributed_process), waits
until the batch went through them, has the archive pipeline commit, and only then acknowledges the
batch in Redis. Frontier entries the workers sent go to the archive pipeline's ``frontier_spilled``.
It is the one process that writes the archive for its crawl (a lock in Redis keeps a second
writer waiting); restarted after a crash, it first puts back the batch it had not acknowledged.

It also decides the crawl's end (crawler.distributed.crawls.is_quiet held for
``DISTRIBUTED_IDLE_CONFIRM`` seconds: seeded, nothing queued, no request held by a worker), marks it
done (the workers stop), writes what is left, waits for the workers' last stats, adds them to its own
(so the run row has the requests, responses and errors of every worker) and removes the crawl's keys;
the archive pipeline then closes the run as in a local crawl. It also requeues the leases of dead workers,
and after each batch publishes the source's learned boilerplate lines (signal ``boilerplate_counted``)
for the workers, which sign each article's text as it will be cleaned (pipelines.worker_signature).
Settings: ``DISTRIBUTED_*`` (Redis, batch, idle confirmation, lease timeout, retries).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler

from crawler.distributed import codec
from crawler.distributed.connection import REDIS_DOWN, Outage, client
from crawler.distributed.crawls import close_crawl, is_done, is_quiet, mark_done
from crawler.distributed.item_queue import ItemQueue
from crawler.distributed.keys import Keys
from crawler.distributed.leases import Heartbeats, Leases
from crawler.middlewares.distributed_politeness import sleep
from crawler.signals import boilerplate_counted
from crawler.sources.config import SourceConfig
from spiders.news import resolve_source

logger = logging.getLogger(__name__)
T = TypeVar("T")
POLL_S = 0.1  # how often an empty queue is looked at again
STATS_WAIT_S = 5.0  # how long the workers get to send their last stats once the crawl is done


class ArchiveWriterSpider(scrapy.Spider):
    name = "archive_writer"

    def __init__(self, source: SourceConfig, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, name=self.name, **kwargs)
        self.source = source
        self.hosts = source.hosts()
        self.in_pipelines: set[int] = set()
        self.learned: list[str] | None = None  # learned line fingerprints not yet published to the workers

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> ArchiveWriterSpider:
        source, _config = resolve_source(
            crawler.settings, kwargs.pop("source", None), kwargs.pop("config", None), kwargs.pop("url", None)
        )
        spider = super().from_crawler(crawler, source, *args, **kwargs)
        settings = crawler.settings
        spider.server = client(settings.get("DISTRIBUTED_REDIS_URL"))
        spider.keys = Keys(settings.get("DISTRIBUTED_KEY_PREFIX"), source.name)
        spider.batch = settings.getint("DISTRIBUTED_WRITER_BATCH")
        spider.confirm = settings.getfloat("DISTRIBUTED_IDLE_CONFIRM")
        spider.lease_timeout = settings.getfloat("DISTRIBUTED_LEASE_TIMEOUT")
        spider.outage = Outage(
            "archive writer", settings.getfloat("DISTRIBUTED_RETRY_BASE"), settings.getfloat("DISTRIBUTED_RETRY_MAX")
        )
        spider.writer_id = crawler.distributed_worker_id
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(spider.settled, signal=signal)
        crawler.signals.connect(spider.boilerplate_counted, signal=boilerplate_counted)
        return spider

    def boilerplate_counted(self, learned: list[str]) -> None:
        self.learned = learned

    def settled(self, item: Any, **kwargs: Any) -> None:
        self.in_pipelines.discard(id(item))

    def archive_pipeline(self) -> Any:
        """The writer's archive pipeline (pipelines.archive.ArchivePipeline; found by what it does, as
        spiders do not import pipelines), or None."""
        for component in self.crawler.engine.scraper.itemproc.middlewares:
            if hasattr(component, "frontier_spilled") and hasattr(component, "commit"):
                return component
        return None

    async def redis(self, call: Callable[[], T]) -> T:
        """``call()`` once Redis answers (waiting out an outage, logged once)."""
        while True:
            try:
                result = call()
            except REDIS_DOWN as error:
                await sleep(self.outage.failed(error))
                continue
            self.outage.succeeded()
            return result

    def hold_lock(self) -> bool:
        px = int(self.lease_timeout * 1000)
        if self.server.set(self.keys.writer_lock, self.writer_id, nx=True, px=px):
            return True
        holder = self.server.get(self.keys.writer_lock)
        if holder is not None and holder.decode() == self.writer_id:
            self.server.pexpire(self.keys.writer_lock, px)
            return True
        return False

    async def start(self) -> AsyncIterator[Any]:
        queue = ItemQueue(self.server, self.keys)
        leases = Leases(self.server, self.keys)
        heartbeats = Heartbeats(self.server, self.keys, self.lease_timeout)
        waited = False
        while not await self.redis(self.hold_lock):
            if not waited:
                holder = await self.redis(lambda: self.server.get(self.keys.writer_lock))
                ttl = await self.redis(lambda: self.server.pttl(self.keys.writer_lock))
                logger.warning(
                    "another writer (%s) holds this crawl; waiting for its lock (it lapses in %s ms unless renewed)",
                    holder.decode() if holder else "?",
                    ttl,
                    extra={"event": "writer_wait"},
                )
                waited = True
            await sleep(1.0)
        recovered = await self.redis(queue.recover)
        if recovered:
            logger.warning(
                "%d item(s) a writer took and never committed are written now",
                recovered,
                extra={"event": "items_recovered"},
            )
        quiet_since: float | None = None
        done = False
        while True:
            await self.redis(self.hold_lock)
            entries = await self.redis(lambda: queue.take(self.batch))
            if entries:
                quiet_since = None
                async for item in self.write_batch(entries):
                    yield item
                continue
            if done:
                break
            if await self.redis(lambda: is_done(self.server, self.keys)):
                done = True
                continue
            await self.redis(lambda: leases.reap(heartbeats.alive()))
            if await self.redis(lambda: is_quiet(self.server, self.keys)):
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= self.confirm:
                    await self.redis(lambda: mark_done(self.server, self.keys))
                    done = True  # take what the last pages pushed, then stop
                    continue
            else:
                quiet_since = None
            await sleep(POLL_S)
        await self.finish(heartbeats)

    async def write_batch(self, entries: list[bytes]) -> AsyncIterator[Any]:
        """Yield the batch's items to the pipelines, wait for them, commit, then acknowledge."""
        pipeline = self.archive_pipeline()
        for entry in dict.fromkeys(entries):  # a push retried after a lost answer arrives twice, byte for byte
            try:
                kind, body = codec.decode_message(entry)
            except codec.CodecError as error:
                logger.error("an unreadable item from Redis was skipped: %s", error, extra={"event": "item_unreadable"})
                continue
            if kind == "frontier" and pipeline is not None:
                pipeline.frontier_spilled(body["source"], body["entries"])
            elif kind == "item":
                if pipeline is not None and already_written(pipeline, body):
                    # Committed by the writer that crashed before acknowledging it: written once, not twice.
                    self.crawler.stats.inc_value("newsarchive/distributed/items_already_written")
                    continue
                self.in_pipelines.add(id(body))
                yield body
        while self.in_pipelines:
            await sleep(0.01)
        for component in self.crawler.engine.scraper.itemproc.middlewares:
            if hasattr(component, "send_counts"):  # the boilerplate counts commit with the items they counted
                component.send_counts()
        if pipeline is not None:
            pipeline.commit()
        await self.redis(lambda: queue_ack(self.server, self.keys, entries))
        self.crawler.stats.inc_value("newsarchive/distributed/items_written", len(entries))
        if self.learned is not None:
            learned, self.learned = json.dumps(self.learned), None
            await self.redis(lambda: self.server.set(self.keys.boilerplate, learned))

    async def finish(self, heartbeats: Heartbeats) -> None:
        """The crawl is done: the workers' last stats into the run's, then the crawl's keys go."""
        deadline = time.monotonic() + STATS_WAIT_S
        while time.monotonic() < deadline and await self.redis(heartbeats.alive):
            await sleep(0.2)
        worker_stats = await self.redis(lambda: self.server.hgetall(self.keys.stats))
        for key, value in worker_stats.items():
            number = float(value)
            self.crawler.stats.inc_value(key.decode(), int(number) if number.is_integer() else number)
        await self.redis(lambda: close_crawl(self.server, self.keys))


def already_written(pipeline: Any, item: Any) -> bool:
    """Whether the archive holds this item's fetch already (same run, URL and fetch time): the item
    queue delivers at least once, the archive must take each fetch once."""
    fetch = getattr(item, "fetch", None)
    if pipeline.archive is None or pipeline.run_id is None or fetch is None:
        return False
    return pipeline.archive.has_fetch(pipeline.run_id, fetch.url, fetch.fetched_at)


def queue_ack(server: Any, keys: Keys, entries: list[bytes]) -> None:
    ItemQueue(server, keys).ack(entries)
