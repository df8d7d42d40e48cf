"""archive.ArchiveReader and the commands that read through it: real SQLite files, real crawls.

Reading never creates, migrates or writes: `status`, `runs`, `logs` and `doctor` on an archive of
an older schema leave its file byte for byte as it was; a missing or foreign file is a clear
ArchiveError; and reads work while a crawl process writes the archive.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive import Archive, ArchiveError, ArchiveReader
from archive.connection import open_database
from archive.dates import format_utc, parse_utc
from archive.migrations import MIGRATIONS, apply_migrations
from crawler.cli.main import main
from crawler.demo import serve_demo_site
from crawler.ops.doctor import check_archive
from crawler.ops.runlog import run_log_path
from tests.test_ops_cli import write_log

# The columns of crawl_runs as the first migration made them: an old archive's rows are written with these only.
V1_RUN = (
    "INSERT INTO crawl_runs (id, source, trigger, status, started_at, finished_at, duration_s, pages_fetched,"
    " requests, articles_new, articles_unchanged, articles_updated, articles_duplicate, articles_rejected,"
    " errors, exit_code, log_path) VALUES (?, ?, 'schedule', ?, ?, ?, 12.5, ?, ?, ?, 0, 0, 0, 0, ?, ?, ?)"
)


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def build_old_archive(db: Path, version: int, log_dir: Path) -> None:
    """An archive as newsarchive left it when only the first `version` migrations existed: WAL, two runs, an article."""
    database = open_database(db)
    try:
        assert apply_migrations(database, MIGRATIONS[:version]) == list(range(1, version + 1))
        log_path = run_log_path(log_dir, "alpha", 1)
        database.execute(
            V1_RUN,
            [
                1,
                "alpha",
                "succeeded",
                "2024-05-01T10:00:00.000Z",
                "2024-05-01T10:00:12.500Z",
                3,
                4,
                1,
                0,
                0,
                str(log_path),
            ],
        )
        database.execute(
            V1_RUN,
            [2, "alpha", "failed", "2024-05-02T10:00:00.000Z", "2024-05-02T10:00:12.500Z", 1, 2, 0, 1, 1, None],
        )
        database.execute(
            "INSERT INTO articles (url, source, title, text, content_hash, first_seen_at, last_seen_at, first_run_id)"
            " VALUES ('https://alpha.example/a', 'alpha', 'Harbour wall repairs', 'text', 'hash',"
            " '2024-05-01T10:00:05.000Z', '2024-05-01T10:00:05.000Z', 1)"
        )
    finally:
        database.close()
    write_log(log_path, 1, "alpha", [(logging.INFO, "crawl started"), (logging.WARNING, "slow host, backing off")])


def file_state(db: Path) -> tuple[str, int]:
    """The archive file's sha256, and the bytes in its -wal (0 or absent: nothing was written)."""
    wal = Path(f"{db}-wal")
    return hashlib.sha256(db.read_bytes()).hexdigest(), wal.stat().st_size if wal.exists() else 0


@pytest.mark.parametrize("version", range(1, len(MIGRATIONS)))
def test_reading_an_older_archive_leaves_it_byte_for_byte_unchanged(tmp_path: Path, version: int) -> None:
    db = tmp_path / "archive.db"
    build_old_archive(db, version, tmp_path / "logs")
    before = file_state(db)
    assert before[1] == 0

    status = invoke("status", "--db", str(db))
    runs = invoke("runs", "--db", str(db), "--json")
    table = invoke("runs", "--db", str(db), "--failed")
    logs = invoke("logs", "1", "--db", str(db))
    doctor = check_archive(db)

    assert file_state(db) == before
    with ArchiveReader(db) as reader:
        assert reader.applied_migrations == set(range(1, version + 1))
        assert reader.pending_migrations == list(range(version + 1, len(MIGRATIONS) + 1))
    assert status.exit_code == 0, status.output
    alpha = next(line for line in status.output.splitlines() if line.startswith("alpha"))
    assert "last run 2 failed" in alpha and "1 failed in a row" in alpha
    rows = json.loads(runs.output)
    assert [row["id"] for row in rows] == [2, 1]
    assert rows[1]["articles_new"] == 1 and rows[1]["pages_fetched"] == 3
    # Columns later migrations added read as "not recorded" in every row, under their current names.
    with Archive(tmp_path / "current.db") as current:
        current_columns = list(current.run(current.start_run("x")))
    assert all(list(row) == current_columns for row in rows)
    assert rows[0]["reason"] is None and rows[0]["browser_first"] is None
    assert table.exit_code == 0 and "failed" in table.output and "succeeded" not in table.output
    assert logs.exit_code == 0 and "crawl started" in logs.output and "slow host" in logs.output
    assert doctor.ok and f"schema {version}/{len(MIGRATIONS)} migrations" in doctor.detail
    assert f"migrations {list(range(version + 1, len(MIGRATIONS) + 1))} will be applied at the next crawl" in (
        doctor.detail
    )


