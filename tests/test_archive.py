"""Tests for the archive library (archive/): real SQLite files in tmp_path, real processes."""

from __future__ import annotations

import json
import multiprocessing
import random
import sqlite3
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archive import Archive, ArchiveError, SaveResult
from archive.dates import to_utc_iso
from archive.dedup import LSH_BANDS
from archive.migrations import MIGRATIONS, apply_migrations
from archive.models import NO_TEXT_KINDS, FetchOutcome, ReasonKind, RunStatus

VOCABULARY = [
    "government",
    "minister",
    "election",
    "parliament",
    "vote",
    "budget",
    "economy",
    "inflation",
    "market",
    "bank",
    "city",
    "council",
    "school",
    "hospital",
    "police",
    "court",
    "judge",
    "law",
    "reform",
    "climate",
    "energy",
    "water",
    "farmers",
    "harvest",
    "weather",
    "storm",
    "flood",
    "river",
    "bridge",
    "road",
    "train",
    "airport",
    "company",
    "workers",
    "strike",
    "union",
    "wages",
    "prices",
    "housing",
    "rent",
    "tenants",
    "museum",
    "festival",
    "music",
    "film",
    "theatre",
    "football",
    "match",
    "season",
    "coach",
    "players",
    "goal",
    "league",
    "report",
    "study",
    "researchers",
    "university",
    "science",
    "health",
    "doctors",
    "patients",
    "vaccine",
    "virus",
    "data",
    "survey",
    "poll",
    "results",
    "week",
    "month",
    "year",
]


def make_text(seed: int, words: int = 220) -> str:
    """A deterministic pseudo-article: sentences of vocabulary words."""
    rng = random.Random(seed)
    sentences = []
    remaining = words
    while remaining > 0:
        length = min(remaining, rng.randint(8, 18))
        sentence = " ".join(rng.choice(VOCABULARY) for _ in range(length))
        sentences.append(sentence.capitalize() + ".")
        remaining -= length
    return " ".join(sentences)


def make_article(url: str, text: str, **overrides: Any) -> dict[str, Any]:
    article = {
        "url": url,
        "source": "example-news",
        "title": "Council approves new budget",
        "authors": ["Ada Lovelace"],
        "published_at": "2024-05-12T09:30:00+02:00",
        "modified_at": None,
        "language": "en",
        "description": "A short summary.",
        "site_name": "Example News",
        "categories": ["politics"],
        "tags": ["budget", "council"],
        "image": "https://example.org/img.jpg",
        "text": text,
        "fetch_mode": "plain",
    }
    article.update(overrides)
    return article


def make_fetch(url: str, **overrides: Any) -> dict[str, Any]:
    fetch = {
        "url": url,
        "final_url": url,
        "status": 200,
        "content_type": "text/html; charset=utf-8",
        "bytes": 12345,
        "elapsed_ms": 42,
        "found_by": "link",
        "depth": 1,
        "referer": "https://example.org/",
    }
    fetch.update(overrides)
    return fetch


def save(arc: Archive, run_id: int, url: str, text: str, aliases: tuple[str, ...] = (), **article: Any) -> SaveResult:
    return arc.save_article(run_id, make_article(url, text, **article), make_fetch(url), aliases=aliases)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "archive.db"


# -- opening, migrations, errors ------------------------------------------------------------


def test_migrations_are_recorded_and_idempotent(db_path: Path) -> None:
    with Archive(db_path):
        pass
    with Archive(db_path) as arc:
        recorded = list(arc.db.query("SELECT id, name, applied_at FROM schema_migrations ORDER BY id"))
        assert [row["id"] for row in recorded] == [migration.number for migration in MIGRATIONS]
        assert all(row["applied_at"].endswith("Z") for row in recorded)
        assert apply_migrations(arc.db) == []
        tables = set(arc.db.table_names())
        expected = {"articles", "articles_fts", "article_versions", "url_aliases", "article_minhashes"}
        assert expected | {"fetches", "crawl_runs", "schema_migrations"} <= tables
        assert arc.db.journal_mode == "wal"
        assert arc.db.execute("PRAGMA busy_timeout").fetchone()[0] == 30000


def test_archive_written_by_newer_version_is_refused(db_path: Path) -> None:
    with Archive(db_path) as arc:
        arc.db.execute("INSERT INTO schema_migrations (id, name, applied_at) VALUES (999, 'future', 'x')")
    with pytest.raises(ArchiveError, match="newer version"):
        Archive(db_path)


