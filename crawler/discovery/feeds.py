"""Read RSS, Atom and JSON Feed documents into article links with hints.

feedparser does RSS and Atom (any encoding, sloppy XML, CDATA); JSON Feed is plain JSON. A
feed entry's title, date, authors and language travel with the article request as *hints*,
kept beside what extraction finds. No settings.
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
    return body.lstrip()[:1] == b"{"


def parse_json_feed(body: bytes, base_url: str) -> Feed:
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FeedError(f"not valid JSON Feed: {error}") from error
    except RecursionError:
        # Arrays nested tens of thousands deep: no feed looks like that, and json would exhaust the stack.
        raise FeedError("not a JSON Feed: JSON nested too deeply to read") from None
    if not isinstance(document, dict) or "items" not in document:
        raise FeedError("JSON document has no 'items': not a JSON Feed")
    language = document.get("language")
    entries = []
    for item in document.get("items") or []:
        if not isinstance(item, dict):
            continue
        link = item.get("url") or item.get("external_url")
        if not isinstance(link, str) or not link.strip():
            continue
        authors = item.get("authors") or ([item["author"]] if item.get("author") else [])
        entries.append(
            FeedEntry(
                url=urljoin(base_url, link.strip()),
                title=item.get("title") or None,
                published=item.get("date_published") or None,
                updated=item.get("date_modified") or None,
                authors=tuple(a.get("name") for a in authors if isinstance(a, dict) and a.get("name")),
                tags=tuple(t for t in item.get("tags") or [] if isinstance(t, str)),
                language=item.get("language") or language,
            )
        )
    return Feed(kind="json", title=document.get("title"), entries=entries)


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


def parse_feed(body: bytes, base_url: str, content_type: str | None = None) -> Feed:
    """Parse any RSS/Atom/JSON feed; raise FeedError when the body holds no feed at all."""
    if _looks_like_json(body):
        return parse_json_feed(body, base_url)
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
        if not link:
            continue
        entries.append(
            FeedEntry(
                url=urljoin(base_url, link.strip()),
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
