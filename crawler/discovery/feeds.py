"""Read RSS, Atom and JSON Feed documents into article links with hints.

feedparser does RSS and Atom (any encoding, sloppy XML, CDATA); JSON Feed is plain JSON. A
feed entry's title, date, authors and language travel with the article request as *hints*,
kept beside what extraction finds.

Hostile documents are refused cheaply, before a parser spends the crawl process's time or stack on
them (the caller records the :class:`FeedError` as an unreadable feed):

* a JSON Feed nested deeper than ``max_nesting`` (:data:`MAX_JSON_NESTING`): brackets are counted
  outside strings before ``json`` recurses into them (a real JSON Feed nests about five deep);
* an RSS/Atom document with more than ``max_tags`` (:data:`MAX_FEED_TAGS`) markup tags: feedparser
  spends 30-90 microseconds on each element, so 16 MB of ``<x/>`` would stall the crawl for minutes.

External entities are never resolved (feedparser turns them off) and entity expansion is left to
expat's billion-laughs protection. No settings of their own: the limits are parameters with the
module defaults above.
"""

from __future__ import annotations

import calendar
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urljoin

import feedparser


@dataclass(frozen=True)
class FeedEntry:
    url: str
    title: str | None = None
    published: str | None = None  # ISO 8601 UTC when the date parsed, else the feed's own text
    updated: str | None = None  # the entry's own updated date (Atom <updated>, JSON date_modified), same form
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    language: str | None = None

    def hints(self) -> dict[str, Any]:
        hints = {
            "title": self.title,
            "published_at": self.published,
            "authors": list(self.authors),
            "tags": list(self.tags),
            "language": self.language,
        }
        return {key: value for key, value in hints.items() if value}


@dataclass
class Feed:
    kind: str  # rss | atom | json
    title: str | None
    entries: list[FeedEntry] = field(default_factory=list)


class FeedError(ValueError):
    """The document is not a feed we can read."""


# A JSON Feed nests about five deep (feed, items, item, authors, author); 64 leaves room for any
# extension object while json.loads never comes near the interpreter's recursion limit.
MAX_JSON_NESTING = 64
# Markup tags ("<") an RSS/Atom document may hold. A large real feed has a few thousand (the
# Guardian's 150 KB RSS: 2,000); feedparser takes up to ~90 microseconds an element, so this caps a
# hostile feed at a few seconds of the crawl process's time.
MAX_FEED_TAGS = 50_000

# A JSON string (escapes included) or one bracket; strings are matched whole so that brackets
# inside them are not counted.
_JSON_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.S)


