"""The scheduler for real: `newsarchive schedule` in a child process, crawling local fixture sites.

Every test reads the outcome where an operator would: the archive's crawl_runs, the job store,
the run logs, a webhook receiver, the metrics endpoint. Only what needs a scheduler process is here
(the decisions themselves are tested as data in test_scheduler_plan.py), and one scheduler run
checks as much as it can: a test waits for events (polling the archive, the log, the receiver),
never for a fixed time, with deadlines stretched on a loaded machine.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crawler.demo.server import Reply, Request, serve
from tests.newssite.prose import body_paragraphs, headline

pytestmark = pytest.mark.e2e


def patience() -> float:
    """How much longer than on a quiet machine waits may take: the load per core, at least 1 (at most 4)."""
    return min(4.0, max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1)))


def small_site(seed: int, articles: int, delay: float = 0.0) -> Callable[[Request], Reply]:
    """A small news site: a home page listing ``articles`` stories whose pages take ``delay`` seconds each.

    Each seed writes its own stories, so sites crawled into one archive never look like copies of each other.
    """
    stories: dict[str, bytes] = {}
    for number in range(articles):
        rng = random.Random(seed * 10_000 + number)
        title = headline(rng, "en", "politics")
        body = "".join(f"<p>{text}</p>" for text in body_paragraphs(rng, "en", "politics", False))
        stories[f"/2025/01/{number % 28 + 1:02d}/story-{seed}-{number}/"] = (
            f'<html lang="en"><head><title>{title}</title><meta property="og:type" content="article">'
            f"</head><body><article><h1>{title}</h1>{body}</article></body></html>"
        ).encode()
    links = "".join(f'<li><a href="{path}">Story {n}</a></li>' for n, path in enumerate(stories))
    home = f"<html><head><title>News {seed}</title></head><body><ul>{links}</ul></body></html>".encode()

    def app(request: Request) -> Reply:
        if request.path == "/robots.txt":
            return Reply(200, b"User-agent: *\nAllow: /\n", {"content-type": "text/plain"})
        if request.path == "/":
            return Reply(200, home)
        if request.path in stories:
            time.sleep(delay)
            return Reply(200, stories[request.path])
        return Reply(404, b"<html><body>Not found</body></html>")

    return app


def write_config(folder: Path, sources: str, extra: str = "") -> Path:
    config = folder / "sources.toml"
    config.write_text(
        f'[archive]\ndb = "archive.db"\n\n[scheduler]\nshutdown_grace = 20\nstop_grace = 5\n{extra}\n{sources}'
    )
    return config


def source_block(name: str, url: str, schedule: str, **keys: object) -> str:
    values = {
        "name": name,
        "start_urls": [f"{url}/"],
        "schedule": schedule,
        "download_delay": 0.0,
        "concurrency": 4,
        **keys,
    }
    return "[[sources]]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items()) + "\n"


@contextmanager
def running_scheduler(config: Path) -> Iterator[subprocess.Popen]:
    log = open(config.parent / "scheduler.log", "a")
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler.cli.main", "schedule", "--config", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=config.parent,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60 * patience())
        log.close()


def stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=60 * patience())


def runs(db: Path, source: str | None = None) -> list[sqlite3.Row]:
    if not db.exists():
        return []
    with sqlite3.connect(db, timeout=10) as connection:
        connection.row_factory = sqlite3.Row
        try:
            rows = list(connection.execute("SELECT * FROM crawl_runs ORDER BY id"))
        except sqlite3.OperationalError:
            return []
    return [row for row in rows if source is None or row["source"] == source]


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds; ``timeout`` is for a quiet machine, stretched by its load."""
    timeout *= patience()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def overlaps(rows: list[sqlite3.Row]) -> list[tuple[int, int]]:
    """Pairs of runs of one source that ran at the same time."""
    by_source: dict[str, list[sqlite3.Row]] = {}
    for row in rows:
        if row["status"] != "skipped":
            by_source.setdefault(row["source"], []).append(row)
    return [
        (before["id"], after["id"])
        for source_runs in by_source.values()
        for before, after in itertools.pairwise(source_runs)
        if before["finished_at"] > after["started_at"]
    ]


