"""Obey robots.txt as Scrapy's RobotsTxtMiddleware does, but say so with an exception of its own.

Scrapy's middleware drops a forbidden request with a plain ``IgnoreRequest``, the same exception
other components use for other reasons, so an errback could tell them apart only by its message.
This subclass raises :class:`ForbiddenByRobots` (an ``IgnoreRequest``) instead, and the spider
checks the type. Replaces ``scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware`` in
``DOWNLOADER_MIDDLEWARES`` at the same priority. Settings: Scrapy's ``ROBOTSTXT_*`` (off, and
``NotConfigured``, when ``ROBOTSTXT_OBEY`` is false).
"""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest


class ForbiddenByRobots(IgnoreRequest):
    """The site's robots.txt forbids this request: it was never sent."""


class ObeyRobotsTxtMiddleware(RobotsTxtMiddleware):
    def process_request_2(self, rp: Any, request: Request) -> None:
        # Scrapy's check of one request against the parsed robots.txt, where its IgnoreRequest
        # means exactly "disallowed" (a robots.txt that cannot be fetched allows everything).
        try:
            super().process_request_2(rp, request)
        except IgnoreRequest as error:
            raise ForbiddenByRobots(str(error)) from error
