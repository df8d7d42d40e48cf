"""Extract each fetched page in a process pool and decide whether it is an article.

trafilatura costs tens of milliseconds a page, so it runs in worker processes
(crawler.extraction.pool) and the reactor keeps fetching meanwhile. A page that turns out to be a JavaScript shell is
fetched again through the browser when its source says ``render_js = "auto"``. Settings:
``EXTRACT_WORKERS`` (0 = one per core), ``EXTRACT_MIN_TEXT_CHARS`` (for the extraction's app-shell test
and the article verdict: shorter text is "no article text").
"""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler

from crawler.extraction.classify import classify_page, looks_like_javascript_shell
from crawler.extraction.pool import ExtractionPool
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
        verdict = classify_page(
            fields,
            fetch.final_url or fetch.url,
            spider.source.article_urls,
            min_text_chars=self.pool.min_text_chars,  # EXTRACT_MIN_TEXT_CHARS, as the extraction had it
        )
        item.fields = fields
        item.is_article = verdict.is_article
        item.reason = verdict.reason
        item.reason_kind = verdict.kind
        item.evidence = verdict.evidence_json()
        self.crawler.stats.inc_value("newsarchive/pages_extracted")
        if not verdict.is_article and looks_like_javascript_shell(fields):
            self.render_again(item)
        return item

    def render_again(self, item: PageItem) -> None:
        """render_js = "auto": a JavaScript shell is fetched once more, through the browser."""
        retry = self.crawler.spider.rendered_retry(item)
        if retry is None:
            return
        self.crawler.engine.crawl(retry)
        item.reason = f"{item.reason}; fetched again in a browser"
        self.crawler.stats.inc_value("newsarchive/render/needed")

    def close_spider(self) -> None:
        self.pool.close()
