"""Every request, redirect and meta refresh of a crawl checked against its source's network boundary.

The rule is crawler.network.boundary's (http(s) only; the source's hosts, ports included, plus its
``allowed_hosts``; never a loopback, private, link-local, CGNAT or multicast address unless the
source itself is there). Here it is applied where every request passes: Scrapy's redirect and
meta-refresh middlewares hand their new request back to the engine, so it comes through here
again. A host name is resolved first (through the crawl's pinned resolver,
crawler.network.resolver, so the address checked is the one the download connects to) and its
address checked. A refused request raises :class:`OutsideBoundary` (crawler.network.refusals), an
``IgnoreRequest`` carrying the :class:`~crawler.network.boundary.Refusal`; the spider records it as a
``skipped`` fetch with the refusal's reason and kind. A response whose URL is outside (a browser page that navigated away) is
refused the same way, so nothing off the source is ever archived.

Runs before robots.txt is asked (priority 50; ObeyRobotsTxtMiddleware is 100), so no robots.txt
is fetched from a host the source may not reach. Needs the spider's ``boundary`` (NewsSpider
builds it from the source); without one (another spider) it is off. No settings of its own
(``NETWORK_HOSTS`` is the resolver's).
"""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet import error as tx_error

from crawler.network.boundary import Boundary, Refusal, parse_address
from crawler.network.refusals import OutsideBoundary  # re-exported: defined below the browser layer

REFUSED_STAT = "newsarchive/boundary/refused"


class NetworkBoundaryMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NetworkBoundaryMiddleware:
        return cls(crawler)

    def boundary(self) -> Boundary | None:
        return getattr(self.crawler.spider, "boundary", None)

    def refuse(self, refusal: Refusal, url: str) -> OutsideBoundary:
        stats = self.crawler.stats
        if stats is not None:
            stats.inc_value(REFUSED_STAT)
            stats.inc_value(f"{REFUSED_STAT}/{refusal.kind}")
        return OutsideBoundary(refusal, url)

    async def process_request(self, request: Request, spider: Any = None) -> None:
        boundary = self.boundary()
        if boundary is None:
            return
        refusal = boundary.url_refusal(request.url)
        host = urlparse_cached(request).hostname or ""
        if refusal is None and parse_address(host) is None:
            from twisted.internet import reactor  # the running reactor, with the crawl's resolver

            try:
                address = await maybe_deferred_to_future(reactor.resolve(host))
            except (tx_error.DNSLookupError, tx_error.TimeoutError):
                return  # the download fails on the same lookup, and its error says so
            refusal = boundary.address_refusal(host, address)
        if refusal is not None:
            raise self.refuse(refusal, request.url)

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Response:
        boundary = self.boundary()
        if boundary is not None and response.url != request.url:
            refusal = boundary.url_refusal(response.url)
            if refusal is not None:
                raise self.refuse(refusal, response.url)
        return response
