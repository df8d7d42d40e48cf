"""Rules that keep link following useful and finite.

Plain functions and one small budget class used by the news spider: which links are
pagination (they do not count as a hop), which look like articles (fetched first), and a
per-URL-pattern budget so endless calendars and query-string variations cannot trap a crawl.
Settings: ``DISCOVERY_MAX_DEPTH``, ``DISCOVERY_PATTERN_BUDGET``.
"""

from __future__ import annotations

import re
from collections import Counter, OrderedDict
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from crawler.discovery.urls import never_article_reason, url_pattern

_PAGINATION = re.compile(r"(/page/\d+/?$)|([?&](page|p|pg|paged|start|offset)=\d+(&|$))", re.IGNORECASE)
_DATED_PATH = re.compile(r"/(19|20)\d{2}/[01]?\d/([0-3]?\d/)?[^/]+")
_NON_ARTICLE_PATH = re.compile(
    r"^/(tag|tags|category|categories|author|authors|section|topics?|search|login|signin|register|"
    r"about|contact|privacy|terms|cookies?|subscribe|newsletter|feed|calendar|archive)(/|$)",
    re.IGNORECASE,
)

# The title WordPress and others give a post's comments feed ("Site » Title Comments Feed"), in a few languages.
COMMENT_FEED_TITLE = re.compile(r"comment|kommentar|commentaire|comentario|commenti|reacties|коммент", re.IGNORECASE)
# Feed links named by a never-article rule that are feeds worth reading (a category's, the site's).
READABLE_FEED_RULES = frozenset({"feed of a page", "site feed"})

# Links over a pattern's budget kept waiting for its pages to prove articles; more are dropped.
MAX_HELD_PER_PATTERN = 10_000
MAX_HELD = 50_000  # over all patterns: a site of many query-string traps holds no more than this

PRIORITY_FEED_OR_SITEMAP = 20
PRIORITY_LIKELY_ARTICLE = 10
PRIORITY_PAGINATION = 5
PRIORITY_LISTING = 0


def is_pagination(url: str) -> bool:
    """A next/older page of a listing: /page/3/, ?page=3 …"""
    parts = urlsplit(url)
    return bool(_PAGINATION.search(parts.path + ("?" + parts.query if parts.query else "")))


def looks_like_article_url(url: str, article_patterns: Sequence[re.Pattern] = ()) -> bool:
    """A cheap guess used only to order requests; classification decides after extraction."""
    if article_patterns:
        return any(pattern.search(url) for pattern in article_patterns)
    path = urlsplit(url).path
    if _NON_ARTICLE_PATH.search(path) or path in ("", "/"):
        return False
    if _DATED_PATH.search(path):
        return True
    last = [segment for segment in path.split("/") if segment][-1:]
    return bool(last) and (last[0].count("-") >= 3 or (last[0].isdigit() and len(last[0]) >= 5))


def link_priority(url: str, article_patterns: Sequence[re.Pattern] = ()) -> int:
    if looks_like_article_url(url, article_patterns):
        return PRIORITY_LIKELY_ARTICLE
    if is_pagination(url):
        return PRIORITY_PAGINATION
    return PRIORITY_LISTING


def unwanted_feed_reason(feed_url: str, page_url: str, title: str | None = None) -> str | None:
    """Why a ``<link rel="alternate">`` feed of a page is not worth reading, None when it is.

    WordPress puts on every post the comments feed of the site and of the post (``/<post>/feed/``,
    titled "… Comments Feed") and its REST API entry (``/wp-json/wp/v2/posts/123``, type
    application/json): none of them lists articles. The feed of a section or tag page is kept.
    """
    reason = never_article_reason(feed_url)
    if reason and reason not in READABLE_FEED_RULES:
        return reason
    if title and COMMENT_FEED_TITLE.search(title):
        return "comment feed"
    page_path = urlsplit(page_url).path.rstrip("/") + "/"
    if urlsplit(feed_url).path.startswith(page_path + "feed") and looks_like_article_url(page_url):
        return "comment feed"  # an article's own feed is its comments
    return None


