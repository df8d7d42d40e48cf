"""The ``news`` spider: finds a source's articles and hands every fetched page to the pipelines.

Discovery, in the order requests are issued: robots.txt (its ``Sitemap:`` lines), the source's
sitemaps (indexes recursed, Google News fields kept as hints), feeds (configured and
auto-discovered from ``<link rel=alternate>``, comment feeds and API entries left out), start URLs
and, when ``follow_links`` is on, links on the source's own hosts, bounded by hops and per-pattern
budgets that pages turning out to be new articles replenish (crawler.discovery.links; the spider
settles each page on ``item_scraped``). Whatever names a page URL (a link, a news sitemap, a feed)
is noted for the run (crawler.discovery.notes): the page gets every finder's hints and the
tracking-parameter variants it was linked under as aliases, together with its
``<link rel=shortlink>`` and ``<link rel=amphtml>``, whichever request fetched it; what arrives
after it was parsed follows as a ``PageNotesItem``.

Recurring runs (``RECRAWL_ENABLED``, on by default) are incremental: the source's crawl state is
loaded once from the archive (``ARCHIVE_DB``) when the crawl starts, and crawler.discovery.recrawl
decides for every URL met whether it is fetched (new, signalled by a sitemap lastmod or feed date,
due for a revisit) or skipped; discovery documents and section fronts are fetched every run,
conditionally; a 304 or a byte-identical body is recorded ``not_modified`` (``unchanged`` for an
archived article) without extraction; an archived article that answers 404/410 or redirects to the
home page carries ``removed_status`` to the archive pipeline.

Run by the CLI with a ``SourceConfig``, or from the project root as
``scrapy crawl news -a source=NAME [-a config=sources.toml]`` or ``-a url=https://news.example/``.
Each HTML page is read once, in an extraction worker (spiders.reading: its fields and its links
together), so this process never parses a page; the workers start when the crawl opens.

Settings read: ``NEWSARCHIVE_SOURCES``, ``DISCOVERY_MAX_DEPTH``, ``DISCOVERY_SITEMAP_MAX_DEPTH``,
``DISCOVERY_PATTERN_BUDGET``, ``NEWSARCHIVE_RENDER_FIRST``, ``DOWNLOAD_MAXSIZE``, ``EXTRACT_WORKERS``,
``EXTRACT_MIN_TEXT_CHARS``, ``RENDER_LEARN_MIN`` and ``RENDER_TEMPLATE_SHARE`` (crawler.browser.learning). Set per source, at
spider priority (``-s`` still wins): ``DOWNLOAD_DELAY`` and ``AUTOTHROTTLE_START_DELAY``
(``download_delay``), ``CONCURRENT_REQUESTS_PER_DOMAIN`` and ``AUTOTHROTTLE_TARGET_CONCURRENCY``
(``concurrency``), ``ROBOTSTXT_OBEY``
(``obey_robots``), ``NEWSARCHIVE_MAX_PAGES`` (``max_pages``, crawler.middlewares.max_pages), ``ARCHIVE_DB`` (``[archive] db``), and the
browser's settings (crawler.browser.render_settings).
A failure is recorded with a reason in words and a ``ReasonKind`` (spiders/failures.py).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import (
    DontCloseSpider,
)
from scrapy.http import HtmlResponse, Response, TextResponse, XmlResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from archive.models import AliasReason, FetchMode, FetchOutcome, FoundBy, ReasonKind, UrlKind
from crawler.browser.learning import TemplateLearning
from crawler.browser.render_settings import apply_render_settings
from crawler.discovery.feeds import FeedError, parse_feed
from crawler.discovery.links import (
    PRIORITY_FEED_OR_SITEMAP,
    PatternBudget,
    link_priority,
    next_hops,
    unwanted_feed_reason,
)
from crawler.discovery.notes import DiscoveryNotes, amp_aliases, merge_hints, shortlink_aliases, tracking_variant
from crawler.discovery.page_links import PageLinks
from crawler.discovery.recrawl import (
    Fetching,
    KnownUrl,
    KnownUrls,
    RevisitPolicy,
    Visit,
    body_hash,
    decide,
    link_signal,
    removal_status,
)
from crawler.discovery.sitemaps import SitemapError, parse_sitemap, sitemaps_from_robots
from crawler.discovery.urls import canonicalize_url, looks_like_non_html, never_article_reason
from crawler.extensions.skip_non_html import is_html_content_type
from crawler.extraction.pool import ExtractionPool
from crawler.items import Fetch, FetchItem, ListedItem, NotFetchedItem, PageItem, PageNotesItem
from crawler.middlewares.conditional_requests import AlreadyFetched
from crawler.middlewares.max_pages import MaxPagesReached
from crawler.middlewares.robots_txt import ForbiddenByRobots
from crawler.network.boundary import Boundary, Refusal
from crawler.network.refusals import OutsideBoundary
from crawler.signals import frontier_spilled
from crawler.sources.config import Config, ConfigError, ConfigProblem, SourceConfig, adhoc_source, load_config
from crawler.sources.ops_tables import RenderMode
from spiders.failures import failure_reason
from spiders.reading import read_in_pool, warm_up

FRONTIER_PAGE_ROWS = 1000  # frontier rows read back per query
FRONTIER_REFILL_TRIES = 3  # idle turns (5 s each) to wait for spilled rows to be committed

# Known URLs come after new ones: first those with a change signal, then due revisits.
PRIORITY_SIGNALLED = -10
PRIORITY_REVISIT = -20
CALLBACKS = {UrlKind.ROBOTS: "parse_robots", UrlKind.SITEMAP: "parse_sitemap", UrlKind.FEED: "parse_feed"}


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
    settings.set("AUTOTHROTTLE_TARGET_CONCURRENCY", float(source.concurrency), priority="spider")
    settings.set("ROBOTSTXT_OBEY", source.obey_robots, priority="spider")
    settings.set("NEWSARCHIVE_MAX_PAGES", source.max_pages, priority="spider")
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
        max_links: int = 0,
        max_pending: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, name=self.name, **kwargs)
        self.source = source
        self.hosts = source.hosts()
        # What the crawl may reach (crawler.network.boundary): links outside are not followed, and
        # the downloader refuses requests, redirects and browser navigations outside it.
        self.boundary = Boundary((*source.start_urls, *source.feeds, *source.sitemaps), source.allowed_hosts)
        # From the DISCOVERY_* settings (from_crawler): their defaults live in crawler/settings.py only.
        self.max_hops = max_hops
        self.max_sitemap_depth = max_sitemap_depth
        self.budget = PatternBudget(pattern_budget)
        self.max_links = max_links  # DISCOVERY_MAX_LINKS_PER_PAGE (0: no cap)
        # DISCOVERY_MAX_PENDING: past that many requests waiting, new URLs go to the archive's frontier
        # (spilled) and are read back as the queue drains; 0 (or RECRAWL_ENABLED off): no cap.
        self.max_pending = max_pending
        self.pending = 0  # page requests made and not yet sent or dropped
        self.spilled: set[str] = set()  # spilled URLs not read back yet
        self.refill_after = ""  # the frontier is read back in URL order, from here
        self.refill_misses = 0
        # DISCOVERY_SITEMAP_MAX_* and DISCOVERY_FEED_MAX_* (from_crawler); the readers' own defaults otherwise.
        self.sitemap_limits: dict[str, int] = {}
        self.feed_limits: dict[str, int] = {}
        self.warned_link_cap = False
        self.rendering = False
        self.browser_first = False  # render_js auto, learned from earlier runs (crawler.browser.learning)
        self.templates = TemplateLearning()  # render_js auto, learned in this run: page templates that are shells
        self.policy = RevisitPolicy.of(source)
        self.recrawl = False  # RECRAWL_ENABLED (from_crawler)
        self.archive_db: str | None = None
        self.state = KnownUrls()  # the source's crawl state, loaded once when the crawl starts
        # Hints, finders and tracking variants of every page URL met in this run (crawler.discovery.notes);
        # what reaches a page after it was parsed waits in ``late_notes`` for the next callback to yield it.
        self.notes = DiscoveryNotes()
        self.late_notes: list[PageNotesItem | FetchItem] = []  # and refusals of the browser (note_browser_refusal)
        self.article_texts: set[bytes] = set()  # digests of the article texts parsed in this run
        # Page URLs requested in this run: a repeated link (a site's navigation is on every page) stops
        # at a set lookup instead of building a request for the dupefilter to drop.
        self.requested: set[str] = set()
        # Extraction workers, started on the first page (EXTRACT_WORKERS, EXTRACT_MIN_TEXT_CHARS).
        self.extract_workers: int | None = None
        self.min_text_chars = 200
        self._pool: ExtractionPool | None = None
        self._own_pool = False

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
            max_links=crawler.settings.getint("DISCOVERY_MAX_LINKS_PER_PAGE"),
            max_pending=crawler.settings.getint("DISCOVERY_MAX_PENDING")
            if crawler.settings.getbool("RECRAWL_ENABLED")
            else 0,
            **kwargs,
        )
        spider.rendering = rendering
        spider.browser_first = rendering and crawler.settings.getbool("NEWSARCHIVE_RENDER_FIRST")
        spider.templates = TemplateLearning(
            min_shells=crawler.settings.getint("RENDER_LEARN_MIN"),
            share=crawler.settings.getfloat("RENDER_TEMPLATE_SHARE"),
        )
        spider.recrawl = crawler.settings.getbool("RECRAWL_ENABLED")
        spider.sitemap_limits = {
            "max_bytes": crawler.settings.getint("DISCOVERY_SITEMAP_MAX_BYTES"),
            "max_entries": crawler.settings.getint("DISCOVERY_SITEMAP_MAX_ENTRIES"),
            "max_tags": crawler.settings.getint("DISCOVERY_SITEMAP_MAX_TAGS"),
        }
        spider.feed_limits = {
            "max_nesting": crawler.settings.getint("DISCOVERY_FEED_MAX_NESTING"),
            "max_tags": crawler.settings.getint("DISCOVERY_FEED_MAX_TAGS"),
        }
        crawler.signals.connect(spider.start_workers, signal=signals.spider_opened)
        crawler.signals.connect(spider.check_dropped, signal=signals.spider_idle)
        if spider.max_pending:
            crawler.signals.connect(spider.refill_from_frontier, signal=signals.spider_idle)
            crawler.signals.connect(spider.count_gone, signal=signals.request_reached_downloader)
            crawler.signals.connect(spider.count_gone, signal=signals.request_dropped)
        crawler.signals.connect(spider.page_settled, signal=signals.item_scraped)
        spider.archive_db = crawler.settings.get("ARCHIVE_DB")
        spider.extract_workers = crawler.settings.getint("EXTRACT_WORKERS") or None
        spider.min_text_chars = crawler.settings.getint("EXTRACT_MIN_TEXT_CHARS")
        if warning:
            spider.logger.warning(warning, extra={"event": "browser_missing"})
        return spider

    @property
    def pool(self) -> ExtractionPool:
        """The crawl's extraction workers (the extract pipeline uses them too); started on first use."""
        if self._pool is None:
            self._pool = ExtractionPool(workers=self.extract_workers, min_text_chars=self.min_text_chars)
            self._own_pool = True
        return self._pool

    def start_workers(self) -> None:
        """When the crawl opens: the extraction workers start while robots.txt and sitemaps are fetched."""
        self.pool.warm_up(warm_up)

    def use_pool(self, pool: ExtractionPool) -> None:
        """Read pages in ``pool``, which the caller owns (the crawl does not close it)."""
        self._pool = pool
        self._own_pool = False

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
        *,
        signal: str | None = None,
        listed_in: str | None = None,
        fetching: Fetching | None = None,
        link_text: str | None = None,
        queued_freely: bool = False,
    ) -> scrapy.Request | None:
        """A request for a page that may be an article; None when a rule says not to fetch it.

        ``fetching`` given: fetch it for that reason; otherwise the crawl state decides (a known
        page without a change signal is skipped, crawler.discovery.recrawl.decide).
        """
        try:
            target = canonicalize_url(url)
        except ValueError:
            self.crawler.stats.inc_value("newsarchive/links_invalid")
            return None
        if self.boundary.url_refusal(target) is not None or not self._allowed(target):
            return None
        if looks_like_non_html(target):
            self.crawler.stats.inc_value("newsarchive/skipped_non_html_url")
            return None
        if never_article_reason(target):  # log-in, comment feed, print and share links …
            self.crawler.stats.inc_value("newsarchive/skipped_never_article_url")
            return None
        self.take_note(url, target, found_by, hints)
        if fetching is None and target in self.requested:
            return None  # its finder is noted; the request was made already
        known = self.state.get(target)
        if signal is None and link_text:
            signal = link_signal(link_text)
        if fetching is None:
            fetching = decide(known, signal, listed=found_by in (FoundBy.SITEMAP, FoundBy.FEED))
            if fetching == Fetching.SKIP:
                self.crawler.stats.inc_value("newsarchive/recrawl/skipped_known")
                return None
        over_budget = False
        if budgeted and fetching == Fetching.NEW:
            over_budget = not self.budget.allow(target)
        else:
            self.budget.note(target)  # requested anyway: later links to it cost the budget nothing
        if fetching == Fetching.SIGNALLED:
            priority = PRIORITY_SIGNALLED
        elif fetching == Fetching.DUE:
            priority = PRIORITY_REVISIT
        elif priority is None:
            priority = link_priority(target, self.source.article_urls)
        visit = Visit(
            UrlKind.PAGE, fetching, known, found_by, hops, listed_in=listed_in, signal=signal, hints=hints or None
        )
        meta = {
            "kind": "page",
            "found_by": found_by,
            "hops": hops,
            "hints": hints or (known.hints if known and known.hints else {}),
            "referer_url": referer,
            "visit": visit,
        }
        if self.rendering and (self.source.render_js == RenderMode.ALWAYS or self.browser_first):
            meta["playwright"] = True
        request = scrapy.Request(target, callback=self.parse_page, errback=self.on_error, priority=priority, meta=meta)
        if over_budget:
            # Held back until the pattern's pages prove to be articles (page_settled), or for good.
            self.crawler.stats.inc_value("newsarchive/links_over_pattern_budget")
            self.budget.hold(target, request)
            return None
        if self.max_pending and self.pending >= self.max_pending and fetching == Fetching.NEW and not queued_freely:
            self.spill(target, visit)
            return None
        self.requested.add(target)
        self.pending += 1
        return request

    # -- a bounded queue: the frontier in the archive holds what does not fit ---------------------

    def count_gone(self, request: scrapy.Request, spider: Any) -> None:
        """A page request left the queue (sent, or dropped). Counted from page_request, not from the
        scheduler's signal: a page's links are all made before the first of them is scheduled."""
        if request.meta.get("kind") == "page" and not request.meta.get("redirect_urls"):
            self.pending = max(0, self.pending - 1)

    def spill(self, url: str, visit: Visit) -> None:
        """The queue is full: the URL goes to the archive's frontier instead of into memory."""
        if url in self.spilled:
            return
        if not self.spilled:
            self.logger.info(
                "%d requests wait already (DISCOVERY_MAX_PENDING): further URLs go to the archive's frontier "
                "and are read back as the queue drains",
                self.pending,
                extra={"event": "frontier_spilled"},
            )
        self.spilled.add(url)
        self.crawler.stats.inc_value("newsarchive/frontier/spilled")
        self.crawler.signals.send_catch_log(
            signal=frontier_spilled, source=self.source.name, entries=[visit.frontier_entry(url)]
        )

    def refill_from_frontier(self) -> None:
        """The crawl goes idle with spilled URLs: read them back from the frontier, half a queue at a time."""
        if not self.spilled:
            return
        from archive import ArchiveReader  # a crawl that never spills never reads the archive here

        scheduled = 0
        with ArchiveReader(self.archive_db, check=False) as reader:
            while scheduled < max(1, self.max_pending // 2):
                rows = reader.frontier(self.source.name, self.refill_after, FRONTIER_PAGE_ROWS)
                if not rows:
                    self.refill_after = ""  # from the start again next time: rows committed since
                    break
                self.refill_after = rows[-1]["url"]
                for row in rows:
                    if row["url"] not in self.spilled:
                        continue
                    self.spilled.discard(row["url"])
                    request = self.page_request(
                        row["url"],
                        row["found_by"] or FoundBy.LINK,
                        hops=row["hops"] or 0,
                        hints=json.loads(row["hints"]) if row["hints"] else None,
                        signal=row["signal"],
                        listed_in=row["listed_in"],
                        fetching=Fetching.NEW,
                        queued_freely=True,  # read back: this loop bounds how many
                    )
                    if request is not None:
                        self.crawler.engine.crawl(request)
                        scheduled += 1
        self.crawler.stats.inc_value("newsarchive/frontier/read_back", scheduled)
        if scheduled:
            self.refill_misses = 0
            raise DontCloseSpider
        self.refill_misses += 1
        if self.refill_misses <= FRONTIER_REFILL_TRIES:
            raise DontCloseSpider  # spilled rows not committed yet: the archive pipeline commits them shortly
        self.logger.warning(
            "%d spilled URLs were not found in the archive's frontier; the next run fetches them",
            len(self.spilled),
            extra={"event": "frontier_unread"},
        )
        self.spilled.clear()

    def take_note(self, url: str, target: str, found_by: str, hints: dict[str, Any] | None) -> None:
        """Remember who named ``target`` and what they said, whether or not it is requested now: the
        request that fetches it may be another's (the dupefilter keeps the first)."""
        variant = tracking_variant(url, target)
        late = self.notes.note(target, found_by, hints, {variant: AliasReason.TRACKING} if variant else None)
        if late:
            self.crawler.stats.inc_value("newsarchive/late_page_notes")
            # Every way the page was found is kept, a feed that named it late too (its hints' found_by).
            hints = {**late.hints, "found_by": late.found_by} if late.hints or late.new_finder else {}
            self.late_notes.append(PageNotesItem(self.source.name, target, hints, late.aliases))

    def note_variant(self, url: str) -> None:
        """A link not followed (rel=nofollow: share and reply buttons, related posts): when it is a
        tracking variant of a page on the source, note it as an alias of that page."""
        try:
            target = canonicalize_url(url)
        except ValueError:
            return
        if self.boundary.origin_refusal(target) is None and tracking_variant(url, target):
            self.take_note(url, target, FoundBy.LINK, None)

    def note_browser_refusal(self, url: str, refusal: Refusal) -> None:
        """A rendered page's request the browser refused (crawler.browser.download_handler): recorded
        as a skipped fetch with the next callback's items."""
        fetch = Fetch(url=url, found_by=FoundBy.LINK, fetch_mode=FetchMode.BROWSER)
        self.late_notes.append(FetchItem(self.source.name, fetch, FetchOutcome.SKIPPED, refusal.reason, refusal.kind))

    def drain_late_notes(self) -> Iterator[PageNotesItem | FetchItem]:
        while self.late_notes:
            yield self.late_notes.pop(0)

    def learns_templates(self) -> bool:
        """Whether pages fetched over plain HTTP teach which templates need the browser (render_js auto)."""
        return self.rendering and self.source.render_js == RenderMode.AUTO and not self.browser_first

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
                "visit": item.visit,
            },
        )

    def _discovery_request(self, url: str, kind: str, callback: Any, **meta: Any) -> scrapy.Request | None:
        if kind != "robots" and not self._allowed(url):
            return None
        found_by = meta.pop("found_by", FoundBy.START)
        known = self.state.get(url)
        visit = Visit(
            UrlKind(kind),
            meta.pop("fetching", Fetching.EVERY_RUN if known is not None and known.fetched else Fetching.NEW),
            known,
            found_by,
            signal=meta.pop("signal", None),
        )
        return scrapy.Request(
            url,
            callback=callback,
            errback=self.on_error,
            priority=PRIORITY_FEED_OR_SITEMAP + 10,
            meta={"kind": kind, "found_by": found_by, "visit": visit, **meta},
        )

    def load_crawl_state(self) -> None:
        """The source's crawl state from the archive, once per run (nothing when RECRAWL_ENABLED is off)."""
        if not self.recrawl or not self.archive_db or not Path(self.archive_db).exists():
            return
        from archive import ArchiveReader  # loaded when a crawl starts, not when the spider module is imported

        with ArchiveReader(self.archive_db, check=False) as reader:
            self.state = KnownUrls(reader.crawl_state(self.source.name))
        self.crawler.stats.set_value("newsarchive/recrawl/known_urls", len(self.state))

    def state_requests(self) -> Iterator[scrapy.Request | None]:
        """From the crawl state: every-run documents and section fronts, the frontier, then due revisits."""
        frontier, due = self.state.frontier(), self.state.due(time.time(), self.policy)
        self.crawler.stats.set_value("newsarchive/recrawl/frontier", len(frontier))
        self.crawler.stats.set_value("newsarchive/recrawl/due", len(due))
        for known in self.state.every_run():
            yield self.known_request(known, Fetching.EVERY_RUN)
        for known in frontier:
            yield self.known_request(known, Fetching.NEW)
        for known in due:
            yield self.known_request(known, Fetching.DUE)

    def known_request(self, known: KnownUrl, fetching: Fetching) -> scrapy.Request | None:
        if known.kind == UrlKind.PAGE:
            return self.page_request(
                known.url,
                known.found_by or FoundBy.LINK,
                hops=known.hops,
                hints=known.hints,
                priority=PRIORITY_FEED_OR_SITEMAP if fetching == Fetching.EVERY_RUN else None,
                # A frontier URL found by a link counts against the pattern budget, as it did when found.
                budgeted=fetching == Fetching.NEW and known.found_by == FoundBy.LINK,
                listed_in=known.listed_in,
                fetching=fetching,
            )
        return self._discovery_request(
            known.url,
            known.kind,
            getattr(self, CALLBACKS[UrlKind(known.kind)]),
            found_by=known.found_by or FoundBy.START,
            fetching=fetching,
            sitemap_depth=1 if known.found_by == FoundBy.SITEMAP else 0,
        )

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.load_crawl_state()
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
                self.page_request(
                    url, FoundBy.START, hops=0, priority=PRIORITY_FEED_OR_SITEMAP, fetching=Fetching.EVERY_RUN
                )
                for url in self.source.start_urls
            ),
        ]
        requests.extend(self.state_requests())
        for request in requests:
            if request is not None:
                yield request

    # -- callbacks --------------------------------------------------------------------------

    def fetch_of(self, response: Response) -> Fetch:
        meta = response.meta
        redirects = meta.get("redirect_urls") or []
        warc = meta.get("warc") or {}  # the WARC record of this answer (crawler.middlewares.warc_records)
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
            etag=_header(response, b"ETag"),
            last_modified=_header(response, b"Last-Modified"),
            body_hash=body_hash(response.body) if response.status == 200 else None,
            warc_file=warc.get("file"),
            warc_offset=warc.get("offset"),
            warc_length=warc.get("length"),
        )

    def unchanged_item(self, response: Response, fetch: Fetch) -> FetchItem | None:
        """A 304, or a body byte-identical to our copy: what to record instead of parsing it again; else None."""
        visit: Visit | None = response.meta.get("visit")
        known = visit.known if visit is not None else None
        if response.status == 304:
            reason = "304 Not Modified"
        elif known is not None and known.removed_at is None and fetch.body_hash and fetch.body_hash == known.body_hash:
            reason = "body identical to the last fetch"
        else:
            return None
        self.crawler.stats.inc_value("newsarchive/recrawl/not_modified")
        outcome = FetchOutcome.NOT_MODIFIED
        if response.status != 304 and known is not None and known.article_id is not None:
            outcome = FetchOutcome.UNCHANGED
        return FetchItem(self.source.name, fetch, outcome, reason, visit=visit)

    def parse_robots(self, response: Response) -> Iterator[Any]:
        fetch = self.fetch_of(response)
        unchanged = self.unchanged_item(response, fetch)
        if unchanged is not None:
            yield unchanged  # the sitemaps it names are in the crawl state: requested every run
            return
        yield FetchItem(self.source.name, fetch, FetchOutcome.DISCOVERY, visit=response.meta.get("visit"))
        text = response.text if isinstance(response, TextResponse) else response.body.decode("utf-8", "replace")
        for url in sitemaps_from_robots(text):
            request = self._discovery_request(
                url, "sitemap", self.parse_sitemap, found_by=FoundBy.ROBOTS, sitemap_depth=0
            )
            if request is not None:
                yield request

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        fetch = self.fetch_of(response)
        visit = response.meta.get("visit")
        unchanged = self.unchanged_item(response, fetch)
        if unchanged is not None:
            yield unchanged
            return
        try:
            sitemap = parse_sitemap(response.body, **self.sitemap_limits)
        except SitemapError as error:
            yield FetchItem(
                self.source.name,
                fetch,
                FetchOutcome.ERROR,
                f"unreadable sitemap: {error}",
                ReasonKind.UNREADABLE_SITEMAP,
                visit=visit,
            )
            return
        yield FetchItem(
            self.source.name,
            fetch,
            FetchOutcome.DISCOVERY,
            f"{sitemap.kind} with {len(sitemap.entries)} entries"
            + (
                f" (lists more than {len(sitemap.entries)}; the rest were not read: DISCOVERY_SITEMAP_MAX_ENTRIES)"
                if sitemap.truncated
                else ""
            ),
            visit=visit,
        )
        depth = response.meta.get("sitemap_depth", 0)
        if sitemap.kind == "index":
            if depth >= self.max_sitemap_depth:
                self.crawler.stats.inc_value("newsarchive/sitemap_depth_exceeded")
                return
            for entry in sitemap.entries:
                url = urljoin(response.url, entry.url)
                known = self.state.get(url)
                # Sitemap window: a sub-sitemap whose <lastmod> is not newer than our copy is not fetched.
                fetching = decide(known, entry.lastmod, listed=True)
                if fetching == Fetching.SKIP and entry.lastmod:
                    self.crawler.stats.inc_value("newsarchive/recrawl/sitemaps_unchanged")
                    continue
                # The dupefilter stops an index that lists itself or its parent: each URL is fetched once.
                request = self._discovery_request(
                    url,
                    "sitemap",
                    self.parse_sitemap,
                    found_by=FoundBy.SITEMAP,
                    sitemap_depth=depth + 1,
                    signal=entry.lastmod,
                    fetching=Fetching.EVERY_RUN if fetching == Fetching.SKIP else fetching,
                )
                if request is not None:
                    yield request
            return
        listed: set[str] = set()
        for entry in sitemap.entries:
            priority = PRIORITY_FEED_OR_SITEMAP + (5 if entry.news else 0)
            url = urljoin(response.url, entry.url)
            request = self.page_request(
                url,
                FoundBy.SITEMAP,
                hints=entry.hints(),
                priority=priority,
                signal=entry.lastmod,
                listed_in=fetch.url,
            )
            if request is not None:
                yield request
            try:
                canonical = canonicalize_url(url)
            except ValueError:
                continue
            listed.add(canonical)
        # Articles it lists for the first time are recorded as listed there; those it listed before
        # and lists no more (deleted, or moved to another sitemap?) are checked when the crawl is idle.
        newly_listed = self.state.note_sitemap(fetch.url, listed)
        if newly_listed:
            yield ListedItem(self.source.name, fetch.url, newly_listed)
        yield from self.drain_late_notes()

    def parse_feed(self, response: Response) -> Iterator[Any]:
        fetch = self.fetch_of(response)
        visit = response.meta.get("visit")
        unchanged = self.unchanged_item(response, fetch)
        if unchanged is not None:
            yield unchanged
            return
        try:
            feed = parse_feed(response.body, response.url, fetch.content_type, **self.feed_limits)
        except FeedError as error:
            yield FetchItem(
                self.source.name,
                fetch,
                FetchOutcome.ERROR,
                f"unreadable feed: {error}",
                ReasonKind.UNREADABLE_FEED,
                visit=visit,
            )
            return
        yield FetchItem(
            self.source.name,
            fetch,
            FetchOutcome.DISCOVERY,
            f"{feed.kind} feed with {len(feed.entries)} entries",
            visit=visit,
        )
        for entry in feed.entries:
            request = self.page_request(
                entry.url,
                FoundBy.FEED,
                hints=entry.hints(),
                priority=PRIORITY_FEED_OR_SITEMAP,
                signal=entry.updated or entry.published,
            )
            if request is not None:
                yield request
        yield from self.drain_late_notes()

    async def parse_page(self, response: Response) -> AsyncIterator[Any]:
        fetch = self.fetch_of(response)
        visit: Visit | None = response.meta.get("visit")
        removed = removal_status(visit.known if visit else None, response.status, fetch.url, fetch.final_url)
        if removed is not None:
            yield FetchItem(
                self.source.name,
                fetch,
                FetchOutcome.ERROR,
                f"the article now redirects to the home page ({fetch.final_url}): removed",
                ReasonKind.REDIRECTED_HOME,
                visit=visit,
                removed_status=removed,
            )
            return
        unchanged = self.unchanged_item(response, fetch)
        if unchanged is not None:
            yield unchanged  # nothing to extract, and its links are the ones we followed last time
            return
        if "download_stopped" in response.flags or not is_html_content_type(fetch.content_type):
            reason = f"not HTML ({fetch.content_type or 'no content type'})"
            yield FetchItem(self.source.name, fetch, FetchOutcome.SKIPPED, reason, ReasonKind.NOT_HTML, visit=visit)
            return
        if not isinstance(response, TextResponse):
            yield FetchItem(
                self.source.name, fetch, FetchOutcome.SKIPPED, "not a text response", ReasonKind.NOT_HTML, visit=visit
            )
            return
        meta = response.meta
        hops = meta.get("hops", 0)
        redirect_urls = list(meta.get("redirect_urls") or [])
        # Extracted and its links read in one worker call: this process never parses the page.
        fields, links = await read_in_pool(
            self.pool,
            response.body,
            response.url,
            fetch.content_type,
            follow_links=self.source.follow_links and hops < self.max_hops,
            headlines=len(self.state) > 0,  # a headline's text is a signal only about known pages
            selector_type=selector_type(response),
            max_links=self.max_links,
        )
        hints, aliases = self.page_notes(response, fetch, redirect_urls, links)
        yield PageItem(
            source=self.source.name,
            fetch=fetch,
            body=response.body,
            redirect_urls=redirect_urls,
            hints=hints,
            fetch_mode=FetchMode.BROWSER if meta.get("playwright") else FetchMode.PLAIN,
            visit=visit,
            aliases=aliases,
            fields=fields,
        )
        for request in self.feed_requests(response.url, links):
            yield request
        for request in self.canonical_request(response.url, links, hops):
            yield request
        for request in self.link_requests(response.url, links, hops):
            yield request
        for item in self.drain_late_notes():
            yield item

    def page_notes(
        self, response: TextResponse, fetch: Fetch, redirect_urls: list[str], links: PageLinks
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """The page's hints and aliases: its request's, with what every other finder of its URLs said
        (a news sitemap or feed that named it after a link had), and its ``<link rel="shortlink">``."""
        urls = [fetch.url, *redirect_urls]
        try:
            urls.append(canonicalize_url(fetch.final_url or fetch.url))
        except ValueError:
            pass
        note = self.notes.take(dict.fromkeys(urls))
        hints = merge_hints(response.meta.get("hints") or {}, note.hints)
        if hints and len(note.found_by) > 1:
            hints["found_by"] = note.found_by  # every way the crawl met it, in order
        declared = {
            **shortlink_aliases(links.shortlink, response.url),
            **amp_aliases(links.amphtml, response.url),
        }
        aliases = {**note.aliases, **declared}
        return hints, {url: reason for url, reason in aliases.items() if url not in urls}

    def feed_requests(self, page_url: str, links: PageLinks) -> Iterator[scrapy.Request]:
        for url, title in links.feeds:
            if unwanted_feed_reason(url, page_url, title):
                self.crawler.stats.inc_value("newsarchive/skipped_unwanted_feed")
                continue
            if self.boundary.url_refusal(url) is None:
                request = self._discovery_request(url, "feed", self.parse_feed, found_by=FoundBy.LINK)
                if request is not None:
                    yield request

    def canonical_request(self, page_url: str, links: PageLinks, hops: int) -> Iterator[scrapy.Request]:
        """An AMP or tracking-parameter copy points at its canonical page: make sure that one is fetched."""
        url = links.canonical
        if not url:
            return
        try:
            if canonicalize_url(url) == canonicalize_url(page_url):
                return  # the page names itself: nothing to fetch, and no other finder of it
        except ValueError:
            return
        request = self.page_request(url, FoundBy.CANONICAL, hops=hops, referer=page_url)
        if request is not None:
            yield request

    def link_requests(self, page_url: str, links: PageLinks, hops: int) -> Iterator[scrapy.Request]:
        taken = links.links
        if self.max_links and len(taken) > self.max_links:
            # A page with more links than any real page has (a hostile or broken one; its worker stopped
            # reading after one more): the first ones only, so one page cannot fill the queue and memory.
            self.crawler.stats.inc_value("newsarchive/pages_over_link_cap")
            if not self.warned_link_cap:
                self.warned_link_cap = True
                self.logger.warning(
                    "%s has more than %d links; only the first %d were taken (DISCOVERY_MAX_LINKS_PER_PAGE)",
                    page_url,
                    self.max_links,
                    self.max_links,
                    extra={"event": "links_over_page_cap"},
                )
            taken = taken[: self.max_links]
        for url, nofollow in taken:
            if nofollow:
                self.note_variant(url)  # not followed, but a tracking variant of it is an alias
                continue
            request = self.page_request(
                url,
                FoundBy.LINK,
                hops=next_hops(hops, url),
                referer=page_url,
                budgeted=True,
                link_text=links.headlines.get(url),
            )
            if request is not None:
                yield request

    def page_settled(self, item: Any) -> None:
        """A page went through the pipelines: a new article gives its page back to its URL pattern's
        budget, and so does the page that linked it first (a listing page that leads to new articles,
        page 300 of a big section, is no trap either); that lets held links of the patterns through
        (crawler.discovery.links.PatternBudget)."""
        if not isinstance(item, PageItem) or not item.is_article:
            return
        text = (item.fields or {}).get("text") or ""
        digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
        if digest in self.article_texts:
            return  # the same text again is no new article
        self.article_texts.add(digest)
        released = self.budget.settle(item.fetch.url, new_article=True)
        if item.fetch.referer:
            try:
                released += self.budget.settle(canonicalize_url(item.fetch.referer), new_article=True)
            except ValueError:
                pass
        for request in released:
            self.requested.add(request.url)
            self.crawler.engine.crawl(request)
        if released:
            self.crawler.stats.inc_value("newsarchive/links_released_by_articles", len(released))

    def check_dropped(self) -> None:
        """When the crawl goes idle: check once each archived article that left its sitemap and that
        no other sitemap read in this run lists (was it deleted?)."""
        scheduled = 0
        for known in self.state.take_dropped():
            request = self.page_request(
                known.url, known.found_by or FoundBy.SITEMAP, hops=known.hops, fetching=Fetching.SIGNALLED
            )
            if request is not None:
                self.crawler.engine.crawl(request)
                scheduled += 1
        if scheduled:
            self.crawler.stats.inc_value("newsarchive/recrawl/dropped_from_sitemap", scheduled)
            raise DontCloseSpider

    def closed(self, reason: str) -> None:
        if self._pool is not None and self._own_pool:
            self._pool.close()
        cut = self.budget.exhausted()
        if cut:
            self.crawler.stats.set_value("newsarchive/pattern_budget_exhausted", len(cut))
            self.logger.info(
                "link following stopped at DISCOVERY_PATTERN_BUDGET pages that were not new articles "
                "for %d URL pattern(s) (calendars, query variations?): %s",
                len(cut),
                ", ".join(sorted(cut)[:10]),
                extra={"event": "pattern_budget_exhausted"},
            )

    def on_error(self, failure: Failure) -> Iterator[Any]:
        yield from self.drain_late_notes()
        request = failure.request
        meta = request.meta
        visit: Visit | None = meta.get("visit")
        if failure.check(AlreadyFetched):
            return  # a redirect to a page we have (the archive pipeline recorded the chain)
        if failure.check(MaxPagesReached):
            return  # not sent: max_pages reached; it stays in the frontier for the next run
        if failure.check(OutsideBoundary):
            # Never fetched: a redirect, meta refresh or browser navigation off the source, or a
            # private address. Recorded on the URL that led there.
            refused: OutsideBoundary = failure.value
            fetch = Fetch(
                url=(meta.get("redirect_urls") or [request.url])[0],
                final_url=refused.url,
                found_by=meta.get("found_by", FoundBy.LINK),
                depth=meta.get("hops", 0),
                referer=meta.get("referer_url"),
            )
            yield FetchItem(
                self.source.name, fetch, FetchOutcome.SKIPPED, refused.refusal.reason, refused.refusal.kind, visit=visit
            )
            return
        if failure.check(ForbiddenByRobots):
            # Never fetched: the site asked us not to. Out of the frontier, until its revisit.
            if visit is not None:
                url = (meta.get("redirect_urls") or [request.url])[0]
                yield NotFetchedItem(self.source.name, url, visit, "forbidden by robots.txt")
            return
        if failure.check(HttpError):
            response = failure.value.response
            fetch = self.fetch_of(response)
            robots_missing = meta.get("kind") == "robots" and response.status == 404
            outcome = FetchOutcome.DISCOVERY if robots_missing else FetchOutcome.ERROR
            removed = removal_status(visit.known if visit else None, response.status, fetch.url, fetch.final_url)
            yield FetchItem(
                self.source.name,
                fetch,
                outcome,
                http_status_reason(response) + (": removed" if removed else ""),
                ReasonKind.HTTP_STATUS,
                visit=visit,
                removed_status=removed,
            )
            return
        fetch = Fetch(
            url=request.url,
            found_by=meta.get("found_by", FoundBy.LINK),
            depth=meta.get("hops", 0),
            referer=meta.get("referer_url"),
        )
        reason, kind = failure_reason(failure, self.crawler.settings)
        yield FetchItem(self.source.name, fetch, FetchOutcome.ERROR, reason, kind, visit=visit)


def http_status_reason(response: Response) -> str:
    """``HTTP 404``; for a redirect Scrapy did not follow, where it pointed (a ``file:`` or ``ftp:`` URL is
    never followed: only http and https are)."""
    reason = f"HTTP {response.status}"
    location = _header(response, b"Location") if 300 <= response.status < 400 else None
    if location:
        scheme = urlsplit(urljoin(response.url, location)).scheme.lower()
        if scheme not in ("http", "https"):
            reason += f": a redirect to a {scheme}: URL, not followed (only http and https are)"
    return reason


def selector_type(response: TextResponse) -> str | None:
    """How Scrapy's own selector parses the response: as HTML, as XML, or as parsel decides (plain text)."""
    if isinstance(response, XmlResponse):
        return "xml"
    return "html" if isinstance(response, HtmlResponse) else None


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1").strip() or None if value else None
