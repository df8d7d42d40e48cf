"""Browser pages for the requests that need one, and fresh browser contexts every so often.

Requests with ``meta["playwright"]`` go through scrapy-playwright (headless system Chromium,
images/fonts/media aborted: crawler.browser.chromium); all others never touch the browser. This
downloader middleware gives each rendered request a browser context at download time, closes
its page as soon as the response is in, and closes a context once it has served
``RENDER_CONTEXT_PAGES`` pages and has no page left open, so memory stays flat over a long
crawl. Counts land in the crawl stats (``newsarchive/render/*``). Enabled only when the spider
turned rendering on (``NEWSARCHIVE_RENDER_ENABLED``, set when a browser was found).
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

logger = logging.getLogger(__name__)


class ContextRotation:
    """Which context the next page goes to, and when an old context may be closed (plain logic)."""

    def __init__(self, pages_per_context: int) -> None:
        self.pages_per_context = max(1, pages_per_context)
        self.assigned = 0
        self.open_pages: Counter[str] = Counter()

    def current(self) -> str:
        return f"render-{self.assigned // self.pages_per_context}"

    def assign(self) -> str:
        name = self.current()
        self.assigned += 1
        self.open_pages[name] += 1
        return name

    def release(self, name: str) -> bool:
        """A page of ``name`` is done; True when that context is finished with and may be closed."""
        self.open_pages[name] -= 1
        finished = self.open_pages[name] <= 0 and name != self.current()
        if finished:
            del self.open_pages[name]
        return finished


class RenderingOff(NotConfigured):
    """The crawl renders nothing. Its reason is kept out of ``args``: Scrapy logs "Disabled <component>:
    <args[0]>" at WARNING level, and a crawl without a browser is normal, not a warning (the reason is
    logged at DEBUG instead). ``str()`` still gives it, for whoever catches the exception."""

    REASON = "no source of this crawl renders pages in a browser"

    def __str__(self) -> str:
        return self.REASON


class RenderPagesMiddleware:
    def __init__(self, crawler: Crawler, pages_per_context: int, wait_ms: int) -> None:
        self.stats = crawler.stats
        self.rotation = ContextRotation(pages_per_context)
        self.wait_ms = wait_ms

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RenderPagesMiddleware:
        if not crawler.settings.getbool("NEWSARCHIVE_RENDER_ENABLED"):
            logger.debug("RenderPagesMiddleware off: %s", RenderingOff.REASON)
            raise RenderingOff
        settings = crawler.settings
        return cls(crawler, settings.getint("RENDER_CONTEXT_PAGES"), settings.getint("RENDER_WAIT_MS"))

    def process_request(self, request: Request) -> None:
        if not request.meta.get("playwright") or "playwright_context" in request.meta:
            return
        request.meta["playwright_context"] = self.rotation.assign()
        request.meta["playwright_include_page"] = True  # so the page is closed here, the moment it is done
        if self.wait_ms > 0:
            from scrapy_playwright.page import PageMethod

            # Scripts that render after "load" (fetch, timers) get a moment to finish.
            request.meta.setdefault("playwright_page_methods", [PageMethod("wait_for_timeout", self.wait_ms)])
        self.stats.inc_value("newsarchive/render/requests")

    async def process_response(self, request: Request, response: Response) -> Response:
        page = response.meta.pop("playwright_page", None) if request.meta.get("playwright") else None
        if page is not None:
            await self._release(page, request.meta.get("playwright_context"))
            self.stats.inc_value("newsarchive/render/pages")
        return response

    async def process_exception(self, request: Request, exception: Exception) -> None:
        if not request.meta.get("playwright"):
            return
        page = request.meta.pop("playwright_page", None)
        if page is not None:
            await self._release(page, request.meta.get("playwright_context"))
        elif request.meta.get("playwright_context"):
            self.rotation.release(request.meta["playwright_context"])
        self.stats.inc_value("newsarchive/render/errors")

    async def _release(self, page: Any, context_name: str | None) -> None:
        context = page.context
        if not page.is_closed():
            await page.close()
        if context_name and self.rotation.release(context_name):
            await context.close()
            self.stats.inc_value("newsarchive/render/contexts_recycled")
