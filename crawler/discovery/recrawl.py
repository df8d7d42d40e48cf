"""What a recurring crawl fetches again, and when: the rules of incremental crawling, as plain functions.

The archive's ``crawl_state`` (archive/crawl_state.py) holds one row per URL a source has fetched or
found; the spider loads it once per run as :class:`KnownUrl` objects and asks :func:`decide` about
every URL it meets. A run fetches, in this order (``Fetching``):

1. Discovery documents, every run, each conditionally: robots.txt, feeds, top-level sitemaps, start
   pages and the first page of each section (:func:`fetched_every_run`). Sub-sitemaps of an index
   are fetched only when the index's ``<lastmod>`` for them is newer than our copy; deeper listing
   pages (pagination, tag and author pages) follow the revisit ladder like articles.
2. ``NEW`` URLs: never fetched, including the frontier a killed run left.
3. ``SIGNALLED`` known URLs: a sitemap ``<lastmod>`` or feed date that changed since our fetch and
   is newer than it, a link whose text shows another headline than the archived one (a teaser
   updated with the story), a removed article listed again, a URL that dropped out of the sitemap
   that listed it (was it deleted?).
4. ``DUE`` known URLs whose revisit time has come, most overdue first, at most the source's
   ``revisit_budget`` per run (:func:`due_revisits`).

After each fetch :func:`state_after_fetch` computes the row to store: validators, body hash,
unchanged count and the next revisit from the source's ladder (``revisit``, growing while the page
stays unchanged, none past ``revisit_max_age``; :class:`RevisitPolicy`). Source keys: ``revisit``,
``revisit_max_age``, ``revisit_budget`` (docs/sources.md).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from archive.dates import iso_from_timestamp, parse_utc, to_utc_iso
from archive.models import FetchOutcome, FoundBy, UrlKind
from crawler.discovery.links import is_pagination

HEADLINE_SIGNAL = "headline: "  # crawl_state.signal of a link text (link_signal)
MIN_TEASER_WORDS = 4
REMOVED_STATUSES = (404, 410)
# Paths that are listings but not section fronts: fetched on the revisit ladder, not every run.
_NOT_A_SECTION = re.compile(
    r"^/(tag|tags|author|authors|search|calendar|archive|archives|login|signin|register|about|contact|privacy|"
    r"terms|cookies?|subscribe|newsletter|feed)(/|$)",
    re.IGNORECASE,
)


class Fetching(StrEnum):
    """Why a URL is fetched in this run (``request.meta["visit"].fetching``)."""

    EVERY_RUN = "every_run"  # a discovery document or section front
    NEW = "new"  # never fetched (frontier included)
    SIGNALLED = "signalled"  # a change signal newer than our copy
    DUE = "due"  # its revisit time has come
    SKIP = "skip"  # known and not due: not fetched


@dataclass(frozen=True)
class RevisitPolicy:
    """A source's revisit ladder (seconds), the age past which articles are not revisited, and the per-run budget."""

    intervals: tuple[float, ...]
    max_age: float
    budget: int

    @classmethod
    def of(cls, source: Any) -> RevisitPolicy:
        return cls(tuple(source.revisit), float(source.revisit_max_age), int(source.revisit_budget))

    def next_due(self, now: float, unchanged_count: int, age_start: float | None) -> float | None:
        """When a page fetched at ``now``, unchanged ``unchanged_count`` times in a row, is due again."""
        if not self.intervals:
            return None
        if age_start is not None and now - age_start > self.max_age:
            return None
        return now + self.intervals[min(unchanged_count, len(self.intervals) - 1)]


@dataclass(slots=True)
class KnownUrl:
    """One crawl_state row, as the spider needs it (times as POSIX seconds)."""

    url: str
    kind: str
    found_by: str | None
    hops: int
    listed_in: str | None
    hints: dict[str, Any] | None
    signal: str | None
    discovered_at: float
    fetched_at: float | None
    status: int | None
    outcome: str | None
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    article_id: int | None
    published_at: float | None
    content_changed_at: float | None
    unchanged_count: int
    next_due_at: float | None
    removed_at: float | None
    title: str | None = None  # the archived article's headline (for headline signals from links)

    @property
    def fetched(self) -> bool:
        return self.fetched_at is not None

    def validators(self) -> tuple[str | None, str | None]:
        """(ETag, Last-Modified) to send back, when the stored copy came from a full answer."""
        if self.fetched_at is None or self.removed_at is not None or self.body_hash is None:
            return None, None
        return self.etag, self.last_modified


