"""Remove each source's learned template lines from its articles' text (issue 9, site boilerplate).

Runs between extraction and the archive. Every distinct article text of the source is counted
(:class:`crawler.extraction.boilerplate.SiteBoilerplate`, restored from the archive on the first
article, so a known source is cleaned from its first page), then cleaned of the lines the counts
call boilerplate. Articles stored before the run had learned enough (a new source's first pages)
are cleaned again, in place, when the run ends, and the counts are saved for the next run.

A run that ended before that pass (kill -9, a power loss, a forced stop) leaves articles neither
cleaned with what it learned: its counts survive up to their last save (below), and the next run
of the source cleans its articles with its own at its end (``Archive.runs_not_learned_from``), so
that a copy of an article stored by the killed run still folds into its original.

The counts are also saved during the run, every ``BOILERPLATE_SAVE_EVERY`` articles, by the
archive pipeline (signal ``crawler.signals.boilerplate_counted``: its connection holds the write
batch; a second writer here would wait on it with the reactor blocked).

Settings: ``BOILERPLATE_ENABLED`` (False: ``NotConfigured``, texts are stored as extracted),
``BOILERPLATE_MIN_PAGES``, ``BOILERPLATE_MIN_SHARE``, ``BOILERPLATE_SAVE_EVERY``; ``ARCHIVE_DB``
(where the counts live).
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from archive import Archive, ArchiveError
from archive.boilerplate import LEARNED_STAT
from archive.dedup import content_hash
from archive.models import FetchOutcome
from crawler.extraction.boilerplate import SiteBoilerplate
from crawler.items import PageItem
from crawler.signals import boilerplate_counted

logger = logging.getLogger(__name__)


class BoilerplatePipeline:
    def __init__(self, crawler: Crawler, db_path: str, min_pages: int, min_share: float, save_every: int = 10) -> None:
        self.crawler = crawler
        self.save_every = save_every
        self.stats = crawler.stats
        self.db_path = db_path
        self.min_pages = min_pages
        self.min_share = min_share
        self.archive: Archive | None = None
        self.model: SiteBoilerplate | None = None
        # Texts already counted this run (the same article reached through two URLs counts once).
        self.counted: set[bytes] = set()
        self.unsaved = 0  # articles counted since the counts were last handed over for saving
        # Earlier runs of the source that ended before their own pass: this run counts and cleans their articles.
        self.recovered_runs: list[int] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BoilerplatePipeline:
        settings = crawler.settings
        if not settings.getbool("BOILERPLATE_ENABLED"):
            raise NotConfigured("BOILERPLATE_ENABLED is off")
        min_share = settings.getfloat("BOILERPLATE_MIN_SHARE")
        if not 0 < min_share <= 1:
            raise ValueError(f"BOILERPLATE_MIN_SHARE must be in (0, 1], got {min_share}: set a share such as 0.3")
        save_every = settings.getint("BOILERPLATE_SAVE_EVERY")
        if save_every < 1:
            raise ValueError(f"BOILERPLATE_SAVE_EVERY must be at least 1, got {save_every}: set a count such as 10")
        db, min_pages = settings.get("ARCHIVE_DB"), settings.getint("BOILERPLATE_MIN_PAGES")
        return cls(crawler, db, min_pages, min_share, save_every)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, PageItem) or not item.is_article or not item.fields:
            return item
        text = item.fields.get("text") or ""
        model = self._model(item.source)
        self._observe(text)
        cleaned = model.clean(text)
        if cleaned.removed:
            item.fields["text"] = cleaned.text
            item.fields["word_count"] = len(cleaned.text.split())
            self.stats.inc_value("newsarchive/boilerplate/lines_removed", len(cleaned.removed))
            self.stats.inc_value("newsarchive/boilerplate/articles_cleaned")
        if item.signature is not None and not signed_this_text(item, bool(cleaned.removed)):
            # A distributed worker's signature of another text: the archive computes this one's.
            item.signature = None
            self.stats.inc_value("newsarchive/boilerplate/signatures_dropped")
        return item

    def close_spider(self) -> None:
        # Called after ArchivePipeline.close_spider (Scrapy closes pipelines in reverse order), so
        # every article of the run is committed, and before the run is finished.
        source = self.crawler.spider.source.name
        if self.model is None and self.stats.get_value("newsarchive/run_id") is not None:
            # A run that stored no article text (all known, or none found) still owes earlier runs
            # killed before their pass their cleaning.
            self._model(source)
        if self.model is None or self.archive is None:
            return
        run_id = self.stats.get_value("newsarchive/run_id")
        try:
            if run_id is not None:
                self.archive.save_source_boilerplate(run_id, source, self.model.pages, self.model.persisted())
                self.stats.set_value("newsarchive/boilerplate/articles_recleaned", self._clean_again(run_id))
            self.stats.set_value(LEARNED_STAT, len(self.model.learned()))
        except (ArchiveError, sqlite3.Error) as error:
            # The articles are stored already; only the learning is lost.
            logger.error(
                "boilerplate: could not save what this run learned about %s's template lines in %s: %s",
                source,
                self.db_path,
                error,
                extra={"event": "boilerplate_not_saved"},
            )
        finally:
            self.archive.close()
            self.archive = None

    def _observe(self, text: str) -> None:
        key = hashlib.blake2b(" ".join(text.split()).encode("utf-8"), digest_size=8).digest()
        if key not in self.counted:
            self.counted.add(key)
            self.model.observe(text)
            self.unsaved += 1
            if self.unsaved >= self.save_every:
                self.send_counts()

    def send_counts(self) -> None:
        """Hand the counts to the archive pipeline, which saves them in its current batch (also called by
        a distributed writer before it commits a batch: the counts then commit with the items counted)."""
        if self.model is None or not self.unsaved:
            return
        self.unsaved = 0
        self.crawler.signals.send_catch_log(
            boilerplate_counted,
            source=self.crawler.spider.source.name,
            pages=self.model.pages,
            lines=self.model.persisted(),
            learned=self.model.learned_fingerprints(),
        )

    def _clean_again(self, run_id: int) -> int:
        """Clean this run's stored articles (and those of the runs it recovers) with everything the run
        learned, then fold the near copies that turned out exact; returns how many texts changed."""
        own = set(self.archive.articles_written_by_run(run_id))
        written = self.archive.articles_written_by_runs([run_id, *self.recovered_runs])
        folded: set[int] = set()
        changed = 0
        for article_id in written:
            cleaned = self.model.clean(self.archive.article_text(article_id))
            if cleaned.removed:
                result = self.archive.replace_text(run_id, article_id, cleaned.text, also_runs=self.recovered_runs)
                changed += 1
                if result.outcome == FetchOutcome.DUPLICATE:
                    folded.add(result.article_id)
        # Once every text of ours is clean: a near copy whose original is now exactly it (the original
        # cleaned here, or from an earlier run and cleaned with today's lines for the comparison).
        ours = set(written)
        for article_id in written:
            if article_id in folded:
                continue
            original = self._exact_original(article_id, ours)
            if original is not None and self.archive.fold_copy(
                run_id, article_id, original, also_runs=self.recovered_runs
            ):
                folded.add(article_id)
        for _ in folded & own:
            # Without its boilerplate the text is another article's: one article, not two.
            self.stats.inc_value("newsarchive/articles/new", -1)
            self.stats.inc_value("newsarchive/articles/duplicate")
        self.archive.commit()
        if changed:
            logger.info(
                "boilerplate: %d articles of this run cleaned again with what the run learned",
                changed,
                extra={"event": "boilerplate_recleaned"},
            )
        return changed

    def _exact_original(self, article_id: int, ours: set[int]) -> int | None:
        """The original this near copy is exactly (None if none), comparing cleaned texts: an original of
        ours was cleaned in place; one stored by an earlier run keeps the lines learned since (its text is
        never rewritten), so it is compared as today's lines would clean it."""
        original = self.archive.near_duplicate_of(article_id)
        if original is None:
            return None
        text = self.archive.article_text(original)
        if original not in ours:
            text = self.model.clean(text).text
        return original if content_hash(text) == content_hash(self.archive.article_text(article_id)) else None

    def _model(self, source: str) -> SiteBoilerplate:
        # Opened on the first article, not in open_spider: the archive pipeline opens (and migrates) after us.
        if self.model is None:
            pages, lines = 0, []
            try:
                self.archive = Archive(self.db_path)
                pages, lines = self.archive.source_boilerplate(source)
            except (ArchiveError, sqlite3.Error) as error:
                # Never lose an article over this: learn within the run only, and say why.
                logger.warning(
                    "boilerplate: could not read %s's learned template lines from %s (%s); this run learns afresh",
                    source,
                    self.db_path,
                    error,
                    extra={"event": "boilerplate_unreadable"},
                )
                if self.archive is not None:
                    self.archive.close()
                self.archive = None
            self.model = SiteBoilerplate.restore(pages, lines, min_pages=self.min_pages, min_share=self.min_share)
            if self.archive is not None:
                self._recover(source)
        return self.model

    def _recover(self, source: str) -> None:
        """Find the source's runs that ended before their own pass: this run cleans their articles at its end.

        Their texts are not counted again: what they counted was saved every ``save_every`` articles,
        and a stored text may have been cleaned already, which would undercount the very lines learned.
        """
        run_id = self.stats.get_value("newsarchive/run_id")
        if run_id is None:
            return
        try:
            self.recovered_runs = self.archive.runs_not_learned_from(source, run_id)
            recovered = self.archive.articles_written_by_runs(self.recovered_runs) if self.recovered_runs else []
        except (ArchiveError, sqlite3.Error) as error:
            logger.warning(
                "boilerplate: could not read the articles of %s's unfinished runs from %s (%s); they stay as stored",
                source,
                self.db_path,
                error,
                extra={"event": "boilerplate_unreadable"},
            )
            self.recovered_runs = []
            return
        if self.recovered_runs:
            self.stats.set_value("newsarchive/boilerplate/articles_recovered", len(recovered))
            logger.info(
                "boilerplate: %s's runs %s ended before their boilerplate pass: their %d articles are cleaned"
                " with this run's",
                source,
                ", ".join(map(str, self.recovered_runs)),
                len(recovered),
                extra={"event": "boilerplate_recovered"},
            )


def signed_this_text(item: PageItem, cleaned: bool) -> bool:
    """Whether ``item.signature`` is the MinHash of the item's text now: a signature of the text as
    extracted holds while nothing was removed; one a worker computed names the text it signed."""
    if item.signed_text_hash is None:
        return not cleaned
    return item.signed_text_hash == content_hash(item.fields.get("text") or "")
