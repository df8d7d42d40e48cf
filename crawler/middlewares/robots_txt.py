"""Obey robots.txt as Scrapy's RobotsTxtMiddleware does, but say so with an exception of its own.

Scrapy's middleware drops a forbidden request with a plain ``IgnoreRequest``, the same exception
other components use for other reasons, so an errback could tell them apart only by its message.
This subclass raises :class:`ForbiddenByRobots` (an ``IgnoreRequest``) instead, and the spider
checks the type. Replaces ``scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware`` in
``DOWNLOADER_MIDDLEWARES`` at the same priority. Settings: Scrapy's ``ROBOTSTXT_*`` (off, and
``NotConfigured``, when ``ROBOTSTXT_OBEY`` is false).
"""

from __future__ import annotations

from scrapy import Request
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest


class ForbiddenByRobots(IgnoreRequest):
    """The site's robots.txt forbids this request: it was never sent."""


class ObeyRobotsTxtMiddleware(RobotsTxtMiddleware):
    async def process_request(self, request: Request) -> None:
        try:
            await super().process_request(request)
        except IgnoreRequest as error:
            # The parent raises IgnoreRequest for one thing only: rp.allowed() said no. (A
            # robots.txt that cannot be fetched is swallowed there and allows everything.)
            raise ForbiddenByRobots(str(error)) from error
