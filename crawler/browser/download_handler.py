"""scrapy-playwright's download handler, started only when a page first needs the browser.

The stock handler starts the Playwright driver when the engine starts, so every crawl of a
``render_js = "auto"`` source would pay about two seconds and a Node process for a browser
that most crawls of static sites never use. This subclass starts it on the first request with
``meta["playwright"]``; requests without it go over plain HTTP as before. Installed for
``http``/``https`` by crawler.browser.chromium when rendering is on.
"""

from __future__ import annotations

import asyncio
from typing import Any

from scrapy.crawler import Crawler
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler
from twisted.internet.defer import Deferred, succeed


class LazyPlaywrightDownloadHandler(ScrapyPlaywrightDownloadHandler):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.driver_lock = asyncio.Lock()
        # Set once _launch() has finished: it sets browser_provider before it starts it, so
        # browser_provider alone would let a second request use a provider still starting.
        self.driver_started = False

    def _engine_started(self) -> Deferred:
        return succeed(None)  # not yet: see _download_request

    async def _maybe_launch_in_thread(self) -> None:
        """Not yet either: with Scrapy >= 2.14, scrapy-playwright starts the driver from this ``engine_started`` hook."""

    async def _download_request(self, request: Any, spider: Any = None) -> Any:
        if not self.driver_started:
            async with self.driver_lock:
                if not self.driver_started:
                    await self._launch()
                    self.driver_started = True
        return await super()._download_request(request, spider)
