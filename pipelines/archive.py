"""Store every fetch and every article of a crawl in the SQLite archive.

A thin shell over the ``archive`` library: one crawl run per spider, one ``Archive`` connection,
writes committed in batches (by count, and at least every ``ARCHIVE_COMMIT_INTERVAL`` seconds so
a kill loses at most that much). Which URL an article is stored under is decided here, by
``article_identity`` (canonical link on the source's hosts, else the fetched URL). Settings:
``ARCHIVE_DB``, ``ARCHIVE_BATCH_SIZE``, ``ARCHIVE_COMMIT_INTERVAL``, ``ARCHIVE_RETRY_ITEMS``, ``ARCHIVE_BUSY_TIMEOUT``,
``NEWSARCHIVE_RUN_TRIGGER``, ``RECRAWL_ENABLED``.

A locked archive pauses the crawl: when another process holds the write lock past
``ARCHIVE_BUSY_TIMEOUT`` (kept short: a write blocks the reactor while it waits), the item is kept,
the engine paused (no new downloads), and the committer tries again every :data:`LOCK_RETRY_S`
seconds; once the archive takes writes, the waiting items are written and the
crawl resumes. Nothing is lost to a lock, however long it is held.

No silent loss: an item whose write fails otherwise (a full disk, a damaged file) is logged in one
line, kept (up to ``ARCHIVE_RETRY_ITEMS``) and written
again when the crawl ends; a failed commit is logged and the committer keeps going. What was not
archived in the end (items that failed twice, items beyond the limit, writes a failed batch took
with it: ``Archive.lost_writes``) makes the run ``failed``, with a reason that says how many and
what to do, and ``newsarchive/archive/items_lost`` in its stats; an item lost for good is still
recorded as an ``error`` fetch of its URL (``archive_write_failed``) where the file takes that much.
A write that fails because of the file itself (damaged, a full disk, a disk error, read-only:
``archive.connection.is_unwritable``) stops the crawl at once (finish reason ``archive_unwritable``):
every further page would be lost too. The run's reason then names the cause and the fix.

With ``RECRAWL_ENABLED`` it also keeps the source's crawl state (archive/crawl_state.py): every URL the
spider schedules for the first time becomes a frontier row the moment it is scheduled (so a killed run's
next run continues from it), and every fetch updates its URL's row (validators, body hash, next revisit,
from crawler.discovery.recrawl.state_after_fetch). An archived article that answered 404/410 or
redirected to the home page is marked removed, never deleted.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.utils.defer import _schedule_coro
from twisted.internet.task import LoopingCall

from archive import Archive, ArchiveError, to_utc_iso
from archive.connection import describe_database_error, is_busy, is_unwritable, set_busy_timeout
from archive.models import RUN_SUMMARY_COUNTS, AliasReason, FetchOutcome, ReasonKind, RunStatus, UrlKind
from crawler.discovery.notes import merge_hints
from crawler.discovery.recrawl import FetchFacts, Fetching, RevisitPolicy, Visit, removal_status, state_after_fetch
from crawler.discovery.urls import canonicalize_url, is_on_hosts
from crawler.extraction.fields import HINTED_FIELDS
from crawler.extraction.fields import article_record as extracted_record
from crawler.items import (
    Fetch,
    FetchItem,
    ListedItem,
    NotFetchedItem,
    PageItem,
    PageNotesItem,
    RedirectedToKnownItem,
    describe_item,
)
from crawler.signals import archive_opened, boilerplate_counted, frontier_spilled

logger = logging.getLogger(__name__)

# What a write to the archive can raise when the file, not the item, is the problem.
WRITE_ERRORS = (sqlite3.Error, ArchiveError, OSError)
ITEMS_LOST_STAT = "newsarchive/archive/items_lost"
# While the archive is locked, a write is tried again this often: each try may block the reactor for
# ARCHIVE_BUSY_TIMEOUT, so at most a third of the time goes to waiting (the crawl is paused anyway).
LOCK_RETRY_S = 2.0
# Notes (hints, aliases) kept for pages not archived yet: a distributed writer gets them for every URL a
# feed or link names, some of which are never fetched.
MAX_PENDING_NOTES = 100_000
ARCHIVE_UNWRITABLE = "archive_unwritable"  # the finish reason of a crawl stopped because its archive cannot take writes
WRITE_ERRORS_STAT = "newsarchive/archive/write_errors"
SUCCESSFUL_FINISH_REASONS = ("finished", "closespider_pagecount", "closespider_itemcount", "closespider_timeout")


def _is_root(url: str) -> bool:
    return urlsplit(url).path in ("", "/")


@dataclass(frozen=True)
class Identity:
    """Where a page belongs: its canonical URL, the other URLs that led to it, and whether it is
    an alternate copy (AMP…) of a page at another URL."""

    canonical: str
    aliases: list[str]
    alternate: bool


def article_identity(item: PageItem, hosts: Collection[str]) -> Identity:
    """The canonical URL an article is stored under, and the other URLs that led to it."""
    fetch = item.fetch
    page_url = canonicalize_url(fetch.final_url or fetch.url)
    canonical = page_url
    declared = (item.fields or {}).get("canonical_url")
    if declared:
        try:
            candidate = canonicalize_url(declared)
        except ValueError:
            candidate = None
        # A canonical link to the home page from an article is a CMS misconfiguration, not a fact.
        if candidate and is_on_hosts(candidate, hosts) and not (_is_root(candidate) and not _is_root(page_url)):
            canonical = candidate
    seen = [fetch.url, *item.redirect_urls, fetch.final_url or fetch.url, page_url]
    aliases: list[str] = []
    for url in seen:
        if url and url != canonical and url not in aliases:
            aliases.append(url)
    return Identity(canonical, aliases, alternate=canonical != page_url)


def article_record(item: PageItem, url: str) -> dict[str, Any]:
    """The article row: extracted fields first, feed/sitemap hints where extraction found nothing."""
    return extracted_record(item.fields or {}, item.hints, url=url, source=item.source, fetch_mode=item.fetch_mode)


def run_status(reason: str, stats: Mapping[str, Any]) -> RunStatus:
    """succeeded, or failed when the crawl stopped abnormally or no page answered at all.

    A 304 Not Modified is an answer: a recurring run of an unchanged site may get nothing else.
    """
    if reason not in SUCCESSFUL_FINISH_REASONS:
        return RunStatus.FAILED
    ok_responses = sum(
        value
        for key, value in stats.items()
        if (key.startswith("downloader/response_status_count/2") or key == "downloader/response_status_count/304")
        and isinstance(value, int)
    )
    return RunStatus.SUCCEEDED if ok_responses else RunStatus.FAILED


def broken_spider_reason(stats: Mapping[str, Any]) -> str | None:
    """Why a run that read no page is failed when its code raised on pages (e.g. extraction workers that
    could not start): every page was an exception, not an answer the source gave."""
    failures = int(stats.get("spider_exceptions/count") or 0)
    if not failures or stats.get("newsarchive/pages_extracted"):
        return None
    kinds = sorted(
        key.rsplit("/", 1)[1]
        for key in stats
        if key.startswith("spider_exceptions/") and key != "spider_exceptions/count"
    )
    return (
        f"the crawl failed on {failures} page(s) and read none ({', '.join(kinds) or 'an exception'}); "
        "see the run's log (newsarchive logs RUN_ID) and check the setup with `newsarchive doctor`"
    )


def lost_items_reason(lost: int, first_error: str | None, db: Any) -> str:
    """The run's reason when items it fetched could not be archived: how many, why, and what to do."""
    return (
        f"{lost} item{'s' if lost != 1 else ''} fetched in this run could not be written to the archive "
        f"(first error: {first_error or 'a batch of writes was rolled back'}); check it with "
        f"`newsarchive doctor --db {db}`, free disk space or stop what holds its write lock, then crawl "
        "again: the pages not archived are fetched anew"
    )


class ArchivePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        settings = crawler.settings
        self.db_path = settings.get("ARCHIVE_DB")
        self.batch_size = settings.getint("ARCHIVE_BATCH_SIZE")
        self.commit_interval = settings.getfloat("ARCHIVE_COMMIT_INTERVAL")
        self.trigger = settings.get("NEWSARCHIVE_RUN_TRIGGER")
        self.given_run_id = settings.getint("NEWSARCHIVE_RUN_ID") or None
        self.recrawl = settings.getbool("RECRAWL_ENABLED")
        self.retry_items = settings.getint("ARCHIVE_RETRY_ITEMS")
        self.busy_timeout = settings.getfloat("ARCHIVE_BUSY_TIMEOUT")
        # While another process holds the archive's write lock: the items that arrived meanwhile (the
        # crawl is paused, so only the pages in flight), and when the wait began.
        self.waiting: list[Any] = []
        self.locked_since: float | None = None
        self.lock_tried_at = float("-inf")
        # Items whose write failed, written again when the crawl ends; the first failure, for the run's reason.
        self.unwritten: list[Any] = []
        self.first_write_error: str | None = None
        # Why the crawl was stopped early: the archive itself failed (damaged, disk full, read-only).
        self.stop_reason: str | None = None
        self.policy: RevisitPolicy | None = None
        # URLs this run already wrote to the frontier -> whether with the sitemap that lists them.
        self.in_frontier: dict[str, bool] = {}
        self.archive: Archive | None = None
        self.run_id: int | None = None
        self.committer: LoopingCall | None = None
        # Alternate URLs (AMP copies, shortlinks) met before their article was archived.
        self.pending_aliases: dict[str, dict[str, str]] = defaultdict(dict)
        # Hints and aliases found for a page after it was parsed, before its article was archived
        # (it is still being extracted): by the URL the page was requested under.
        self.pending_notes: dict[str, PageNotesItem] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(pipeline.request_dropped, signal=signals.request_dropped)
        crawler.signals.connect(pipeline.boilerplate_counted, signal=boilerplate_counted)
        if pipeline.recrawl:
            crawler.signals.connect(pipeline.request_scheduled, signal=signals.request_scheduled)
            crawler.signals.connect(pipeline.frontier_spilled, signal=frontier_spilled)
        return pipeline

    def open_spider(self) -> None:
        source = self.crawler.spider.source
        self.archive = Archive(self.db_path, batch_size=self.batch_size, max_batch_seconds=self.commit_interval)
        # A write waits this long for another writer, not the archive's 30 s: the wait blocks the reactor.
        set_busy_timeout(self.archive.db, self.busy_timeout)
        self.crawler.signals.send_catch_log(archive_opened, archive=self.archive)
        if self.given_run_id is not None:
            # The parent (CLI or scheduler) created the row, so it can close the run whatever happens here.
            self.run_id = self.given_run_id
            recorded = self.archive.run(self.run_id)["source"]
            if recorded != source.name:
                raise ValueError(f"run {self.run_id} in {self.db_path} is for source {recorded!r}, not {source.name!r}")
        else:
            self.run_id = self.archive.start_run(source.name, trigger=self.trigger)
        self.policy = RevisitPolicy.of(source)
        self.stats.set_value("newsarchive/run_id", self.run_id)
        self.stats.set_value("newsarchive/archive_db", str(self.db_path))
        self.committer = LoopingCall(self.commit)
        self.committer.start(self.commit_interval, now=False)

    def process_item(self, item: Any) -> Any:
        if self.locked_since is not None:
            self.waiting.append(item)  # the archive is locked: written once it takes writes again
            return item
        try:
            self.write(item)
        except WRITE_ERRORS as error:
            if is_busy(error):
                self.wait_for_lock(item, error)
            else:
                self.write_failed(item, error)
        return item

    def wait_for_lock(self, item: Any, error: Exception) -> None:
        """Another process holds the archive's write lock: keep the item, pause the crawl (no new
        downloads, so no new items past those in flight) and let the committer retry; nothing is lost."""
        self.waiting.append(item)
        self.locked_since = self.lock_tried_at = time.monotonic()
        self.stats.inc_value("newsarchive/archive/lock_waits")
        logger.warning(
            "the archive %s is locked by another process (%s): crawl paused until it can write again",
            self.db_path,
            error,
            extra={"event": "archive_locked"},
        )
        engine = self._engine()
        if engine is not None:
            engine.pause()

    def _engine(self) -> Any:
        """The crawl's engine, or None when the pipeline is used on its own (tests): no crawl to pause or stop."""
        try:
            return self.crawler.engine
        except RuntimeError:
            return None

    def write_waiting(self) -> None:
        """Write what waited for the lock, in order; stop at the first that finds it still locked."""
        self.lock_tried_at = time.monotonic()
        while self.waiting:
            item = self.waiting[0]
            try:
                self.write(item)
            except WRITE_ERRORS as error:
                if is_busy(error):
                    return
                self.write_failed(item, error)
            self.waiting.pop(0)
        waited = time.monotonic() - (self.locked_since or time.monotonic())
        self.locked_since = None
        self.stats.inc_value("newsarchive/archive/lock_wait_seconds", round(waited, 3))
        logger.warning(
            "the archive %s takes writes again after %.1f s: crawl resumed",
            self.db_path,
            waited,
            extra={"event": "archive_unlocked"},
        )
        engine = self._engine()
        if engine is not None:
            engine.unpause()

    def write_failed(self, item: Any, error: Exception) -> None:
        """Keep the item to write again when the crawl ends, or count it lost past ARCHIVE_RETRY_ITEMS."""
        kept = len(self.unwritten) < self.retry_items
        if kept:
            self.unwritten.append(item)
        else:
            self.stats.inc_value(ITEMS_LOST_STAT)
        outcome = "written again when the crawl ends" if kept else f"lost: {self.retry_items} items wait already"
        self.note_write_error(f"write {describe_item(item)}", error, outcome)

    def note_write_error(self, what: str, error: Exception, outcome: str) -> None:
        """One log line for a failed write, counted; the first one is the run's reason if data was lost."""
        self.stats.inc_value(WRITE_ERRORS_STAT)
        self.first_write_error = self.first_write_error or f"{type(error).__name__}: {error}"
        logger.error(
            "could not %s to the archive %s: %s: %s (%s)",
            what,
            self.db_path,
            type(error).__name__,
            error,
            outcome,
            extra={"event": "archive_write_failed"},
        )
        if self.stop_reason is None and is_unwritable(error):
            self.stop_crawl(error)

    def stop_crawl(self, error: Exception) -> None:
        """The archive cannot take writes (damaged, a full disk, read-only): fetching more would only lose
        more, so the crawl stops now; the run's reason names the cause and the fix."""
        self.stop_reason = str(describe_database_error(Path(self.db_path), error))
        logger.error("stopping the crawl: %s", self.stop_reason, extra={"event": "archive_unwritable"})
        engine = self._engine()
        if engine is not None and engine.spider is not None:
            _schedule_coro(engine.close_spider_async(reason=ARCHIVE_UNWRITABLE))

    def commit(self) -> None:
        """The periodic commit. A failure is logged (the archive counts the batch's writes lost) and the
        committer carries on, so later writes still reach the file once it can take them."""
        if self.archive is None:
            return
        if self.locked_since is not None and time.monotonic() - self.lock_tried_at >= LOCK_RETRY_S:
            self.write_waiting()
        try:
            self.archive.commit()
        except WRITE_ERRORS as error:
            self.note_write_error("commit", error, "that batch of writes is lost; later ones are committed as usual")

    def write_unwritten(self) -> None:
        """The crawl ends: write once more what failed before (and what still waits for a lock); what
        fails again is lost, and recorded as an error fetch of its URL where the archive takes that much
        (counted in the run's errors)."""
        waiting, self.unwritten, self.waiting, self.locked_since = [*self.waiting, *self.unwritten], [], [], None
        for item in waiting:
            try:
                self.write(item)
            except WRITE_ERRORS as error:
                self.stats.inc_value(ITEMS_LOST_STAT)
                self.note_write_error(f"write {describe_item(item)} again", error, "lost")
                self.record_lost(item, error)
            else:
                self.stats.inc_value("newsarchive/archive/items_written_again")

    def record_lost(self, item: Any, error: Exception) -> None:
        """An error row for a page or fetch that could not be archived: its URL, and why."""
        fetch = getattr(item, "fetch", None)
        if fetch is None or self.archive is None:
            return
        row = Fetch(url=fetch.url, final_url=fetch.final_url, status=fetch.status, found_by=fetch.found_by)
        reason = f"fetched, but could not be archived: {type(error).__name__}: {error}"
        try:
            self.archive.record_fetch(
                self.run_id, row.as_dict(), FetchOutcome.ERROR, reason, reason_kind=ReasonKind.ARCHIVE_WRITE_FAILED
            )
        except WRITE_ERRORS:
            pass  # the file takes nothing: the run's count and reason say what was lost

    def items_lost(self) -> int:
        lost = self.stats.get_value(ITEMS_LOST_STAT, 0) + (self.archive.lost_writes if self.archive else 0)
        return int(lost)

    def write(self, item: Any) -> None:
        if isinstance(item, FetchItem):
            self.store_fetch(item)
        elif isinstance(item, PageItem):
            self.store_page(item)
        elif isinstance(item, ListedItem) and self.recrawl:
            self.archive.record_crawl_state(
                self.run_id,
                item.source,
                {url: {"kind": UrlKind.PAGE, "listed_in": item.sitemap_url} for url in item.urls},
            )
        elif isinstance(item, NotFetchedItem):
            self.remember(item.visit, Fetch(url=item.url), FetchOutcome.SKIPPED)
        elif isinstance(item, PageNotesItem):
            self.store_notes(item)
        elif isinstance(item, RedirectedToKnownItem):  # from a distributed worker
            self.store_redirect_to_known(item)

    def store_notes(self, item: PageNotesItem) -> None:
        """Late hints and aliases of a page: onto its article, or kept until the page is archived."""
        existing = self.archive.find_article(item.url)
        if existing is None:
            pending = self.pending_notes.get(item.url)
            if pending is None:
                self.pending_notes[item.url] = item
                if len(self.pending_notes) > MAX_PENDING_NOTES:  # notes on pages never fetched: the oldest go
                    del self.pending_notes[next(iter(self.pending_notes))]
            else:
                pending.hints = merge_hints(pending.hints, item.hints)
                pending.aliases.update(item.aliases)
            return
        self.add_aliases(existing["id"], item.aliases)
        if item.hints:
            fill = {name: item.hints[name] for name in HINTED_FIELDS if item.hints.get(name)}
            self.archive.add_hints(self.run_id, existing["id"], item.hints, fill)
            self.stats.inc_value("newsarchive/articles/late_hints")

    def take_pending_notes(self, item: PageItem) -> None:
        """Merge into the page what arrived for its URLs while it was being extracted."""
        fetch = item.fetch
        for url in dict.fromkeys([fetch.url, *item.redirect_urls, fetch.final_url or fetch.url]):
            pending = self.pending_notes.pop(url, None)
            if pending is not None:
                item.hints = merge_hints(item.hints, pending.hints)
                item.aliases = {**pending.aliases, **item.aliases}

    def add_aliases(self, article_id: int, aliases: Mapping[str, str]) -> None:
        for reason in dict.fromkeys(aliases.values()):
            self.archive.add_aliases(
                self.run_id, article_id, [u for u, why in aliases.items() if why == reason], reason
            )

    def store_fetch(self, item: FetchItem) -> None:
        known = item.visit.known if item.visit is not None else None
        article_id = known.article_id if known is not None else None
        fetch = item.fetch.as_dict()
        if item.outcome in (FetchOutcome.UNCHANGED, FetchOutcome.NOT_MODIFIED) and article_id is not None:
            self.archive.record_unchanged(self.run_id, article_id, fetch, item.outcome)
        else:
            self.archive.record_fetch(
                self.run_id,
                fetch,
                item.outcome,
                item.reason,
                article_id if item.removed_status is not None else None,
                reason_kind=item.reason_kind,
            )
        self.stats.inc_value(f"newsarchive/fetches/{item.outcome}")
        if item.removed_status is not None and article_id is not None:
            self.mark_removed(article_id, item.removed_status, item.fetch.url)
        if item.outcome == FetchOutcome.ERROR:
            logger.info("fetch failed: %s", item.reason, extra={"event": "fetch_failed", "url": item.fetch.url})
        self.remember(item.visit, item.fetch, item.outcome, article_id=article_id, removed_status=item.removed_status)

    def mark_removed(self, article_id: int, status: int | None, url: str) -> None:
        if self.archive.mark_removed(self.run_id, article_id, status):
            self.stats.inc_value("newsarchive/articles/removed")
            logger.info("article removed (%s): %s", status, url, extra={"event": "article_removed", "url": url})

    def remember(
        self,
        visit: Visit | None,
        fetch: Fetch,
        outcome: str,
        *,
        article_id: int | None = None,
        changed: bool | None = None,
        published_at: str | None = None,
        removed_status: int | None = None,
    ) -> None:
        """Update the fetched URL's crawl_state row (and the final URL's, for an article reached by a redirect)."""
        if not self.recrawl or visit is None:
            return
        known = visit.known
        if changed is None:  # not an article: its content is its body
            changed = fetch.body_hash is not None and (known is None or known.body_hash != fetch.body_hash)
        facts = FetchFacts(
            status=fetch.status,
            fetched_at=fetch.fetched_at,
            outcome=outcome,
            etag=fetch.etag,
            last_modified=fetch.last_modified,
            body_hash=fetch.body_hash,
            article_id=article_id,
            published_at=published_at,
            changed=changed,
            removed_status=removed_status,
        )
        values = state_after_fetch(visit, facts, self.policy, self.run_id)
        states = {fetch.url: values}
        if article_id is not None and fetch.final_url and fetch.final_url != fetch.url:
            # Reached through a redirect: the final URL is known now too (not fetched again as new).
            states[canonicalize_url(fetch.final_url)] = state_after_fetch(
                Visit(visit.kind, Fetching.NEW, None, visit.found_by, visit.hops), facts, self.policy, self.run_id
            )
        self.archive.record_crawl_state(self.run_id, self.crawler.spider.source.name, states)

    def request_scheduled(self, request: Any, spider: Any) -> None:
        """A URL scheduled for the first time joins the frontier at once: a killed run's next run continues it."""
        visit: Visit | None = request.meta.get("visit")
        if self.archive is None or visit is None or visit.known is not None:
            return
        if visit.fetching != Fetching.NEW or request.meta.get("redirect_urls"):
            return
        listed = visit.listed_in is not None
        if request.url in self.in_frontier and (self.in_frontier[request.url] or not listed):
            return  # written already (a sitemap listing it later still records that it lists it)
        self.in_frontier[request.url] = listed
        self.archive.add_to_frontier(self.run_id, spider.source.name, [visit.frontier_entry(request.url)])

    def frontier_spilled(self, source: str, entries: list[dict[str, Any]]) -> None:
        """URLs the spider did not request (its queue is full) join the frontier, to be read back."""
        if self.archive is None:
            return
        try:
            self.archive.add_to_frontier(self.run_id, source, entries)
        except WRITE_ERRORS as error:
            self.note_write_error(
                f"add {len(entries)} URL(s) to the frontier", error, "they are not fetched in this run"
            )
            return
        self.in_frontier.update((entry["url"], entry.get("listed_in") is not None) for entry in entries)

    def boilerplate_counted(self, source: str, pages: int, lines: list[tuple[str, int, str]]) -> None:
        """The boilerplate pipeline's counts so far, saved in the current batch (pipelines/boilerplate.py)."""
        if self.archive is None or self.locked_since is not None:
            return  # the next save, or the one at the run's end, carries them
        try:
            self.archive.save_source_boilerplate(self.run_id, source, pages, lines, pass_ended=False)
        except WRITE_ERRORS as error:
            if not is_busy(error):  # busy: the next save carries them
                self.note_write_error("save the learned boilerplate counts", error, "the run's end saves them again")

    def store_page(self, item: PageItem) -> None:
        self.take_pending_notes(item)
        # The classifier's evidence goes with the fetch row, rejected or archived.
        fetch = {**item.fetch.as_dict(), "evidence": item.evidence}
        if not item.is_article:
            self.archive.record_fetch(
                self.run_id, fetch, FetchOutcome.REJECTED, item.reason, reason_kind=item.reason_kind
            )
            self.stats.inc_value("newsarchive/articles/rejected")
            logger.debug("not an article: %s", item.reason, extra={"event": "page_rejected", "url": item.fetch.url})
            self.remember(item.visit, item.fetch, FetchOutcome.REJECTED)
            return
        identity = article_identity(item, self.crawler.spider.hosts)
        canonical, aliases = identity.canonical, identity.aliases
        if identity.alternate:
            # An AMP or other alternate copy: the canonical page is fetched and archived instead.
            article_id = self.note_aliases(canonical, aliases, AliasReason.CANONICAL)
            for reason in dict.fromkeys(item.aliases.values()):
                self.note_aliases(canonical, [u for u, why in item.aliases.items() if why == reason], reason)
            self.archive.record_fetch(
                self.run_id,
                fetch,
                FetchOutcome.REJECTED,
                f"alternate copy of {canonical}",
                article_id,
                reason_kind=ReasonKind.ALTERNATE_COPY,
            )
            self.stats.inc_value("newsarchive/articles/alternate")
            self.remember(item.visit, item.fetch, FetchOutcome.REJECTED)
            return
        record = article_record(item, canonical)
        result = self.archive.save_article(self.run_id, record, fetch, aliases, signature=item.signature)
        self.stats.inc_value(f"newsarchive/articles/{result.outcome}")
        logger.info(
            "article %s: %s", result.outcome, canonical, extra={"event": f"article_{result.outcome}", "url": canonical}
        )
        pending = self.pending_aliases.pop(canonical, None)
        if result.outcome != FetchOutcome.DUPLICATE:
            # Its shortlink and the tracking variants it was linked under; a copy's are the copy's own.
            self.add_aliases(result.article_id, {**(pending or {}), **item.aliases})
        self.remember(
            item.visit,
            item.fetch,
            result.outcome,
            article_id=result.article_id,
            changed=result.outcome in (FetchOutcome.NEW, FetchOutcome.UPDATED),
            published_at=to_utc_iso(record.get("published_at")),
        )

    def note_aliases(self, canonical: str, urls: list[str], reason: str) -> int | None:
        """Make ``urls`` aliases of the article at ``canonical``, now or once it is archived; its id if known."""
        existing = self.archive.find_article(canonical)
        if existing:
            self.archive.add_aliases(self.run_id, existing["id"], urls, reason)
            return existing["id"]
        self.pending_aliases[canonical].update(dict.fromkeys(urls, reason))
        return None

    def request_dropped(self, request: Any, spider: Any) -> None:
        """A redirect to a URL already crawled is dropped by the dupefilter: keep what it tells us."""
        item = RedirectedToKnownItem.from_request(spider.source.name, request)
        if self.archive is not None and item is not None:
            self.store_redirect_to_known(item)

    def store_redirect_to_known(self, item: RedirectedToKnownItem) -> None:
        """Back into its own chain, it is a redirect loop (an error); to an archived article, its
        chain (a shortlink, an old URL) becomes that article's aliases; an archived article that now
        redirects home is removed."""
        chain, visit = item.chain, item.visit
        removed = removal_status(visit.known if visit else None, None, chain[0], item.url)
        if removed is not None:
            self.redirected_home(item, removed)
            return
        if item.url in chain:
            loop = " → ".join([*chain, item.url])
            fetch = Fetch(
                url=chain[0], final_url=item.url, found_by=item.found_by, depth=item.depth, referer=item.referer
            )
            self.archive.record_fetch(
                self.run_id,
                fetch.as_dict(),
                FetchOutcome.ERROR,
                f"redirect loop: {loop}",
                reason_kind=ReasonKind.REDIRECT_LOOP,
            )
            self.stats.inc_value(f"newsarchive/fetches/{FetchOutcome.ERROR}")
            self.remember(visit, fetch, FetchOutcome.ERROR)
            return
        self.note_aliases(canonicalize_url(item.url), list(chain), AliasReason.REDIRECT)
        # The first URL of the chain was fetched (it redirected to a page this run has): not frontier any more.
        self.remember(visit, Fetch(url=chain[0], final_url=item.url), FetchOutcome.DUPLICATE)

    def redirected_home(self, item: RedirectedToKnownItem, status: int) -> None:
        """An archived article redirected to the home page, already crawled (so the dupefilter dropped it)."""
        reasons, chain, visit = item.redirect_reasons, item.chain, item.visit
        status = reasons[0] if reasons and isinstance(reasons[0], int) else status
        fetch = Fetch(url=chain[0], final_url=item.url, status=status, found_by=visit.found_by, depth=visit.hops)
        article_id = visit.known.article_id
        self.archive.record_fetch(
            self.run_id,
            fetch.as_dict(),
            FetchOutcome.ERROR,
            f"the article now redirects to the home page ({item.url}): removed",
            article_id,
            reason_kind=ReasonKind.REDIRECTED_HOME,
        )
        self.stats.inc_value(f"newsarchive/fetches/{FetchOutcome.ERROR}")
        self.mark_removed(article_id, status, chain[0])
        self.remember(visit, fetch, FetchOutcome.ERROR, article_id=article_id, removed_status=status)

    def close_spider(self) -> None:
        if self.committer is not None and self.committer.running:
            self.committer.stop()
        if self.archive is not None:
            self.write_unwritten()
            self.commit()

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.archive is None:
            return
        lost = self.items_lost()
        self.stats.set_value(ITEMS_LOST_STAT, lost)
        stats = dict(self.stats.get_stats())
        status = run_status(reason, stats)
        stats.setdefault("finish_reason", reason)
        why = None
        if lost:
            status = RunStatus.FAILED
            why = lost_items_reason(lost, self.first_write_error, self.db_path)
        broken = broken_spider_reason(stats)
        if broken is not None and status == RunStatus.SUCCEEDED:
            status, why = RunStatus.FAILED, broken
        if self.stop_reason is not None:
            status = RunStatus.FAILED
            why = f"stopped early: {self.stop_reason}" + (f" ({why})" if why else "")
        # The run's outcome is recorded in the archive only: the parent reads it from the row.
        try:
            run = self.archive.finish_run(self.run_id, status, stats=stats, reason=why)
        except WRITE_ERRORS as error:
            # The parent finds the run still running and records it failed; the log says why.
            logger.error(
                "could not record the end of run %s in %s: %s: %s (the run was %s: %s)",
                self.run_id,
                self.db_path,
                type(error).__name__,
                error,
                status,
                why,
                extra={"event": "archive_write_failed"},
            )
            return
        finally:
            self.archive.close()
            self.archive = None
        counts = {key: run.get(key) for key in RUN_SUMMARY_COUNTS}
        logger.info(
            "run %s of %s %s (%s): %s",
            self.run_id,
            spider.source.name,
            status,
            reason,
            counts,
            extra={"event": "run_finished"},
        )
