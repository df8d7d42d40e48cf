"""Conditional requests: send back the validators of our copy, let a ``304 Not Modified`` through.

The spider loads the source's crawl state once per run and puts what it knows of a URL in
``request.meta["visit"]`` (crawler.discovery.recrawl.Visit). For a URL fetched before whose copy
came from a full answer, this middleware adds ``If-None-Match`` (the stored ETag) and
``If-Modified-Since`` (the stored Last-Modified) and lets the spider's callback receive a 304
(Scrapy's HttpErrorMiddleware would otherwise turn it into an error). A redirected request does not
carry them on: they are validators of the first URL, not of where it led. Requests rendered in the
browser are never conditional (a 304 there is an empty page).

A redirect to a page the crawl state has fetched and that is not due again (a shortlink or old URL
of an archived article) is not followed: as Scrapy's dupefilter does within one run, the request is
dropped (``AlreadyFetched``, after a ``request_dropped`` signal, so the archive pipeline records
the redirect chain as aliases). Off with ``RECRAWL_ENABLED = False``.
"""

from __future__ import annotations

import time
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured

from crawler.discovery.urls import canonicalize_url

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


class AlreadyFetched(IgnoreRequest):
    """A redirect led to a page the archive has and that is not due: not fetched again."""


def fetched_and_not_due(known: Any, now: float) -> bool:
    """Whether a known URL needs no fetch now: fetched, not removed, its revisit not due."""
    if known is None or known.fetched_at is None or known.removed_at is not None:
        return False
    return known.next_due_at is None or known.next_due_at > now


class ConditionalRequestsMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalRequestsMiddleware:
        if not crawler.settings.getbool("RECRAWL_ENABLED"):
            raise NotConfigured("RECRAWL_ENABLED is off")
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        meta = request.meta
        if meta.get("redirect_urls") and meta.get("kind") == "page":
            self.drop_known_target(request)
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

    def drop_known_target(self, request: Request) -> None:
        state = getattr(self.crawler.spider, "state", None)
        try:
            target = canonicalize_url(request.url)
        except ValueError:
            return
        if state is not None and fetched_and_not_due(state.get(target), time.time()):
            self.crawler.stats.inc_value("newsarchive/recrawl/redirect_to_known")
            self.crawler.signals.send_catch_log(signals.request_dropped, request=request, spider=self.crawler.spider)
            raise AlreadyFetched(f"redirect to {target}, archived and not due")
