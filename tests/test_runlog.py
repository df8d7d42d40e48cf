"""Per-run JSON-lines logs: written through real loggers, read back, shown, pruned."""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.ops.runlog import (
    LEVELS,
    HumanFormatter,
    JsonLinesFormatter,
    format_entry,
    open_run_log,
    prune_logs,
    read_log,
    run_log_path,
)

DAY = 86_400


@pytest.fixture
def run_logger(tmp_path: Path) -> Iterator[tuple[logging.Logger, Path]]:
    """A real logger (not propagating) writing at DEBUG through open_run_log into run 12 of "example"."""
    path = run_log_path(tmp_path / "logs", "example", 12)
    logger = logging.getLogger(f"test_runlog.{tmp_path.name}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    handler = open_run_log(path, 12, "example", level=logging.DEBUG)
    logger.addHandler(handler)
    yield logger, path
    logger.removeHandler(handler)
    handler.close()


def test_path_layout_is_source_folder_then_run_id(tmp_path: Path) -> None:
    assert run_log_path(tmp_path, "example", 12) == tmp_path / "example" / "12.jsonl"
    assert run_log_path(Path("logs"), "bbc-news", 3).as_posix() == "logs/bbc-news/3.jsonl"


def test_two_archives_in_one_folder_never_share_a_run_log(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    first = run_log_path(logs, "example", 1, tmp_path / "archive.db")
    assert first == logs / "example" / "archive-1.jsonl"
    assert run_log_path(logs, "example", 1, tmp_path / "demo.db") == logs / "example" / "demo-1.jsonl"
    first.parent.mkdir(parents=True)
    first.write_text("")  # run 1 of archive.db in another folder wrote here already
    other = run_log_path(logs, "example", 1, tmp_path / "elsewhere" / "archive.db")
    assert other != first and other.parent == first.parent and other.name.startswith("archive-")


@pytest.mark.parametrize("bad_source", ["", "..", "a/b", "a\\b"])
def test_path_refuses_source_names_that_escape_the_log_folder(tmp_path: Path, bad_source: str) -> None:
    with pytest.raises(ValueError, match="source name"):
        run_log_path(tmp_path, bad_source, 1)


def test_open_run_log_creates_folders_and_writes_one_json_object_per_line(run_logger) -> None:
    logger, path = run_logger
    logger.info("Spider opened")
    logger.warning("line one\nline two")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert set(first) == {"time", "level", "run_id", "source", "event", "logger", "message"}
    assert (first["level"], first["run_id"], first["source"], first["event"]) == ("INFO", 12, "example", "log")
    assert first["logger"] == logger.name and first["message"] == "Spider opened"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first["time"])
    logged_at = datetime.fromisoformat(first["time"].replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - logged_at).total_seconds()) < 60
    assert json.loads(lines[1])["message"] == "line one\nline two"


def test_each_record_is_on_disk_as_soon_as_it_is_logged(run_logger) -> None:
    logger, path = run_logger
    for number in range(3):
        logger.info("page %d", number)
        # A separate reader (as `logs --follow` is) sees the line without the handler being closed.
        assert [entry["message"] for entry in read_log(path)][-1] == f"page {number}"


def test_read_log_filters_by_level_and_keeps_url_and_event(run_logger) -> None:
    logger, path = run_logger
    logger.debug("scheduled request")
    logger.info("crawled page", extra={"url": "https://example.com/a"})
    logger.warning("fetch failed", extra={"event": "fetch_failed", "url": "https://example.com/b"})
    logger.error("archive write failed", extra={"event": "archive_error"})
    assert [e["level"] for e in read_log(path)] == ["DEBUG", "INFO", "WARNING", "ERROR"]
    assert [e["message"] for e in read_log(path, "WARNING")] == ["fetch failed", "archive write failed"]
    assert [e["level"] for e in read_log(path, "error")] == ["ERROR"]
    assert list(read_log(path, "CRITICAL")) == []
    info, warning, error = list(read_log(path, "INFO"))
    assert (info["event"], info["url"]) == ("log", "https://example.com/a")
    assert (warning["event"], warning["url"]) == ("fetch_failed", "https://example.com/b")
    assert error["event"] == "archive_error" and "url" not in error


def test_handler_level_drops_records_below_it(tmp_path: Path) -> None:
    path = run_log_path(tmp_path, "example", 1)
    logger = logging.getLogger("test_runlog.handler_level")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    handler = open_run_log(path, 1, "example")  # INFO by default
    logger.addHandler(handler)
    try:
        logger.debug("noise")
        logger.info("kept")
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert [entry["message"] for entry in read_log(path)] == ["kept"]


def test_exceptions_are_recorded_with_their_traceback(run_logger) -> None:
    logger, path = run_logger
    try:
        {}["missing-key"]
    except KeyError:
        logger.exception("extraction crashed", extra={"url": "https://example.com/c"})
    (entry,) = read_log(path)
    assert entry["level"] == "ERROR" and entry["message"] == "extraction crashed"
    assert entry["exception"].startswith("Traceback (most recent call last):")
    assert "KeyError: 'missing-key'" in entry["exception"]
    shown = format_entry(entry)
    assert shown.splitlines()[0].endswith("extraction crashed (https://example.com/c)")
    assert "KeyError: 'missing-key'" in shown


