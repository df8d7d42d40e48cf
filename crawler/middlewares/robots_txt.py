"""Obey robots.txt as Scrapy's RobotsTxtMiddleware does, but say so with an exception of its own.

Scrapy's middleware drops a forbidden request with a plain ``IgnoreRequest``, the same exception
other components use for other reasons, so an errback could tell them apart only by its message.
This subclass raises :class:`ForbiddenByRobots` (an ``IgnoreRequest``) instead, and the spider
checks the type.

It also fixes a bug of Scrapy 2.19's middleware under the asyncio reactor: requests that arrive
while robots.txt is still being downloaded all wait on one Deferred through
``maybe_deferred_to_future``, whose callback returns None, so every waiter after the first received
no parser and was let through, disallowed or not (seen when a crawl starts with many known URLs of
one host). Here each waiter gets a Deferred of its own that passes the parser along the chain. Replaces ``scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware`` in
``DOWNLOADER_MIDDLEWARES`` at the same priority. Settings: Scrapy's ``ROBOTSTXT_*`` (off, and
``NotConfigured``, when ``ROBOTSTXT_OBEY`` is false).
"""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred


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
