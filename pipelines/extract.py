"""Decide whether each fetched page is an article, extracting it first if the spider did not.

trafilatura costs tens of milliseconds a page, so it runs in worker processes
(crawler.extraction.pool, owned by the spider, which has each page extracted as it reads its links:
spiders.reading); a page that arrives without fields is extracted here, in the same pool, while the
reactor keeps fetching. A page that turns out to be a JavaScript shell is fetched again through the
browser when its source says ``render_js = "auto"``, and every page fetched over plain HTTP teaches
the spider's TemplateLearning which page templates are shells (crawler.browser.learning). Settings:
``EXTRACT_MIN_TEXT_CHARS`` (for the article verdict: shorter text is "no article text"; the spider's
pool has it for the extraction's app-shell test).
"""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler

from archive.models import FetchMode
from crawler.extraction.classify import classify_page, looks_like_javascript_shell
from crawler.items import PageItem


class ExtractPipeline:
    def __init__(self, crawler: Crawler, min_text_chars: int) -> None:
        self.crawler = crawler
        self.min_text_chars = min_text_chars

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        return cls(crawler, crawler.settings.getint("EXTRACT_MIN_TEXT_CHARS"))

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, PageItem):
            return item
        fetch = item.fetch
        spider = self.crawler.spider
        fields = item.fields
        if fields is None:
            fields = await spider.pool.extract(item.body, fetch.final_url or fetch.url, fetch.content_type)
        verdict = classify_page(
            fields,
            fetch.final_url or fetch.url,
            spider.source.article_urls,
            min_text_chars=self.min_text_chars,  # EXTRACT_MIN_TEXT_CHARS, as the extraction had it
        )
        item.fields = fields
        item.is_article = verdict.is_article
        item.reason = verdict.reason
        item.reason_kind = verdict.kind
        item.evidence = verdict.evidence_json()
        self.crawler.stats.inc_value("newsarchive/pages_extracted")
        shell = not verdict.is_article and looks_like_javascript_shell(fields)
        if item.fetch_mode == FetchMode.PLAIN and spider.learns_templates():
            spider.templates.note(fetch.final_url or fetch.url, shell)
        if shell:
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