def test_missing_folder_is_created(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "archive.db"
    with Archive(path) as arc:
        arc.start_run("example-news")
    assert path.is_file()


def test_non_sqlite_file_gives_archive_error_with_path(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 200)
    with pytest.raises(ArchiveError) as raised:
        Archive(path)
    assert str(path) in str(raised.value)
    assert "not a SQLite database" in str(raised.value)
    assert "Fix" in str(raised.value)
    # The problem and the fix also apart, for whoever shows them (doctor prints the fix on its own line).
    assert str(path) in raised.value.problem and "Fix" not in raised.value.problem
    assert raised.value.fix is not None and ".recover" in raised.value.fix and raised.value.path == path


def test_bad_arguments_are_named(db_path: Path) -> None:
    with Archive(db_path) as arc:
        run_id = arc.start_run("example-news")
        with pytest.raises(ArchiveError, match="outcome"):
            arc.record_fetch(run_id, make_fetch("https://example.org/x"), "new")
        with pytest.raises(ArchiveError, match="status"):
            arc.finish_run(run_id, "great")
        with pytest.raises(ArchiveError, match="No crawl run with id 99"):
            save(arc, 99, "https://example.org/a", make_text(1))
        with pytest.raises(ArchiveError, match="url"):
            arc.save_article(run_id, {"text": "no url"}, {})
        with pytest.raises(ArchiveError, match="reason_kind"):
            arc.record_fetch(run_id, make_fetch("https://example.org/y"), "rejected", "odd", reason_kind="odd")
        # A failed write leaves no transaction holding the file's write lock.
        assert not arc.db.conn.in_transaction


# -- save_article outcomes across runs -------------------------------------------------------


def test_new_unchanged_updated_duplicate_across_runs(db_path: Path) -> None:
    first_text, second_text = make_text(1), make_text(2)
    with Archive(db_path) as arc:
        run1 = arc.start_run("example-news")
        created = save(arc, run1, "https://example.org/a", first_text, description=None)
        arc.finish_run(run1, "succeeded")
    assert created.outcome == "new"

    with Archive(db_path) as arc:
        run2 = arc.start_run("example-news")
        # Same text re-wrapped: whitespace does not count as a change; the missing description is filled.
        again = save(arc, run2, "https://example.org/a", "\n  ".join(first_text.split(" ")))
        assert again == SaveResult("unchanged", created.article_id)
        row = arc.find_article("https://example.org/a")
        assert row["description"] == "A short summary."
        assert row["first_run_id"] == run1 and row["last_run_id"] == run2
        assert row["version"] == 1 and row["changed_at"] is None
        arc.finish_run(run2, "succeeded")

    with Archive(db_path) as arc:
        run3 = arc.start_run("example-news")
        changed = save(arc, run3, "https://example.org/a", second_text, title="Council rejects budget")
        assert changed == SaveResult("updated", created.article_id)
        row = arc.find_article("https://example.org/a")
        assert row["version"] == 2 and row["text"] == second_text and row["title"] == "Council rejects budget"
        assert row["changed_at"] is not None
        versions = list(arc.db.query("SELECT * FROM article_versions WHERE article_id = ?", [created.article_id]))
        assert len(versions) == 1
        assert versions[0]["version"] == 1 and versions[0]["text"] == first_text
        assert versions[0]["title"] == "Council approves new budget"
        assert versions[0]["valid_from"] == row["first_seen_at"] and versions[0]["valid_to"] == row["changed_at"]

        copy = save(arc, run3, "https://mirror.example.net/story", second_text)
        assert copy == SaveResult("duplicate", created.article_id, duplicate_of=created.article_id)
        assert arc.db["articles"].count == 1
        alias = arc.db.execute(
            "SELECT article_id, reason FROM url_aliases WHERE url = ?", ["https://mirror.example.net/story"]
        ).fetchone()
        assert alias == (created.article_id, "duplicate")
        assert arc.find_article("https://mirror.example.net/story")["id"] == created.article_id
        assert arc.run_articles(run1)[0]["url"] == "https://example.org/a"
        assert arc.run_articles(run3) == []
        outcomes = [
            row["outcome"] for row in arc.db.query("SELECT outcome FROM fetches WHERE run_id = ? ORDER BY id", [run3])
        ]
        assert outcomes == ["updated", "duplicate"]


def test_aliases_resolve_and_canonical_is_not_an_alias(db_path: Path) -> None:
    canonical = "https://example.org/news/story"
    requested = "https://example.org/news/story?utm_source=rss"
    hop = "https://ex.org/s/123"
    with Archive(db_path) as arc:
        run_id = arc.start_run("example-news")
        fetch = make_fetch(requested, final_url=canonical)
        result = arc.save_article(
            run_id, make_article(canonical, make_text(3)), fetch, aliases=[requested, hop, canonical]
        )
        for url in (canonical, requested, hop):
            assert arc.find_article(url)["id"] == result.article_id
        assert arc.find_article("https://example.org/other") is None
        reasons = dict(arc.db.execute("SELECT url, reason FROM url_aliases").fetchall())
        assert reasons == {requested: "requested", hop: "redirect"}
    with Archive(db_path) as arc:
        run_id = arc.start_run("example-news")
        # Reached later via the short link only: recognised as the same article.
        later = arc.save_article(run_id, make_article(hop, make_text(3)), make_fetch(hop))
        assert later == SaveResult("unchanged", result.article_id)


# -- full-text search --------------------------------------------------------------------------


def test_search_finds_words_and_follows_updates(db_path: Path) -> None:
    with Archive(db_path) as arc:
        run_id = arc.start_run("example-news")
        first = save(arc, run_id, "https://example.org/a", make_text(4) + " The referendum was postponed.")
        save(arc, run_id, "https://example.org/b", make_text(5), title="Tramway opens downtown")
        assert [hit["id"] for hit in arc.search("referendum")] == [first.article_id]
        # Porter stemming: "tramways" finds "Tramway" in the title.
        assert [hit["url"] for hit in arc.search("tramways")] == ["https://example.org/b"]
        assert arc.search('referendum"') != []  # broken FTS syntax falls back to quoted words
        save(arc, run_id, "https://example.org/a", make_text(4) + " The plebiscite was postponed.")
        assert arc.search("referendum") == []
        assert [hit["id"] for hit in arc.search("plebiscite")] == [first.article_id]
        assert "[plebiscite]" in arc.search("plebiscite")[0]["snippet"]


# -- near-duplicates ---------------------------------------------------------------------------


def lightly_edited(text: str) -> str:
    """A syndicated copy: one word changed and a credit line appended."""
    words = text.split()
    words[len(words) // 2] = "reportedly"
    return " ".join(words) + " Reporting by Agency staff."


def test_near_duplicate_is_flagged_across_reopen(db_path: Path) -> None:
    original_text = make_text(6, words=300)
    with Archive(db_path) as arc:
        run_id = arc.start_run("example-news")
        original = save(arc, run_id, "https://example.org/original", original_text)
        unrelated = save(arc, run_id, "https://example.org/unrelated", make_text(7, words=300))
        copy = save(arc, run_id, "https://partner.example.net/copy", lightly_edited(original_text))
        assert copy.outcome == "new"
        assert arc.find_article("https://partner.example.net/copy")["near_duplicate_of"] == original.article_id
        assert arc.find_article("https://example.org/unrelated")["near_duplicate_of"] is None
        assert unrelated.outcome == "new"
    # A later process builds its index from article_minhashes.
    with Archive(db_path) as arc:
        run_id = arc.start_run("example-news")
        second_copy = save(arc, run_id, "https://other.example.com/copy", lightly_edited(lightly_edited(original_text)))
        assert arc.find_article("https://other.example.com/copy")["near_duplicate_of"] == original.article_id
        assert second_copy.duplicate_of is None
        signatures = arc.db.execute("SELECT count(*) FROM article_minhashes").fetchone()[0]
        assert signatures == arc.db["articles"].count == 4


def test_an_archive_from_before_the_lsh_table_gets_it_filled_in(tmp_path: Path) -> None:
    """Migration 15: the buckets of every stored signature, the same a save writes; near copies found after."""
    db_path = tmp_path / "archive.db"
    original_text = make_text(6, words=300)
    with Archive(db_path) as arc:
        run_id = arc.start_run("example-news")
        original = save(arc, run_id, "https://example.org/original", original_text)
        save(arc, run_id, "https://example.org/unrelated", make_text(7, words=300))
        written = sorted(arc.db.execute("SELECT bucket, article_id FROM article_lsh").fetchall())
        # What an archive written before migration 15 looks like.
        arc.db.execute("DROP TABLE article_lsh")
        arc.db.execute("DELETE FROM schema_migrations WHERE id = 15")
        arc.commit()
    assert len(written) == 2 * LSH_BANDS
    with Archive(db_path) as arc:
        assert sorted(arc.db.execute("SELECT bucket, article_id FROM article_lsh").fetchall()) == written
        run_id = arc.start_run("example-news")
        save(arc, run_id, "https://partner.example.net/copy", lightly_edited(original_text))
        assert arc.find_article("https://partner.example.net/copy")["near_duplicate_of"] == original.article_id


# -- dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-05-12T09:30:00+02:00", "2024-05-12T07:30:00Z"),
        ("2024-05-12T07:30:00Z", "2024-05-12T07:30:00Z"),
        ("2024-05-12T23:30:00-05:00", "2024-05-13T04:30:00Z"),
        ("2024-05-12 09:30:00+0200", "2024-05-12T07:30:00Z"),
        ("2024-05-12T07:30:00.250000+00:00", "2024-05-12T07:30:00.25Z"),
        ("2024-05-12T07:30:00", "2024-05-12T07:30:00Z"),
        ("2024-05-12", "2024-05-12"),
        ("2024-05", "2024-05"),
        ("Sun, 12 May 2024 09:30:00 +0200", "2024-05-12T07:30:00Z"),
        ("not a date", None),
        ("", None),
        (None, None),
    ],
)
def test_dates_are_normalised_to_utc(raw: str | None, expected: str | None) -> None:
    assert to_utc_iso(raw) == expected


