"""scrapy-playwright's download handler, started only when a page first needs the browser.

The stock handler starts the Playwright driver when the engine starts, so every crawl of a
``render_js = "auto"`` source would pay about two seconds and a Node process for a browser
that most crawls of static sites never use. This subclass starts it on the first request with
``meta["playwright"]``; requests without it go over plain HTTP as before. Installed for
``http``/``https`` by crawler.browser.chromium when rendering is on.

It also holds the browser to the source's network boundary (crawler.network.boundary): every
request a rendered page makes passes the boundary before scrapy-playwright's own router (which
then skips the resource types of ``PLAYWRIGHT_ABORT_REQUEST``). A main-frame navigation (a script
setting ``location``, a redirect inside the browser) must stay on the source, as any request of the
crawl; a subrequest (scripts, data) may go to a public host, never to a private address or another
port of the source. A refused subrequest is aborted before it leaves the browser, a refused
navigation answered "204 No Content" (the page stays as it is); either is counted
(``newsarchive/boundary/browser_refused``), logged once per host, and recorded by the spider as a
``skipped`` fetch. Names resolve through ``NETWORK_HOSTS`` first, as in the crawl's resolver (the
browser gets the same map as ``--host-resolver-rules``).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Error as PlaywrightError
from scrapy.crawler import Crawler
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler
from twisted.internet.defer import Deferred, succeed

from crawler.network.boundary import Boundary, Refusal, hosts_table, parse_address

logger = logging.getLogger(__name__)
BROWSER_REFUSED_STAT = "newsarchive/boundary/browser_refused"


class LazyPlaywrightDownloadHandler(ScrapyPlaywrightDownloadHandler):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.driver_lock = asyncio.Lock()
        # Set once _launch() has finished: it sets browser_provider before it starts it, so
        # browser_provider alone would let a second request use a provider still starting.
        self.driver_started = False
        self.crawler = crawler
        self.host_map = hosts_table(crawler.settings.getdict("NETWORK_HOSTS"))
        self.addresses: dict[str, list[str]] = {}  # host -> its addresses, looked up once per crawl
        self.refused_hosts: set[str] = set()

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

    def _make_request_handler(self, *args: Any, **kwargs: Any) -> Any:
        """scrapy-playwright's router for a page's requests, behind the network boundary."""
        route_inside = super()._make_request_handler(*args, **kwargs)

        async def route_request(route: Any, request: Any) -> None:
            refusal = await self.boundary_refusal(request)
            if refusal is None:
                await route_inside(route, request)
                return
            self.note_refusal(request.url, refusal)
            if _main_frame_navigation(request):
                # "No content": the browser stays on the page it has. An aborted navigation would
                # replace the page with Chromium's error page (chrome-error://chromewebdata/).
                await route.fulfill(status=204, body="")
            else:
                await route.abort("blockedbyclient")

        return route_request

    async def boundary_refusal(self, request: Any) -> Refusal | None:
        boundary: Boundary | None = getattr(self.crawler.spider, "boundary", None)
        return None if boundary is None else await self.refusal_of(boundary, request)

    def note_refusal(self, url: str, refusal: Refusal) -> None:
        """Count it, log it once per host, and hand it to the spider, which records a skipped fetch."""
        self.crawler.stats.inc_value(BROWSER_REFUSED_STAT)
        host = urlsplit(url).netloc or url[:40]
        if host not in self.refused_hosts:
            self.refused_hosts.add(host)
            logger.warning("browser request refused: %s", refusal.reason, extra={"event": "browser_refused"})
        note = getattr(self.crawler.spider, "note_browser_refusal", None)
        if note is not None:
            note(url, refusal)

    async def refusal_of(self, boundary: Boundary, request: Any) -> Refusal | None:
        url = request.url
        if url.startswith(("data:", "blob:")):
            return None
        host = urlsplit(url).hostname or ""
        if _main_frame_navigation(request):
            refusal = boundary.url_refusal(url)
            if refusal is not None or parse_address(host) is not None:
                return refusal
            for address in await self.addresses_of(host):
                refusal = boundary.address_refusal(host, address)
                if refusal is not None:
                    return refusal
            return None
        return boundary.subrequest_refusal(url, await self.addresses_of(host))

    async def addresses_of(self, host: str) -> list[str]:
        """The host's addresses (NETWORK_HOSTS first); [] when it does not resolve (the browser fails on it too)."""
        if parse_address(host) is not None:
            return [host.strip("[]")]
        key = host.rstrip(".").lower()
        if key in self.host_map:
            return [self.host_map[key]]
        if key not in self.addresses:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(key, None, type=socket.SOCK_STREAM)
            except (OSError, UnicodeError):
                infos = []
            self.addresses[key] = sorted({info[4][0] for info in infos})
        return self.addresses[key]


def _main_frame_navigation(request: Any) -> bool:
    try:
        return bool(request.is_navigation_request() and request.frame.parent_frame is None)
    except PlaywrightError:  # a service worker's request has no frame
        return False