def next_hops(current_hops: int, url: str) -> int:
    """Hops for a link found on a page ``current_hops`` away from a start URL."""
    return current_hops if is_pagination(url) else current_hops + 1


class PatternBudget:
    """Counts pages per URL pattern and holds links back once a pattern has had its share, until its
    pages turn out to be articles.

    A crawler trap (an endless calendar, query-string variations, near-identical pages) is a
    pattern whose pages are not new articles; a section of ``/story/<id>/`` articles shares one
    pattern too, and is no trap. So a pattern may have at most ``budget`` pages fetched that are
    not (yet) known to be new articles: a URL costs its pattern one page the first time it is
    allowed (or :meth:`note`d as requested for another reason, e.g. listed in a sitemap, which
    costs nothing; every later link to it is free, the dupefilter drops the repeat), and a page
    that turns out to be a new article gives its page back (:meth:`settle`). A link over the
    budget is not dropped but :meth:`hold`-en: each page given back lets one held link through
    (returned by :meth:`settle`, for the spider to request). URLs are expected canonical
    (crawler.discovery.urls.canonicalize_url).
    """

    def __init__(self, budget: int, max_held: int = MAX_HELD_PER_PATTERN, max_held_total: int = MAX_HELD) -> None:
        self.budget = budget
        self.max_held = max_held
        self.max_held_total = max_held_total
        self.held_total = 0
        self.counts: Counter[str] = Counter()  # pages charged and not given back, per pattern
        self.articles: Counter[str] = Counter()  # pages that gave their page back, per pattern
        self.requested: set[str] = set()
        self.charged: set[str] = set()  # URLs whose page is counted in ``counts``
        self.held: dict[str, OrderedDict[str, Any]] = {}  # pattern -> url -> what to request

    def allow(self, url: str) -> bool:
        if self.budget <= 0 or url in self.requested:
            return True
        pattern = url_pattern(url)
        if self.counts[pattern] >= self.budget:
            return False
        self._charge(url, pattern)
        return True

    def _charge(self, url: str, pattern: str) -> None:
        self.counts[pattern] += 1
        self.requested.add(url)
        self.charged.add(url)

    def note(self, url: str) -> None:
        """``url`` is requested outside the budget (sitemap, feed, start URL …): links to it cost nothing."""
        if self.budget > 0:
            self.requested.add(url)
            held = self.held.get(url_pattern(url))
            if held and held.pop(url, None) is not None:
                self.held_total -= 1

    def hold(self, url: str, request: Any) -> bool:
        """Keep a link :meth:`allow` refused, to be let through when the pattern's pages prove to be
        articles; False when too many links of the pattern wait already (it is dropped)."""
        held = self.held.setdefault(url_pattern(url), OrderedDict())
        if url in held:
            return True
        if len(held) >= self.max_held or self.held_total >= self.max_held_total:
            return False
        held[url] = request
        self.held_total += 1
        return True

    def settle(self, url: str, new_article: bool) -> list[Any]:
        """The page fetched for ``url`` was parsed: a new article (or a page that led to one) gives its
        page back to its pattern, and the held links that now fit come back, to be requested."""
        if not new_article or url not in self.charged:
            return []
        self.charged.discard(url)
        pattern = url_pattern(url)
        self.counts[pattern] -= 1
        self.articles[pattern] += 1
        released: list[Any] = []
        held = self.held.get(pattern)
        while held and self.counts[pattern] < self.budget:
            waiting_url, request = held.popitem(last=False)
            self.held_total -= 1
            if waiting_url in self.requested:
                continue
            self._charge(waiting_url, pattern)
            released.append(request)
        return released

    def exhausted(self) -> list[str]:
        """Patterns that had links cut or held back (their budget used up by pages that were not articles)."""
        return [
            pattern
            for pattern in dict.fromkeys([*self.counts, *self.held])
            if self.held.get(pattern) or (self.budget > 0 and self.counts[pattern] >= self.budget)
        ]