def _seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parse_utc(value).timestamp()
    except ValueError:
        return None


def known_url(row: Mapping[str, Any]) -> KnownUrl:
    """A crawl_state row (archive.crawl_state.load_state) as a KnownUrl."""
    hints = None
    if row.get("hints"):
        try:
            hints = json.loads(row["hints"])
        except ValueError:
            hints = None
    return KnownUrl(
        url=row["url"],
        kind=row["kind"],
        found_by=row.get("found_by"),
        hops=int(row.get("hops") or 0),
        listed_in=row.get("listed_in"),
        hints=hints if isinstance(hints, dict) else None,
        signal=row.get("signal"),
        discovered_at=_seconds(row.get("discovered_at")) or 0.0,
        fetched_at=_seconds(row.get("fetched_at")),
        status=row.get("status"),
        outcome=row.get("outcome"),
        etag=row.get("etag"),
        last_modified=row.get("last_modified"),
        body_hash=row.get("body_hash"),
        article_id=row.get("article_id"),
        published_at=_seconds(row.get("published_at")),  # stored in UTC (a partial date reads as None)
        content_changed_at=_seconds(row.get("content_changed_at")),
        unchanged_count=int(row.get("unchanged_count") or 0),
        next_due_at=_seconds(row.get("next_due_at")),
        removed_at=_seconds(row.get("removed_at")),
        title=row.get("title"),
    )


def body_hash(body: bytes) -> str:
    """The raw body's hash, as stored in crawl_state.body_hash."""
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def signal_time(value: str | None) -> float | None:
    """A sitemap <lastmod> or feed date as POSIX seconds; a date alone counts as the end of that day.

    None when it is missing or unreadable (then it is no signal at all).
    """
    normalised = to_utc_iso(value) if value else None
    if not normalised:
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", normalised):
        try:
            day = datetime.fromisoformat(normalised).replace(tzinfo=UTC)
        except ValueError:  # "2025-13-45"
            return None
        return (day + timedelta(days=1) - timedelta(seconds=1)).timestamp()
    return _seconds(normalised)


def link_signal(link_text: str | None) -> str | None:
    """A headline link's text as a change signal (``headline: …``, normalised): a teaser that no
    longer matches the archived headline says the article changed. None for a link without words.
    The spider gives only links in headings or title/headline elements (a teaser), never links in
    running text, whose words are not a headline."""
    words = re.sub(r"[\W_]+", " ", (link_text or "").casefold()).split()
    return f"{HEADLINE_SIGNAL}{' '.join(words)}" if words else None


def headline_differs(signal: str, title: str | None) -> bool:
    """Whether a teaser (a ``link_signal``) shows another headline than the archived one.

    Teasers shorten headlines, so one containing the other is no change; short link texts ("Read
    more", "Politics") and pages without a headline are never a signal.
    """
    teaser = signal.removeprefix(HEADLINE_SIGNAL)
    headline = " ".join(re.sub(r"[\W_]+", " ", (title or "").casefold()).split())
    if not headline or len(teaser.split()) < MIN_TEASER_WORDS:
        return False
    return teaser not in headline and headline not in teaser


def is_section_front(url: str) -> bool:
    """A listing worth reading every run: not a pagination, tag, author, search or calendar page."""
    return not is_pagination(url) and not _NOT_A_SECTION.search(urlsplit(url).path or "/")


def fetched_every_run(known: KnownUrl) -> bool:
    """Discovery documents and section fronts: fetched (conditionally) by every run."""
    if known.kind in (UrlKind.ROBOTS, UrlKind.FEED):
        return True
    if known.kind == UrlKind.SITEMAP:
        # A sub-sitemap whose index gives a <lastmod> is fetched only when that lastmod moves.
        return known.found_by != FoundBy.SITEMAP or known.signal is None
    if known.article_id is not None or known.outcome not in (FetchOutcome.REJECTED, FetchOutcome.NOT_MODIFIED):
        return False  # an article, or a page that was not a listing (not HTML, forbidden, an error)
    return known.found_by == FoundBy.START or (known.hops <= 1 and is_section_front(known.url))


