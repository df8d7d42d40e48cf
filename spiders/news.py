"""The ``news`` spider: finds a source's articles and hands every fetched page to the pipelines.

Discovery, in the order requests are issued: robots.txt (its ``Sitemap:`` lines), the source's
sitemaps (indexes recursed, Google News fields kept as hints), feeds (configured and
auto-discovered from ``<link rel=alternate>``), start URLs and, when ``follow_links`` is on, links
on the source's own hosts, bounded by hops and per-pattern budgets (crawler.discovery.links).

Run by the CLI with a ``SourceConfig``, or from the project root as
``scrapy crawl news -a source=NAME [-a config=sources.toml]`` or ``-a url=https://news.example/``.
Settings read: ``NEWSARCHIVE_SOURCES``, ``DISCOVERY_MAX_DEPTH``, ``DISCOVERY_SITEMAP_MAX_DEPTH``,
``DISCOVERY_PATTERN_BUDGET``, ``NEWSARCHIVE_RENDER_FIRST``, ``DOWNLOAD_MAXSIZE``. Set per source, at
spider priority (``-s`` still wins): ``DOWNLOAD_DELAY`` and ``AUTOTHROTTLE_START_DELAY``
(``download_delay``), ``CONCURRENT_REQUESTS_PER_DOMAIN`` (``concurrency``), ``ROBOTSTXT_OBEY``
(``obey_robots``), ``CLOSESPIDER_PAGECOUNT`` (``max_pages``), ``ARCHIVE_DB`` (``[archive] db``), and the
browser's settings (crawler.browser.render_settings).
A failure is recorded with a reason in words and a ``ReasonKind`` decided from the exception's
class and the request's meta, never from its message (``DOWNLOAD_MAXSIZE`` and ``REDIRECT_MAX_TIMES``
name the limits in those reasons).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import error as tx_error
from twisted.python.failure import Failure
from twisted.web.client import ResponseFailed, ResponseNeverReceived

from archive.models import FetchMode, FetchOutcome, FoundBy, ReasonKind
from crawler.browser.render_settings import apply_render_settings
from crawler.discovery.feeds import FeedError, parse_feed
from crawler.discovery.links import (
    PRIORITY_FEED_OR_SITEMAP,
    PatternBudget,
    link_priority,
    next_hops,
)
from crawler.discovery.sitemaps import SitemapError, parse_sitemap, sitemaps_from_robots
from crawler.discovery.urls import canonicalize_url, is_on_hosts, looks_like_non_html
from crawler.extensions.skip_non_html import is_html_content_type
from crawler.items import Fetch, FetchItem, PageItem
from crawler.middlewares.robots_txt import ForbiddenByRobots
from crawler.sources.config import Config, ConfigError, ConfigProblem, SourceConfig, adhoc_source, load_config
from crawler.sources.ops_tables import RenderMode

FEED_LINK_XPATH = (
    "//link[contains(concat(' ', normalize-space(@rel), ' '), ' alternate ')]"
    "[@type='application/rss+xml' or @type='application/atom+xml' or @type='application/feed+json'"
    " or @type='application/json']/@href"
)


def resolve_source(
    settings: Any, source: Any = None, config: str | None = None, url: str | None = None
) -> tuple[SourceConfig, Config | None]:
    """The SourceConfig a crawl is for: given, named in a sources file, or ad hoc from a URL."""
    if isinstance(source, SourceConfig):
        return source, None
    if url:
        return adhoc_source(url), None
    if not source:
        raise ConfigError(
            ConfigProblem(None, "no source given: use -a source=NAME (with -a config=FILE) or -a url=URL")
        )
    loaded = load_config(config or settings.get("NEWSARCHIVE_SOURCES"))
    return loaded.source(source), loaded


def apply_source_settings(settings: Any, source: SourceConfig, config: Config | None) -> None:
    """Per-source politeness and budget, at spider priority (command-line -s still wins)."""
    settings.set("DOWNLOAD_DELAY", source.download_delay, priority="spider")
    settings.set("AUTOTHROTTLE_START_DELAY", max(source.download_delay, 0.1), priority="spider")
    settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", source.concurrency, priority="spider")
    settings.set("ROBOTSTXT_OBEY", source.obey_robots, priority="spider")
    settings.set("CLOSESPIDER_PAGECOUNT", source.max_pages, priority="spider")
    if config is not None:
        settings.set("ARCHIVE_DB", str(config.archive.db), priority="spider")


class NewsSpider(scrapy.Spider):
    name = "news"

    def __init__(
        self,
        source: SourceConfig,
        *args: Any,
        max_hops: int,
        max_sitemap_depth: int,
        pattern_budget: int,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, name=self.name, **kwargs)
        self.source = source
        self.hosts = source.hosts()
        self.page_links = LinkExtractor(unique=True, canonicalize=False)
        # From the DISCOVERY_* settings (from_crawler): their defaults live in crawler/settings.py only.
        self.max_hops = max_hops
        self.max_sitemap_depth = max_sitemap_depth
        self.budget = PatternBudget(pattern_budget)
        self.rendering = False
        self.browser_first = False  # render_js auto, learned from earlier runs (crawler.browser.learning)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> NewsSpider:
        source, config = resolve_source(
            crawler.settings, kwargs.pop("source", None), kwargs.pop("config", None), kwargs.pop("url", None)
        )
        apply_source_settings(crawler.settings, source, config)
        rendering, warning = apply_render_settings(crawler.settings, source)
        spider = super().from_crawler(
            crawler,
            source,
            *args,
            max_hops=crawler.settings.getint("DISCOVERY_MAX_DEPTH"),
            max_sitemap_depth=crawler.settings.getint("DISCOVERY_SITEMAP_MAX_DEPTH"),
            pattern_budget=crawler.settings.getint("DISCOVERY_PATTERN_BUDGET"),
            **kwargs,
        )
        spider.rendering = rendering
        spider.browser_first = rendering and crawler.settings.getbool("NEWSARCHIVE_RENDER_FIRST")
        if warning:
            spider.logger.warning(warning, extra={"event": "browser_missing"})
        return spider

    # -- requests ---------------------------------------------------------------------------

    def _allowed(self, url: str) -> bool:
        return not any(pattern.search(url) for pattern in self.source.exclude_urls)

    def page_request(
        self,
        url: str,
        found_by: str,
        hops: int = 0,
        referer: str | None = None,
        hints: dict[str, Any] | None = None,
        priority: int | None = None,
        budgeted: bool = False,
    ) -> scrapy.Request | None:
        """A request for a page that may be an article; None when a rule says not to fetch it."""
        try:
            target = canonicalize_url(url)
        except ValueError:
            self.crawler.stats.inc_value("newsarchive/links_invalid")
            return None
        if not is_on_hosts(target, self.hosts) or not self._allowed(target):
            return None
        if looks_like_non_html(target):
            self.crawler.stats.inc_value("newsarchive/skipped_non_html_url")
            return None
        if budgeted and not self.budget.allow(target):
            self.crawler.stats.inc_value("newsarchive/links_over_pattern_budget")
            return None
        meta = {"kind": "page", "found_by": found_by, "hops": hops, "hints": hints or {}, "referer_url": referer}
        if self.rendering and (self.source.render_js == RenderMode.ALWAYS or self.browser_first):
            meta["playwright"] = True
        return scrapy.Request(
            target,
            callback=self.parse_page,
            errback=self.on_error,
            priority=link_priority(target, self.source.article_urls) if priority is None else priority,
            meta=meta,
        )

    def rendered_retry(self, item: PageItem) -> scrapy.Request | None:
        """``render_js = "auto"``: the same page once more, through the browser (None when that cannot be)."""
        if not self.rendering or self.source.render_js != RenderMode.AUTO or item.fetch_mode == FetchMode.BROWSER:
            return None
        fetch = item.fetch
        return scrapy.Request(
            fetch.final_url or fetch.url,
            callback=self.parse_page,
            errback=self.on_error,
            priority=PRIORITY_FEED_OR_SITEMAP + 5,
            dont_filter=True,  # the URL was fetched already, over plain HTTP
            meta={
                "kind": "page",
                "found_by": fetch.found_by,
                "hops": fetch.depth,
                "hints": item.hints,
                "referer_url": fetch.referer,
                "playwright": True,
                "render_retry": True,
            },
        )

    def _discovery_request(self, url: str, kind: str, callback: Any, **meta: Any) -> scrapy.Request | None:
        if kind != "robots" and not self._allowed(url):
            return None
        return scrapy.Request(
            url,
            callback=callback,
            errback=self.on_error,
            priority=PRIORITY_FEED_OR_SITEMAP + 10,
            meta={"kind": kind, "found_by": meta.pop("found_by", FoundBy.START), **meta},
        )

    async def start(self) -> AsyncIterator[scrapy.Request]:
        roots: dict[str, None] = {}
        for url in (*self.source.start_urls, *self.source.feeds, *self.source.sitemaps):
            parts = urlsplit(url)
            roots.setdefault(f"{parts.scheme}://{parts.netloc}", None)
        requests = [
            *(
                self._discovery_request(root + "/robots.txt", "robots", self.parse_robots, found_by=FoundBy.ROBOTS)
                for root in roots
            ),
            *(
                self._discovery_request(url, "sitemap", self.parse_sitemap, sitemap_depth=0)
                for url in self.source.sitemaps
            ),
            *(self._discovery_request(url, "feed", self.parse_feed) for url in self.source.feeds),
            *(
                self.page_request(url, FoundBy.START, hops=0, priority=PRIORITY_FEED_OR_SITEMAP)
                for url in self.source.start_urls
            ),
        ]
        for request in requests:
            if request is not None:
                yield request

    # -- callbacks --------------------------------------------------------------------------

    def fetch_of(self, response: Response) -> Fetch:
        meta = response.meta
        redirects = meta.get("redirect_urls") or []
        return Fetch(
            url=redirects[0] if redirects else response.url,
            final_url=response.url,
            status=response.status,
            content_type=response.headers.get("Content-Type", b"").decode("latin-1") or None,
            bytes=len(response.body),
            elapsed_ms=round(meta["download_latency"] * 1000, 1) if "download_latency" in meta else None,
            found_by=meta.get("found_by", FoundBy.LINK),
            depth=meta.get("hops", 0),
            referer=meta.get("referer_url"),
            fetch_mode=FetchMode.BROWSER if meta.get("playwright") else FetchMode.PLAIN,
        )

    def parse_robots(self, response: Response) -> Iterator[Any]:
        yield FetchItem(self.source.name, self.fetch_of(response), FetchOutcome.DISCOVERY)
        text = response.text if isinstance(response, TextResponse) else response.body.decode("utf-8", "replace")
        for url in sitemaps_from_robots(text):
            request = self._discovery_request(
                url, "sitemap", self.parse_sitemap, found_by=FoundBy.ROBOTS, sitemap_depth=0
            )
            if request is not None:
                yield request

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        fetch = self.fetch_of(response)
        try:
            sitemap = parse_sitemap(response.body)
        except SitemapError as error:
            yield FetchItem(
                self.source.name,
                fetch,
                FetchOutcome.ERROR,
                f"unreadable sitemap: {error}",
                ReasonKind.UNREADABLE_SITEMAP,
            )
            return
        yield FetchItem(
            self.source.name, fetch, FetchOutcome.DISCOVERY, f"{sitemap.kind} with {len(sitemap.entries)} entries"
        )
        depth = response.meta.get("sitemap_depth", 0)
        if sitemap.kind == "index":
            if depth >= self.max_sitemap_depth:
                self.crawler.stats.inc_value("newsarchive/sitemap_depth_exceeded")
                return
            for entry in sitemap.entries:
                # The dupefilter stops an index that lists itself or its parent: each URL is fetched once.
                request = self._discovery_request(
                    urljoin(response.url, entry.url),
                    "sitemap",
                    self.parse_sitemap,
                    found_by=FoundBy.SITEMAP,
                    sitemap_depth=depth + 1,
                )
                if request is not None:
                    yield request
            return
        for entry in sitemap.entries:
            priority = PRIORITY_FEED_OR_SITEMAP + (5 if entry.news else 0)
            request = self.page_request(
                urljoin(response.url, entry.url), FoundBy.SITEMAP, hints=entry.hints(), priority=priority
            )
            if request is not None:
                yield request

    def parse_feed(self, response: Response) -> Iterator[Any]:
        fetch = self.fetch_of(response)
        try:
            feed = parse_feed(response.body, response.url, fetch.content_type)
        except FeedError as error:
            yield FetchItem(
                self.source.name, fetch, FetchOutcome.ERROR, f"unreadable feed: {error}", ReasonKind.UNREADABLE_FEED
            )
            return
        yield FetchItem(
            self.source.name, fetch, FetchOutcome.DISCOVERY, f"{feed.kind} feed with {len(feed.entries)} entries"
        )
        for entry in feed.entries:
            request = self.page_request(entry.url, FoundBy.FEED, hints=entry.hints(), priority=PRIORITY_FEED_OR_SITEMAP)
            if request is not None:
                yield request

    def parse_page(self, response: Response) -> Iterator[Any]:
        fetch = self.fetch_of(response)
        if "download_stopped" in response.flags or not is_html_content_type(fetch.content_type):
            reason = f"not HTML ({fetch.content_type or 'no content type'})"
            yield FetchItem(self.source.name, fetch, FetchOutcome.SKIPPED, reason, ReasonKind.NOT_HTML)
            return
        if not isinstance(response, TextResponse):
            yield FetchItem(self.source.name, fetch, FetchOutcome.SKIPPED, "not a text response", ReasonKind.NOT_HTML)
            return
        meta = response.meta
        hops = meta.get("hops", 0)
        yield PageItem(
            source=self.source.name,
            fetch=fetch,
            body=response.body,
            redirect_urls=list(meta.get("redirect_urls") or []),
            hints=meta.get("hints") or {},
            fetch_mode=FetchMode.BROWSER if meta.get("playwright") else FetchMode.PLAIN,
        )
        yield from self.feed_requests(response)
        yield from self.canonical_request(response, hops)
        if self.source.follow_links and hops < self.max_hops:
            yield from self.link_requests(response, hops)

    def feed_requests(self, response: TextResponse) -> Iterator[scrapy.Request]:
        for href in response.xpath(FEED_LINK_XPATH).getall():
            url = urljoin(response.url, href.strip())
            if is_on_hosts(url, self.hosts):
                request = self._discovery_request(url, "feed", self.parse_feed, found_by=FoundBy.LINK)
                if request is not None:
                    yield request

    def canonical_request(self, response: TextResponse, hops: int) -> Iterator[scrapy.Request]:
        """An AMP or tracking-parameter copy points at its canonical page: make sure that one is fetched."""
        href = response.xpath("//link[@rel='canonical']/@href").get()
        if not href:
            return
        request = self.page_request(
            urljoin(response.url, href.strip()), FoundBy.CANONICAL, hops=hops, referer=response.url
        )
        if request is not None:
            yield request

    def link_requests(self, response: TextResponse, hops: int) -> Iterator[scrapy.Request]:
        for link in self.page_links.extract_links(response):
            if link.nofollow:
                continue
            request = self.page_request(
                link.url, FoundBy.LINK, hops=next_hops(hops, link.url), referer=response.url, budgeted=True
            )
            if request is not None:
                yield request

    def closed(self, reason: str) -> None:
        cut = self.budget.exhausted()
        if cut:
            self.crawler.stats.set_value("newsarchive/pattern_budget_exhausted", len(cut))
            self.logger.info(
                "link following stopped at DISCOVERY_PATTERN_BUDGET pages for %d URL pattern(s) "
                "(calendars, query variations?): %s",
                len(cut),
                ", ".join(sorted(cut)[:10]),
                extra={"event": "pattern_budget_exhausted"},
            )

    def on_error(self, failure: Failure) -> Iterator[Any]:
        request = failure.request
        meta = request.meta
        if failure.check(ForbiddenByRobots):
            return  # never fetched: the site asked us not to
        if failure.check(HttpError):
            response = failure.value.response
            fetch = self.fetch_of(response)
            robots_missing = meta.get("kind") == "robots" and response.status == 404
            outcome = FetchOutcome.DISCOVERY if robots_missing else FetchOutcome.ERROR
            yield FetchItem(self.source.name, fetch, outcome, f"HTTP {response.status}", ReasonKind.HTTP_STATUS)
            return
        fetch = Fetch(
            url=request.url,
            found_by=meta.get("found_by", FoundBy.LINK),
            depth=meta.get("hops", 0),
            referer=meta.get("referer_url"),
        )
        reason, kind = self.failure_reason(failure)
        yield FetchItem(self.source.name, fetch, FetchOutcome.ERROR, reason, kind)

    def failure_reason(self, failure: Failure) -> tuple[str, ReasonKind]:
        """What went wrong with a request (in words, with the fix where there is one) and its kind."""
        settings = self.crawler.settings
        meta = failure.request.meta
        if failure.check(IgnoreRequest):
            message = str(failure.value) or "request dropped"
            if redirects_exhausted(meta, settings.getint("REDIRECT_MAX_TIMES")):
                return f"too many redirects (a redirect loop?): {message}", ReasonKind.TOO_MANY_REDIRECTS
            return message, ReasonKind.DROPPED
        limit = int(meta.get("download_maxsize", settings.getint("DOWNLOAD_MAXSIZE")) or 0)
        # Scrapy's HTTP download handlers cancel a download for one reason: the response outgrew
        # DOWNLOAD_MAXSIZE (announced by Content-Length, or while the body arrived).
        if failure.check(DownloadCancelledError) and limit > 0:
            return (
                f"response larger than DOWNLOAD_MAXSIZE ({limit} bytes); if such pages matter, raise it "
                f"(newsarchive crawl -s DOWNLOAD_MAXSIZE={limit * 2})"
            ), ReasonKind.TOO_LARGE
        return f"{failure.type.__name__}: {failure.getErrorMessage()}", failure_kind(failure)


def redirects_exhausted(meta: Mapping[str, Any], max_redirect_times: int) -> bool:
    """Whether RedirectMiddleware dropped this request for following too many redirects.

    It refuses a redirect once the request's ``redirect_ttl`` has run out or one more would pass
    REDIRECT_MAX_TIMES; both live in the request's meta, which the middleware itself sets.
    """
    if "redirect_ttl" not in meta:
        return False  # never went through RedirectMiddleware's redirect step
    return meta["redirect_ttl"] <= 0 or meta.get("redirect_times", 0) + 1 > max_redirect_times


def failure_kind(failure: Failure) -> ReasonKind:
    """The kind of a download failure, from its exception class (Scrapy's download handler
    exceptions, the Twisted errors under them, Playwright's for rendered pages)."""
    # Imported here, not at the top: only a crawl that met an error needs Playwright's classes.
    from playwright.async_api import TimeoutError as BrowserTimeoutError

    if failure.check(DownloadTimeoutError, tx_error.TimeoutError, tx_error.TCPTimedOutError, BrowserTimeoutError):
        return ReasonKind.TIMEOUT
    if failure.check(CannotResolveHostError, tx_error.DNSLookupError):
        return ReasonKind.DNS_LOOKUP
    if failure.check(
        DownloadConnectionRefusedError,
        DownloadFailedError,
        ResponseDataLossError,
        tx_error.ConnectError,
        tx_error.ConnectionLost,
        ResponseFailed,
        ResponseNeverReceived,
    ):
        return ReasonKind.CONNECTION_FAILED
    return ReasonKind.DOWNLOAD_FAILED
