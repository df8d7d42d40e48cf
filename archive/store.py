"""The `Archive` class: the one write path into a newsarchive SQLite file.

The crawler opens one Archive per crawl process. Several processes may write the same file:
each write happens inside a `BEGIN IMMEDIATE` transaction (so check-then-write logic such as
deduplication is serialised across processes), and transactions are kept short - committed
after `batch_size` writes, once the batch is `max_batch_seconds` old, after any write that
follows a pause of `max_batch_seconds` or more (slow trickles are not batched), on `commit()`,
at the start and end of a run, and on close. Reads through the same Archive see its pending
(uncommitted) writes. Settings: `batch_size` (writes per transaction, default 200) and `max_batch_seconds` (default
0.25). An open batch holds the file's write lock, also in the gaps between writes, so the age
limit is what lets another crawl process in; SQLite's lock is not fair, and a process that
kept its batch open for long would make the others wait toward the 30 s busy timeout. With
WAL and synchronous=NORMAL a commit does not fsync, so short batches cost next to nothing
(measured: 1.4 ms per save + fetch log at batch_size 1, 20 and 200 alike). The caller should
also call `commit()` when it goes idle (e.g. Scrapy's spider_idle signal).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from . import articles as article_rows
from . import boilerplate as boilerplate_rows
from . import crawl_state, dedup
from .connection import BUSY_TIMEOUT_S, describe_database_error, open_database
from .dates import utc_now_iso
from .filters import fts_match
from .migrations import apply_migrations
from .models import (
    FINAL_RUN_STATUSES,
    NON_ARTICLE_OUTCOMES,
    AliasReason,
    ArchiveError,
    FetchOutcome,
    ReasonKind,
    RunStatus,
    RunTrigger,
    SaveResult,
)
from .records import article_columns, fetch_columns, unique_urls
from .runs import finish_run_row, insert_fetch, insert_run, mark_stop_requested

if TYPE_CHECKING:
    from .dedup import Signature

_SAVEPOINT = "archive_write"


class Archive:
    """An open archive file. Use as a context manager, or call `close()` (which commits)."""

    def __init__(self, path: str | Path, batch_size: int = 200, *, max_batch_seconds: float = 0.25) -> None:
        if batch_size < 1:
            raise ArchiveError(f"batch_size must be at least 1, got {batch_size}")
        self.path = Path(path)
        self.db: Database = open_database(self.path)
        self._batch_size = batch_size
        self._max_batch_seconds = max_batch_seconds
        self._pending_writes = 0
        # Completed writes that never reached the file: their batch failed to commit, or SQLite
        # rolled it back whole (disk full, I/O error). The caller decides what that means for its run.
        self.lost_writes = 0
        self._batch_started = 0.0
        self._last_write_ended = float("-inf")
        self._near_duplicates = dedup.NearDuplicateIndex()
        self._known_runs: set[int] = set()
        self._closed = False
        # Called before each commit: what the rows about to be committed point to (WARC records) must
        # be on disk first, or a power loss could leave a committed pointer to bytes that never landed.
        self.before_commit: list[Callable[[], None]] = []
        try:
            apply_migrations(self.db)
        except sqlite3.DatabaseError as error:
            self.db.close()
            raise describe_database_error(self.path, error, self.busy_timeout()) from error
        except ArchiveError:
            self.db.close()
            raise

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> Archive:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Completed writes are kept even if the caller failed: each save is whole on its own.
        self.close()

    def commit(self) -> None:
        """Commit pending writes so other processes and readers see them (after the ``before_commit`` calls)."""
        if self.db.conn.in_transaction:
            for call in self.before_commit:
                call()
            try:
                self.db.execute("COMMIT")
            except sqlite3.DatabaseError as error:
                self._rollback()
                raise describe_database_error(self.path, error, self.busy_timeout()) from error
        self._pending_writes = 0

    def busy_timeout(self) -> float:
        """Seconds a write waits for another process's lock on this connection (``PRAGMA busy_timeout``)."""
        try:
            return int(self.db.execute("PRAGMA busy_timeout").fetchone()[0]) / 1000
        except sqlite3.Error:
            return BUSY_TIMEOUT_S

    def close(self) -> None:
        """Commit and close the file (safe to call twice)."""
        if self._closed:
            return
        try:
            self.commit()
        finally:
            self._closed = True
            self.db.close()

    # -- writes ----------------------------------------------------------------------------

    def start_run(self, source: str, trigger: str = RunTrigger.MANUAL, log_path: str | None = None) -> int:
        """Open a crawl run (status "running") and commit it at once, so monitors see it."""
        with self._write():
            run_id = insert_run(self.db, source, trigger, log_path, utc_now_iso())
        self.commit()
        self._known_runs.add(run_id)
        return run_id

    def save_article(
        self,
        run_id: int,
        article: Mapping[str, Any],
        fetch: Mapping[str, Any],
        aliases: Iterable[str] = (),
        signature: bytes | None = None,
    ) -> SaveResult:
        """Archive one extracted article and its fetch; see docs/schema.md for the outcomes.

        ``signature``: the text's MinHash as ``archive.dedup.text_signature`` gives it, when it was
        computed elsewhere (a crawl computes it in a worker process); None: computed here.
        """
        if not article.get("url"):
            raise ArchiveError("save_article needs article['url'] (the canonical URL); got none")
        columns = article_columns(article)
        fetch_values = fetch_columns(fetch)
        fetch_values["url"] = fetch_values["url"] or columns["url"]
        now = utc_now_iso()
        candidate_urls = unique_urls([columns["url"], *aliases, fetch_values["url"], fetch_values["final_url"]])
        with self._write():
            self._require_run(run_id)
            copy_of = self._still_exact_copy_of(columns)
            existing_id = None if copy_of is not None else article_rows.find_article_id(self.db, candidate_urls)
            if existing_id is not None:
                result = self._save_known(existing_id, run_id, columns, now, fetch_values["fetched_at"], signature)
                reasons = _alias_reasons(candidate_urls, fetch_values, default_reason=AliasReason.REDIRECT)
            else:
                duplicate_of = copy_of
                if duplicate_of is None and columns["word_count"]:
                    duplicate_of = article_rows.find_article_by_hash(self.db, columns["content_hash"])
                if (
                    duplicate_of is not None
                    and copy_of is None
                    and self._is_the_original_of(duplicate_of, run_id, columns, fetch_values)
                ):
                    # New to the archive if its copy came earlier in this run; from an earlier run (cut
                    # short before it met the original), the article is known and changes its URL.
                    earlier = article_rows.first_found_this_run(self.db, duplicate_of, run_id) is None
                    old_url = article_rows.move_article(self.db, duplicate_of, columns, run_id)
                    result = SaveResult(FetchOutcome.UPDATED if earlier else FetchOutcome.NEW, duplicate_of)
                    reasons = {
                        **_alias_reasons(candidate_urls, fetch_values, default_reason=AliasReason.REDIRECT),
                        old_url: AliasReason.DUPLICATE,
                    }
                elif duplicate_of is not None:
                    article_rows.mark_seen(self.db, duplicate_of, run_id, now)
                    result = SaveResult(FetchOutcome.DUPLICATE, duplicate_of, duplicate_of=duplicate_of)
                    reasons = dict.fromkeys(candidate_urls, AliasReason.DUPLICATE)
                else:
                    result = self._save_new(run_id, columns, now, fetch_values["fetched_at"], signature)
                    reasons = _alias_reasons(candidate_urls, fetch_values, default_reason=AliasReason.REDIRECT)
            article_rows.register_aliases(self.db, result.article_id, reasons, run_id, now)
            insert_fetch(self.db, run_id, fetch_values, result.outcome, None, result.article_id)
        return result

    def record_fetch(
        self,
        run_id: int,
        fetch: Mapping[str, Any],
        outcome: str,
        reason: str | None = None,
        article_id: int | None = None,
        reason_kind: str | None = None,
    ) -> None:
        """Log a fetch that produced no article: rejected, skipped, error or discovery.

        ``reason`` says why in words, for people; ``reason_kind`` is its machine-readable kind
        (`ReasonKind`), what queries and health rules count. ``fetch["evidence"]``, when given, is the
        classifier's weighed signals (a list of {signal, weight, detail}), stored as JSON; save_article
        stores it the same way.
        """
        if outcome not in NON_ARTICLE_OUTCOMES:
            raise ArchiveError(
                f"record_fetch outcome must be one of {', '.join(NON_ARTICLE_OUTCOMES)}, got {outcome!r}; "
                "articles are recorded with save_article"
            )
        if reason_kind is not None and reason_kind not in frozenset(ReasonKind):
            raise ArchiveError(
                f"record_fetch reason_kind must be one of {', '.join(ReasonKind)} or None, got {reason_kind!r}"
            )
        fetch_values = fetch_columns(fetch)
        if not fetch_values["url"]:
            raise ArchiveError("record_fetch needs fetch['url'] (the requested URL); got none")
        with self._write():
            self._require_run(run_id)
            insert_fetch(self.db, run_id, fetch_values, outcome, reason, article_id, reason_kind)

    def add_aliases(self, run_id: int, article_id: int, urls: Iterable[str], reason: str) -> None:
        """Record other URLs that lead to an article (an AMP copy, a shortlink…); known URLs are left as they are."""
        with self._write():
            self._require_run(run_id)
            article_rows.register_aliases(
                self.db, article_id, dict.fromkeys(unique_urls(urls), reason), run_id, utc_now_iso()
            )

    def add_hints(self, run_id: int, article_id: int, hints: Mapping[str, Any], fields: Mapping[str, Any]) -> None:
        """Feed or news-sitemap hints found after the article was saved in this run (its page was fetched
        through a plain link first): merged into its ``hints`` (keys it has keep their value), and its
        blank ``fields`` (title, published_at, authors …) filled from them, as if they had come with
        the page. No version: nothing that was known changed.
        """
        with self._write():
            self._require_run(run_id)
            columns = article_columns({"url": "-", **fields, "hints": dict(hints)})
            article_rows.fill_blanks(self.db, article_id, columns)

    def record_unchanged(self, run_id: int, article_id: int, fetch: Mapping[str, Any], outcome: str) -> None:
        """A known article fetched again whose body is what we had (``not_modified``: a 304 or the same bytes).

        No extraction, no version: the fetch is logged against the article and the article marked seen.
        """
        fetch_values = fetch_columns(fetch)
        with self._write():
            self._require_run(run_id)
            article_rows.mark_seen(self.db, article_id, run_id, utc_now_iso())
            insert_fetch(self.db, run_id, fetch_values, outcome, None, article_id)

    def save_reextraction(
        self, run_id: int, article_id: int, article: Mapping[str, Any], fetched_at: str | None = None
    ) -> SaveResult:
        """A known article extracted again from its stored response (`newsarchive reextract`, a run with
        trigger ``reextract``): a new version, with change kind ``reextracted``, when a tracked field
        changed (archive/changes.py, as for a fetch); else nothing is written (outcome ``unchanged``).

        No fetch is logged (nothing was fetched); the article is not marked seen, nor back online.
        ``fetched_at``: when the stored response was fetched (default: the article's ``fetched_at``).
        """
        columns = article_columns({**article, "url": article.get("url") or "-"})
        with self._write():
            self._require_run(run_id)
            if fetched_at is None:
                row = self.db.execute("SELECT fetched_at FROM articles WHERE id = ?", [article_id]).fetchone()
                if row is None:
                    raise ArchiveError(f"No article with id {article_id} in archive {self.path}")
                fetched_at = row[0]
            change = article_rows.save_refetch(
                self.db, article_id, columns, run_id, utc_now_iso(), fetched_at, reextracted=True
            )
            if not change:
                return SaveResult(FetchOutcome.UNCHANGED, article_id)
            article_rows.store_minhash(self.db, article_id, self._signature(columns["text"]))
        return SaveResult(FetchOutcome.UPDATED, article_id)

    def mark_removed(self, run_id: int, article_id: int, status: int | None) -> bool:
        """The article answered 404 or 410, or redirected to the home page: set removed_at (kept, never deleted).

        True when it was online until now. The next save of the article clears it with a ``reappeared`` version.
        """
        with self._write():
            self._require_run(run_id)
            return crawl_state.mark_article_removed(self.db, article_id, status, utc_now_iso())

    def add_to_frontier(self, run_id: int, source: str, entries: Iterable[Mapping[str, Any]]) -> int:
        """Found-but-not-fetched URLs (archive/crawl_state.py); the next run starts with them. Returns rows added."""
        with self._write():
            self._require_run(run_id)
            return crawl_state.add_to_frontier(self.db, source, run_id, entries, utc_now_iso())

    def record_crawl_state(self, run_id: int, source: str, states: Mapping[str, Mapping[str, Any]]) -> None:
        """What fetches taught the crawler, by URL (validators, hash, revisit schedule; archive/crawl_state.py)."""
        now = utc_now_iso()
        with self._write():
            self._require_run(run_id)
            for url, values in states.items():
                crawl_state.record_state(self.db, source, url, values, run_id, now)

    def source_boilerplate(self, source: str) -> tuple[int, list[tuple[str, int, str]]]:
        """The source's learned boilerplate counts: (articles seen, [(fingerprint, articles, line)])."""
        return boilerplate_rows.load(self.db, source)

    def save_source_boilerplate(
        self, run_id: int, source: str, pages: int, lines: Iterable[tuple[str, int, str]], *, pass_ended: bool = True
    ) -> None:
        """Replace the source's learned boilerplate counts (archive/boilerplate.py); ``pass_ended``
        False: a save during the run, before its cleaning pass (the counts survive a kill)."""
        with self._write():
            self._require_run(run_id)
            boilerplate_rows.save(self.db, source, pages, lines, run_id if pass_ended else None, utc_now_iso())

    def articles_written_by_run(self, run_id: int) -> list[int]:
        """Ids of the articles whose current text this run wrote (new ones and new versions)."""
        return boilerplate_rows.articles_written_by_run(self.db, run_id)

    def articles_written_by_runs(self, run_ids: Iterable[int]) -> list[int]:
        """Ids of the articles whose current text one of these runs wrote."""
        return boilerplate_rows.articles_written_by_runs(self.db, run_ids)

    def has_fetch(self, run_id: int, url: str, fetched_at: str) -> bool:
        """Whether this run already recorded the fetch of ``url`` made at ``fetched_at`` (a distributed
        writer that crashed after committing an item, before acknowledging it, is given it again)."""
        row = self.db.execute(
            "SELECT 1 FROM fetches WHERE url = ? AND run_id = ? AND fetched_at = ? LIMIT 1", [url, run_id, fetched_at]
        ).fetchone()
        return row is not None

    def near_duplicate_of(self, article_id: int) -> int | None:
        """The original the article is a near copy of (``articles.near_duplicate_of``), None if none."""
        row = self.db.execute("SELECT near_duplicate_of FROM articles WHERE id = ?", [article_id]).fetchone()
        return row[0] if row else None

    def fold_copy(self, run_id: int, copy_id: int, original_id: int, *, also_runs: Iterable[int] = ()) -> bool:
        """Fold an article this run (or one of ``also_runs``) first archived into the article it copies:
        its fetches become ``duplicate``, its URL an alias, its row goes (archive/articles.py
        ``merge_new_copy``; False, nothing done, for an article with history or from another run)."""
        with self._write():
            self._require_run(run_id)
            now = utc_now_iso()
            return article_rows.merge_new_copy(self.db, copy_id, original_id, run_id, now, also_runs=also_runs)

    def runs_not_learned_from(self, source: str, current_run_id: int) -> list[int]:
        """The source's earlier runs that ended before their boilerplate pass (archive/boilerplate.py)."""
        return boilerplate_rows.runs_not_learned_from(self.db, source, current_run_id)

    def article_text(self, article_id: int) -> str:
        """The article's current text ('' when it has none)."""
        row = self.db.execute("SELECT text FROM articles WHERE id = ?", [article_id]).fetchone()
        return (row[0] or "") if row else ""

    def replace_text(self, run_id: int, article_id: int, text: str, *, also_runs: Iterable[int] = ()) -> SaveResult:
        """Correct the current text of an article this run wrote, in place (no new version): used when
        the run learned, after storing it, that some of its lines are the site's boilerplate.

        When the corrected text is exactly another article's, the two are one article: a copy first
        archived by this run (or by one of ``also_runs``: earlier runs killed before their own pass,
        whose articles this run cleans) is folded into the other (outcome ``duplicate``, its URL an
        alias); the one that says it was first published elsewhere (``syndicated_from``) is the copy.
        """
        now = utc_now_iso()
        with self._write():
            self._require_run(run_id)
            boilerplate_rows.replace_text(self.db, article_id, text)
            other = self.db.execute(
                "SELECT min(id) FROM articles WHERE content_hash = ? AND id != ?",
                [dedup.content_hash(text), article_id],
            ).fetchone()[0]
            if other is not None and dedup.is_comparable(text):
                says_copy = bool(article_rows.syndicated_from(self.db, article_id))
                other_says_copy = bool(article_rows.syndicated_from(self.db, other))
                if says_copy != other_says_copy:
                    copy, original = (article_id, other) if says_copy else (other, article_id)
                else:  # first archived is the original
                    copy, original = max(article_id, other), min(article_id, other)
                if article_rows.merge_new_copy(self.db, copy, original, run_id, now, also_runs=also_runs):
                    if original == article_id:  # it stays, with its new text: the signature follows
                        article_rows.store_minhash(self.db, article_id, self._signature(text))
                    # article_id: the row folded (gone now), duplicate_of: the one it folded into.
                    return SaveResult(FetchOutcome.DUPLICATE, copy, duplicate_of=original)
            article_rows.store_minhash(self.db, article_id, self._signature(text))
        return SaveResult(FetchOutcome.UPDATED, article_id)

    def finish_run(
        self,
        run_id: int,
        status: str,
        stats: Mapping[str, Any] | None = None,
        exit_code: int | None = None,
        reason: str | None = None,
    ) -> dict[str, Any]:
        """Close the run: counts from its fetches, duration, status, stats; commit; return the row.

        May be called again on a finished run (the scheduler does, to record a timeout or the
        exit code): counts are recomputed and stats already recorded are kept when none are given.
        """
        if status not in FINAL_RUN_STATUSES:
            raise ArchiveError(f"finish_run status must be one of {', '.join(FINAL_RUN_STATUSES)}, got {status!r}")
        with self._write():
            started_at = self.run(run_id)["started_at"]
            finish_run_row(self.db, run_id, started_at, status, stats, exit_code, utc_now_iso(), reason)
        self.commit()
        return self.run(run_id)

    def set_run_process(self, run_id: int, pid: int, log_path: str | None = None) -> None:
        """Record which process does the run (a scheduler creates the row before it starts the crawl)."""
        with self._write():
            self.db.execute(
                "UPDATE crawl_runs SET pid = ?, log_path = COALESCE(?, log_path) WHERE id = ?", [pid, log_path, run_id]
            )
        self.commit()

    def mark_browser_first(self, run_id: int) -> None:
        """The run fetches its pages through the browser at once (render_js auto, learned from earlier runs)."""
        with self._write():
            self.db.execute("UPDATE crawl_runs SET browser_first = 1 WHERE id = ?", [run_id])
        self.commit()

    def request_stop(self, run_id: int, reason: str) -> None:
        """Record, before stopping a run, that it is stopped on purpose (`stop_requested`) and why.

        finish_run keeps the reason; whoever closes the run decides "interrupted" from the flag.
        """
        with self._write():
            mark_stop_requested(self.db, run_id, reason)
        self.commit()

    def record_skipped_run(self, source: str, trigger: str, reason: str, scheduled_for: str | None = None) -> int:
        """A run that was due but not started (the previous one was still going), with why."""
        now = utc_now_iso()
        with self._write():
            run_id = insert_run(self.db, source, trigger, None, now)
            self.db.execute(
                "UPDATE crawl_runs SET status = ?, finished_at = ?, duration_s = 0, reason = ?,"
                " scheduled_for = ?, pid = NULL, pages_fetched = 0, requests = 0, articles_new = 0,"
                " articles_unchanged = 0, articles_updated = 0, articles_duplicate = 0, articles_rejected = 0,"
                " not_modified = 0, errors = 0, extraction_failures = 0 WHERE id = ?",
                [RunStatus.SKIPPED, now, reason, scheduled_for, run_id],
            )
        self.commit()
        return run_id

    def runs_with_status(self, status: str) -> list[dict[str, Any]]:
        return article_rows.rows_dicts(self.db, "SELECT * FROM crawl_runs WHERE status = ? ORDER BY id", [status])

    def source_runs(self, source: str, limit: int = 20, include_skipped: bool = True) -> list[dict[str, Any]]:
        """A source's most recent runs, newest first."""
        skipped = "" if include_skipped else " AND status != ?"
        parameters = [source] if include_skipped else [source, RunStatus.SKIPPED]
        return article_rows.rows_dicts(
            self.db,
            f"SELECT * FROM crawl_runs WHERE source = ?{skipped} ORDER BY id DESC LIMIT ?",
            [*parameters, limit],
        )

    def sources_with_runs(self) -> list[str]:
        return [row[0] for row in self.db.execute("SELECT DISTINCT source FROM crawl_runs ORDER BY source")]

    def source_health(self, source: str) -> dict[str, Any] | None:
        return article_rows.row_dict(self.db, "SELECT * FROM source_health WHERE source = ?", [source])

    def set_source_health(self, source: str, healthy: bool, reasons: Sequence[str], run_id: int | None) -> bool:
        """Store a source's health; True when it changed (a transition worth an alert)."""
        now = utc_now_iso()
        previous = self.source_health(source)
        changed = (previous is None and not healthy) or (previous is not None and bool(previous["healthy"]) != healthy)
        since = now if previous is None or changed else previous["since"]
        with self._write():
            self.db.execute(
                "INSERT INTO source_health (source, healthy, reasons, since, checked_at, last_run_id)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (source) DO UPDATE SET healthy = excluded.healthy,"
                " reasons = excluded.reasons, since = excluded.since, checked_at = excluded.checked_at,"
                " last_run_id = excluded.last_run_id",
                [source, int(healthy), json.dumps(list(reasons)), since, now, run_id],
            )
        self.commit()
        return changed

    # -- reads -----------------------------------------------------------------------------

    def run(self, run_id: int) -> dict[str, Any]:
        """The crawl_runs row; ArchiveError if there is none."""
        row = article_rows.row_dict(self.db, "SELECT * FROM crawl_runs WHERE id = ?", [run_id])
        if row is None:
            raise ArchiveError(f"No crawl run with id {run_id} in archive {self.path}; start one with start_run()")
        return row

    def runs(self, source: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        """Most recent runs first, optionally for one source."""
        if source is None:
            return article_rows.rows_dicts(self.db, "SELECT * FROM crawl_runs ORDER BY id DESC LIMIT ?", [limit])
        return article_rows.rows_dicts(
            self.db, "SELECT * FROM crawl_runs WHERE source = ? ORDER BY id DESC LIMIT ?", [source, limit]
        )

    def run_articles(self, run_id: int, limit: int | None = None) -> list[dict[str, Any]]:
        """Articles first archived by the run: id, url, title, published_at, source."""
        return article_rows.rows_dicts(
            self.db,
            "SELECT id, url, title, published_at, source FROM articles WHERE first_run_id = ? ORDER BY id LIMIT ?",
            [run_id, -1 if limit is None else limit],
        )

    def find_article(self, url: str) -> dict[str, Any] | None:
        """The article row (JSON columns as stored text) known under `url` as its url or an alias."""
        article_id = article_rows.find_article_id(self.db, [url])
        if article_id is None:
            return None
        return article_rows.row_dict(self.db, "SELECT * FROM articles WHERE id = ?", [article_id])

    def search(self, query: str, limit: int = 20) -> list[dict[str, Any]]:
        """Full-text search over title and text (FTS5 syntax, porter stemming), best match first.

        A query that is not valid FTS5 syntax (stray quotes, a trailing "-") is retried
        with each word quoted, so plain phrases typed by a user always work.
        """
        sql = """
            SELECT articles.id, articles.url, articles.title, articles.source, articles.published_at,
                   articles.published_at_utc,
                   snippet(articles_fts, 1, '[', ']', '…', 16) AS snippet,
                   articles_fts.rank AS rank
            FROM articles_fts JOIN articles ON articles.rowid = articles_fts.rowid
            WHERE articles_fts MATCH ?
            ORDER BY articles_fts.rank
            LIMIT ?
        """
        try:
            return article_rows.rows_dicts(self.db, sql, [fts_match(query), limit])
        except sqlite3.OperationalError:
            query_words = _quote_fts_words(query)  # not valid FTS5 syntax: search the words literally
        try:
            return article_rows.rows_dicts(self.db, sql, [fts_match(query_words), limit])
        except sqlite3.OperationalError as error:
            raise ArchiveError(f"Search query {query!r} failed in archive {self.path}: {error}") from error

    # -- internals -------------------------------------------------------------------------

    def _is_the_original_of(
        self, article_id: int, run_id: int, columns: Mapping[str, Any], fetch_values: Mapping[str, Any]
    ) -> bool:
        """Whether this page, an exact copy of an archived article, is its original (the article then
        moves to this URL, the copy's becoming an alias).

        A page saying it was first published elsewhere (``syndicated_from``) is the copy; an archived
        article saying so gives its place to a page that does not, whichever run archived it (a run cut
        short may have met only the copy). Else, within one run, dedup.original_rank decides; an
        article from an earlier run keeps its place: first seen wins."""
        if columns.get("syndicated_from"):
            return False  # it says it is a copy
        if article_rows.syndicated_from(self.db, article_id):
            return True  # the archived one says it is a copy, this one does not
        first = article_rows.first_found_this_run(self.db, article_id, run_id)
        if first is None:
            return False
        return dedup.original_rank(columns["url"], columns["published_at_utc"], fetch_values["found_by"]) < (
            dedup.original_rank(*first)
        )

    def _still_exact_copy_of(self, columns: Mapping[str, Any]) -> int | None:
        """The original, when this URL was recorded as an exact copy of it and still is one.

        A copy whose text has since changed is forgotten as an alias (and judged afresh), so that
        it can never overwrite the original it once matched.
        """
        target = article_rows.duplicate_alias_target(self.db, columns["url"])
        if target is None:
            return None
        original_id, original_hash = target
        if original_hash == columns["content_hash"]:
            return original_id
        article_rows.forget_alias(self.db, columns["url"])
        return None

    def _save_known(
        self,
        article_id: int,
        run_id: int,
        columns: Mapping[str, Any],
        now: str,
        fetched_at: str,
        signature: bytes | None = None,
    ) -> SaveResult:
        # A new version only when a tracked field changed after normalisation (archive/changes.py).
        if not article_rows.save_refetch(self.db, article_id, columns, run_id, now, fetched_at):
            return SaveResult(FetchOutcome.UNCHANGED, article_id)
        article_rows.store_minhash(self.db, article_id, self._signature(columns["text"], signature))
        return SaveResult(FetchOutcome.UPDATED, article_id)

    def _save_new(
        self, run_id: int, columns: Mapping[str, Any], now: str, fetched_at: str, signature: bytes | None = None
    ) -> SaveResult:
        minhash = self._signature(columns["text"], signature)
        near_duplicate_of = None
        if minhash is not None:
            match = self._near_duplicates.best_match(self.db, minhash, columns["text"])
            if match is not None:
                near_duplicate_of = article_rows.near_duplicate_root(self.db, match)
        # Copies point at their original, whichever the crawl met first.
        original_of = None
        if near_duplicate_of is not None and article_rows.is_original_of(self.db, columns, near_duplicate_of):
            original_of, near_duplicate_of = near_duplicate_of, None
        article_id = article_rows.insert_article(self.db, columns, run_id, now, fetched_at, near_duplicate_of)
        if original_of is not None:
            article_rows.make_root(self.db, article_id, original_of)
        article_rows.store_minhash(self.db, article_id, minhash)
        return SaveResult(FetchOutcome.NEW, article_id)

    def _signature(self, text: str | None, given: bytes | None = None) -> Signature | None:
        """The text's MinHash, None when it is too short to compare (then no MinHash code is even loaded);
        ``given``: the text's signature computed elsewhere (dedup.text_signature)."""
        if not dedup.is_comparable(text):
            return None
        if given is not None:
            return dedup.blob_to_signature(given)
        return dedup.text_minhash(text)

    def _require_run(self, run_id: int) -> None:
        if run_id in self._known_runs:
            return
        self.run(run_id)
        self._known_runs.add(run_id)

    @contextmanager
    def _write(self) -> Iterator[None]:
        """One write operation: all-or-nothing via a savepoint inside the current batch transaction."""
        if self._closed:
            raise ArchiveError(f"Archive {self.path} is closed; open a new Archive to write")
        try:
            if not self.db.conn.in_transaction:
                self.db.execute("BEGIN IMMEDIATE")
                self._batch_started = time.monotonic()
            self.db.execute(f"SAVEPOINT {_SAVEPOINT}")
        except sqlite3.DatabaseError as error:
            raise describe_database_error(self.path, error, self.busy_timeout()) from error
        try:
            yield
        except BaseException:
            if self.db.conn.in_transaction:
                self.db.execute(f"ROLLBACK TO {_SAVEPOINT}")
                self.db.execute(f"RELEASE {_SAVEPOINT}")
                if self._pending_writes == 0:
                    # Nothing else in this batch: end it rather than keep the write lock.
                    self.db.execute("ROLLBACK")
            else:
                # SQLite dropped the whole transaction (e.g. disk full): earlier pending writes are gone too.
                self.lost_writes += self._pending_writes
                self._pending_writes = 0
            raise
        self.db.execute(f"RELEASE {_SAVEPOINT}")
        self._pending_writes += 1
        now = time.monotonic()
        batch_age = now - self._batch_started
        # Writes trickling in slower than the age limit are committed one by one, so the write
        # lock is not held through the idle gaps between them; only bursts are batched.
        trickling = now - self._last_write_ended >= self._max_batch_seconds
        self._last_write_ended = now
        if self._pending_writes >= self._batch_size or batch_age >= self._max_batch_seconds or trickling:
            self.commit()

    def _rollback(self) -> None:
        self.lost_writes += self._pending_writes
        self.db.rollback()
        self._pending_writes = 0


def _alias_reasons(urls: list[str], fetch_values: Mapping[str, Any], default_reason: str) -> dict[str, str]:
    """Why each URL led to the article: the URL requested, the final URL after redirects, or a redirect hop.

    The first URL is the article's canonical url; register_aliases skips it when it already is
    the article's url, and otherwise records it as "canonical" (the site's canonical URL changed).
    """
    reasons: dict[str, str] = {}
    for position, url in enumerate(urls):
        if position == 0:
            reasons[url] = AliasReason.CANONICAL
        elif url == fetch_values.get("url"):
            reasons[url] = AliasReason.REQUESTED
        elif url == fetch_values.get("final_url"):
            reasons[url] = AliasReason.FINAL_URL
        else:
            reasons[url] = default_reason
    return reasons


def _quote_fts_words(query: str) -> str:
    words = [word.replace('"', "") for word in query.split()]
    return " ".join(f'"{word}"' for word in words if word)
