"""``max_pages`` as a hard limit: at most that many pages are sent to a source in one crawl.

Scrapy's ``CLOSESPIDER_PAGECOUNT`` counts responses and closes the spider when the count is reached;
every request already in the downloader then still completes (up to ``CONCURRENT_REQUESTS`` of
them), so a crawl with ``max_pages = 20`` fetched 34 pages. This middleware counts page requests as
they leave the scheduler (in priority order) for the downloader, each URL once (a retry, a redirect
hop or the browser's second try of a page is the same page), and refuses every page past the limit
with :class:`MaxPagesReached` (an ``IgnoreRequest``), then closes the spider with Scrapy's reason
``closespider_pagecount``. Refused URLs stay in the crawl state's frontier: the next run starts
with them.

What counts: requests for pages (``meta["kind"] == "page"``) that passed robots.txt. Discovery
documents (robots.txt, sitemaps, feeds) do not count, and a redirect answer is part of the page
it leads to. Setting: ``NEWSARCHIVE_MAX_PAGES`` (the source's ``max_pages``; 0 = no limit).
"""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.defer import _schedule_coro


class MaxPagesReached(IgnoreRequest):
    """The crawl has sent ``max_pages`` pages: this one is not fetched in this run."""


class MaxPagesMiddleware:
    def __init__(self, crawler: Crawler, max_pages: int) -> None:
        self.crawler = crawler
        self.max_pages = max_pages
        self.pages: set[str] = set()
        self.closing = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> MaxPagesMiddleware:
        max_pages = crawler.settings.getint("NEWSARCHIVE_MAX_PAGES")
        if max_pages <= 0:
            raise NotConfigured("NEWSARCHIVE_MAX_PAGES is 0: no page limit")
        return cls(crawler, max_pages)

    def process_request(self, request: Request) -> None:
        meta = request.meta
        if meta.get("kind") != "page" or meta.get("render_retry"):
            return
        url = (meta.get("redirect_urls") or [request.url])[0]
        if url in self.pages:
            return  # a retry or a redirect hop of a page already counted
        if len(self.pages) >= self.max_pages:
            self.crawler.stats.inc_value("newsarchive/pages_over_max_pages")
            if not self.closing:
                self.closing = True
                _schedule_coro(self.crawler.engine.close_spider_async(reason="closespider_pagecount"))
            raise MaxPagesReached(f"max_pages ({self.max_pages}) pages sent already")
        self.pages.add(url)