def json_nesting_exceeds(text: str, limit: int) -> bool:
    """Whether the JSON text nests arrays and objects deeper than ``limit``; stops at the first
    bracket past it, so a document nested a million deep costs ``limit`` steps, never a recursion."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for match in _JSON_STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token == "[" or token == "{":
            depth += 1
            if depth > limit:
                return True
        elif token == "]" or token == "}":
            depth = max(depth - 1, 0)
    return False


def _struct_to_iso(parsed: Any) -> str | None:
    if not parsed:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# RFC 822 dates with localised month names ("Seg, 24 Set 2018 19:42:40 -0300") are common in
# non-English feeds; feedparser only knows English ones.
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "ene", "gen", "janv"),
            ("feb", "fev", "fév", "févr", "febr"),
            ("mar", "mär", "mrz", "mars"),
            ("apr", "abr", "avr", "avril"),
            ("may", "mai", "mag", "maio", "mayo"),
            ("jun", "juin", "giu", "junho", "junio"),
            ("jul", "juil", "lug", "julho", "julio"),
            ("aug", "ago", "août", "aout"),
            ("sep", "set", "sept"),
            ("oct", "out", "okt", "ott"),
            ("nov",),
            ("dec", "dez", "déc", "dic"),
        ],
        start=1,
    )
    for name in names
}
_LOCALISED_RFC822 = re.compile(
    r"^(?:[^\W\d_]+\.?,?\s+)?(\d{1,2})\s+([^\W\d_]+)\.?\s+(\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([+-]\d{4}|Z|GMT|UTC)?$"
)


def parse_localised_date(text: str | None) -> str | None:
    """ISO 8601 UTC for an RFC 822 date whose day/month names are not English; None if not one."""
    match = _LOCALISED_RFC822.match((text or "").strip())
    if not match:
        return None
    day, month_name, year, hour, minute, second, zone = match.groups()
    month = _MONTHS.get(month_name.lower())
    if not month:
        return None
    offset = timedelta(0)
    if zone and zone[0] in "+-":
        sign = 1 if zone[0] == "+" else -1
        offset = sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
    try:
        local = datetime(int(year), month, int(day), int(hour), int(minute), int(second or 0), tzinfo=timezone(offset))
    except ValueError:
        return None
    return local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _looks_like_json(body: bytes) -> bool:
    return body.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] == b"{"


def _string(value: Any) -> str | None:
    """A JSON value that must be text: the text, None for anything else (a number, a list, "")."""
    return value if isinstance(value, str) and value else None


def _absolute(base_url: str, link: Any) -> str | None:
    """A feed item's link made absolute; None when there is none or it cannot be parsed as a URL
    (``http://[oops/``: urljoin raises ValueError, which would end the whole feed's reading)."""
    if not isinstance(link, str) or not link.strip():
        return None
    try:
        return urljoin(base_url, link.strip())
    except ValueError:
        return None


def parse_json_feed(body: bytes, base_url: str, max_nesting: int = MAX_JSON_NESTING) -> Feed:
    """Parse a JSON Feed (https://jsonfeed.org); raise FeedError when it is not one, or nests
    arrays and objects deeper than ``max_nesting``."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FeedError(f"not valid JSON Feed: {error}") from error
    if json_nesting_exceeds(text, max_nesting):
        raise FeedError(f"not a JSON Feed: arrays and objects nested too deeply (more than {max_nesting} levels)")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise FeedError(f"not valid JSON Feed: {error}") from error
    except RecursionError:
        # Arrays nested tens of thousands deep: no feed looks like that, and json would exhaust the stack.
        raise FeedError("not a JSON Feed: JSON nested too deeply to read") from None
    if not isinstance(document, dict) or "items" not in document:
        raise FeedError("JSON document has no 'items': not a JSON Feed")
    language = _string(document.get("language"))
    items = document.get("items")
    entries = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        link = _string(item.get("url")) or _string(item.get("external_url"))
        url = _absolute(base_url, link)
        if url is None:
            continue
        # JSON Feed 1.1 lists "authors"; 1.0 had a single "author".
        authors = item.get("authors") if isinstance(item.get("authors"), list) else []
        authors = authors or [item.get("author")]
        tags = item.get("tags") if isinstance(item.get("tags"), list) else []
        entries.append(
            FeedEntry(
                url=url,
                title=_string(item.get("title")),
                published=_string(item.get("date_published")),
                updated=_string(item.get("date_modified")),
                authors=tuple(name for a in authors if isinstance(a, dict) and (name := _string(a.get("name")))),
                tags=tuple(t for t in tags if isinstance(t, str) and t),
                language=_string(item.get("language")) or language,
            )
        )
    return Feed(kind="json", title=_string(document.get("title")), entries=entries)


def _entry_date(entry: Any) -> str | None:
    # dict.get, not FeedParserDict.get: feedparser maps a missing "updated" to "published" with a warning.
    for parsed_key, text_key in (("published_parsed", "published"), ("updated_parsed", "updated")):
        iso = _struct_to_iso(dict.get(entry, parsed_key)) or parse_localised_date(dict.get(entry, text_key))
        if iso or dict.get(entry, text_key):
            return iso or dict.get(entry, text_key)
    return None


def _updated_date(entry: Any) -> str | None:
    """The entry's updated date when the feed gives one itself (a change signal for recurring crawls)."""
    iso = _struct_to_iso(dict.get(entry, "updated_parsed")) or parse_localised_date(dict.get(entry, "updated"))
    return iso or dict.get(entry, "updated") or None


def parse_feed(
    body: bytes,
    base_url: str,
    content_type: str | None = None,
    max_nesting: int = MAX_JSON_NESTING,
    max_tags: int = MAX_FEED_TAGS,
) -> Feed:
    """Parse any RSS/Atom/JSON feed; raise FeedError when the body holds no feed at all, or one
    past the limits (``max_nesting`` for JSON, ``max_tags`` for RSS/Atom; see the module's docstring)."""
    if _looks_like_json(body):
        return parse_json_feed(body, base_url, max_nesting)
    tags = body.count(b"<")
    if tags > max_tags:
        raise FeedError(
            f"not read: {tags:,} markup tags, more than the {max_tags:,} a feed may have "
            "(a real feed lists its newest items, not the whole site)"
        )
    headers = {"content-location": base_url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False)
    version = parsed.get("version") or ""
    if not version and not parsed.entries:
        reason = parsed.get("bozo_exception") or "no RSS/Atom root element"
        raise FeedError(f"not an RSS/Atom feed: {reason}")
    language = parsed.feed.get("language")
    entries = []
    for entry in parsed.entries:
        link = entry.get("link") or next(
            (item.get("href") for item in entry.get("links", []) if item.get("href")), None
        )
        url = _absolute(base_url, link)
        if url is None:
            continue
        entries.append(
            FeedEntry(
                url=url,
                title=(entry.get("title") or "").strip() or None,
                published=_entry_date(entry),
                updated=_updated_date(entry),
                authors=tuple(a.get("name") for a in entry.get("authors", []) if a.get("name")),
                tags=tuple(t.get("term") for t in entry.get("tags", []) if t.get("term")),
                language=language,
            )
        )
    kind = "atom" if version.startswith("atom") else "rss"
    return Feed(kind=kind, title=parsed.feed.get("title"), entries=entries)