@given(
    moment=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)),
    offset_minutes=st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_any_offset_normalises_to_the_same_utc_moment(moment: datetime, offset_minutes: int) -> None:
    local = moment.replace(microsecond=0, tzinfo=timezone(timedelta(minutes=offset_minutes)))
    normalised = to_utc_iso(local.isoformat())
    assert normalised.endswith("Z")
    assert datetime.fromisoformat(normalised[:-1] + "+00:00") == local


def test_stored_dates_keep_offset_and_add_utc(db_path: Path) -> None:
    with Archive(db_path) as arc:
        run_id = arc.start_run("example-news")
        save(arc, run_id, "https://example.org/a", make_text(8), modified_at="2024-05-13")
        row = arc.find_article("https://example.org/a")
        assert row["published_at"] == "2024-05-12T09:30:00+02:00"
        assert row["published_at_utc"] == "2024-05-12T07:30:00Z"
        assert row["modified_at"] == row["modified_at_utc"] == "2024-05-13"
        assert json.loads(row["authors"]) == ["Ada Lovelace"]
        for column in ("first_seen_at", "last_seen_at", "fetched_at"):
            assert row[column].endswith("Z")


# -- runs ----------------------------------------------------------------------------------------


def test_finish_run_derives_counts_from_fetches(db_path: Path) -> None:
    with Archive(db_path) as arc:
        run_id = arc.start_run("example-news", trigger="schedule", log_path="/tmp/run.log")
        for number in range(3):
            save(arc, run_id, f"https://example.org/{number}", make_text(100 + number))
        save(arc, run_id, "https://example.org/0", make_text(100))
        save(arc, run_id, "https://example.org/copy", make_text(101))
        arc.record_fetch(run_id, make_fetch("https://example.org/tag/x"), "rejected", reason="not an article")
        arc.record_fetch(
            run_id, make_fetch("https://example.org/file.pdf", content_type="application/pdf"), "skipped", "non-HTML"
        )
        arc.record_fetch(run_id, make_fetch("https://example.org/broken", status=500), "error", "HTTP 500")
        arc.record_fetch(run_id, make_fetch("https://example.org/down", status=None), "error", "connection refused")
        arc.record_fetch(run_id, make_fetch("https://example.org/robots.txt", found_by="robots"), "discovery")
        started = datetime(2024, 5, 12, 7, 30, tzinfo=UTC)
        stats = {"start_time": started, "downloader/request_count": 11, "item_scraped_count": 5, "seen": {"a", "b"}}
        row = arc.finish_run(run_id, "succeeded", stats=stats, exit_code=0)
    assert row["status"] == "succeeded" and row["exit_code"] == 0 and row["trigger"] == "schedule"
    assert (row["articles_new"], row["articles_unchanged"], row["articles_duplicate"]) == (3, 1, 1)
    assert (row["articles_updated"], row["articles_rejected"], row["errors"]) == (0, 1, 2)
    assert row["pages_fetched"] == 9  # every fetch with an HTTP status
    assert row["requests"] == 11
    assert row["finished_at"].endswith("Z") and row["duration_s"] >= 0
    stored_stats = json.loads(row["stats_json"])
    assert stored_stats["start_time"] == "2024-05-12T07:30:00Z"
    assert sorted(stored_stats["seen"]) == ["a", "b"]
    with Archive(db_path) as arc:
        time.sleep(0.05)
        # The parent closes the run again once every crawl of its command ended (to record the exit
        # code): the run keeps its own end, not the moment the slowest crawl beside it ended.
        again = arc.finish_run(row["id"], "succeeded", exit_code=0)
    assert (again["finished_at"], again["duration_s"]) == (row["finished_at"], row["duration_s"])
    with Archive(db_path) as arc:
        assert [run["id"] for run in arc.runs(source="example-news")] == [row["id"]]
        assert arc.runs(source="elsewhere") == []
        assert len(arc.run_articles(row["id"], limit=2)) == 2


