"""Compute each article's MinHash signature in an extraction worker, not in the crawl process.

The near-duplicate signature (archive.dedup: word 5-shingles hashed, 64 permutations) costs about
as much CPU as everything else the crawl process does for an article, and the crawl process is
the one that cannot spread over cores. So it is computed from the article's final text (after the
boilerplate pipeline) in the spider's extraction pool and handed to the archive pipeline on the
item (``PageItem.signature``); the archive computes it itself when it is missing (a text too short
to compare, a worker that died on it). Runs between the boilerplate and the archive pipelines.
A distributed worker runs ``pipelines.worker_signature`` instead (the text as the writer will clean it).
No settings; remove it from ``ITEM_PIPELINES`` and the archive computes every signature.
"""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler

from archive.dedup import is_comparable, text_signature
from crawler.items import PageItem


def _computed_here(message: str) -> None:
    return None  # the archive computes the signature itself


class SignaturePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SignaturePipeline:
        return cls(crawler)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, PageItem) or not item.is_article or not item.fields:
            return item
        text = item.fields.get("text")
        if is_comparable(text):
            await self.sign(item, text, item.fetch.final_url or item.fetch.url)
        return item

    async def sign(self, item: PageItem, text: str, url: str) -> None:
        item.signature = await self.crawler.spider.pool.call(text_signature, text, label=url, fallback=_computed_here)
