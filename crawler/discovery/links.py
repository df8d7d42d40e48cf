"""Rules that keep link following useful and finite.

Plain functions and one small budget class used by the news spider: which links are
pagination (they do not count as a hop), which look like articles (fetched first), and a
per-URL-pattern budget so endless calendars and query-string variations cannot trap a crawl.
Settings: ``DISCOVERY_MAX_DEPTH``, ``DISCOVERY_PATTERN_BUDGET``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from urllib.parse import urlsplit

from crawler.discovery.urls import url_pattern

_PAGINATION = re.compile(r"(/page/\d+/?$)|([?&](page|p|pg|paged|start|offset)=\d+(&|$))", re.IGNORECASE)
_DATED_PATH = re.compile(r"/(19|20)\d{2}/[01]?\d/([0-3]?\d/)?[^/]+")
_NON_ARTICLE_PATH = re.compile(
    r"^/(tag|tags|category|categories|author|authors|section|topics?|search|login|signin|register|"
    r"about|contact|privacy|terms|cookies?|subscribe|newsletter|feed|calendar|archive)(/|$)",
    re.IGNORECASE,
)

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


def next_hops(current_hops: int, url: str) -> int:
    """Hops for a link found on a page ``current_hops`` away from a start URL."""
    return current_hops if is_pagination(url) else current_hops + 1


class PatternBudget:
    """Counts pages per URL pattern and says no once a pattern has had its share.

    It counts pages, not links: a URL costs its pattern one page the first time it is allowed (or
    :meth:`note`d as requested for another reason, e.g. listed in a sitemap, which costs nothing);
    every later link to it is allowed again for free (the dupefilter drops the repeat request).
    URLs are expected canonical (crawler.discovery.urls.canonicalize_url).
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.counts: Counter[str] = Counter()
        self.requested: set[str] = set()

    def allow(self, url: str) -> bool:
        if self.budget <= 0 or url in self.requested:
            return True
        pattern = url_pattern(url)
        if self.counts[pattern] >= self.budget:
            return False
        self.counts[pattern] += 1
        self.requested.add(url)
        return True

    def note(self, url: str) -> None:
        """``url`` is requested outside the budget (sitemap, feed, start URL …): links to it cost nothing."""
        if self.budget > 0:
            self.requested.add(url)

    def exhausted(self) -> list[str]:
        return [pattern for pattern, count in self.counts.items() if count >= self.budget]