def assert_no_overlap(rows: list[sqlite3.Row], label: str, capsys: pytest.CaptureFixture[str]) -> None:
    found = overlaps(rows)
    statuses = [row["status"] for row in rows]
    with capsys.disabled():
        print(
            f"\n[scheduler: {label}] runs {len(rows)}: "
            + ", ".join(f"{status} {statuses.count(status)}" for status in sorted(set(statuses)))
            + f"; overlaps {len(found)}"
        )
    assert found == []


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class WebhookReceiver:
    def __init__(self) -> None:
        self.messages: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                receiver.messages.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def jobs(jobstore: Path) -> set[str]:
    with sqlite3.connect(jobstore) as connection:
        return {job_id for (job_id,) in connection.execute("SELECT id FROM apscheduler_jobs")}


def next_run_time(jobstore: Path, job_id: str) -> datetime:
    with sqlite3.connect(jobstore) as connection:
        (when,) = connection.execute("SELECT next_run_time FROM apscheduler_jobs WHERE id = ?", [job_id]).fetchone()
    return datetime.fromtimestamp(when, tz=UTC)


def articles_of(db: Path, source: str) -> int:
    with sqlite3.connect(db, timeout=10) as connection:
        return connection.execute("SELECT count(*) FROM articles WHERE source = ?", [source]).fetchone()[0]


