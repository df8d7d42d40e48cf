"""The news spider as a distributed worker: the same discovery and decisions, the archive kept away.

:class:`DistributedNewsSpider` is ``spiders.news.NewsSpider`` with three differences, for a worker
of a distributed crawl (crawler.run.distributed_process, ``DISTRIBUTED_ROLE = "worker"``):

- the source's crawl state comes from Redis (written there by the seeder from the archive's
  ``crawl_state``: crawler.distributed.crawls), so new / signalled / due are decided exactly as in a
  local crawl, and the worker never opens the archive;
- only one worker runs the start requests (robots.txt, sitemaps, feeds, start URLs, the frontier a
  killed run left and the due revisits): the one that claims the seed in Redis; it marks the crawl
  seeded once they are all queued. Another worker starting while no live worker holds the claim
  and the crawl is not seeded takes it over (the shared duplicate filter drops what was queued);
- politeness is global (crawler.middlewares.distributed_politeness): the source's ``download_delay``
  and ``concurrency`` are kept for the shared host slots, and the worker's own Scrapy delay is 0 and
  AutoThrottle off. The queue lives in Redis, so ``DISCOVERY_MAX_PENDING``'s spill to the archive is off.

What stays per worker: the per-pattern link budgets and the per-run notes (hints, aliases) of the
pages it parsed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import scrapy
from scrapy.crawler import Crawler

from crawler.discovery.recrawl import KnownUrls
from crawler.distributed.connection import REDIS_DOWN, Outage, client
from crawler.distributed.crawls import is_done, load_state_rows, mark_seeded
from crawler.distributed.keys import Keys
from crawler.distributed.leases import Heartbeats
from crawler.items import PageNotesItem
from crawler.middlewares.distributed_politeness import sleep
from spiders.news import NewsSpider

# Above the command line's priority: a worker's local pacing must be off whatever -s says.
WORKER_PRIORITY = 50


class DistributedNewsSpider(NewsSpider):
    name = "news_distributed"

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> DistributedNewsSpider:
        crawler.settings.set("DISCOVERY_MAX_PENDING", 0, priority=WORKER_PRIORITY)
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.host_delay = crawler.settings.getfloat("DOWNLOAD_DELAY")
        spider.host_concurrency = crawler.settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN")
        crawler.settings.set("DOWNLOAD_DELAY", 0.0, priority=WORKER_PRIORITY)
        crawler.settings.set("AUTOTHROTTLE_ENABLED", False, priority=WORKER_PRIORITY)
        spider.server = client(crawler.settings.get("DISTRIBUTED_REDIS_URL"))
        spider.keys = Keys(crawler.settings.get("DISTRIBUTED_KEY_PREFIX"), spider.source.name)
        spider.lease_timeout = crawler.settings.getfloat("DISTRIBUTED_LEASE_TIMEOUT")
        spider.outage = Outage(
            "seeding",
            crawler.settings.getfloat("DISTRIBUTED_RETRY_BASE"),
            crawler.settings.getfloat("DISTRIBUTED_RETRY_MAX"),
        )
        spider.seeding = False
        return spider

    def take_note(self, url: str, target: str, found_by: str, hints: dict[str, Any] | None) -> None:
        """As a local crawl's, and: what a link, feed or sitemap says of a page this worker has not
        parsed goes to the writer at once (another worker fetches the page, or did): the writer puts
        it on the article, or keeps it until the page arrives (pipelines/archive.py ``store_notes``)."""
        note = self.notes.get(target)
        if note is not None and note.parsed:
            super().take_note(url, target, found_by, hints)  # a late note of a page parsed here, as locally
            return
        hints_before = dict(note.hints) if note is not None else {}
        aliases_before = set(note.aliases) if note is not None else set()
        super().take_note(url, target, found_by, hints)
        note = self.notes.get(target)
        if note is None:
            return
        new_hints = {key: value for key, value in note.hints.items() if key not in hints_before}
        new_aliases = {alias: why for alias, why in note.aliases.items() if alias not in aliases_before}
        if new_hints or new_aliases:
            sent_hints = {**new_hints, "found_by": list(note.found_by)} if new_hints else {}
            self.late_notes.append(PageNotesItem(self.source.name, target, sent_hints, new_aliases))
            self.crawler.stats.inc_value("newsarchive/distributed/notes_sent")

    def load_crawl_state(self) -> None:
        if not self.recrawl:
            return
        self.state = KnownUrls(self.outage.call(lambda: load_state_rows(self.server, self.keys)))
        self.crawler.stats.set_value("newsarchive/recrawl/known_urls", len(self.state))

    def claim_seed(self) -> bool:
        """Whether this worker runs the start requests: nobody seeded, and no live worker is at it."""
        worker = self.crawler.distributed_worker_id

        def claim() -> bool:
            if self.server.hget(self.keys.crawl, "seeded"):
                return False
            if self.server.set(self.keys.seed_claim, worker, nx=True, px=int(self.lease_timeout * 1000)):
                return True
            holder = self.server.get(self.keys.seed_claim)
            alive = Heartbeats(self.server, self.keys, self.lease_timeout).alive()
            if holder is not None and holder.decode() not in alive:
                self.server.set(self.keys.seed_claim, worker, px=int(self.lease_timeout * 1000))
                return True
            return False

        return self.outage.call(claim)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        # One worker issues the start requests; the others watch it until the crawl is seeded, and one
        # of them takes over if it dies first (its claim lapses with its heartbeat). The requests it
        # issued already are dropped by the shared duplicate filter.
        watching = False
        while not self.claim_seed():
            if not watching:
                self.load_crawl_state()  # the seeding worker's start() loads it
                watching = True
            if self.outage.call(
                lambda: bool(self.server.hget(self.keys.crawl, "seeded")) or is_done(self.server, self.keys)
            ):
                return
            await sleep(self.lease_timeout / 3)
        if watching:
            self.logger.warning(
                "the worker seeding the crawl stopped before it had issued every start request: this one takes over",
                extra={"event": "seed_taken_over"},
            )
        self.seeding = True
        self.logger.info("this worker seeds the crawl (start requests)", extra={"event": "seeding"})
        async for request in super().start():
            yield request
        while True:
            try:
                mark_seeded(self.server, self.keys)
                break
            except REDIS_DOWN as error:
                await sleep(self.outage.failed(error))
        self.seeding = False