# -- transactions and concurrency ----------------------------------------------------------------


def test_writes_are_batched_and_visible_to_own_reads(db_path: Path) -> None:
    with Archive(db_path, batch_size=3, max_batch_seconds=3600) as arc:
        run_id = arc.start_run("example-news")
        outside = sqlite3.connect(db_path)

        def committed_articles() -> int:
            return outside.execute("SELECT count(*) FROM articles").fetchone()[0]

        save(arc, run_id, "https://example.org/1", make_text(11))
        assert arc.find_article("https://example.org/1") is not None  # pending write seen by its own reads
        assert committed_articles() == 0
        save(arc, run_id, "https://example.org/2", make_text(12))
        save(arc, run_id, "https://example.org/3", make_text(13))  # third write: batch committed
        assert committed_articles() == 3
        save(arc, run_id, "https://example.org/4", make_text(14))
        assert committed_articles() == 3
        arc.commit()
        assert committed_articles() == 4
        save(arc, run_id, "https://example.org/5", make_text(15))
    assert committed_articles() == 5  # closing commits
    outside.close()


def test_old_batches_are_committed_and_with_block_keeps_writes_on_error(db_path: Path) -> None:
    with pytest.raises(RuntimeError), Archive(db_path, batch_size=1000, max_batch_seconds=0.05) as arc:
        outside_reads = sqlite3.connect(db_path)
        run_id = arc.start_run("example-news")
        save(arc, run_id, "https://example.org/1", make_text(21))
        time.sleep(0.06)
        save(arc, run_id, "https://example.org/2", make_text(22))  # batch too old: committed
        assert outside_reads.execute("SELECT count(*) FROM articles").fetchone()[0] == 2
        arc.record_fetch(run_id, make_fetch("https://example.org/3"), "rejected", "no text")
        raise RuntimeError("crawler crashed")
    assert outside_reads.execute("SELECT count(*) FROM fetches").fetchone()[0] == 3
    outside_reads.close()