def test_unicode_is_written_as_utf8_and_read_back(run_logger) -> None:
    logger, path = run_logger
    message = "Überschrift – «Les élections» 東京 🗞"
    logger.info(message, extra={"url": "https://example.com/ünïcode"})
    assert message in path.read_text(encoding="utf-8")  # readable in the file, not \u-escaped
    (entry,) = read_log(path)
    assert entry["message"] == message and entry["url"] == "https://example.com/ünïcode"


def test_a_record_can_name_its_own_run(run_logger) -> None:
    logger, path = run_logger
    logger.info("other crawl", extra={"run_id": 13, "source": "other"})
    (entry,) = read_log(path)
    assert (entry["run_id"], entry["source"]) == (13, "other")


def test_torn_last_line_and_garbage_are_skipped_and_counted(run_logger) -> None:
    logger, path = run_logger
    logger.info("first")
    logger.info("second")
    with path.open("ab") as file:
        file.write(b"not json at all\n")
        file.write(b"[1, 2]\n")  # JSON, but not an entry
        file.write(b'{"time": "2026-11-24T23:50:01.123Z", "message": "cut mid-wr' + "é".encode()[:1])
    entries = read_log(path)
    assert [entry["message"] for entry in entries] == ["first", "second"]
    assert entries.skipped_lines == 3


def test_read_log_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no run log at"):
        read_log(tmp_path / "example" / "99.jsonl")
    path = tmp_path / "one.jsonl"
    path.write_text("{}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="use one of DEBUG, INFO"):
        read_log(path, "LOUD")


def test_format_entry_matches_the_console_formatter() -> None:
    record = logging.LogRecord("scrapy.core.engine", logging.WARNING, __file__, 1, "fetch %s failed", ("page",), None)
    record.created = datetime(2026, 11, 24, 23, 50, 1, 123000, tzinfo=UTC).timestamp()
    record.url = "https://example.com/a"
    human = HumanFormatter(12, "example").format(record)
    assert human == "2026-11-24 23:50:01 WARNING [example#12] fetch page failed (https://example.com/a)"
    entry = json.loads(JsonLinesFormatter(12, "example").format(record))
    assert entry["time"] == "2026-11-24T23:50:01.123Z"
    assert format_entry(entry) == human


def test_format_entry_copes_with_missing_fields() -> None:
    assert (
        format_entry({"time": "2026-11-24T23:50:01.123Z", "level": "INFO", "message": "hi"})
        == "2026-11-24 23:50:01 INFO hi"
    )
    assert (
        format_entry({"level": "ERROR", "source": "example", "event": "run_timed_out"})
        == "- ERROR [example] run_timed_out"
    )


def set_age(path: Path, now: float, days: float) -> None:
    os.utime(path, (now - days * DAY, now - days * DAY))


def test_prune_logs_deletes_old_runs_and_emptied_source_folders(tmp_path: Path) -> None:
    now = time.time()
    old_only = run_log_path(tmp_path, "gone", 1)
    old_mixed, fresh = run_log_path(tmp_path, "mixed", 1), run_log_path(tmp_path, "mixed", 2)
    just_inside = run_log_path(tmp_path, "mixed", 3)
    unrelated = tmp_path / "mixed" / "notes.txt"
    for path in (old_only, old_mixed, fresh, just_inside, unrelated):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}\n", encoding="utf-8")
    set_age(old_only, now, 40)
    set_age(old_mixed, now, 31)
    set_age(fresh, now, 1)
    set_age(just_inside, now, 29.9)
    set_age(unrelated, now, 400)

    deleted = prune_logs(tmp_path, retention_days=30, now=now)

    assert sorted(deleted) == sorted([old_only, old_mixed, tmp_path / "gone"])
    assert not (tmp_path / "gone").exists()
    assert fresh.exists() and just_inside.exists() and unrelated.exists()
    assert prune_logs(tmp_path, retention_days=30, now=now) == []


def test_prune_logs_uses_the_clock_when_now_is_not_given(tmp_path: Path) -> None:
    path = run_log_path(tmp_path, "example", 1)
    path.parent.mkdir(parents=True)
    path.write_text("{}\n", encoding="utf-8")
    set_age(path, time.time(), 8)
    assert prune_logs(tmp_path, retention_days=7) == [path, path.parent]


def test_prune_logs_on_a_missing_folder_and_bad_retention(tmp_path: Path) -> None:
    assert prune_logs(tmp_path / "never-created", 30) == []
    with pytest.raises(ValueError, match="set retention_days to 1 or more"):
        prune_logs(tmp_path, 0)


def test_levels_are_in_increasing_severity() -> None:
    assert [logging.getLevelName(name) for name in LEVELS] == sorted(logging.getLevelName(name) for name in LEVELS)
