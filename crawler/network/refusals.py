"""The exception a crawl raises for a request outside its source's network boundary.

Raised by the downloader middleware crawler.middlewares.network_boundary (a request, redirect, meta
refresh or browser page that ended outside) and by the browser's download handler
crawler.browser.download_handler (a rendered page whose navigation the browser's checking proxy
refused); the spider records it as a ``skipped`` fetch with the refusal's reason and kind. It lives
here, below both, because the browser layer may not import the middlewares (pyproject.toml's
import-linter layers). No settings.
"""

from __future__ import annotations

from scrapy.exceptions import IgnoreRequest

from crawler.network.boundary import Refusal


class OutsideBoundary(IgnoreRequest):
    """The request (or the page a browser ended on) is outside the source's network boundary: never fetched."""

    def __init__(self, refusal: Refusal, url: str) -> None:
        super().__init__(refusal.reason)
        self.refusal = refusal
        self.url = url