SHARED_ARTICLES = 40
OWN_ARTICLES = 40


def crawl_process(db_path: str, worker: int, start: Any, errors: Any) -> None:
    """One crawl process: opens the (possibly brand-new) archive and saves shared and own articles."""
    try:
        start.wait(timeout=30)  # both open the new file at once: concurrent migration
        with Archive(db_path, batch_size=4, max_batch_seconds=0.02) as arc:
            run_id = arc.start_run(f"worker-{worker}")
            start.wait(timeout=30)  # both runs are open before either writes: the crawls overlap
            for number in range(SHARED_ARTICLES):
                time.sleep(0.002)  # a crawler writes between downloads, not in one burst
                save(arc, run_id, f"https://shared.example.org/{number}", make_text(1000 + number, words=150))
                arc.record_fetch(
                    run_id, make_fetch(f"https://shared.example.org/tag/{worker}/{number}"), "rejected", "listing"
                )
            for number in range(OWN_ARTICLES):
                save(
                    arc,
                    run_id,
                    f"https://w{worker}.example.org/{number}",
                    make_text(2000 + worker * 100 + number, words=150),
                )
            arc.finish_run(run_id, "succeeded")
    except Exception as error:  # reported to the parent, which fails the test with it
        errors.put(f"worker {worker}: {type(error).__name__}: {error}")
        raise


