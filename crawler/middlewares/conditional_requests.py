"""Conditional requests: send back the validators of our copy, let a ``304 Not Modified`` through.

The spider loads the source's crawl state once per run and puts what it knows of a URL in
``request.meta["visit"]`` (crawler.discovery.recrawl.Visit). For a URL fetched before whose copy
came from a full answer, this middleware adds ``If-None-Match`` (the stored ETag) and
``If-Modified-Since`` (the stored Last-Modified) and lets the spider's callback receive a 304
(Scrapy's HttpErrorMiddleware would otherwise turn it into an error). A redirected request does not
carry them on: they are validators of the first URL, not of where it led. Requests rendered in the
browser are never conditional (a 304 there is an empty page). Off with ``RECRAWL_ENABLED = False``.
"""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

CONDITIONAL_HEADERS = (b"If-None-Match", b"If-Modified-Since")


def validator_headers(visit: Any) -> dict[bytes, str]:
    """The conditional headers for a request, from what its visit knows of the URL (empty: unconditional)."""
    known = getattr(visit, "known", None)
    if known is None:
        return {}
    etag, last_modified = known.validators()
    headers: dict[bytes, str] = {}
    if etag:
        headers[b"If-None-Match"] = etag
    if last_modified:
        headers[b"If-Modified-Since"] = last_modified
    return headers


class ConditionalRequestsMiddleware:
    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalRequestsMiddleware:
        if not crawler.settings.getbool("RECRAWL_ENABLED"):
            raise NotConfigured("RECRAWL_ENABLED is off")
        return cls()

    def process_request(self, request: Request) -> None:
        meta = request.meta
        if meta.get("redirect_urls") or meta.get("playwright"):
            for name in CONDITIONAL_HEADERS:
                request.headers.pop(name, None)
            if meta.get("conditional"):
                meta["conditional"] = False
                meta["handle_httpstatus_list"] = [
                    code for code in meta.get("handle_httpstatus_list", []) if code != 304
                ]
            return
        headers = validator_headers(meta.get("visit"))
        if not headers:
            return
        for name, value in headers.items():
            request.headers[name] = value
        meta["conditional"] = True
        meta["handle_httpstatus_list"] = sorted({*meta.get("handle_httpstatus_list", []), 304})
