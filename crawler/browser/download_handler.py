"""scrapy-playwright's download handler, started only when a page first needs the browser.

The stock handler starts the Playwright driver when the engine starts, so every crawl of a
``render_js = "auto"`` source would pay about two seconds and a Node process for a browser
that most crawls of static sites never use. This subclass starts it on the first request with
``meta["playwright"]``; requests without it go over plain HTTP as before. Installed for
``http``/``https`` by crawler.browser.render_settings when rendering is on.

It also holds the browser to the source's network boundary (crawler.network.boundary): every
request a rendered page makes passes the boundary before scrapy-playwright's own router (which
then skips the resource types of ``PLAYWRIGHT_ABORT_REQUEST``). A main-frame navigation (a script
setting ``location``, a redirect inside the browser) must stay on the source, as any request of the
crawl; a subrequest (scripts, data) may go to a public host, never to a private address or another
port of the source. A refused subrequest is aborted before it leaves the browser, a refused
navigation answered "204 No Content" (the page stays as it is); either is counted
(``newsarchive/boundary/browser_refused``), logged once per host, and recorded by the spider as a
``skipped`` fetch. Names resolve through ``NETWORK_HOSTS`` first, as in the crawl's resolver, then
through the system, once per crawl (:meth:`~LazyPlaywrightDownloadHandler.addresses_of`), for the
router and the proxy below alike.

The router sees only the first request of a redirect chain (Chromium follows a 3xx itself), and
Chromium would resolve names itself: so before the browser starts, the handler starts the checking
proxy (crawler.browser.proxy) on 127.0.0.1 and launches Chromium with all its traffic sent through
it (crawler.browser.chromium.proxy_args); it is closed with the browser. The proxy checks every
request and redirect hop with the subrequest rule on the addresses it resolved itself (the same
pinned lookups as the router's) and connects to exactly those. Its refusals are noted as the
router's are; a page navigation that ended on one (its answer the proxy's 403, or Chromium's error
page after a refused tunnel) raises :class:`~crawler.network.refusals.OutsideBoundary` from the
download, with the refusal a navigation gets (the origin rule first), so the spider records the page
as a skipped fetch, as it does a plain-HTTP redirect outside. A remote browser
(``PLAYWRIGHT_CDP_URL``, ``PLAYWRIGHT_CONNECT_URL``) cannot be sent through the proxy and is refused.
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

from crawler.browser.chromium import google_service_host, proxy_args
from crawler.browser.proxy import REFUSED_HEADER, BoundaryProxy
from crawler.network.boundary import Boundary, Refusal, hosts_table, parse_address
from crawler.network.refusals import OutsideBoundary

logger = logging.getLogger(__name__)
BROWSER_REFUSED_STAT = "newsarchive/boundary/browser_refused"
PROXY_REQUESTS_STAT = "newsarchive/browser_proxy/requests"  # requests and tunnels the browser's proxy was asked for
BROWSER_ERROR_PAGE = "chrome-error:"  # the URL of Chromium's own error page


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
        self.proxy: BoundaryProxy | None = None

    def _engine_started(self) -> Deferred:
        return succeed(None)  # not yet: see _download_request

    async def _maybe_launch_in_thread(self) -> None:
        """Not yet either: with Scrapy >= 2.14, scrapy-playwright starts the driver from this ``engine_started`` hook."""

    async def _launch(self) -> None:
        """The checking proxy first, then scrapy-playwright's driver: the browser, launched for the first
        page, gets the proxy's port in its arguments."""
        if self.config.cdp_url or self.config.connect_url:
            raise RuntimeError(
                "a remote browser (PLAYWRIGHT_CDP_URL, PLAYWRIGHT_CONNECT_URL) cannot be held to the crawl's "
                "network boundary: leave those settings out, newsarchive launches its own browser"
            )
        if self.proxy is None:
            proxy = BoundaryProxy(
                self.current_boundary,
                self.addresses_of,
                self.note_refusal,
                google_service_host,
                lambda: self.crawler.stats.inc_value(PROXY_REQUESTS_STAT),
            )
            port = await proxy.start()
            self.proxy = proxy
            options = self.config.launch_options
            # A new dict and list: the ones read from the settings are shared with them.
            self.config.launch_options = {**options, "args": [*options.get("args", ()), *proxy_args(port)]}
        await super()._launch()

    async def _create_browser_context(self, name: str, context_kwargs: dict | None, spider: Any = None) -> Any:
        """scrapy-playwright's new context, never one with a proxy or a browser of its own (both would
        go past the checking proxy); newsarchive asks for neither."""
        for key in ("proxy", "user_data_dir"):
            if (context_kwargs or {}).get(key):
                raise RuntimeError(
                    f"a browser context with {key!r} would not be held to the crawl's network boundary: "
                    "leave it out of PLAYWRIGHT_CONTEXTS and playwright_context_kwargs"
                )
        return await super()._create_browser_context(name, context_kwargs, spider)

    async def _close(self) -> None:
        try:
            await super()._close()
        finally:
            if self.proxy is not None:
                await self.proxy.close()
                self.proxy = None

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

    async def _download_request_with_page(self, request: Any, page: Any, spider: Any) -> Any:
        """scrapy-playwright's download of a page, a navigation the proxy refused raised as :class:`OutsideBoundary`."""
        navigations: list[str] = []  # the page's main-frame requests, each redirect hop one

        def note_navigation(playwright_request: Any) -> None:
            if _main_frame_navigation(playwright_request):
                navigations.append(playwright_request.url)

        page.on("request", note_navigation)
        try:
            response = await super()._download_request_with_page(request, page, spider)
        except PlaywrightError as error:
            # A refused https hop: the proxy refused the tunnel and Chromium failed the navigation.
            outside = self.refused_navigation(navigations[-1:])
            if outside is None:
                raise
            raise outside from error
        finally:
            page.remove_listener("request", note_navigation)
        if response.url.startswith(BROWSER_ERROR_PAGE):
            # The same after the page had loaded (a script's navigation, redirected outside).
            outside = self.refused_navigation(navigations[-1:])
            if outside is not None:
                raise outside
        return response

    async def _get_response_and_download(self, request: Any, page: Any, spider: Any) -> Any:
        """The navigation's answer; the proxy's 403 (a redirect hop refused) raised at once, before the
        page is waited for, as :class:`OutsideBoundary`."""
        response, download = await super()._get_response_and_download(request, page, spider)
        if response is not None and REFUSED_HEADER.lower() in response.headers:
            outside = self.refused_navigation([response.url])
            if outside is not None:
                raise outside
        return response, download

    def refused_navigation(self, urls: list[str]) -> OutsideBoundary | None:
        """:class:`OutsideBoundary` for the last of ``urls`` when the proxy refused it (None otherwise),
        with the refusal a navigation gets: the origin rule first, as for a redirect over plain HTTP."""
        if not urls or self.proxy is None:
            return None
        refused = self.proxy.refusal_of(urls[-1])
        if refused is None:
            return None
        boundary = self.current_boundary()
        origin = boundary.url_refusal(urls[-1]) if boundary is not None else None
        return OutsideBoundary(origin or refused, urls[-1])

    def current_boundary(self) -> Boundary | None:
        """The crawl's boundary (NewsSpider's); None for another spider, which has none."""
        return getattr(self.crawler.spider, "boundary", None)

    async def boundary_refusal(self, request: Any) -> Refusal | None:
        boundary = self.current_boundary()
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
            # Two lookups of one name in flight at once: both get the first answer (pinned for the crawl).
            self.addresses.setdefault(key, sorted({info[4][0] for info in infos}))
        return self.addresses[key]


def _main_frame_navigation(request: Any) -> bool:
    try:
        return bool(request.is_navigation_request() and request.frame.parent_frame is None)
    except PlaywrightError:  # a service worker's request has no frame
        return False
