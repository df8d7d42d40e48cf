"""ExtractPipeline and ArchivePipeline in the test process, driven as a crawl drives them.

How a crawl drives them (Scrapy 2.19): the item processor (``ITEM_PROCESSOR``, Scrapy's
ItemPipelineManager) builds both from ``ITEM_PIPELINES`` and awaits ``open_spider()`` on each when
the spider opens, then ``process_item(item)`` through the chain for every item (ExtractPipeline's is
a coroutine, ArchivePipeline's a plain method), and ``close_spider()`` when the spider closes; then
the engine sends ``spider_closed``, on which ArchivePipeline finishes the run. None of them takes a
``spider`` argument any more. :class:`Crawl` does exactly that with the item processor itself.

What it needs: ExtractPipeline awaits its worker pool's futures, so an asyncio loop must run, and
ArchivePipeline commits on a Twisted ``LoopingCall``, so the reactor must be installed. The lightest
honest way is the one a crawl process runs on: Twisted's asyncio reactor, installed in this process,
and its own asyncio loop running each call to completion (tests/inprocess.py, ``run``), so the
LoopingCall's timer fires there as in a crawl. The reactor itself is never started.

Everything else is real: the extraction pool's forkserver workers and trafilatura (one worker,
``EXTRACT_WORKERS=1``), the golden pages of tests/golden/, and an archive in a SQLite file in
``tmp_path``. Items are the ones the news spider yields for responses to its own requests, and each
response also passes Scrapy's DownloaderStats middleware, which counts responses by status as in a
crawl (a run where no page answered 2xx fails).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from scrapy.downloadermiddlewares.stats import DownloaderStats
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpErrorMiddleware
from scrapy.utils.misc import build_from_crawler, load_object

from archive import Archive
from archive.dedup import text_signature
from crawler.items import Fetch, FetchItem, PageItem
from crawler.sources.config import SourceConfig, adhoc_source
from pipelines.archive import LOCK_RETRY_S, ArchivePipeline
from pipelines.boilerplate import BoilerplatePipeline
from pipelines.extract import ExtractPipeline
from pipelines.signature import SignaturePipeline
from tests.inprocess import (
    NO_ENGINE_SETTINGS,
    close_spider,
    collect,
    failure_from,
    news_crawler,
    open_spider,
    response_to,
    run,
)

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
ARTICLE_URL = "https://www.continentalherald.example/business/2024/08/21/rhine-freight-record-low-water"
LISTING_URL = "https://www.dailyledger.example/world"


def golden(name: str) -> tuple[bytes, dict[str, Any]]:
    expected = json.loads((GOLDEN_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return (GOLDEN_DIR / f"{name}.html").read_bytes(), expected


def source() -> SourceConfig:
    return adhoc_source(
        "https://www.continentalherald.example/",
        start_urls=["https://www.continentalherald.example/", "https://www.dailyledger.example/"],
        render_js="never",
    )


class Crawl:
    """One crawl's item pipelines over an archive file: opened, fed, closed as Scrapy's engine does."""

    def __init__(self, db: Path, **settings: Any) -> None:
        self.crawler = news_crawler(
            {"ARCHIVE_DB": str(db), "EXTRACT_WORKERS": 1, **NO_ENGINE_SETTINGS, **settings}, source=source()
        )
        processor = load_object(self.crawler.settings["ITEM_PROCESSOR"])
        self.items = build_from_crawler(processor, self.crawler)
        self.downloader_stats = DownloaderStats.from_crawler(self.crawler)
        self.spider = self.crawler.spider

    def __enter__(self) -> Crawl:
        run(self.items.open_spider_async())
        open_spider(self.crawler)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if exc_info[0] is not None:  # still stop the workers and the committer
            run(self.items.close_spider_async())

    def close(self, reason: str = "finished") -> None:
        run(self.items.close_spider_async())
        close_spider(self.crawler, reason)

    def pipeline(self, cls: type) -> Any:
        return next(p for p in self.items.middlewares if isinstance(p, cls))

    def respond(
        self, url: str, body: bytes, content_type: str = "text/html; charset=utf-8", status: int = 200
    ) -> Response:
        request = self.spider.page_request(url, "feed", hints={"title": "From the feed"})
        response = response_to(request, body, content_type, status=status)
        self.downloader_stats.process_response(request, response)
        return response

    def page(self, url: str, body: bytes) -> PageItem:
        """The spider's PageItem for this page, through every pipeline."""
        item = collect(self.spider.parse_page(self.respond(url, body)))[0]
        assert isinstance(item, PageItem)
        return run(self.items.process_item_async(item))

    def process(self, item: Any) -> Any:
        return run(self.items.process_item_async(item))


