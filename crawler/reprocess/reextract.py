"""``newsarchive reextract``: the current extraction and classification run again over the stored
responses, without the network, and what changed becomes a version of kind ``reextracted``.

For every article chosen (``source``; ``since``: the stored response was fetched on or after it), the
response its current content came from is read back from the crawl's WARC files: the latest fetch of
the article that had a full body (outcome new, updated or unchanged) and a WARC pointer
(``fetches.warc_file``). Records are read sequentially, file by file in offset order
(crawler/reprocess/stored.py), and each page goes through what a crawl does to it, with today's
code: ``extract_page`` in the extraction worker pool (processes: trafilatura is not thread-safe),
``classify_page``, the source's learned boilerplate lines removed, feed and sitemap hints (kept on the
article) filling what extraction left blank. The result is saved through the archive's one write
path (``Archive.save_reextraction``): a tracked field that changed (archive/changes.py, the rule every
fetch is judged by) makes a new version whose ``change_kinds`` include ``reextracted``; no change
writes nothing. A page that no longer classifies as an article is reported, never deleted. Each
source re-extracted gets a ``crawl_runs`` row with trigger ``reextract`` (the versions' ``replaced_by_run_id``),
whose ``stats_json`` holds the summary; it logs no fetches (nothing was fetched).

Articles without a pointer (archived before WARC files were written) are counted as ``missing WARC``.
``dry_run`` opens the archive read-only and reports what would change.

Settings (crawler/settings.py defaults, as a crawl has them): ``EXTRACT_MIN_TEXT_CHARS``,
``BOILERPLATE_ENABLED``, ``BOILERPLATE_MIN_PAGES``, ``BOILERPLATE_MIN_SHARE``; ``workers`` as
``EXTRACT_WORKERS`` (None: one per core). A source's ``article_urls`` come from the sources file when
one is given (without it, pages are judged by their signals).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archive import Archive, ArchiveError
from archive import boilerplate as boilerplate_rows
from archive.articles import row_dict
from archive.changes import Change, as_reextraction, classify_change
from archive.filters import _bound
from archive.models import FetchOutcome, RunStatus, RunTrigger
from archive.reader import open_read_only
from archive.records import article_columns
from crawler.extraction.boilerplate import SiteBoilerplate
from crawler.extraction.classify import classify_page
from crawler.extraction.fields import article_record as extracted_record
from crawler.extraction.pool import ExtractionPool
from crawler.reprocess.stored import Pointer, UnreadableRecord, read_pointed
from crawler.warc.reader import StoredResponse

# The fetches whose body is the article's content (not_modified ones repeat an earlier body).
FULL_BODY_OUTCOMES = (FetchOutcome.NEW, FetchOutcome.UPDATED, FetchOutcome.UNCHANGED)
IN_FLIGHT_PER_WORKER = 4  # pages handed to the pool ahead of the results, per worker
REEXTRACT_STAT = "newsarchive/reextract/"


@dataclass(frozen=True)
class ReextractOptions:
    """What to re-extract and with which rules (defaults: a crawl's settings)."""

    warc_dir: Path
    source: str | None = None
    since: str | None = None
    dry_run: bool = False
    workers: int | None = None
    min_text_chars: int = 200
    article_patterns: Mapping[str, Sequence[re.Pattern[str]]] = field(default_factory=dict)
    boilerplate: bool = True
    boilerplate_min_pages: int = 10
    boilerplate_min_share: float = 0.15


@dataclass(frozen=True)
class Target:
    """An article and the stored response its current content came from."""

    article_id: int
    url: str
    source: str
    page_url: str
    content_type: str | None
    fetch_mode: str | None
    hints: dict[str, Any]
    pointer: Pointer


@dataclass
class ReextractSummary:
    """What a re-extraction found; ``changes``: (article id, url, change kinds) of each new version."""

    dry_run: bool = False
    articles: int = 0
    pages_read: int = 0
    changed: int = 0
    unchanged: int = 0
    missing_warc: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    changes: list[tuple[int, str, list[str]]] = field(default_factory=list)
    not_articles: list[tuple[int, str, str]] = field(default_factory=list)
    unreadable: list[tuple[int, str, str]] = field(default_factory=list)
    runs: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def pages_per_second(self) -> float:
        return self.pages_read / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "articles": self.articles,
            "pages_read": self.pages_read,
            "changed": self.changed,
            "changed_by_kind": dict(sorted(self.kinds.items())),
            "unchanged": self.unchanged,
            "no_longer_articles": [{"id": i, "url": u, "reason": r} for i, u, r in self.not_articles],
            "missing_warc": self.missing_warc,
            "unreadable": [{"id": i, "url": u, "error": e} for i, u, e in self.unreadable],
            "runs": self.runs,
            "seconds": round(self.seconds, 3),
            "pages_per_second": round(self.pages_per_second, 1),
            "changes": [{"id": i, "url": u, "change_kinds": k} for i, u, k in self.changes],
        }


