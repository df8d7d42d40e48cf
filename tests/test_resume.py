"""Runs left ``running`` by a dead process: one decision (crawler.run.liveness), shown by readers, recorded by writers.

The decision as data (rows in, a reason or None out), then on real archive files: the read-only
path (``ArchiveReader(stale_reason=...)``, ``newsarchive runs --failed``) shows such a run as
abandoned and leaves the file byte for byte as it was; the writing path (the next crawl) records
it. The end-to-end test kills a real crawl process with SIGKILL mid-crawl.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive import Archive, ArchiveReader
from crawler.cli.main import main
from crawler.run.crawl_process import CrawlSpec
from crawler.run.liveness import (
    START_SLACK_S,
    abandon_stale_runs,
    pid_is_running,
    process_started_at,
    stale_run_reason,
)
from crawler.run.supervisor import crawl_process_command
from tests.newssite import NewsSite, serve_site

NO_SUCH_PID = 2**22 + 12345  # above the kernel's pid_max default
STARTED = "2025-03-10T12:00:00Z"
RUN_START = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
LIVE = {100: RUN_START - timedelta(seconds=5), 300: RUN_START + timedelta(hours=2)}


def row(pid: int | None, hostname: str | None = "here", status: str = "running") -> dict:
    return {"id": 1, "status": status, "pid": pid, "hostname": hostname, "started_at": STARTED}


def decide(run: dict) -> str | None:
    return stale_run_reason(run, this_host="here", pid_exists=LIVE.__contains__, started_at_of=LIVE.get)


# -- the decision, as data ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("run", "stale"),
    [
        (row(100), False),  # its process is there, started before the run's row (a crawl run by hand)
        (row(200), True),  # its process is gone
        (row(300), True),  # pid 300 belongs to a process started two hours after the run: a reused pid
        (row(None), True),  # never got a process
        (row(200, hostname=None), True),  # no host recorded: checked here
        (row(200, hostname="elsewhere"), False),  # another machine's process cannot be checked: left alone
        (row(None, hostname="elsewhere"), False),
        (row(200, status="succeeded"), False),  # only running rows can be stale
        (row(200, status="abandoned"), False),
    ],
)
def test_which_running_rows_are_stale(run: dict, stale: bool) -> None:
    assert (decide(run) is not None) is stale


def test_the_reason_names_the_process_and_the_host() -> None:
    assert decide(row(200)) == "the crawl process (pid 200 on here) is gone; it was never closed"
    assert "pid 300 on here" in decide(row(300)) and "now belongs to a process started at" in decide(row(300))
    # a process started within the slack after the row (Popen after start_run) is the run's own
    LIVE[400] = RUN_START + timedelta(seconds=START_SLACK_S - 1)
    assert decide(row(400)) is None


def test_the_system_is_asked_about_real_processes() -> None:
    assert pid_is_running(os.getpid())
    assert not pid_is_running(NO_SUCH_PID)
    assert stale_run_reason({"status": "running", "pid": os.getpid(), "hostname": socket.gethostname()}) is None
    assert stale_run_reason({"status": "running", "pid": NO_SUCH_PID, "hostname": socket.gethostname()})
    started = process_started_at(os.getpid())
    assert started is not None and datetime.now(UTC) - timedelta(hours=6) < started <= datetime.now(UTC)
    assert process_started_at(NO_SUCH_PID) is None
    child = subprocess.Popen(["sleep", "5"])
    try:
        child_started = process_started_at(child.pid)
        assert child_started is not None and abs((child_started - datetime.now(UTC)).total_seconds()) < 5
    finally:
        child.kill()
        child.wait()


def test_a_reused_pid_does_not_keep_a_dead_run_alive(tmp_path: Path) -> None:
    """A live process that started long after the run began is not the run's process (real /proc)."""
    other = subprocess.Popen(["sleep", "30"])
    try:
        now = datetime.now(UTC)
        recent = {"status": "running", "pid": other.pid, "hostname": None, "started_at": now.isoformat()}
        long_ago = dict(recent, started_at=(now - timedelta(hours=2)).isoformat())
        assert stale_run_reason(recent) is None
        reason = stale_run_reason(long_ago)
        assert reason is not None and f"pid {other.pid} on {socket.gethostname()}" in reason
        assert "now belongs to a process started at" in reason
    finally:
        other.kill()
        other.wait()


# -- on real archive files ----------------------------------------------------------------------