def decide(known: KnownUrl | None, signal: str | None = None, *, listed: bool = False) -> Fetching:
    """Whether a URL met in a sitemap, feed or link is fetched now, and why.

    ``signal`` is the change signal that came with it (a sitemap <lastmod>, a feed entry's date, a
    link's text as ``link_signal``); ``listed`` says it came from a sitemap or feed (not a page
    link). A signal counts once, when it differs from the one stored with our copy. Every-run
    documents and due revisits are scheduled from the state at the start of a run, so they are SKIP here.
    """
    if known is None or not known.fetched:
        return Fetching.NEW
    if known.removed_at is not None:
        # Listed again since it went away: is it back? (Once per new listing value, not every run.)
        return Fetching.SIGNALLED if listed and (signal or "listed") != known.signal else Fetching.SKIP
    if signal and signal != known.signal:
        if signal.startswith(HEADLINE_SIGNAL):
            return Fetching.SIGNALLED if headline_differs(signal, known.title) else Fetching.SKIP
        moment = signal_time(signal)
        if moment is not None and moment > (known.fetched_at or 0.0):
            return Fetching.SIGNALLED
    return Fetching.SKIP


def due_revisits(states: Iterable[KnownUrl], now: float, policy: RevisitPolicy) -> list[KnownUrl]:
    """Known pages whose revisit is due, most overdue first, at most the policy's budget."""
    if policy.budget <= 0 or not policy.intervals:
        return []
    due = [
        known
        for known in states
        if known.kind == UrlKind.PAGE
        and known.fetched
        and known.next_due_at is not None
        and known.next_due_at <= now
        and not fetched_every_run(known)
    ]
    due.sort(key=lambda known: known.next_due_at or 0.0)
    return due[: policy.budget]


class KnownUrls:
    """A source's crawl state in memory for one run: loaded once, asked about every URL met.

    Also keeps what this run's sitemaps list, so that an archived article that left the sitemap
    that listed it, and is listed by no other sitemap read in the run, is checked once for removal
    (``note_sitemap``, then ``take_dropped`` when the crawl is idle).
    """

    def __init__(self, rows: Iterable[Mapping[str, Any]] = ()) -> None:
        self.by_url: dict[str, KnownUrl] = {}
        self._listed_by: dict[str, list[KnownUrl]] = {}  # sitemap URL -> archived articles it listed
        self._listed_now: set[str] = set()
        self._dropped: dict[str, KnownUrl] = {}
        for row in rows:
            known = known_url(row)
            self.by_url[known.url] = known
            if known.listed_in and known.article_id is not None:
                self._listed_by.setdefault(known.listed_in, []).append(known)

    def __len__(self) -> int:
        return len(self.by_url)

    def get(self, url: str) -> KnownUrl | None:
        return self.by_url.get(url)

    def every_run(self) -> list[KnownUrl]:
        return [known for known in self.by_url.values() if known.fetched and fetched_every_run(known)]

    def frontier(self) -> list[KnownUrl]:
        return [known for known in self.by_url.values() if not known.fetched]

    def due(self, now: float, policy: RevisitPolicy) -> list[KnownUrl]:
        return due_revisits(self.by_url.values(), now, policy)

    def note_sitemap(self, sitemap_url: str, listed: set[str]) -> list[str]:
        """A sitemap was read and lists ``listed``: the archived articles it lists for the first time
        (first listed, or moved there from another sitemap page), whose ``listed_in`` is to be stored."""
        newly_listed = []
        for url in listed:
            known = self.by_url.get(url)
            if known is not None and known.fetched and known.article_id is not None and known.listed_in != sitemap_url:
                known.listed_in = sitemap_url
                newly_listed.append(url)
        self._listed_now |= listed
        for known in dropped_from_sitemap(self._listed_by.get(sitemap_url, ()), listed):
            self._dropped[known.url] = known
        return sorted(newly_listed)

    def take_dropped(self) -> list[KnownUrl]:
        """Archived articles that left their sitemap and no sitemap read in this run lists (once)."""
        dropped = [known for url, known in self._dropped.items() if url not in self._listed_now]
        self._dropped.clear()
        return dropped


def dropped_from_sitemap(listed_before: Iterable[KnownUrl], listed_now: set[str]) -> list[KnownUrl]:
    """Archived articles a re-read sitemap no longer lists: checked once for removal."""
    return [
        known
        for known in listed_before
        if known.url not in listed_now and known.article_id is not None and known.removed_at is None
    ]


def removal_status(known: KnownUrl | None, status: int | None, url: str, final_url: str | None) -> int | None:
    """The status that says an archived article went away (404, 410, or a redirect to the home page), else None."""
    if known is None or known.article_id is None:
        return None
    if status in REMOVED_STATUSES:
        return status
    if final_url and final_url != url and urlsplit(final_url).path in ("", "/") and urlsplit(url).path not in ("", "/"):
        return 301 if status is None else status
    return None


