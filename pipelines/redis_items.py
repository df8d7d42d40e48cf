"""In a distributed worker: every extracted item goes to the writer through Redis, never to the
archive. Replaces the boilerplate and archive pipelines in a worker
(crawler.run.distributed_process): the item, classified by ``pipelines.extract`` and given its
MinHash by ``pipelines.worker_signature``, is encoded (crawler.distributed.codec: JSON, the body in
base64, no pickle) and pushed to the source's item queue; the writer (spiders.archive_writer) runs
the boilerplate and archive pipelines on it. While Redis is unreachable the push is retried with
backoff; the item waits (Scrapy's item limit then holds the crawl back), and the request that
produced it keeps its lease until it is pushed, so a worker killed meanwhile loses nothing.
Settings: ``DISTRIBUTED_REDIS_URL``, ``DISTRIBUTED_KEY_PREFIX``, ``DISTRIBUTED_RETRY_*``.
"""

from __future__ import annotations

from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler

from crawler.distributed import codec
from crawler.distributed.connection import REDIS_DOWN, Outage, client
from crawler.distributed.item_queue import ItemQueue
from crawler.distributed.keys import Keys
from crawler.items import RedirectedToKnownItem
from crawler.middlewares.distributed_politeness import sleep


class RedisItemsPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings = crawler.settings
        self.server = client(settings.get("DISTRIBUTED_REDIS_URL"))
        self.prefix = settings.get("DISTRIBUTED_KEY_PREFIX")
        self.outage = Outage(
            "item queue", settings.getfloat("DISTRIBUTED_RETRY_BASE"), settings.getfloat("DISTRIBUTED_RETRY_MAX")
        )
        self.queue: ItemQueue | None = None
        self.unsent: list[str] = []  # encoded items not pushed yet, oldest first

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedisItemsPipeline:
        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.request_dropped, signal=signals.request_dropped)
        return pipeline

    def request_dropped(self, request: Any, spider: Any) -> None:
        """A redirect chain that ended on a URL already requested: the writer records its aliases (or the
        loop, or the removal) as a local crawl's archive pipeline does (RedirectedToKnownItem). A signal
        handler cannot wait: while Redis is away the item waits here and goes with the next push."""
        item = RedirectedToKnownItem.from_request(spider.source.name, request)
        if item is None or self.queue is None:
            return
        self.unsent.append(codec.encode_message("item", item))
        try:
            self.send_unsent()
        except REDIS_DOWN as error:
            self.outage.failed(error)

    def send_unsent(self) -> None:
        while self.unsent:
            self.queue.push(self.unsent[0])
            self.unsent.pop(0)
            self.crawler.stats.inc_value("newsarchive/distributed/items_pushed")

    def open_spider(self) -> None:
        self.queue = ItemQueue(self.server, Keys(self.prefix, self.crawler.spider.source.name))

    async def process_item(self, item: Any) -> Any:
        self.unsent.append(codec.encode_message("item", item))
        await self.send()
        return item

    async def close_spider(self) -> None:
        await self.send()

    async def send(self) -> None:
        """Push what waits, waiting out an outage (the request that produced an item keeps its lease
        meanwhile, so a worker killed now loses nothing)."""
        while True:
            try:
                self.send_unsent()
            except REDIS_DOWN as error:
                await sleep(self.outage.failed(error))
                continue
            self.outage.succeeded()
            return