def test_two_processes_write_one_file_concurrently(db_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    start = context.Barrier(2)
    errors = context.Queue()
    workers = [context.Process(target=crawl_process, args=(str(db_path), worker, start, errors)) for worker in (1, 2)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=120)
    reported = [errors.get(timeout=1) for _ in range(errors.qsize())] if not errors.empty() else []
    assert reported == []
    assert [process.exitcode for process in workers] == [0, 0]
    with Archive(db_path) as arc:
        assert arc.db["articles"].count == SHARED_ARTICLES + 2 * OWN_ARTICLES
        runs = arc.runs()
        assert len(runs) == 2 and {run["status"] for run in runs} == {"succeeded"}
        first, second = runs
        assert first["started_at"] < second["finished_at"] and second["started_at"] < first["finished_at"], (
            "the two crawls did not overlap, so the test proved nothing about concurrent writes"
        )
        # Each shared URL was new for exactly one of the two processes.
        assert sum(run["articles_new"] for run in runs) == SHARED_ARTICLES + 2 * OWN_ARTICLES
        assert sum(run["articles_unchanged"] for run in runs) == SHARED_ARTICLES
        assert sum(run["articles_rejected"] for run in runs) == 2 * SHARED_ARTICLES
        assert [row["id"] for row in arc.db.query("SELECT id FROM schema_migrations")] == [m.number for m in MIGRATIONS]


def test_exact_copy_stays_a_duplicate_across_runs_and_never_overwrites_the_original(tmp_path: Path) -> None:
    db = tmp_path / "copies.db"
    original_text = " ".join(f"Original paragraph word{i} about the harbour works." for i in range(40))
    original = {
        "url": "https://n.example/2024/05/01/harbour/",
        "source": "n",
        "title": "Harbour",
        "text": original_text,
    }
    copy = {**original, "url": "https://n.example/wire/harbour/"}
    for run_number in (1, 2):
        with Archive(db) as archive:
            run_id = archive.start_run("n")
            assert archive.save_article(run_id, original, {"url": original["url"]}).outcome == (
                "new" if run_number == 1 else "unchanged"
            )
            result = archive.save_article(run_id, copy, {"url": copy["url"]})
            assert result.outcome == "duplicate"
    edited = {**copy, "text": original_text + " An editor's note added by the wire service only."}
    with Archive(db) as archive:
        run_id = archive.start_run("n")
        result = archive.save_article(run_id, edited, {"url": edited["url"]})
        assert result.outcome == "new"
        assert archive.find_article(original["url"])["text"] == original_text
        assert archive.find_article(edited["url"])["id"] == result.article_id


def test_the_original_wins_over_an_exact_copy_met_first_in_the_same_crawl(tmp_path: Path) -> None:
    db = tmp_path / "original.db"
    text = " ".join(f"Council sentence {i} about the harbour works and the new quay wall." for i in range(40))
    original = {
        "url": "https://n.example/2024/05/01/harbour/",
        "source": "n",
        "title": "Harbour",
        "published_at": "2024-05-01T09:00:00+02:00",
        "text": text,
    }
    copy = {**original, "url": "https://n.example/wire/harbour/"}
    with Archive(db) as archive:
        run_id = archive.start_run("n")
        first = archive.save_article(run_id, copy, {"url": copy["url"], "found_by": "link"})
        assert first.outcome == "new"
        second = archive.save_article(run_id, original, {"url": original["url"], "found_by": "sitemap"})
        assert second.outcome == "new" and second.article_id == first.article_id
        assert archive.find_article(original["url"])["url"] == original["url"]
        assert archive.find_article(copy["url"])["url"] == original["url"]  # the copy is an alias now
        outcomes = dict(archive.db.execute("SELECT url, outcome FROM fetches WHERE run_id = ?", [run_id]).fetchall())
        assert outcomes == {copy["url"]: "duplicate", original["url"]: "new"}
        run = archive.finish_run(run_id, "succeeded")
        assert (run["articles_new"], run["articles_duplicate"]) == (1, 1)
    # A later crawl never moves an article archived earlier: first seen stays the original.
    late = {**original, "url": "https://n.example/2024/04/30/harbour-first/", "published_at": "2024-04-30T09:00:00Z"}
    with Archive(db) as archive:
        run_id = archive.start_run("n")
        assert archive.save_article(run_id, late, {"url": late["url"], "found_by": "sitemap"}).outcome == "duplicate"
        assert archive.find_article(late["url"])["url"] == original["url"]


# -- reason kinds, stop requests, and the migrations that introduced them ---------------------------


def test_extraction_failures_count_the_kind_not_the_words(db_path: Path) -> None:
    with Archive(db_path) as arc:
        run_id = arc.start_run("example-news")
        for number, kind in enumerate(NO_TEXT_KINDS):
            arc.record_fetch(
                run_id, make_fetch(f"https://example.org/empty/{number}"), "rejected", "any words", reason_kind=kind
            )
        # Words that once counted, with a kind that does not: not an extraction failure.
        arc.record_fetch(
            run_id, make_fetch("https://example.org/tag/a"), "rejected", "no article text", reason_kind="listing"
        )
        arc.record_fetch(
            run_id, make_fetch("https://example.org/gone", status=404), "error", "HTTP 404", reason_kind="http_status"
        )
        row = arc.finish_run(run_id, RunStatus.SUCCEEDED)
        kinds = dict(arc.db.execute("SELECT url, reason_kind FROM fetches WHERE run_id = ?", [run_id]).fetchall())
    assert row["extraction_failures"] == len(NO_TEXT_KINDS) and row["articles_rejected"] == len(NO_TEXT_KINDS) + 1
    assert kinds["https://example.org/tag/a"] == "listing" and kinds["https://example.org/gone"] == "http_status"


def test_a_stop_request_is_a_flag_and_the_reason_stays_words(db_path: Path) -> None:
    with Archive(db_path) as arc:
        run_id = arc.start_run("example-news")
        assert arc.run(run_id)["stop_requested"] == 0
        arc.request_stop(run_id, "the scheduler was shut down")
        # The crawl closes its own run afterwards, without a reason: the one recorded is kept.
        row = arc.finish_run(run_id, RunStatus.FAILED)
    assert row["stop_requested"] == 1 and row["reason"] == "the scheduler was shut down"


# Reasons as versions before migration 6 wrote them, and the kind each must get.
OLD_REASONS = [
    ("rejected", "no article text (JavaScript app shell)", "javascript_shell"),
    ("rejected", "no article text (JavaScript app shell); fetched again in a browser", "javascript_shell"),
    ("rejected", "URL matches article pattern but no article text (placeholder page)", "placeholder"),
    ("rejected", "no article text (extraction failed: lxml said no)", "extraction_failed"),
    ("rejected", "no article text", "no_text"),
    ("rejected", "URL matches article pattern but no article text", "no_text"),
    ("rejected", "URL matches none of the source's article patterns", "outside_article_patterns"),
    ("rejected", "listing page: JSON-LD lists 3 articles", "listing"),
    ("rejected", "listing page: 7 <article> teasers, link density 0.31", "listing"),
    ("rejected", "JSON-LD CollectionPage: not an article page", "not_article_type"),
    ("rejected", "JSON-LD WebSite only: a home page", "not_article_type"),
    ("rejected", "og:type website: not an article page", "not_article_type"),
    ("rejected", "URL looks like a tag page", "not_article_url"),
    ("rejected", "too little text for a page without article markup (120 < 400 chars)", "too_little_text"),
    ("rejected", "too few paragraphs (2 < 3)", "too_few_paragraphs"),
    ("rejected", "mostly links (link density 0.62)", "mostly_links"),
    ("rejected", "no title", "no_title"),
    ("rejected", "alternate copy of https://example.org/story", "alternate_copy"),
    ("skipped", "not HTML (application/pdf)", "not_html"),
    ("skipped", "not a text response", "not_html"),
    ("error", "HTTP 404", "http_status"),
    ("discovery", "HTTP 404", "http_status"),
    ("error", "response larger than DOWNLOAD_MAXSIZE (100 bytes); if such pages matter, raise it", "too_large"),
    ("error", "too many redirects (a redirect loop?): max redirections reached", "too_many_redirects"),
    ("error", "redirect loop: https://example.org/a → https://example.org/b → https://example.org/a", "redirect_loop"),
    ("error", "unreadable feed: not XML", "unreadable_feed"),
    ("error", "unreadable sitemap: not XML", "unreadable_sitemap"),
    ("error", "TimeoutError: User timeout caused connection failure.", "timeout"),
    ("error", "DNSLookupError: DNS lookup failed: no results for hostname lookup: nowhere.example.", "dns_lookup"),
    (
        "error",
        "ConnectionRefusedError: Connection was refused by other side: 111: Connection refused.",
        "connection_failed",
    ),
    ("error", "ResponseNeverReceived: [<twisted.python.failure.Failure ...>]", "connection_failed"),
    ("error", "Error: net::ERR_ABORTED", "download_failed"),
    ("discovery", "rss feed with 30 entries", None),
    ("discovery", None, None),
]


def test_migration_6_gives_old_fetches_their_reason_kind(db_path: Path) -> None:
    db = sqlite_utils_database(db_path)
    apply_migrations(db, MIGRATIONS[:5])
    run_id = db.execute(
        "INSERT INTO crawl_runs (source, started_at) VALUES ('old', '2024-01-01T00:00:00.000Z')"
    ).lastrowid
    for number, (outcome, reason, _) in enumerate(OLD_REASONS):
        db.execute(
            "INSERT INTO fetches (run_id, url, fetched_at, outcome, reason) VALUES (?, ?, '2024-01-01T00:00:00.000Z', ?, ?)",
            [run_id, f"https://example.org/{number}", outcome, reason],
        )
    db.execute(
        "INSERT INTO fetches (run_id, url, fetched_at, outcome) VALUES (?, 'https://example.org/a', 'x', 'new')",
        [run_id],
    )
    db.close()
    with Archive(db_path) as arc:
        kinds = [row[0] for row in arc.db.execute("SELECT reason_kind FROM fetches ORDER BY id")]
        assert kinds == [kind for _, _, kind in OLD_REASONS] + [None]
        assert set(kinds) - {None} <= set(ReasonKind)
        # Counting by kind gives what counting by the old words gave (plus pattern sources, which it missed).
        row = arc.finish_run(run_id, RunStatus.SUCCEEDED)
    assert row["extraction_failures"] == 6


def test_the_classifiers_evidence_is_stored_with_rejected_and_archived_fetches(db_path: Path) -> None:
    evidence = [
        {"signal": "og_type", "weight": 2.0, "detail": "og:type article"},
        {"signal": "url_hint", "weight": -10.0, "detail": "URL looks like a legal page"},
    ]
    with Archive(db_path) as arc:
        run_id = arc.start_run("example-news")
        arc.record_fetch(
            run_id,
            make_fetch("https://example.org/privacy/", evidence=evidence),
            "rejected",
            "URL looks like a legal page (score -8.0)",
            reason_kind="not_article_url",
        )
        url = "https://example.org/2024/05/12/budget"
        kept = [{"signal": "jsonld_main_article", "weight": 4.0, "detail": "JSON-LD NewsArticle of the page"}]
        arc.save_article(run_id, make_article(url, "Budget approved. " * 40), make_fetch(url, evidence=kept))
        arc.record_fetch(run_id, make_fetch("https://example.org/feed.xml"), "discovery", "rss feed with 3 entries")
        stored = dict(arc.db.execute("SELECT url, evidence FROM fetches WHERE run_id = ?", [run_id]).fetchall())
    assert json.loads(stored["https://example.org/privacy/"]) == evidence
    assert json.loads(stored[url]) == kept
    assert stored["https://example.org/feed.xml"] is None  # not classified


def test_migration_11_adds_an_empty_evidence_column(db_path: Path) -> None:
    db = sqlite_utils_database(db_path)
    apply_migrations(db, MIGRATIONS[:10])
    run_id = db.execute(
        "INSERT INTO crawl_runs (source, started_at) VALUES ('old', '2024-01-01T00:00:00.000Z')"
    ).lastrowid
    db.execute(
        "INSERT INTO fetches (run_id, url, fetched_at, outcome, reason) VALUES (?, 'https://example.org/t', 'x', 'rejected', 'no title')",
        [run_id],
    )
    db.close()
    with Archive(db_path) as arc:
        assert [row[0] for row in arc.db.execute("SELECT evidence FROM fetches")] == [None]


def test_migration_7_turns_the_interrupted_prefix_into_a_flag(db_path: Path) -> None:
    db = sqlite_utils_database(db_path)
    apply_migrations(db, MIGRATIONS[:6])
    for status, reason in (
        ("interrupted", "interrupted: the scheduler was shut down"),
        ("interrupted", "interrupted: stopped with Ctrl-C"),
        ("failed", "no page answered (is the site up?)"),
        ("succeeded", None),
    ):
        db.execute(
            "INSERT INTO crawl_runs (source, status, started_at, reason) VALUES ('old', ?, '2024-01-01T00:00:00Z', ?)",
            [status, reason],
        )
    db.close()
    with Archive(db_path) as arc:
        rows = [
            tuple(row) for row in arc.db.execute("SELECT status, stop_requested, reason FROM crawl_runs ORDER BY id")
        ]
    assert rows == [
        ("interrupted", 1, "the scheduler was shut down"),
        ("interrupted", 1, "stopped with Ctrl-C"),
        ("failed", 0, "no page answered (is the site up?)"),
        ("succeeded", 0, None),
    ]


def test_vocabularies_are_the_stored_strings() -> None:
    # Members compare, hash, format and serialise as their value: rows and output read as before.
    assert RunStatus.TIMED_OUT == "timed_out" and f"{RunStatus.TIMED_OUT}" == "timed_out"
    assert {"rejected": 1}[FetchOutcome.REJECTED] == 1
    assert json.dumps({"kind": ReasonKind.NO_TEXT}) == '{"kind": "no_text"}'


def sqlite_utils_database(path: Path) -> Any:
    """A bare connection to a new file, to build an archive as an older version left it."""
    from sqlite_utils import Database

    return Database(sqlite3.connect(str(path), isolation_level=None))
