"""The scheduler for real: `newsarchive schedule` in a child process, crawling local fixture sites.

Every test reads the outcome where an operator would: the archive's crawl_runs, the job store,
the run logs, a webhook receiver.
"""

from __future__ import annotations

import itertools
import json
import os
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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crawler.demo.server import Reply, Request, serve
from tests.newssite import NewsSite, serve_site

PARAGRAPH = (
    "The council’s transport committee met on Thursday to discuss the timetable for the new tram line, "
    "which has been delayed twice since the project was approved. Members heard from engineers, bus "
    "operators and residents of the streets along the route, who asked for more notice of road closures."
)


def slow_site(delay: float, articles: int = 6) -> Callable[[Request], Reply]:
    """A small news site whose article pages take ``delay`` seconds each."""

    def app(request: Request) -> Reply:
        path = request.path
        if path == "/robots.txt":
            return Reply(200, b"User-agent: *\nAllow: /\n", {"content-type": "text/plain"})
        if path == "/":
            links = "".join(
                f'<li><a href="/2025/01/0{i + 1}/story-number-{i}/">Story {i}</a></li>' for i in range(articles)
            )
            return Reply(
                200, f"<html><head><title>Slow news</title></head><body><ul>{links}</ul></body></html>".encode()
            )
        if path.startswith("/2025/"):
            time.sleep(delay)
            number = path.rstrip("/").rsplit("-", 1)[-1]
            body = "".join(f"<p>{PARAGRAPH} This is story {number}, paragraph {p}.</p>" for p in range(4))
            page = (
                f'<html lang="en"><head><title>Story {number}</title><meta property="og:type" content="article">'
                f"</head><body><article><h1>Story {number}</h1>{body}</article></body></html>"
            )
            return Reply(200, page.encode())
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
            process.wait(timeout=60)
        log.close()


def stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=60)


def runs(db: Path) -> list[sqlite3.Row]:
    if not db.exists():
        return []
    with sqlite3.connect(db, timeout=10) as connection:
        connection.row_factory = sqlite3.Row
        try:
            return list(connection.execute("SELECT * FROM crawl_runs ORDER BY id"))
        except sqlite3.OperationalError:
            return []


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


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


