"""Extract each fetched page in a process pool and decide whether it is an article.

trafilatura costs tens of milliseconds a page, so it runs in worker processes
(crawler.extract_pool) and the reactor keeps fetching meanwhile. Settings: ``EXTRACT_WORKERS``
(0 = one per core), ``EXTRACT_MIN_TEXT_CHARS``.
"""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler

from crawler.classify import classify_page
from crawler.extract_pool import ExtractionPool
from crawler.items import PageItem


class ExtractPipeline:
    def __init__(self, crawler: Crawler, pool: ExtractionPool) -> None:
        self.crawler = crawler
        self.pool = pool

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        workers = crawler.settings.getint("EXTRACT_WORKERS") or None
        pool = ExtractionPool(workers=workers, min_text_chars=crawler.settings.getint("EXTRACT_MIN_TEXT_CHARS"))
        return cls(crawler, pool)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, PageItem):
            return item
        fetch = item.fetch
        fields = await self.pool.extract(item.body, fetch.final_url or fetch.url, fetch.content_type)
        spider = self.crawler.spider
        verdict = classify_page(fields, fetch.final_url or fetch.url, spider.source.article_urls)
        item.fields = fields
        item.is_article = verdict.is_article
        item.reason = verdict.reason
        self.crawler.stats.inc_value("newsarchive/pages_extracted")
        return item

    def close_spider(self) -> None:
        self.pool.close()
