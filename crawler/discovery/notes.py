"""What one crawl learned about a page URL from every place that named it, whichever request fetched it.

A page is requested once (Scrapy's dupefilter drops every later request for the same URL), but it
may be named many times: a plain link on the home page first, then an entry of a Google News
sitemap with its ``news:title`` and ``news:publication_date``, a feed entry with its author, links
with ``utm_*`` or ``fbclid`` parameters. The request carries only what its first finder knew.
:class:`DiscoveryNotes` keeps, per canonical URL and for the run, the hints of every feed and
sitemap entry, every way the URL was found and the tracking-parameter variants it was linked
under, so the spider can hand all of it to the page when it is parsed (:meth:`DiscoveryNotes.take`)
and, for a page parsed before a later finder named it, hand over what arrived late
(:meth:`DiscoveryNotes.note` says so). Bounded: the oldest notes go first past ``limit`` URLs.
No settings.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

from archive.models import AliasReason
from archive.tracking import is_tracking_parameter
from crawler.discovery.urls import SESSION_PATH_PARAMETER, canonicalize_url

# Notes kept per run: far more URLs than a crawl of one source fetches; beyond it the oldest go.
MAX_NOTED_URLS = 200_000
# Variants kept per URL: a page linked with a hundred campaign tags needs only a few of them recorded.
MAX_VARIANTS_PER_URL = 20


@dataclass
class UrlNote:
    """Everything the crawl was told about one canonical URL so far."""

    hints: dict[str, Any] = field(default_factory=dict)
    found_by: list[str] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)  # other URL -> AliasReason
    parsed: bool = False  # the page was parsed (handed to the pipelines) in this run


@dataclass(frozen=True)
class Late:
    """What a finder added to a URL whose page was already parsed in this run."""

    hints: dict[str, Any]
    aliases: dict[str, str]
    found_by: list[str]
    new_finder: bool = False  # a way of finding the page (feed, sitemap …) not seen for it before

    def __bool__(self) -> bool:
        return bool(self.hints or self.aliases or self.new_finder)


def merge_hints(first: Mapping[str, Any], later: Mapping[str, Any]) -> dict[str, Any]:
    """``first`` with the keys only ``later`` has: the first finder's value of a key wins."""
    merged = dict(first)
    for key, value in later.items():
        if value not in (None, "", [], {}) and merged.get(key) in (None, "", [], {}):
            merged[key] = value
    return merged


def tracking_variant(url: str, canonical: str) -> str | None:
    """``url`` without its fragment when it differs from ``canonical`` by tracking or session
    parameters (``utm_*``, ``fbclid``, ``;jsessionid=`` …, archive.tracking): an alias worth
    recording; None for a URL that is the canonical one or differs from it only in form
    (parameter order, percent-encoding, a fragment)."""
    parts = urlsplit(url.strip())
    without_fragment = urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))
    if without_fragment == canonical:
        return None
    keys = [key for key, _ in parse_qsl(parts.query, keep_blank_values=True)]
    if any(is_tracking_parameter(key) for key in keys) or SESSION_PATH_PARAMETER.search(parts.path):
        return without_fragment
    return None


class DiscoveryNotes:
    """Per-run notes on page URLs (keys are canonical URLs, crawler.discovery.urls.canonicalize_url)."""

    def __init__(self, limit: int = MAX_NOTED_URLS) -> None:
        self.limit = limit
        self.notes: OrderedDict[str, UrlNote] = OrderedDict()

    def __len__(self) -> int:
        return len(self.notes)

    def get(self, url: str) -> UrlNote | None:
        return self.notes.get(url)

    def note(
        self,
        url: str,
        found_by: str,
        hints: Mapping[str, Any] | None = None,
        aliases: Mapping[str, str] | None = None,
    ) -> Late:
        """Record one finding of ``url``; what it adds to a page already parsed comes back (falsy otherwise)."""
        note = self.notes.get(url)
        if note is None:
            note = self.notes[url] = UrlNote()
            while len(self.notes) > self.limit:
                self.notes.popitem(last=False)
        new_hints = {
            key: value
            for key, value in (hints or {}).items()
            if value not in (None, "", [], {}) and note.hints.get(key) in (None, "", [], {})
        }
        new_aliases = {
            alias: reason
            for alias, reason in (aliases or {}).items()
            if alias not in note.aliases and len(note.aliases) < MAX_VARIANTS_PER_URL
        }
        note.hints.update(new_hints)
        note.aliases.update(new_aliases)
        new_finder = found_by not in note.found_by
        if new_finder:
            note.found_by.append(found_by)
        if not note.parsed:
            return Late({}, {}, [])
        return Late(new_hints, new_aliases, list(note.found_by), new_finder)

    def take(self, urls: Iterable[str]) -> UrlNote:
        """The notes of a page being parsed, reached under ``urls`` (its request URL, redirect hops,
        final URL): merged in that order, and each marked parsed, so later findings come back as late."""
        merged = UrlNote(parsed=True)
        for url in urls:
            note = self.notes.get(url)
            if note is None:
                note = self.notes[url] = UrlNote()
            note.parsed = True
            merged.hints = merge_hints(merged.hints, note.hints)
            merged.found_by += [way for way in note.found_by if way not in merged.found_by]
            merged.aliases.update({alias: reason for alias, reason in note.aliases.items() if alias not in urls})
        return merged


def declared_alias(href: str | None, base_url: str, reason: str) -> dict[str, str]:
    """A URL the page itself declares for itself (a ``<link>`` href), canonical, as an alias for ``reason``."""
    if not href or not href.strip():
        return {}
    try:
        url = canonicalize_url(urljoin(base_url, href.strip()))
    except ValueError:  # not an http(s) URL
        return {}
    parts = urlsplit(url)
    if parts.path in ("", "/") and not parts.query:
        return {}  # a template that names the home page names no copy of this article
    return {url: reason}


def shortlink_aliases(href: str | None, base_url: str) -> dict[str, str]:
    """The page's ``<link rel="shortlink">`` as an alias (WordPress prints ``/?p=123``, others wp.me links)."""
    return declared_alias(href, base_url, AliasReason.SHORTLINK)


def amp_aliases(href: str | None, base_url: str) -> dict[str, str]:
    """The page's ``<link rel="amphtml">``: its AMP copy, an alternate of it (reason ``canonical``, as
    when the copy is fetched and names the page as its canonical)."""
    return declared_alias(href, base_url, AliasReason.CANONICAL)