@pytest.mark.slow
def test_sources_side_by_side_then_sigterm_and_a_restart_that_catches_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One scheduler, three sources side by side in one archive, then a restart after downtime.

    - "fixture" (every 1s): runs accumulate and never overlap; the first run archives, the next ones find
      the site unchanged (and fetch no article again); each run has its own log; metrics count the runs while the scheduler runs.
    - "dead" (nothing listens): fails, turns unhealthy after two failures, the webhook fires.
    - "long" (a slow crawl still in its first run): the runs due meanwhile are recorded as skipped, never
      overlapping; SIGTERM to the scheduler interrupts it and loses nothing it archived.
    - Restart with only "fixture" left in the file, after two of its runs fell due: its job was kept
      (not re-added), the others are dropped, and the missed runs become exactly one catch-up run.
    """
    port = free_port()
    db = tmp_path / "archive.db"
    jobstore = tmp_path / "data" / "scheduler.db"
    log = tmp_path / "scheduler.log"
    receiver = WebhookReceiver()
    try:
        with (
            serve(small_site(seed=1, articles=3)) as fixture,
            serve(small_site(seed=2, articles=200, delay=0.5)) as long,
        ):
            fixture_block = source_block("fixture", fixture.base_url, "every 1s", concurrency=8)
            config = write_config(
                tmp_path,
                fixture_block
                + source_block("dead", "http://127.0.0.1:9", "every 1s")  # nothing listens
                + source_block("long", long.base_url, "every 1s", concurrency=1),
                extra=f"max_parallel_crawls = 3\n\n[health]\nmax_consecutive_failures = 2\n\n"
                f'[alerts]\nwebhook_url = "{receiver.url}"\n\n[metrics]\nport = {port}\n',
            )
            with running_scheduler(config) as scheduler:
                wait_for(
                    lambda: sum(r["status"] == "succeeded" for r in runs(db, "fixture")) >= 3,
                    60,
                    "three succeeded runs",
                )

                def metrics_count_three() -> bool:
                    metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
                    succeeded = re.search(
                        r'newsarchive_runs_total\{source="fixture",status="succeeded"\} (\d+)', metrics
                    )
                    return (
                        bool(succeeded) and float(succeeded[1]) >= 3 and "newsarchive_last_success_timestamp" in metrics
                    )

                wait_for(metrics_count_three, 30, "the metrics to count three succeeded runs")
                wait_for(lambda: any(m["source"] == "dead" for m in receiver.messages), 60, "the webhook")
                wait_for(
                    lambda: any(r["status"] == "running" for r in runs(db, "long")) and articles_of(db, "long") >= 2,
                    60,
                    "a long crawl in progress",
                )
                assert stop(scheduler) == 0
            first_session = runs(db)

            # Downtime: wait until two of fixture's runs fell due, then restart with only fixture in the file.
            missed_from = next_run_time(jobstore, "fixture")
            wait_for(lambda: datetime.now(UTC) > missed_from + timedelta(seconds=1.5), 10, "two runs to fall due")
            write_config(tmp_path, fixture_block)
            with running_scheduler(config) as scheduler:
                wait_for(
                    lambda: any(r["trigger"] == "catch-up" and r["status"] != "running" for r in runs(db)),
                    30,
                    "the catch-up run",
                )
                assert stop(scheduler) == 0
    finally:
        receiver.close()

    # fixture: recurring runs, skips recorded, no overlap, each run's own log
    rows = [row for row in first_session if row["source"] == "fixture"]
    assert all(row["status"] in ("succeeded", "skipped", "interrupted") for row in rows), [
        (r["id"], r["status"], r["reason"]) for r in rows
    ]
    assert all(row["trigger"] == "schedule" for row in rows)
    assert_no_overlap(rows, "every 1s", capsys)
    finished = [row for row in rows if row["status"] == "succeeded"]
    assert finished[0]["articles_new"] > 0 and finished[1]["articles_new"] == 0 and finished[1]["not_modified"] > 0
    for row in finished:
        events = [json.loads(line) for line in Path(row["log_path"]).read_text().splitlines()]
        assert all(event["run_id"] == row["id"] and event["source"] == "fixture" for event in events)
        assert {"run_finished", "article_new"} & {event["event"] for event in events}
    assert "database is locked" not in log.read_text()

    # runs due while the source's previous run went on: skipped, saying so
    skipped = [row for row in first_session if row["status"] == "skipped"]
    assert skipped and all("still running" in row["reason"] for row in skipped)
    assert {row["source"] for row in skipped} >= {"long"}
    assert overlaps(first_session) == []

    # dead: unhealthy after two failures, the webhook told
    (message,) = [message for message in receiver.messages if message["source"] == "dead"][:1]
    assert message["state"] == "unhealthy" and message["source"] == "dead"
    assert "dead" in message["text"]
    failed = [row for row in first_session if row["source"] == "dead" and row["status"] == "failed"]
    assert len(failed) >= 2 and all(row["reason"] for row in failed)

    # long: interrupted by the SIGTERM, everything it archived is there and counted
    long_runs = [row for row in first_session if row["source"] == "long"]
    assert_no_overlap(long_runs, "slow crawl every 1s", capsys)
    assert [row["status"] for row in long_runs if row["status"] not in ("skipped",)] == ["interrupted"]
    (run,) = [row for row in long_runs if row["status"] == "interrupted"]
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        logged = connection.execute(
            "SELECT count(*) FROM fetches WHERE outcome = 'new' AND run_id = ?", (run["id"],)
        ).fetchone()[0]
    assert articles_of(db, "long") == logged == run["articles_new"] >= 2

    # the restart: the job kept, the others dropped, one catch-up run
    with sqlite3.connect(jobstore) as connection:
        assert connection.execute("SELECT id FROM apscheduler_jobs").fetchall() == [("fixture",)]
    catch_up = [row for row in runs(db) if row["trigger"] == "catch-up"]
    assert len(catch_up) == 1 and catch_up[0]["status"] == "succeeded"
    text = log.read_text()
    assert "missed since" in text and "running one catch-up run now" in text


@pytest.mark.slow
def test_reloads_an_overrunning_crawl_and_stale_rows(tmp_path: Path) -> None:
    """SIGHUP adds and removes jobs without duplicates and refuses a broken file; a reload while a crawl
    runs changes nothing; a crawl over its max_runtime is stopped and recorded as timed_out; "running"
    rows left by a dead process are marked abandoned at start."""
    from archive import Archive

    with Archive(tmp_path / "archive.db") as archive:
        stale_id = archive.start_run("idle", trigger="schedule")
        archive.set_run_process(stale_id, 2**22 + 12345)  # no such process
    with serve(small_site(seed=5, articles=8, delay=1.0)) as site:
        stuck = source_block("stuck", site.base_url, "every 3s", concurrency=1, max_runtime="3s")
        alpha = source_block("alpha", "http://127.0.0.1:9", "every 1h")
        beta = source_block("beta", "http://127.0.0.1:9", "*/30 * * * *")
        config = write_config(tmp_path, stuck + alpha)
        db = tmp_path / "archive.db"
        jobstore = tmp_path / "data" / "scheduler.db"
        log = tmp_path / "scheduler.log"
        with running_scheduler(config) as scheduler:
            wait_for(lambda: "scheduler running" in log.read_text(), 30, "the scheduler to start")
            assert runs(db, "idle")[0]["status"] == "abandoned"
            assert jobs(jobstore) == {"stuck", "alpha"}
            write_config(tmp_path, stuck + alpha + beta)
            os.kill(scheduler.pid, signal.SIGHUP)
            wait_for(lambda: jobs(jobstore) == {"stuck", "alpha", "beta"}, 30, "beta to be scheduled")
            write_config(tmp_path, stuck + beta)
            os.kill(scheduler.pid, signal.SIGHUP)
            wait_for(lambda: jobs(jobstore) == {"stuck", "beta"}, 30, "alpha to be unscheduled")
            wait_for(lambda: any(r["status"] == "running" for r in runs(db, "stuck")), 30, "a crawl in progress")
            os.kill(scheduler.pid, signal.SIGHUP)  # a reload while a crawl runs changes nothing
            wait_for(lambda: log.read_text().count("reloaded") >= 3, 30, "the reload during the crawl")
            wait_for(lambda: any(r["status"] == "timed_out" for r in runs(db)), 30, "a timed-out run")
            # Last, as crawls read the sources file too: a broken one fails the runs that start after it.
            config.write_text(config.read_text() + "\nbogus = 1\n")
            os.kill(scheduler.pid, signal.SIGHUP)
            wait_for(lambda: "not reloading" in log.read_text(), 30, "the broken file to be refused")
            assert jobs(jobstore) == {"stuck", "beta"}
            assert stop(scheduler) == 0
    assert "source beta: scheduled */30 * * * *" in log.read_text()
    (run,) = [row for row in runs(db) if row["status"] == "timed_out"]
    assert "max_runtime (3s)" in run["reason"]
    assert run["duration_s"] < 15
    assert run["exit_code"] is not None
    assert runs(db, "idle")[0]["reason"].endswith("is gone; it was never closed")  # crawler.run.liveness


@pytest.mark.slow
def test_three_parallel_crawls_into_one_archive(tmp_path: Path) -> None:
    """`newsarchive crawl` runs a file's sources side by side, each its own process, into one archive."""
    expected = {"one": 30, "two": 30, "three": 30}
    with serve(small_site(11, 30)) as a, serve(small_site(12, 30)) as b, serve(small_site(13, 30)) as c:
        blocks = "".join(
            source_block(name, site.base_url, "every 1h", concurrency=8)
            for name, site in (("one", a), ("two", b), ("three", c))
        )
        config = write_config(tmp_path, blocks)
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "crawler.cli.main",
                "crawl",
                "--config",
                str(config),
                "--no-progress",
                "--log-level",
                "WARNING",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    output = completed.stdout + completed.stderr
    # On a loaded machine a crawl can meet the archive locked past ARCHIVE_BUSY_TIMEOUT: it pauses and
    # resumes, and loses nothing (the counts below); a write that failed would say "lost".
    assert output.count("crawl paused until it can write again") == output.count("crawl resumed"), output
    assert " lost" not in output, output
    rows = runs(tmp_path / "archive.db")
    assert sorted(row["source"] for row in rows) == ["one", "three", "two"]
    assert all(row["status"] == "succeeded" for row in rows)
    starts = sorted(row["started_at"] for row in rows)
    assert max(row["finished_at"] for row in rows if row["started_at"] == starts[0]) > starts[-1]  # they overlapped
    with sqlite3.connect(tmp_path / "archive.db") as connection:
        counts = dict(connection.execute("SELECT source, count(*) FROM articles GROUP BY source"))
    assert counts == expected


@pytest.mark.parametrize("schedule", ["every 5 parsecs", "61 * * * *"])
def test_a_bad_schedule_is_a_config_error_naming_source_and_field(tmp_path: Path, schedule: str) -> None:
    config = write_config(tmp_path, source_block("bad", "http://127.0.0.1:9", schedule))
    completed = subprocess.run(
        [sys.executable, "-m", "crawler.cli.main", "schedule", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 2
    assert "source 'bad', field 'schedule'" in completed.stderr  # errors go to stderr, as for every command