def test_recurring_runs_accumulate_without_overlap(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    with serve_site(NewsSite(n_articles=30, seed=2)) as site:
        config = write_config(
            tmp_path,
            source_block("fixture", site.base_url, "every 2s", concurrency=8),
            extra=f"[metrics]\nport = {port}\n",
        )
        with running_scheduler(config) as scheduler:
            wait_for(
                lambda: sum(r["status"] == "succeeded" for r in runs(tmp_path / "archive.db")) >= 3,
                60,
                "three succeeded runs",
            )

            def metrics_count_three() -> bool:
                metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
                succeeded = re.search(r'newsarchive_runs_total\{source="fixture",status="succeeded"\} (\d+)', metrics)
                return bool(succeeded) and float(succeeded[1]) >= 3 and "newsarchive_last_success_timestamp" in metrics

            wait_for(metrics_count_three, 30, "the metrics to count three succeeded runs")
            assert stop(scheduler) == 0
    rows = runs(tmp_path / "archive.db")
    assert all(row["status"] in ("succeeded", "skipped", "interrupted") for row in rows), [dict(r) for r in rows]
    assert all(row["trigger"] == "schedule" for row in rows)
    assert_no_overlap(rows, "every 2s", capsys)
    finished = [row for row in rows if row["status"] == "succeeded"]
    assert (
        finished[0]["articles_new"] > 0 and finished[1]["articles_new"] == 0 and finished[1]["articles_unchanged"] > 0
    )
    for row in finished:
        log = Path(row["log_path"])
        events = [json.loads(line) for line in log.read_text().splitlines()]
        assert all(event["run_id"] == row["id"] and event["source"] == "fixture" for event in events)
        assert {"run_finished", "article_new"} & {event["event"] for event in events}


def test_a_slow_run_makes_the_next_one_skip_not_overlap(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with serve(slow_site(delay=1.0, articles=4)) as site:
        config = write_config(tmp_path, source_block("slow", site.base_url, "every 1s", concurrency=1))
        with running_scheduler(config) as scheduler:
            wait_for(
                lambda: (
                    any(r["status"] == "skipped" for r in runs(tmp_path / "archive.db"))
                    and any(r["status"] == "succeeded" for r in runs(tmp_path / "archive.db"))
                ),
                60,
                "a skipped and a succeeded run",
            )
            stop(scheduler)
    rows = runs(tmp_path / "archive.db")
    skipped = [row for row in rows if row["status"] == "skipped"]
    assert skipped and all("still running" in row["reason"] for row in skipped)
    assert_no_overlap(rows, "slow crawl every 1s", capsys)


def test_overrunning_crawl_is_stopped_and_recorded_as_timed_out(tmp_path: Path) -> None:
    with serve(slow_site(delay=2.0, articles=8)) as site:
        config = write_config(
            tmp_path, source_block("stuck", site.base_url, "every 4s", concurrency=1, max_runtime="3s")
        )
        log = tmp_path / "scheduler.log"
        with running_scheduler(config) as scheduler:
            wait_for(lambda: "scheduler running" in log.read_text(), 30, "the scheduler to start")
            os.kill(scheduler.pid, signal.SIGHUP)  # a reload while a crawl runs changes nothing
            wait_for(
                lambda: any(r["status"] == "timed_out" for r in runs(tmp_path / "archive.db")), 60, "a timed-out run"
            )
            stop(scheduler)
        assert "reloaded" in log.read_text()
    (run,) = [row for row in runs(tmp_path / "archive.db") if row["status"] == "timed_out"]
    assert "max_runtime (3s)" in run["reason"]
    assert run["duration_s"] < 15
    assert run["exit_code"] is not None


def test_restart_keeps_jobs_and_runs_one_catch_up(tmp_path: Path) -> None:
    with serve_site(NewsSite(n_articles=30, seed=3)) as site:
        config = write_config(tmp_path, source_block("fixture", site.base_url, "every 4s", max_pages=10))
        with running_scheduler(config) as scheduler:
            wait_for(lambda: any(r["status"] == "succeeded" for r in runs(tmp_path / "archive.db")), 60, "a run")
            stop(scheduler)
        time.sleep(9)  # two runs fall due while the scheduler is down
        with running_scheduler(config) as scheduler:
            wait_for(
                lambda: any(
                    r["trigger"] == "catch-up" and r["status"] != "running" for r in runs(tmp_path / "archive.db")
                ),
                30,
                "the catch-up run",
            )
            stop(scheduler)
    with sqlite3.connect(tmp_path / "data" / "scheduler.db") as connection:
        assert connection.execute("SELECT id FROM apscheduler_jobs").fetchall() == [("fixture",)]
    catch_up = [row for row in runs(tmp_path / "archive.db") if row["trigger"] == "catch-up"]
    assert len(catch_up) == 1 and catch_up[0]["status"] == "succeeded"
    log = (tmp_path / "scheduler.log").read_text()
    assert "missed since" in log and "running one catch-up run now" in log


def test_sigterm_during_a_crawl_loses_nothing(tmp_path: Path) -> None:
    with serve(slow_site(delay=0.7, articles=12)) as site:
        config = write_config(tmp_path, source_block("slow", site.base_url, "every 1s", concurrency=1))
        db = tmp_path / "archive.db"

        def archived() -> int:
            with sqlite3.connect(db, timeout=10) as connection:
                return connection.execute("SELECT count(*) FROM articles").fetchone()[0]

        with running_scheduler(config) as scheduler:
            wait_for(
                lambda: db.exists() and any(r["status"] == "running" for r in runs(db)) and archived() >= 2,
                60,
                "a crawl in progress",
            )
            assert stop(scheduler) == 0
        rows = runs(db)
    assert [row["status"] for row in rows if row["status"] not in ("skipped",)] == ["interrupted"]
    (run,) = [row for row in rows if row["status"] == "interrupted"]
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = connection.execute("SELECT count(*) FROM articles").fetchone()[0]
        logged = connection.execute(
            "SELECT count(*) FROM fetches WHERE outcome = 'new' AND run_id = ?", (run["id"],)
        ).fetchone()[0]
    assert stored == logged == run["articles_new"] >= 2


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


def test_a_dead_source_turns_unhealthy_and_fires_the_webhook(tmp_path: Path) -> None:
    receiver = WebhookReceiver()
    try:
        with serve_site(NewsSite(n_articles=30, seed=4)) as gone:
            dead_url = gone.base_url  # the server stops at the end of this block: nothing listens there
        config = write_config(
            tmp_path,
            source_block("dead", dead_url, "every 1s"),
            extra=f'[health]\nmax_consecutive_failures = 2\n\n[alerts]\nwebhook_url = "{receiver.url}"\n',
        )
        with running_scheduler(config) as scheduler:
            wait_for(lambda: receiver.messages, 60, "the webhook")
            stop(scheduler)
    finally:
        receiver.close()
    (message,) = receiver.messages[:1]
    assert message["state"] == "unhealthy" and message["source"] == "dead"
    assert "dead" in message["text"]
    failed = [row for row in runs(tmp_path / "archive.db") if row["status"] == "failed"]
    assert len(failed) >= 2 and all(row["reason"] for row in failed)


def jobs(jobstore: Path) -> set[str]:
    with sqlite3.connect(jobstore) as connection:
        return {job_id for (job_id,) in connection.execute("SELECT id FROM apscheduler_jobs")}


def test_sighup_reloads_the_sources_file_without_duplicates(tmp_path: Path) -> None:
    first = source_block("alpha", "http://127.0.0.1:9", "every 1h")
    second = source_block("beta", "http://127.0.0.1:9", "*/30 * * * *")
    config = write_config(tmp_path, first)
    jobstore = tmp_path / "data" / "scheduler.db"
    log = tmp_path / "scheduler.log"
    with running_scheduler(config) as scheduler:
        wait_for(lambda: "scheduler running" in log.read_text(), 30, "the scheduler to start")
        assert jobs(jobstore) == {"alpha"}
        write_config(tmp_path, first + second)
        os.kill(scheduler.pid, signal.SIGHUP)
        wait_for(lambda: jobs(jobstore) == {"alpha", "beta"}, 30, "beta to be scheduled")
        write_config(tmp_path, second)
        os.kill(scheduler.pid, signal.SIGHUP)
        wait_for(lambda: jobs(jobstore) == {"beta"}, 30, "alpha to be unscheduled")
        config.write_text(config.read_text() + "\nbogus = 1\n")
        os.kill(scheduler.pid, signal.SIGHUP)
        wait_for(lambda: "not reloading" in log.read_text(), 30, "the broken file to be refused")
        assert jobs(jobstore) == {"beta"}
        assert stop(scheduler) == 0
    assert "source beta: scheduled */30 * * * *" in log.read_text()


def test_stale_running_rows_are_abandoned_at_start(tmp_path: Path) -> None:
    from archive import Archive

    config = write_config(tmp_path, '[[sources]]\nname = "idle"\nstart_urls = ["http://127.0.0.1:9/"]\n')
    with Archive(tmp_path / "archive.db") as archive:
        run_id = archive.start_run("idle", trigger="schedule")
        archive.set_run_process(run_id, 2**22 + 12345)  # no such process
    with running_scheduler(config) as scheduler:
        wait_for(lambda: runs(tmp_path / "archive.db")[0]["status"] == "abandoned", 30, "the abandoned mark")
        stop(scheduler)
    assert "found at scheduler start" in runs(tmp_path / "archive.db")[0]["reason"]


def test_three_parallel_crawls_into_one_archive(tmp_path: Path) -> None:
    sites = [NewsSite(n_articles=40, seed=seed) for seed in (21, 22, 23)]
    with serve_site(sites[0]) as a, serve_site(sites[1]) as b, serve_site(sites[2]) as c:
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
        expected = {
            site_name: len(site.expected_articles("x")) for site_name, site in zip(("one", "two", "three"), sites)
        }
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "database is locked" not in completed.stdout + completed.stderr
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
    assert "source 'bad', field 'schedule'" in completed.stdout
