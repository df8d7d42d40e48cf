"""In a distributed worker: each article's MinHash, computed in the worker's extraction pool, of the
text as the writer will store it.

The writer removes the source's learned boilerplate lines before it stores a text
(pipelines.boilerplate), so a signature of the text as extracted would be of another text on most
pages of a templated site. The fingerprints of the lines it removes are in Redis (key
``PREFIX:SOURCE:boilerplate``: the archive's, put there by the seeder, then the writer's after each
batch, spiders.archive_writer); this pipeline reads them (at most every ``LEARNED_REFRESH_S``),
signs the text cleaned of those lines (crawler.extraction.boilerplate.signature_once_cleaned) and
sends the cleaned text's hash with the signature. The writer keeps the signature when its own
cleaning gives that text, and computes it otherwise: the one writer, which every worker's items go
through, is spared the MinHash of nearly every article (benchmarks/distributed_bench.py). Redis
unreachable here: the last lines known are used.

On only in a worker (``DISTRIBUTED_ROLE = "worker"``, crawler.run.distributed_process), in place of
``pipelines.signature.SignaturePipeline``. Settings: ``DISTRIBUTED_REDIS_URL``,
``DISTRIBUTED_KEY_PREFIX``.
"""

from __future__ import annotations

import json
import time

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler.distributed.connection import REDIS_DOWN, client
from crawler.distributed.keys import Keys
from crawler.extraction.boilerplate import signature_once_cleaned
from crawler.items import PageItem
from pipelines.signature import SignaturePipeline

LEARNED_REFRESH_S = 1.0  # how often the writer's learned lines are read again


def _computed_by_the_writer(message: str) -> tuple[None, None]:
    return None, None  # the writer's archive computes the signature itself


class WorkerSignaturePipeline(SignaturePipeline):
    def __init__(self, crawler: Crawler) -> None:
        if crawler.settings.get("DISTRIBUTED_ROLE") != "worker":
            raise NotConfigured("not a distributed worker")
        super().__init__(crawler)
        self.server = client(crawler.settings.get("DISTRIBUTED_REDIS_URL"))
        self.prefix = crawler.settings.get("DISTRIBUTED_KEY_PREFIX")
        self.key = ""
        self.learned: tuple[str, ...] = ()
        self.read_at = float("-inf")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WorkerSignaturePipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        self.key = Keys(self.prefix, self.crawler.spider.source.name).boilerplate

    def learned_lines(self) -> tuple[str, ...]:
        """The writer's learned line fingerprints, read again at most every ``LEARNED_REFRESH_S``."""
        if time.monotonic() - self.read_at >= LEARNED_REFRESH_S:
            self.read_at = time.monotonic()
            try:
                published = self.server.get(self.key)
            except REDIS_DOWN:
                return self.learned  # the item push waits for Redis; the signature need not
            self.learned = tuple(json.loads(published)) if published else ()
        return self.learned

    async def sign(self, item: PageItem, text: str, url: str) -> None:
        item.signature, item.signed_text_hash = await self.crawler.spider.pool.call(
            signature_once_cleaned, text, self.learned_lines(), label=url, fallback=_computed_by_the_writer
        )