@dataclass(frozen=True)
class Visit:
    """How a request came about, carried in ``request.meta["visit"]`` to the items and the archive pipeline."""

    kind: UrlKind
    fetching: Fetching
    known: KnownUrl | None = None
    found_by: str = FoundBy.LINK
    hops: int = 0
    listed_in: str | None = None  # the sitemap that listed it
    signal: str | None = None  # the lastmod / feed date that came with it
    hints: Mapping[str, Any] | None = None

    def frontier_entry(self, url: str) -> dict[str, Any]:
        """The crawl_state row of a URL found but not fetched yet."""
        return {
            "url": url,
            "kind": self.kind,
            "found_by": self.found_by,
            "hops": self.hops,
            "listed_in": self.listed_in,
            "signal": self.signal,
            "hints": json.dumps(dict(self.hints), ensure_ascii=False, default=str) if self.hints else None,
        }


@dataclass(frozen=True)
class FetchFacts:
    """What one fetch said, as the state needs it."""

    status: int | None
    fetched_at: str
    outcome: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    article_id: int | None = None
    published_at: str | None = None  # in UTC (archive.dates.to_utc_iso)
    changed: bool = False  # the extracted content (or, for other pages, the body) changed
    removed_status: int | None = None


def state_after_fetch(visit: Visit, facts: FetchFacts, policy: RevisitPolicy, run_id: int) -> dict[str, Any]:
    """The crawl_state columns to store for a fetched URL (archive.Archive.record_crawl_state)."""
    known = visit.known
    now_s = parse_utc(facts.fetched_at).timestamp()
    values: dict[str, Any] = {
        "kind": visit.kind,
        "fetched_at": facts.fetched_at,
        "fetch_run_id": run_id,
        "status": facts.status,
        "outcome": facts.outcome,
    }
    if known is None or not known.fetched:
        values.update(found_by=visit.found_by, hops=visit.hops)
        if visit.listed_in is not None:
            values["listed_in"] = visit.listed_in
    elif visit.fetching == Fetching.SIGNALLED and visit.listed_in is None and known.listed_in:
        values["listed_in"] = None  # checked once after it dropped out of its sitemap
    if visit.signal is not None or (visit.fetching == Fetching.SIGNALLED and known and known.removed_at):
        values["signal"] = visit.signal or "listed"
    full_answer = facts.status is not None and 200 <= facts.status < 300 and facts.body_hash is not None
    if full_answer:
        values.update(etag=facts.etag, last_modified=facts.last_modified, body_hash=facts.body_hash)
    elif facts.status == 304 and facts.outcome == FetchOutcome.NOT_MODIFIED:  # not a 304 we did not ask for
        if facts.etag:
            values["etag"] = facts.etag
        if facts.last_modified:
            values["last_modified"] = facts.last_modified
    if facts.article_id is not None:
        values["article_id"] = facts.article_id
    if facts.published_at:
        values["published_at"] = facts.published_at
    previous_count = known.unchanged_count if known is not None and known.fetched else -1
    if facts.changed or previous_count < 0:
        unchanged = 0
        if facts.changed:
            values["content_changed_at"] = facts.fetched_at
    else:
        unchanged = previous_count + 1
    values["unchanged_count"] = unchanged
    if facts.removed_status is not None:
        values["removed_at"] = iso_from_timestamp(known.removed_at) if known and known.removed_at else facts.fetched_at
    elif full_answer and facts.article_id is not None:
        values["removed_at"] = None
    if visit.kind != UrlKind.PAGE or facts.outcome == FetchOutcome.DUPLICATE:
        # Discovery documents: every run, or when their index says so. A copy or a redirect to a page
        # archived under another URL: that page is the one revisited.
        values["next_due_at"] = None
        return values
    article_id = facts.article_id if facts.article_id is not None else (known.article_id if known else None)
    published = _seconds(facts.published_at)
    if published is None and known is not None:
        published = known.published_at
    changed_at = now_s if facts.changed else (known.content_changed_at if known else None)
    discovered = known.discovered_at if known is not None and known.discovered_at else now_s
    # Articles age from publication; other pages from their last change (a busy listing stays young).
    age_start = (published if article_id is not None else changed_at) or discovered
    due = policy.next_due(now_s, unchanged, age_start)
    values["next_due_at"] = iso_from_timestamp(due) if due is not None else None
    return values