def has_warc_pointers(db: Any) -> bool:
    """Whether the archive's schema has the WARC pointer columns (``fetches.warc_file``)."""
    return "warc_file" in {row[1] for row in db.execute("PRAGMA table_info(fetches)").fetchall()}


def select_targets(db: Any, source: str | None, since: str | None) -> tuple[list[Target], int]:
    """The chosen articles with a stored response, and how many chosen articles have none."""
    conditions, params = [], []
    if source is not None:
        conditions.append("a.source = ?")
        params.append(source)
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    if not has_warc_pointers(db):
        total = db.execute(f"SELECT count(*) FROM articles a {where}", params).fetchone()[0]
        return [], int(total)
    outcomes = ", ".join("?" for _ in FULL_BODY_OUTCOMES)
    rows = db.execute(
        f"""
        SELECT a.id, a.url, a.source, a.hints, f.url, f.final_url, f.content_type, f.fetch_mode, f.fetched_at,
               f.warc_file, f.warc_offset, f.warc_length
        FROM articles a
        LEFT JOIN fetches f ON f.id = (
            SELECT max(id) FROM fetches WHERE article_id = a.id AND warc_file IS NOT NULL AND outcome IN ({outcomes}))
        {where}
        ORDER BY a.id
        """,
        [*FULL_BODY_OUTCOMES, *params],
    ).fetchall()
    bound = _bound(since, "since", end=False) if since is not None else None
    targets, missing = [], 0
    for row in rows:
        article_id, url, article_source, hints, fetch_url, final_url, content_type, mode, fetched_at = row[:9]
        warc_file, offset, length = row[9:]
        if bound is not None and (fetched_at or "") < bound:
            continue
        if warc_file is None or offset is None or length is None:
            missing += 1
            continue
        try:
            stored_hints = json.loads(hints) if hints else {}
        except ValueError:
            stored_hints = {}
        targets.append(
            Target(
                article_id,
                url,
                article_source,
                final_url or fetch_url or url,
                content_type,
                mode,
                stored_hints if isinstance(stored_hints, dict) else {},
                Pointer(warc_file, int(offset), int(length)),
            )
        )
    return targets, missing


def article_record(target: Target, fields: Mapping[str, Any], text: str | None) -> dict[str, Any]:
    """The article dict a crawl would save for this page (crawler.extraction.fields.article_record)."""
    return extracted_record(
        {**fields, "text": text}, target.hints, url=target.url, source=target.source, fetch_mode=target.fetch_mode
    )


