"""Obey robots.txt as Scrapy's RobotsTxtMiddleware does, but say so with an exception of its own.

Scrapy's middleware drops a forbidden request with a plain ``IgnoreRequest``, the same exception
other components use for other reasons, so an errback could tell them apart only by its message.
This subclass raises :class:`ForbiddenByRobots` (an ``IgnoreRequest``) instead, and the spider
checks the type.

It also fixes a bug of Scrapy 2.19's middleware under the asyncio reactor: requests that arrive
while robots.txt is still being downloaded all wait on one Deferred through
``maybe_deferred_to_future``, whose callback returns None, so every waiter after the first received
no parser and was let through, disallowed or not (seen when a crawl starts with many known URLs of
one host). Here each waiter gets a Deferred of its own that passes the parser along the chain.

It honours ``Crawl-delay``: when a host's robots.txt gives one for our user agent, the delay between
two requests to that host becomes max(its download delay, Crawl-delay), the Crawl-delay capped at
``NEWSARCHIVE_MAX_CRAWL_DELAY`` seconds (0: Crawl-delay ignored); AutoThrottle does not adjust that
host's delay (it would bring it back down to ``DOWNLOAD_DELAY``).

robots.txt is fetched once per host per run: the spider asks for it too (its ``Sitemap:`` lines,
its crawl state), and that request (``meta["kind"] == "robots"``) is answered with the response this
middleware fetched, unconditionally, to obey it (after waiting for it if it is on its way), instead
of a second download. When that fetch failed, the spider's request goes out as any other.

Replaces ``scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware`` in
``DOWNLOADER_MIDDLEWARES`` at the same priority. Settings: Scrapy's ``ROBOTSTXT_*`` (off, and
``NotConfigured``, when ``ROBOTSTXT_OBEY`` is false), ``NEWSARCHIVE_MAX_CRAWL_DELAY``.
"""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

from archive.runs import REUSED_STATUS_COUNT_PREFIX


class ForbiddenByRobots(IgnoreRequest):
    """The site's robots.txt forbids this request: it was never sent."""


def wait_for(pending: Deferred) -> Deferred:
    """A Deferred of its own that fires with ``pending``'s result and leaves that result in its chain."""
    waiter: Deferred = Deferred()

    def relay(result: Any) -> Any:
        waiter.callback(result)
        return result  # the next waiter in the chain gets the parser too

    pending.addCallback(relay)
    return waiter


class ObeyRobotsTxtMiddleware(RobotsTxtMiddleware):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.max_crawl_delay = crawler.settings.getfloat("NEWSARCHIVE_MAX_CRAWL_DELAY")
        self.crawl_delays: dict[str, float] = {}  # netloc -> seconds, capped
        self.responses: dict[str, Response] = {}  # netloc -> the robots.txt answer this middleware fetched

    async def process_request(self, request: Request, spider: Any = None) -> Response | None:
        if request.meta.get("kind") == "robots" and urlparse_cached(request).path == "/robots.txt":
            return await self.fetched_robots(request)
        await super().process_request(request)
        if request.meta.get("dont_obey_robotstxt"):
            return
        delay = self.crawl_delays.get(urlparse_cached(request).netloc)
        if delay:
            self.apply_crawl_delay(request, delay)

    async def fetched_robots(self, request: Request) -> Response | None:
        """The spider's own robots.txt request: the answer fetched (or being fetched) to obey it, once per host."""
        netloc = urlparse_cached(request).netloc
        await self.robot_parser(request)
        fetched = self.responses.get(netloc)
        if fetched is None:
            return None  # robots.txt could not be fetched: the spider's request tries once more, and records why
        self._stats.inc_value("newsarchive/robots_txt_reused")
        # Scrapy's stats will count this answer as a response a second time; the run's responses_NXX leave it out.
        self._stats.inc_value(f"{REUSED_STATUS_COUNT_PREFIX}{fetched.status}")
        return fetched.replace(request=request)

    def apply_crawl_delay(self, request: Request, delay: float) -> None:
        """At least ``delay`` seconds between two requests of this request's download slot (its host)."""
        request.meta["autothrottle_dont_adjust_delay"] = True
        downloader = self.crawler.engine.downloader if self.crawler.engine else None
        if downloader is None:
            return
        _, slot = downloader._get_slot(request)  # the slot the request is about to join (created if new)
        if slot.delay < delay:
            slot.delay = delay

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        self.responses[netloc] = response
        await super()._parse_robots(response, netloc, request)
        parser = self._parsers.get(netloc)
        if parser is None or isinstance(parser, Deferred) or self.max_crawl_delay <= 0:
            return
        useragent = self._robotstxt_useragent or request.headers.get(b"User-Agent", self._default_useragent)
        try:
            delay = parser.crawl_delay(useragent)
        except (TypeError, ValueError):  # an unreadable Crawl-delay value: as if there were none
            delay = None
        if delay and delay > 0:
            self.crawl_delays[netloc] = min(float(delay), self.max_crawl_delay)
            self._stats.set_value(f"newsarchive/robots_crawl_delay/{netloc}", self.crawl_delays[netloc])

    async def robot_parser(self, request: Request) -> Any:
        parser = self._parsers.get(urlparse_cached(request).netloc)
        if isinstance(parser, Deferred):  # robots.txt is being fetched for another request
            return await maybe_deferred_to_future(wait_for(parser))
        return await super().robot_parser(request)

    def process_request_2(self, rp: Any, request: Request) -> None:
        # Scrapy's check of one request against the parsed robots.txt, where its IgnoreRequest
        # means exactly "disallowed" (a robots.txt that cannot be fetched allows everything).
        try:
            super().process_request_2(rp, request)
        except IgnoreRequest as error:
            raise ForbiddenByRobots(str(error)) from error