def archive_with_runs(db: Path) -> dict[str, int]:
    """A stale run (dead pid), a live one (this test process), one of another machine, one finished."""
    with Archive(db) as archive:
        ids = {name: archive.start_run(name, trigger="manual") for name in ("stale", "live", "remote", "done")}
        archive.set_run_process(ids["stale"], NO_SUCH_PID)
        archive.set_run_process(ids["remote"], NO_SUCH_PID)
        archive.finish_run(ids["done"], "succeeded")
    with closing(sqlite3.connect(db)) as connection, connection:
        connection.execute("UPDATE crawl_runs SET hostname = 'another-machine' WHERE id = ?", [ids["remote"]])
    return ids


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_writers_mark_stale_rows_abandoned_and_keep_live_ones(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    ids = archive_with_runs(db)
    with Archive(db) as archive:
        abandoned = abandon_stale_runs(archive)
        assert [run["id"] for run in abandoned] == [ids["stale"]]
        assert abandoned[0]["status"] == "abandoned"
        assert abandoned[0][
            "reason"
        ] == f"the crawl process (pid {NO_SUCH_PID} on {socket.gethostname()}) is gone; " + ("it was never closed")
        assert abandoned[0]["finished_at"]
        assert [run["id"] for run in archive.runs_with_status("running")] == [ids["live"], ids["remote"]]
        assert abandon_stale_runs(archive) == []  # once


def test_readers_show_stale_rows_abandoned_without_writing(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    ids = archive_with_runs(db)
    before = digest(db)
    with ArchiveReader(db, stale_reason=stale_run_reason) as reader:
        stale = reader.run(ids["stale"])
        assert stale["status"] == "abandoned" and f"pid {NO_SUCH_PID}" in stale["reason"]
        assert reader.run(ids["live"])["status"] == "running"
        assert reader.run(ids["remote"])["status"] == "running"
        assert [run["id"] for run in reader.runs(statuses=["abandoned", "failed"])] == [ids["stale"]]
        assert [run["id"] for run in reader.runs(statuses=["running"])] == [ids["remote"], ids["live"]]
        assert [run["id"] for run in reader.runs(statuses=["abandoned"], limit=1)] == [ids["stale"]]
        assert [run["status"] for run in reader.runs()] == ["succeeded", "running", "running", "abandoned"]
    with ArchiveReader(db) as reader:  # without the decision: rows as recorded
        assert reader.run(ids["stale"])["status"] == "running"
    assert digest(db) == before
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT status FROM crawl_runs WHERE id = ?", [ids["stale"]]).fetchone() == (
            "running",
        )


def test_status_runs_and_logs_commands_show_the_stale_run_without_writing(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    ids = archive_with_runs(db)
    log = tmp_path / "stale.jsonl"
    log.write_text("")
    with closing(sqlite3.connect(db)) as connection, connection:
        connection.execute("UPDATE crawl_runs SET log_path = ? WHERE id = ?", [str(log), ids["stale"]])
    before = digest(db)
    runner = CliRunner()
    failed = runner.invoke(main, ["runs", "--failed", "--db", str(db), "--json"])
    assert failed.exit_code == 0, failed.output
    assert [(run["id"], run["status"]) for run in json.loads(failed.output)] == [(ids["stale"], "abandoned")]
    started = time.monotonic()
    followed = runner.invoke(main, ["logs", str(ids["stale"]), "--db", str(db), "--follow"])
    assert followed.exit_code == 0 and time.monotonic() - started < 5  # a dead run is not followed for ever
    status = runner.invoke(main, ["status", "--db", str(db), "--json"])
    shown = {source["source"]: source["last_run"]["status"] for source in json.loads(status.output)["sources"]}
    assert shown == {"stale": "abandoned", "live": "running", "remote": "running", "done": "succeeded"}
    text = runner.invoke(main, ["status", "--db", str(db)]).output
    (line,) = [line for line in text.splitlines() if line.startswith("stale ")]
    assert f"last run {ids['stale']} abandoned" in line and f"(the crawl process (pid {NO_SUCH_PID} on " in line
    assert digest(db) == before


# -- a real crawl killed with SIGKILL -----------------------------------------------------------


def count(db: Path, sql: str) -> int:
    try:  # closed here: a connection left to the garbage collector would checkpoint the WAL whenever it goes
        with closing(sqlite3.connect(db, timeout=5)) as connection:
            return connection.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # not created yet


@pytest.mark.e2e
@pytest.mark.slow
def test_a_killed_crawl_is_listed_abandoned_then_recorded_by_the_next_crawl(tmp_path: Path) -> None:
    site = NewsSite(n_articles=80, seed=8)
    db = tmp_path / "archive.db"
    with serve_site(site) as local:
        spec = CrawlSpec(
            db=str(db),
            url=local.base_url + "/",
            source_overrides={"name": "killed", "download_delay": 0.05, "concurrency": 1},
            settings={"AUTOTHROTTLE_ENABLED": False, "EXTRACT_WORKERS": 1},
            log_level="ERROR",
        )
        process = subprocess.Popen(crawl_process_command(spec))
        deadline = time.monotonic() + 60
        while count(db, "SELECT count(*) FROM articles") < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        with closing(sqlite3.connect(db)) as connection:
            assert connection.execute("SELECT id, status, pid FROM crawl_runs").fetchall() == [
                (1, "running", process.pid)
            ]
        files = {path.name: digest(path) for path in tmp_path.glob("archive.db*")}

        runner = CliRunner()
        listed = runner.invoke(main, ["runs", "--failed", "--db", str(db)])
        assert listed.exit_code == 0, listed.output
        assert "abandoned" in listed.output and f"pid {process.pid}" in listed.output
        as_json = json.loads(runner.invoke(main, ["runs", "--failed", "--db", str(db), "--json"]).output)
        assert [(run["id"], run["status"]) for run in as_json] == [(1, "abandoned")]
        assert digest(db) == files["archive.db"]  # read only: the archive file is byte for byte as it was
        assert count(db, "SELECT count(*) FROM crawl_runs WHERE status = 'running'") == 1

        crawled = runner.invoke(
            main,
            ["crawl", local.base_url + "/", "--db", str(db), "--max-pages", "5", "--delay", "0", "--no-progress"],
        )
        assert crawled.exit_code == 0, crawled.output
    with sqlite3.connect(db) as connection:
        status, reason, finished = connection.execute(
            "SELECT status, reason, finished_at FROM crawl_runs WHERE id = 1"
        ).fetchone()
        assert connection.execute("SELECT status FROM crawl_runs WHERE id = 2").fetchone() == ("succeeded",)
    assert status == "abandoned" and finished
    assert reason == f"the crawl process (pid {process.pid} on {socket.gethostname()}) is gone; it was never closed"