class Reextraction:
    """One re-extraction over an archive; :meth:`run` does it and returns the summary."""

    def __init__(
        self, db_path: Path, options: ReextractOptions, progress: Callable[[int, int], None] | None = None
    ) -> None:
        self.db_path = Path(db_path)
        self.options = options
        self.progress = progress
        self.summary = ReextractSummary(dry_run=options.dry_run)
        self.archive: Archive | None = None
        self.db: Any = None
        self.models: dict[str, SiteBoilerplate] = {}
        self.per_source: dict[str, Counter[str]] = {}

    def run(self) -> ReextractSummary:
        if not self.db_path.exists():
            raise ArchiveError(
                f"No archive at {self.db_path}.", "give the archive a crawl wrote (--db PATH or --config FILE)."
            )
        started = time.perf_counter()
        if self.options.dry_run:
            self.db = open_read_only(self.db_path)
        else:
            self.archive = Archive(self.db_path)
            self.db = self.archive.db
        try:
            targets, self.summary.missing_warc = select_targets(self.db, self.options.source, self.options.since)
            self.summary.articles = len(targets) + self.summary.missing_warc
            if targets:
                self._start_runs(sorted({target.source for target in targets}))
                asyncio.run(self._extract_all(targets))
            self._finish_runs(RunStatus.SUCCEEDED, None)
        except BaseException as error:
            self._finish_runs(
                RunStatus.INTERRUPTED if isinstance(error, KeyboardInterrupt) else RunStatus.FAILED,
                f"re-extraction stopped: {type(error).__name__}: {error}",
            )
            raise
        finally:
            self.summary.seconds = time.perf_counter() - started
            if self.archive is not None:
                self.archive.close()
            else:
                self.db.close()
        return self.summary

    # -- runs ------------------------------------------------------------------------------

    def _start_runs(self, sources: list[str]) -> None:
        for source in sources:
            self.per_source[source] = Counter()
            if self.archive is not None:
                self.summary.runs[source] = self.archive.start_run(source, trigger=RunTrigger.REEXTRACT)

    def _finish_runs(self, status: RunStatus, reason: str | None) -> None:
        if self.archive is None:
            return
        for source, run_id in self.summary.runs.items():
            if self.archive.run(run_id)["status"] != RunStatus.RUNNING:
                continue
            counts = self.per_source.get(source, Counter())
            stats = {f"{REEXTRACT_STAT}{name}": value for name, value in sorted(counts.items())}
            self.archive.finish_run(run_id, status, stats=stats, reason=reason)

    # -- pages -----------------------------------------------------------------------------

    async def _extract_all(self, targets: list[Target]) -> None:
        total = len(targets)
        done = 0
        with ExtractionPool(workers=self.options.workers, min_text_chars=self.options.min_text_chars) as pool:
            window = pool.workers * IN_FLIGHT_PER_WORKER
            pending: set[asyncio.Future[Any]] = set()
            for target, stored in read_pointed(self.options.warc_dir, ((t.pointer, t) for t in targets)):
                if isinstance(stored, UnreadableRecord):
                    self._unreadable(target, stored)
                    done += 1
                    continue
                self.summary.pages_read += 1
                self.per_source[target.source]["pages_read"] += 1
                pending.add(asyncio.ensure_future(self._extract(pool, target, stored)))
                if len(pending) >= window:
                    finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                    done += self._handle_finished(finished)
                    self._report(done, total)
            while pending:
                finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                done += self._handle_finished(finished)
                self._report(done, total)
            self._report(total, total)

    async def _extract(
        self, pool: ExtractionPool, target: Target, stored: StoredResponse
    ) -> tuple[Target, dict[str, Any]]:
        content_type = target.content_type or stored.header("Content-Type")
        return target, await pool.extract(stored.body, target.page_url, content_type)

    def _handle_finished(self, finished: set[asyncio.Future[Any]]) -> int:
        for future in finished:
            target, fields = future.result()
            self._judge(target, fields)
        return len(finished)

    def _report(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(done, total)

    def _unreadable(self, target: Target, error: Exception) -> None:
        self.summary.unreadable.append((target.article_id, target.url, str(error)))
        self.per_source[target.source]["unreadable"] += 1

    def _judge(self, target: Target, fields: dict[str, Any]) -> None:
        """Classify, clean and save (or, dry, compare) one re-extracted page."""
        counts = self.per_source[target.source]
        verdict = classify_page(
            fields,
            target.page_url,
            self.options.article_patterns.get(target.source, ()),
            min_text_chars=self.options.min_text_chars,
        )
        if not verdict.is_article:
            self.summary.not_articles.append((target.article_id, target.url, verdict.reason))
            counts["no_longer_articles"] += 1
            return
        text = fields.get("text")
        if self.options.boilerplate and text:
            text = self._model(target.source).clean(text).text
        record = article_record(target, fields, text)
        current = row_dict(self.db, "SELECT * FROM articles WHERE id = ?", [target.article_id])
        if current is None:  # folded into another article meanwhile
            return
        change = as_reextraction(classify_change(current, article_columns(record)))
        if change and self.archive is not None:
            result = self.archive.save_reextraction(self.summary.runs[target.source], target.article_id, record)
            if result.outcome != FetchOutcome.UPDATED:
                change = Change()
        if not change:
            self.summary.unchanged += 1
            counts["unchanged"] += 1
            return
        kinds = [str(kind) for kind in change.kinds]
        self.summary.changed += 1
        counts["changed"] += 1
        self.summary.kinds.update(kinds)
        counts.update(f"changed_{kind}" for kind in kinds)
        self.summary.changes.append((target.article_id, target.url, kinds))

    def _model(self, source: str) -> SiteBoilerplate:
        if source not in self.models:
            pages, lines = boilerplate_rows.load(self.db, source)
            self.models[source] = SiteBoilerplate.restore(
                pages,
                lines,
                min_pages=self.options.boilerplate_min_pages,
                min_share=self.options.boilerplate_min_share,
            )
        return self.models[source]


def reextract(
    db_path: Path, options: ReextractOptions, progress: Callable[[int, int], None] | None = None
) -> ReextractSummary:
    """Re-extract the chosen articles of the archive at ``db_path``; see the module docstring."""
    return Reextraction(db_path, options, progress).run()