def rows(db: Path, sql: str, *params: Any) -> list[dict[str, Any]]:
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(row) for row in connection.execute(sql, params)]


def fetch_rows(db: Path, run_id: int) -> list[dict[str, Any]]:
    return rows(
        db,
        "SELECT url, status, outcome, reason, article_id, found_by, evidence FROM fetches WHERE run_id = ? ORDER BY id",
        run_id,
    )


def run_row(db: Path, run_id: int) -> dict[str, Any]:
    return rows(db, "SELECT * FROM crawl_runs WHERE id = ?", run_id)[0]


def test_both_pipelines_are_built_from_the_settings(tmp_path: Path) -> None:
    crawl = Crawl(tmp_path / "archive.db")
    assert [type(p) for p in crawl.items.middlewares] == [
        ExtractPipeline,
        BoilerplatePipeline,
        SignaturePipeline,
        ArchivePipeline,
    ]
    assert crawl.spider.extract_workers == 1  # EXTRACT_WORKERS, for the pool the spider starts on its first page


def test_the_near_duplicate_signature_is_computed_in_a_worker_and_stored(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    body, _ = golden("news_portal")
    with Crawl(db) as crawl:
        item = crawl.page(ARTICLE_URL, body)
        crawl.close()
    # SignaturePipeline filled it from the final text; the archive stored that very signature.
    assert item.signature is not None and item.signature == text_signature(item.fields["text"])
    (stored,) = rows(db, "SELECT signature FROM article_minhashes")
    assert stored["signature"] == item.signature


def test_an_article_is_new_then_unchanged_then_updated(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    body, expected = golden("news_portal")

    with Crawl(db) as first:
        item = first.page(ARTICLE_URL, body)
        first.close()
    # What extraction found, on the item the archive received.
    assert item.is_article is True
    assert item.fields["title"] == expected["title"]
    assert item.fields["authors"] == expected["authors"]
    assert item.fields["text"].startswith(expected["first_sentence"])
    assert first.crawler.stats.get_value("newsarchive/pages_extracted") == 1
    first_run = first.crawler.stats.get_value("newsarchive/run_id")

    (article,) = rows(db, "SELECT * FROM articles")
    assert article["url"] == ARTICLE_URL
    assert (article["source"], article["title"], article["version"]) == (
        "continentalherald-example",
        expected["title"],
        1,
    )
    assert json.loads(article["authors"]) == expected["authors"]
    assert article["published_at"] == expected["published_at"]
    assert article["fetch_mode"] == "plain"
    assert expected["must_contain"][0] in article["text"]
    assert [(f["url"], f["outcome"], f["article_id"], f["found_by"]) for f in fetch_rows(db, first_run)] == [
        (ARTICLE_URL, "new", article["id"], "feed")
    ]

    with Crawl(db) as second:
        second.page(ARTICLE_URL, body)
        second.close()
    second_run = second.crawler.stats.get_value("newsarchive/run_id")
    assert [f["outcome"] for f in fetch_rows(db, second_run)] == ["unchanged"]
    assert rows(db, "SELECT count(*) AS n, max(version) AS version FROM articles") == [{"n": 1, "version": 1}]

    changed = body.replace(b"not due to begin before 2026.", b"now due to begin in the spring of 2027.")
    assert changed != body
    with Crawl(db) as third:
        third.page(ARTICLE_URL, changed)
        third.close()
    third_run = third.crawler.stats.get_value("newsarchive/run_id")
    assert [f["outcome"] for f in fetch_rows(db, third_run)] == ["updated"]
    (article,) = rows(db, "SELECT id, version, text FROM articles")
    assert article["version"] == 2 and "spring of 2027" in article["text"]
    (old,) = rows(db, "SELECT article_id, version, text FROM article_versions")
    assert (old["article_id"], old["version"]) == (article["id"], 1)
    assert "before 2026" in old["text"]
    assert run_row(db, third_run)["articles_updated"] == 1


def test_a_run_records_every_fetch_and_finishes_with_counts(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    article_body, _ = golden("news_portal")
    listing_body, listing = golden("section_listing")

    with Crawl(db, NEWSARCHIVE_RUN_TRIGGER="schedule") as crawl:
        run_id = crawl.crawler.stats.get_value("newsarchive/run_id")
        assert run_row(db, run_id)["status"] == "running"  # visible to monitors from the start

        crawl.page(ARTICLE_URL, article_body)
        rejected = crawl.page(LISTING_URL, listing_body)
        assert rejected.is_article is False and listing["reason_contains"] in rejected.reason

        robots = collect(crawl.spider.start())[0]
        assert robots.url == "https://www.continentalherald.example/robots.txt"
        robots_response = response_to(robots, b"User-agent: *\nAllow: /\n", "text/plain")
        crawl.downloader_stats.process_response(robots, robots_response)
        for item in crawl.spider.parse_robots(robots_response):
            assert isinstance(item, FetchItem)
            assert crawl.process(item) is item

        broken = crawl.spider.page_request("https://www.continentalherald.example/business/broken/", "link")
        failure = failure_from(
            broken,
            lambda: HttpErrorMiddleware.from_crawler(crawl.crawler).process_spider_input(
                response_to(broken, b"<html>Oops</html>", status=500)
            ),
        )
        for item in crawl.spider.on_error(failure):
            crawl.process(item)
        crawl.close()

    fetches = {f["url"]: f for f in fetch_rows(db, run_id)}
    assert fetches[ARTICLE_URL]["outcome"] == "new"
    assert fetches[LISTING_URL]["outcome"] == "rejected"
    assert listing["reason_contains"] in fetches[LISTING_URL]["reason"]
    assert fetches[LISTING_URL]["article_id"] is None
    # Both verdicts keep the evidence they weighed.
    listing_evidence = {item["signal"]: item["weight"] for item in json.loads(fetches[LISTING_URL]["evidence"])}
    assert listing_evidence["teasers"] < 0
    article_evidence = {item["signal"] for item in json.loads(fetches[ARTICLE_URL]["evidence"])}
    assert {"jsonld_main_article", "og_type", "byline", "published_date"} <= article_evidence
    assert fetches["https://www.continentalherald.example/robots.txt"]["evidence"] is None
    assert fetches["https://www.continentalherald.example/robots.txt"]["outcome"] == "discovery"
    broken_row = fetches["https://www.continentalherald.example/business/broken/"]
    assert (broken_row["outcome"], broken_row["reason"], broken_row["status"]) == ("error", "HTTP 500", 500)
    assert [a["url"] for a in rows(db, "SELECT url FROM articles")] == [ARTICLE_URL]

    finished = run_row(db, run_id)
    assert (finished["status"], finished["trigger"], finished["source"]) == (
        "succeeded",
        "schedule",
        "continentalherald-example",
    )
    assert finished["finished_at"] is not None
    counts = ("pages_fetched", "articles_new", "articles_unchanged", "articles_updated", "articles_rejected", "errors")
    assert {name: finished[name] for name in counts} == {
        "pages_fetched": 4,
        "articles_new": 1,
        "articles_unchanged": 0,
        "articles_updated": 0,
        "articles_rejected": 1,
        "errors": 1,
    }
    assert finished["responses_2xx"] == 3 and finished["responses_5xx"] == 0
    assert json.loads(finished["stats_json"])["finish_reason"] == "finished"
    stats = crawl.crawler.stats
    assert stats.get_value("newsarchive/articles/new") == 1
    assert stats.get_value("newsarchive/articles/rejected") == 1
    assert stats.get_value("newsarchive/fetches/error") == 1


def test_a_run_where_no_page_answered_fails(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    with Crawl(db) as crawl:
        broken = crawl.spider.page_request("https://www.continentalherald.example/", "start")
        response = response_to(broken, b"", status=503)
        crawl.downloader_stats.process_response(broken, response)
        failure = failure_from(
            broken, lambda: HttpErrorMiddleware.from_crawler(crawl.crawler).process_spider_input(response)
        )
        for item in crawl.spider.on_error(failure):
            crawl.process(item)
        crawl.close()
    finished = run_row(db, crawl.crawler.stats.get_value("newsarchive/run_id"))
    assert (finished["status"], finished["errors"], finished["responses_5xx"]) == ("failed", 1, 1)


def test_a_run_stopped_abnormally_fails(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    body, _ = golden("minimal")
    with Crawl(db) as crawl:
        crawl.page("https://www.continentalherald.example/2024/03/hall-reopens.html", body)
        crawl.close("shutdown")
    finished = run_row(db, crawl.crawler.stats.get_value("newsarchive/run_id"))
    assert finished["status"] == "failed"
    assert json.loads(finished["stats_json"])["finish_reason"] == "shutdown"


def test_the_run_the_parent_created_is_the_one_filled(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    with Archive(db) as archive:
        mine = archive.start_run("continentalherald-example", trigger="catch-up")
        other = archive.start_run("another-source")
    body, _ = golden("minimal")

    with Crawl(db, NEWSARCHIVE_RUN_ID=mine) as crawl:
        crawl.page("https://www.continentalherald.example/2024/03/hall-reopens.html", body)
        crawl.close()
    assert crawl.crawler.stats.get_value("newsarchive/run_id") == mine
    assert run_row(db, mine)["status"] == "succeeded"
    assert run_row(db, mine)["articles_new"] == 1
    assert rows(db, "SELECT count(*) AS n FROM crawl_runs") == [{"n": 2}]

    wrong = Crawl(db, NEWSARCHIVE_RUN_ID=other)
    with pytest.raises(
        ValueError, match=rf"run {other} in .* is for source 'another-source', not 'continentalherald-example'"
    ):
        run(wrong.items.open_spider_async())
    wrong.pipeline(ArchivePipeline).archive.close()


def test_writes_are_committed_while_the_crawl_runs(tmp_path: Path) -> None:
    """The committer (a LoopingCall on the reactor) makes pending writes visible every ARCHIVE_COMMIT_INTERVAL,
    so a crawl that is killed loses at most that much."""
    db = tmp_path / "archive.db"
    with Crawl(db, ARCHIVE_COMMIT_INTERVAL=1.0) as crawl:
        run_id = crawl.crawler.stats.get_value("newsarchive/run_id")
        robots = collect(crawl.spider.start())[0]
        (item,) = crawl.spider.parse_robots(response_to(robots, b"User-agent: *\n", "text/plain"))
        crawl.pipeline(ArchivePipeline).process_item(item)  # directly: no turn of the loop in between
        assert fetch_rows(db, run_id) == []  # written, not yet committed: another reader cannot see it

        deadline = time.monotonic() + 5
        while not fetch_rows(db, run_id) and time.monotonic() < deadline:
            run(asyncio.sleep(0.1))  # the reactor's loop runs on, as between pages of a crawl
        assert [row["outcome"] for row in fetch_rows(db, run_id)] == ["discovery"]
        crawl.close()


# -- no silent loss: writes that fail ----------------------------------------------------------


@pytest.fixture
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """The archive waits 30 s for another writer's lock; a test waits 0.2 s (SQLite's own busy timeout)."""
    import archive.connection

    monkeypatch.setattr(archive.connection, "BUSY_TIMEOUT_S", 0.2)


def hold_write_lock(db: Path) -> sqlite3.Connection:
    """Another process's long write: the archive's write lock, held until the connection rolls back."""
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_a_page_that_finds_the_archive_locked_waits_and_is_written_when_the_lock_is_gone(
    tmp_path: Path, short_busy_timeout: None, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "archive.db"
    body, expected = golden("minimal")
    url = "https://www.continentalherald.example/2024/03/hall-reopens.html"
    with Crawl(db, ARCHIVE_BUSY_TIMEOUT=0.2) as crawl:
        pipeline = crawl.pipeline(ArchivePipeline)
        crawl.process(
            FetchItem("x", Fetch(url="https://www.continentalherald.example/robots.txt", status=200), "discovery")
        )
        pipeline.commit()
        holder = hold_write_lock(db)
        with caplog.at_level(logging.WARNING):
            started = time.monotonic()
            crawl.page(url, body)  # the lock is held: the page waits (the crawl would pause)
            waited = time.monotonic() - started
            pipeline.write_waiting()  # still locked: it keeps waiting
            assert len(pipeline.waiting) == 1 and rows(db, "SELECT * FROM articles") == []
            holder.rollback()
            holder.close()
            pipeline.commit()  # too soon after the last try: the committer does not block the crawl again
            assert len(pipeline.waiting) == 1
            time.sleep(LOCK_RETRY_S)
            pipeline.commit()  # the committer's next try writes it
        assert pipeline.waiting == [] and pipeline.locked_since is None
        assert waited < 5  # one short wait (ARCHIVE_BUSY_TIMEOUT), not the archive's 30 s
        assert crawl.crawler.stats.get_value("newsarchive/archive/lock_waits") == 1
        crawl.close()
    run_id = crawl.crawler.stats.get_value("newsarchive/run_id")
    assert run_row(db, run_id)["status"] == "succeeded"  # nothing was lost to the lock
    assert [row["title"] for row in rows(db, "SELECT title FROM articles")] == [expected["title"]]
    messages = [record.getMessage() for record in caplog.records]
    assert any("is locked by another process" in message and "paused" in message for message in messages)
    assert any("takes writes again" in message and "resumed" in message for message in messages)
    assert all("<html" not in message and len(message) < 1000 for message in messages)


def test_pages_that_cannot_be_archived_fail_the_run_with_a_count_and_a_fix(
    tmp_path: Path, short_busy_timeout: None
) -> None:
    db = tmp_path / "archive.db"
    body, _ = golden("minimal")
    with Crawl(db, ARCHIVE_RETRY_ITEMS=1, ARCHIVE_BUSY_TIMEOUT=0.2) as crawl:
        run_id = crawl.crawler.stats.get_value("newsarchive/run_id")
        crawl.pipeline(ArchivePipeline).commit()
        holder = hold_write_lock(db)
        for n in range(3):  # one kept to be written again, two past ARCHIVE_RETRY_ITEMS
            crawl.page(f"https://www.continentalherald.example/2024/03/hall-reopens-{n}.html", body)
        crawl.pipeline(ArchivePipeline).write_unwritten()  # still locked: the kept one fails again
        holder.rollback()
        holder.close()
        crawl.close()
    finished = run_row(db, run_id)
    assert finished["status"] == "failed"
    assert finished["reason"].startswith("3 items fetched in this run could not be written to the archive")
    assert "database is locked" in finished["reason"] and f"newsarchive doctor --db {db}" in finished["reason"]
    assert json.loads(finished["stats_json"])["newsarchive/archive/items_lost"] == 3


def test_a_full_disk_stops_the_crawl_and_records_what_was_lost(tmp_path: Path) -> None:
    """SQLITE_FULL for real: the archive may not grow past its current pages (max_page_count), as on a full disk."""
    db = tmp_path / "archive.db"
    body, _ = golden("minimal")
    # A long article (~60 KB of text): more than the free room in the archive's pages.
    paragraphs = "".join(
        f"<p>Paragraph {n} of the harbour report, {'with its own words ' * 40}{n}.</p>" for n in range(80)
    )
    body = body.replace(b"</body>", paragraphs.encode() + b"</body>", 1)
    url = "https://www.continentalherald.example/2024/03/hall-reopens.html"
    with Crawl(db) as crawl:
        run_id = crawl.crawler.stats.get_value("newsarchive/run_id")
        pipeline = crawl.pipeline(ArchivePipeline)
        pipeline.commit()
        connection = pipeline.archive.db.conn
        (pages,) = connection.execute("PRAGMA page_count").fetchone()
        connection.execute(f"PRAGMA max_page_count = {pages}")
        crawl.page(url, body)  # an article needs new pages: the disk is "full"
        pipeline.commit()
        assert pipeline.stop_reason is not None and "the disk is full" in pipeline.stop_reason
        assert "free space" in pipeline.stop_reason
        crawl.close()
    finished = run_row(db, run_id)
    assert finished["status"] == "failed"
    assert finished["reason"].startswith("stopped early: Archive") and "disk is full" in finished["reason"]
    assert "1 item fetched in this run could not be written" in finished["reason"]
    assert rows(db, "SELECT * FROM articles") == []


def test_a_run_whose_code_failed_on_every_page_is_not_succeeded() -> None:
    from pipelines.archive import broken_spider_reason

    stats = {"spider_exceptions/count": 12, "spider_exceptions/BrokenProcessPool": 12}
    reason = broken_spider_reason(stats)
    assert reason is not None and "failed on 12 page(s)" in reason and "BrokenProcessPool" in reason
    assert "newsarchive doctor" in reason
    assert broken_spider_reason({**stats, "newsarchive/pages_extracted": 3}) is None  # some pages were read
    assert broken_spider_reason({}) is None
