"""`newsarchive status`, `runs` and `logs` through click's CliRunner, on real archives, a real
APScheduler jobstore and real run logs written by crawler.ops.runlog's handler."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from click.testing import CliRunner

from archive import Archive
from crawler.cli.main import main
from crawler.ops.runlog import open_run_log, run_log_path
from tests.test_health import record_run

SOURCES = """\
[archive]
db = "data/archive.db"

[scheduler]
jobstore = "data/scheduler.db"
log_dir = "logs"

[[sources]]
name = "alpha"
start_urls = ["https://alpha.example/"]
schedule = "every 30m"

[[sources]]
name = "beta"
start_urls = ["https://beta.example/"]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with a sources file; its archive and jobstore live in data/."""
    (tmp_path / "sources.toml").write_text(SOURCES)
    return tmp_path


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def schedule_jobs(jobstore: Path, sources: list[str]) -> None:
    """Store jobs exactly as the scheduler does: an APScheduler SQLAlchemyJobStore, job id = source."""
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{jobstore}")}, timezone="UTC"
    )
    scheduler.start()
    try:
        for name in sources:
            scheduler.add_job("os:getpid", "interval", seconds=60, id=name)
    finally:
        scheduler.shutdown(wait=False)


def write_log(path: Path, run_id: int, source: str, messages: list[tuple[int, str]]) -> None:
    """Log through the crawl process's own handler (JSON lines)."""
    logger = logging.getLogger(f"newsarchive.test.{run_id}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    handler = open_run_log(path, run_id, source, level=logging.DEBUG)
    logger.addHandler(handler)
    try:
        for level, message in messages:
            logger.log(
                level, message, extra={"url": f"https://{source}.example/page"} if level >= logging.ERROR else {}
            )
    finally:
        logger.removeHandler(handler)
        handler.close()


def run_with_log(archive: Archive, log_dir: Path, source: str, status: str = "succeeded") -> tuple[int, Path]:
    run_id = archive.start_run(source, "schedule")
    path = run_log_path(log_dir, source, run_id)
    archive.set_run_process(run_id, os.getpid(), str(path))  # a live process: a running row stays running
    if status != "running":
        archive.finish_run(run_id, status)
    return run_id, path


LOG_MESSAGES = [
    (logging.DEBUG, "robots.txt fetched"),
    (logging.INFO, "crawl started"),
    (logging.WARNING, "slow host, backing off"),
    (logging.ERROR, "HTTP 500 on article"),
]


# --- help -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["status", "runs", "logs"])
def test_every_command_shows_an_example(command: str) -> None:
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.output and f"newsarchive {command}" in result.output


# --- status ---------------------------------------------------------------------------------------


def test_status_of_healthy_sources_exits_0_and_shows_next_runs(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)  # sources.toml in the current folder is the default
    with Archive(project / "data/archive.db") as archive:
        last = record_run(archive, "alpha", articles=3, pages=5)
        record_run(archive, "legacy", "failed", reason="no page answered")
    schedule_jobs(project / "data/scheduler.db", ["alpha"])

    result = invoke("status")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "3 sources, 0 unhealthy" in lines[0]
    alpha = next(line for line in lines if line.startswith("alpha"))
    beta = next(line for line in lines if line.startswith("beta"))
    legacy = next(line for line in lines if line.startswith("legacy"))
    assert "healthy" in alpha and f"last run {last['id']} succeeded" in alpha and "3 articles" in alpha
    assert "0 failed in a row" in alpha and "next run " in alpha and "(in " in alpha
    assert "never run" in beta and "next run: not scheduled" in beta
    assert "failed" in legacy and "(no page answered)" in legacy and "1 failed in a row" in legacy


def test_status_exits_1_and_says_why_when_a_source_is_unhealthy(project: Path) -> None:
    with Archive(project / "data/archive.db") as archive:
        record_run(archive, "alpha", articles=1)
        for _ in range(3):
            last = record_run(archive, "alpha", "timed_out", reason="stopped after max_runtime 1h")
        record_run(archive, "beta", articles=1)

    result = invoke("status", "--config", str(project / "sources.toml"))

    assert result.exit_code == 1
    alpha = next(line for line in result.output.splitlines() if line.startswith("alpha"))
    assert "UNHEALTHY" in alpha and "3 failed in a row" in alpha
    assert f"3 failed runs in a row (last: run {last['id']}, timed out: stopped after max_runtime 1h)" in alpha
    assert "next run: not yet in the scheduler's jobstore" in alpha
    beta = next(line for line in result.output.splitlines() if line.startswith("beta"))
    assert "UNHEALTHY" not in beta


def test_skipped_runs_never_hide_failures_from_status(project: Path) -> None:
    # A failing crawl that outlasts its interval piles up skips: more than the window of recent runs.
    with Archive(project / "data/archive.db") as archive:
        record_run(archive, "alpha", articles=1)
        for _ in range(3):
            record_run(archive, "alpha", "timed_out", reason="stopped after max_runtime 1h")
        for _ in range(40):
            record_run(archive, "alpha", "skipped")

    result = invoke("status", "--config", str(project / "sources.toml"))

    assert result.exit_code == 1
    alpha = next(line for line in result.output.splitlines() if line.startswith("alpha"))
    assert "UNHEALTHY" in alpha and "3 failed in a row" in alpha


def test_status_json_is_a_document_for_machines(project: Path) -> None:
    with Archive(project / "data/archive.db") as archive:
        for _ in range(3):
            record_run(archive, "beta", "failed", reason="HTTP 503")
        good = record_run(archive, "alpha", articles=2, pages=4)
    schedule_jobs(project / "data/scheduler.db", ["alpha"])
    before = datetime.now(UTC)

    result = invoke("status", "--config", str(project / "sources.toml"), "--json")

    assert result.exit_code == 1
    document = json.loads(result.output)
    assert document["healthy"] is False and document["unhealthy_sources"] == ["beta"]
    assert document["archive"] == str(project / "data/archive.db")
    alpha, beta = document["sources"]
    assert alpha["source"] == "alpha" and alpha["healthy"] and alpha["schedule"] == "every 30m"
    assert alpha["last_run"]["id"] == good["id"] and alpha["last_run"]["articles_archived"] == 2
    next_run = datetime.fromisoformat(alpha["next_run"].replace("Z", "+00:00"))
    assert before < next_run <= before + timedelta(seconds=61)
    assert beta["healthy"] is False and beta["consecutive_failures"] == 3 and len(beta["reasons"]) == 1
    assert beta["next_run"] is None and beta["next_run_note"] == "not scheduled"


def test_status_with_a_db_alone_lists_sources_with_runs(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    with Archive(db) as archive:
        record_run(archive, "gamma", articles=1)
    result = invoke("status", "--db", str(db))
    assert result.exit_code == 0
    assert any(line.startswith("gamma") and "succeeded" in line for line in result.output.splitlines())


def test_status_config_error_exits_2_and_names_the_problem(tmp_path: Path) -> None:
    broken = tmp_path / "sources.toml"
    broken.write_text('[[sources]]\nname = "alpha"\nstart_urls = ["https://alpha.example/"]\nshedule = "every 1h"\n')
    result = invoke("status", "--config", str(broken))
    assert result.exit_code == 2
    assert "shedule" in result.output and str(broken) in result.output


def test_missing_archive_names_the_path_and_how_to_create_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "archive.db"
    for command in (["status"], ["runs"], ["logs", "1"]):
        result = invoke(*command, "--db", str(missing))
        assert result.exit_code == 2
        assert str(missing) in result.output and "newsarchive crawl" in result.output
    assert not missing.exists()


# --- runs -----------------------------------------------------------------------------------------


@pytest.fixture
def runs_archive(tmp_path: Path) -> Iterator[tuple[Path, dict[str, int]]]:
    db = tmp_path / "archive.db"
    with Archive(db) as archive:
        ids = {
            "alpha_ok": record_run(archive, "alpha", articles=2, no_text=1, pages=6)["id"],
            "beta_failed": record_run(archive, "beta", "failed", errors=2, pages=2, reason="no page answered")["id"],
            "alpha_skipped": record_run(archive, "alpha", "skipped", reason="previous run still going")["id"],
            "alpha_timeout": record_run(archive, "alpha", "timed_out", articles=1, reason="over max_runtime")["id"],
            "beta_ok": record_run(archive, "beta", articles=1, trigger="catch-up")["id"],
        }
    yield db, ids


def test_runs_lists_newest_first_with_counts_and_reasons(runs_archive: tuple[Path, dict[str, int]]) -> None:
    db, ids = runs_archive
    result = invoke("runs", "--db", str(db))
    assert result.exit_code == 0
    output = result.output
    for header in (
        "id",
        "source",
        "trigger",
        "status",
        "started",
        "duration",
        "pages",
        "new",
        "unchanged",
        "duplicate",
        "rejected",
        "errors",
        "reason",
    ):
        assert header in output
    rows = [
        [cell.strip() for cell in line.strip("│").split("│")] for line in output.splitlines() if line.startswith("│")
    ]
    assert [int(row[0]) for row in rows] == [
        ids[key] for key in ("beta_ok", "alpha_timeout", "alpha_skipped", "beta_failed", "alpha_ok")
    ]
    alpha_ok = rows[-1]
    assert alpha_ok[1:4] == ["alpha", "schedule", "succeeded"]
    assert alpha_ok[6:13] == [
        "6",
        "2",
        "0",
        "0",
        "0",
        "1",
        "0",
    ]  # pages, new, unchanged, not modified, dup., rejected, errors
    assert "previous run still going" in output and "no page answered" in output and "catch-up" in output


def test_runs_filters_by_source_failure_and_limit(runs_archive: tuple[Path, dict[str, int]]) -> None:
    db, ids = runs_archive
    by_source = json.loads(invoke("runs", "--db", str(db), "--source", "alpha", "--json").output)
    assert [run["id"] for run in by_source] == [ids["alpha_timeout"], ids["alpha_skipped"], ids["alpha_ok"]]
    assert by_source[2]["articles_new"] == 2 and by_source[2]["extraction_failures"] == 1

    failed = json.loads(invoke("runs", "--db", str(db), "--failed", "--json").output)
    assert [run["id"] for run in failed] == [ids["alpha_timeout"], ids["beta_failed"]]
    failed_alpha = json.loads(invoke("runs", "--db", str(db), "--failed", "--source", "alpha", "--json").output)
    assert [run["status"] for run in failed_alpha] == ["timed_out"]

    limited = json.loads(invoke("runs", "--db", str(db), "--limit", "2", "--json").output)
    assert [run["id"] for run in limited] == [ids["beta_ok"], ids["alpha_timeout"]]

    none = invoke("runs", "--db", str(db), "--source", "nosuch")
    assert none.exit_code == 0 and "No runs of source 'nosuch'" in none.output


# --- logs -----------------------------------------------------------------------------------------


def test_logs_shows_human_lines_filtered_by_level_or_raw_json(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    with Archive(db) as archive:
        run_id, path = run_with_log(archive, tmp_path / "logs", "alpha")
    write_log(path, run_id, "alpha", LOG_MESSAGES)

    everything = invoke("logs", str(run_id), "--db", str(db))
    assert everything.exit_code == 0
    lines = everything.output.splitlines()
    assert len(lines) == 4
    assert "DEBUG" in lines[0] and "robots.txt fetched" in lines[0] and f"[alpha#{run_id}]" in lines[0]
    assert "ERROR" in lines[3] and "https://alpha.example/page" in lines[3]

    warnings = invoke("logs", str(run_id), "--db", str(db), "--level", "warning").output.splitlines()
    assert [line.split()[2] for line in warnings] == ["WARNING", "ERROR"]

    raw = [json.loads(line) for line in invoke("logs", str(run_id), "--db", str(db), "--json").output.splitlines()]
    assert [entry["message"] for entry in raw] == [message for _, message in LOG_MESSAGES]
    assert all(entry["run_id"] == run_id and entry["source"] == "alpha" for entry in raw)


def test_logs_of_a_skipped_or_unlogged_run_say_why_there_is_none(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    with Archive(db) as archive:
        skipped = record_run(archive, "alpha", "skipped", reason="run 4 of alpha was still running")
    result = invoke("logs", str(skipped["id"]), "--db", str(db))
    assert result.exit_code == 1
    assert "skipped" in result.output and "run 4 of alpha was still running" in result.output

    with Archive(db) as archive:
        unlogged = record_run(archive, "alpha", articles=1, trigger="manual")  # e.g. from `scrapy crawl`
    result = invoke("logs", str(unlogged["id"]), "--db", str(db))
    assert result.exit_code == 1
    assert "no log file" in result.output and "scrapy crawl" in result.output and "succeeded" in result.output


def test_logs_errors_for_unknown_runs_and_missing_files(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    with Archive(db) as archive:
        run_id, path = run_with_log(archive, tmp_path / "logs", "alpha")
    unknown = invoke("logs", "999", "--db", str(db))
    assert unknown.exit_code == 2 and "no run with id 999" in unknown.output and "newsarchive runs" in unknown.output
    missing = invoke("logs", str(run_id), "--db", str(db))
    assert missing.exit_code == 1 and str(path) in missing.output and "missing" in missing.output


def test_logs_follow_prints_lines_as_they_come_until_the_run_ends(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    with Archive(db) as archive:
        run_id, path = run_with_log(archive, tmp_path / "logs", "alpha", status="running")
    write_log(path, run_id, "alpha", [(logging.INFO, "crawl started")])

    def crawl_goes_on() -> None:
        time.sleep(0.8)
        write_log(path, run_id, "alpha", [(logging.DEBUG, "fetched page 1"), (logging.WARNING, "slow host")])
        time.sleep(0.8)
        write_log(path, run_id, "alpha", [(logging.INFO, "crawl finished")])
        with Archive(db) as writer:
            writer.finish_run(run_id, "succeeded")

    crawler = threading.Thread(target=crawl_goes_on)
    started = time.monotonic()
    crawler.start()
    result = invoke("logs", str(run_id), "--db", str(db), "--follow", "--level", "INFO")
    elapsed = time.monotonic() - started
    crawler.join()

    assert result.exit_code == 0
    messages = [line.split("] ", 1)[1] for line in result.output.splitlines()]
    assert messages == ["crawl started", "slow host", "crawl finished"]
    assert 1.6 <= elapsed < 10