def test_what_an_older_archive_lacks_is_named_with_the_migration_that_adds_it(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    database = open_database(db)
    database.execute("CREATE TABLE schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT)")
    database.close()
    before = file_state(db)
    with ArchiveReader(db) as reader, pytest.raises(ArchiveError) as raised:
        reader.runs()
    message = str(raised.value)
    assert str(db) in message and "no crawl_runs table" in message and f"migration 1 ({MIGRATIONS[0].name})" in message
    assert "Fix: crawl into it" in message
    assert file_state(db) == before


def test_a_missing_archive_is_an_error_naming_the_file_and_the_fix_and_nothing_is_created(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "archive.db"
    with pytest.raises(ArchiveError) as raised:
        ArchiveReader(missing)
    message = str(raised.value)
    assert f"No archive at {missing}" in message and "Fix: create it by crawling into it" in message
    assert "newsarchive crawl" in message
    assert not missing.parent.exists()
    folder = tmp_path / "archive.db"
    folder.mkdir()
    with pytest.raises(ArchiveError, match="is a folder, not an archive file"):
        ArchiveReader(folder)


def test_files_that_are_not_readable_archives_are_refused_with_the_fix(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not SQLite at all\n" * 200)
    with pytest.raises(ArchiveError, match=r"not a SQLite database or is corrupt.*Fix:"):
        ArchiveReader(garbage)

    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(ArchiveError, match=r"empty SQLite file, not an archive yet\. Fix: crawl into it"):
        ArchiveReader(empty)
    assert empty.stat().st_size == 0

    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
    connection.close()
    with pytest.raises(ArchiveError, match=r"not a newsarchive archive \(tables: customers\). Fix:"):
        ArchiveReader(foreign)

    newer = tmp_path / "newer.db"
    with Archive(newer):
        pass
    with sqlite3.connect(newer) as connection:
        connection.execute("INSERT INTO schema_migrations (id, name, applied_at) VALUES (99, 'future', '2030-01-01')")
    connection.close()
    with pytest.raises(ArchiveError, match=r"migrations \[99\].*newer version. Fix: upgrade newsarchive"):
        ArchiveReader(newer)
    with ArchiveReader(newer, check=False) as reader:  # doctor's way in: inspect, do not refuse
        assert reader.newer_migrations == [99]


def test_a_reader_cannot_write(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    with Archive(db) as archive:
        archive.start_run("alpha")
    with ArchiveReader(db) as reader, pytest.raises(sqlite3.OperationalError, match=r"readonly|read-only"):
        reader.db.execute("DELETE FROM crawl_runs")
    with ArchiveReader(db) as reader:
        assert [run["source"] for run in reader.runs()] == ["alpha"]


def test_a_reader_is_not_held_up_by_a_writer_and_sees_each_commit(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    # A crawl's writer keeps a batch open (BEGIN IMMEDIATE: the write lock) between commits.
    with Archive(db, batch_size=1000, max_batch_seconds=60) as writer, ArchiveReader(db, timeout=1.0) as reader:
        run_id = writer.start_run("alpha")  # committed at once
        for number in range(3):
            writer.record_fetch(run_id, {"url": f"https://alpha.example/{number}", "status": 200}, "discovery")
        assert writer.db.conn.in_transaction
        started = time.monotonic()
        (progress,) = reader.run_progress([run_id])
        assert time.monotonic() - started < 0.5  # read at once, not after a lock wait
        assert progress["status"] == "running" and progress["pages_fetched"] == 0  # the batch is not committed
        assert reader.run_statuses([run_id]) == {run_id: "running"}
        writer.commit()
        assert reader.run_progress([run_id])[0]["pages_fetched"] == 3
        writer.finish_run(run_id, "succeeded")
        assert reader.run(run_id)["status"] == "succeeded" and reader.run(run_id)["pages_fetched"] == 3


@pytest.mark.slow
@pytest.mark.e2e
def test_reading_while_a_crawl_process_writes(tmp_path: Path) -> None:
    """A real crawl (`newsarchive crawl`, its own process) of the demo site while this test reads its progress."""
    db = tmp_path / "archive.db"
    seen: list[tuple[str, int]] = []
    with serve_demo_site() as site:
        crawl = subprocess.Popen(
            [
                *(sys.executable, "-m", "crawler.cli", "crawl", site.base_url + "/", "--db", str(db)),
                *("--no-progress", "--delay", "0.15", "--render-js", "never", "--workers", "1"),
            ],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            reader: ArchiveReader | None = None
            while crawl.poll() is None:
                time.sleep(0.1)
                if reader is None:
                    try:
                        reader = ArchiveReader(db, timeout=1.0)
                    except ArchiveError:
                        continue  # the crawl has not created and migrated the file yet
                runs = reader.runs(limit=1)
                if runs:
                    (progress,) = reader.run_progress([runs[0]["id"]])
                    seen.append((progress["status"], progress["pages_fetched"] or 0))
                else:  # opened between two migrations (the reader knows the tables it opened with): again
                    reader.close()
                    reader = None
            output = crawl.communicate(timeout=60)[0].decode()
        finally:
            if crawl.poll() is None:
                crawl.kill()
            if reader is not None:
                reader.close()
    assert crawl.returncode == 0, output
    during = [pages for status, pages in seen if status == "running"]
    assert during and max(during) > 0, seen  # progress was read mid-crawl
    assert all(earlier <= later for (_, earlier), (_, later) in itertools.pairwise(seen)), seen
    with ArchiveReader(db) as reader:
        (run,) = reader.runs()
    assert run["status"] == "succeeded" and run["pages_fetched"] >= max(during)


def test_as_of_gives_the_version_of_the_moment_and_says_when_it_was_offline(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    url = "https://news.example/2025/03/24/harbour-wall/"
    text = "Repairs to the harbour wall began on Monday after months of delay. " * 10
    with Archive(db) as archive:
        run_id = archive.start_run("harbour")
        first = archive.save_article(run_id, {"url": url, "title": "Wall repairs begin", "text": text}, {"url": url})
        time.sleep(0.01)
        archive.save_article(run_id, {"url": url, "title": "Wall repairs finally begin", "text": text}, {"url": url})
        time.sleep(0.01)
        archive.mark_removed(run_id, first.article_id, 410)
        time.sleep(0.01)
        archive.save_article(run_id, {"url": url, "title": "Wall repairs finally begin", "text": text}, {"url": url})
    with ArchiveReader(db) as reader:
        versions = reader.versions(first.article_id)
        assert [entry["change_kinds"] for entry in versions] == [None, ["headline"], ["reappeared"]]
        second_from, third_from = versions[1]["valid_from"], versions[2]["valid_from"]
        then = reader.as_of(url, versions[0]["valid_from"])
        assert then["version"] == 1 and then["title"] == "Wall repairs begin" and then["removed_at"] is None
        just_before = format_utc(parse_utc(third_from) - timedelta(milliseconds=1))  # just before it came back
        offline = reader.as_of(first.article_id, just_before)
        assert offline["version"] == 2 and offline["removed_status"] == 410 and offline["removed_at"] <= third_from
        assert reader.as_of(url, third_from)["version"] == 3
        assert reader.as_of(url, "2999-01-01")["current"] is True
        with pytest.raises(ArchiveError, match="first archived at"):
            reader.as_of(url, "2001-01-01")
        with pytest.raises(ArchiveError, match="not a date"):
            reader.as_of(url, "last tuesday")
    assert second_from < third_from
    shown = CliRunner().invoke(main, ["history", url, "--db", str(db), "--as-of", versions[0]["valid_from"]])
    assert shown.exit_code == 0, shown.output
    assert "As of " in shown.output and "version 1" in shown.output and 'headline: "Wall repairs begin"' in shown.output
    missing = CliRunner().invoke(main, ["history", url, "--db", str(db), "--as-of", "2001-01-01"])
    assert missing.exit_code == 1 and "first archived at" in missing.output
