"""Hostile pages do not exhaust a crawl: a page with 100,000 links, a response that drips.

Real crawls of real local servers; memory is the proportional set size (PSS) of the whole crawl
process tree (the command, the crawl process, its extraction workers), sampled from /proc while
it runs.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli.main import main
from crawler.demo.server import Reply, Request, serve
from tests.process_memory import peak_pss, tree_pss_kb
from tests.test_bad_input import article_page

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

HUGE_LINKS = 100_000
LINK_CAP = 5000  # DISCOVERY_MAX_LINKS_PER_PAGE's default
LOCK_HELD_S = 2.5  # past ARCHIVE_BUSY_TIMEOUT (1 s) and a retry (every 2 s)


def rows(db: Path, sql: str, *args: object) -> list[sqlite3.Row]:
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        return connection.execute(sql, args).fetchall()


def crawl(start_url: str, db: Path, *settings: str) -> str:
    args = ["crawl", start_url, "--db", str(db), "--no-progress", "--delay", "0", "--workers", "1"]
    for setting in settings:
        args += ["-s", setting]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return result.output


def test_a_page_with_100k_links_takes_only_the_cap_and_memory_stays_bounded(tmp_path: Path) -> None:
    links = "".join(f'<a href="/2025/06/03/story-{n}/">Story number {n}</a>\n' for n in range(HUGE_LINKS))
    huge = f"<html><head><title>Everything</title></head><body>{links}</body></html>".encode()
    assert len(huge) > 5_000_000

    def app(request: Request) -> Reply:
        if request.path == "/":
            return Reply(200, huge)
        if request.path == "/robots.txt":
            return Reply(404)
        return Reply(200, article_page(f"Story {request.path}").encode())

    db = tmp_path / "archive.db"
    with serve(app) as site, peak_pss(os.getpid()) as peak:
        baseline = tree_pss_kb(os.getpid())
        # max_pages bounds the test's time; the queue still receives every link the page gives.
        output = crawl(site.base_url + "/", db, "NEWSARCHIVE_MAX_PAGES=30", "CLOSESPIDER_TIMEOUT=60")
    assert f"has more than {LINK_CAP} links; only the first {LINK_CAP} were taken" in " ".join(output.split())
    (run,) = rows(db, "SELECT * FROM crawl_runs")
    assert run["status"] == "succeeded"
    (home,) = rows(db, "SELECT * FROM fetches WHERE url = ?", site.base_url + "/")
    assert home["outcome"] == "rejected" and "100,000 links" in home["reason"]
    grown_mb = (peak[0] - baseline) / 1024
    print(f"peak PSS of the test process and the crawl under it: {peak[0] / 1024:.0f} MB (+{grown_mb:.0f} MB)")
    # The crawl's processes (crawl process ~110 MB, one worker ~110 MB, the forkserver ~35 MB): the page
    # costs little. Before the link cap and the link-dump gate: +610 MB, and 130 s in the worker.
    assert grown_mb < 400


def stories_site(count: int, delay: float = 0.0) -> Callable[[Request], Reply]:
    """A home page linking ``count`` articles; each article answers after ``delay`` seconds."""

    def app(request: Request) -> Reply:
        if request.path == "/":
            links = "".join(f'<a href="/2025/06/03/story-{n}/">Story {n}</a>' for n in range(count))
            return Reply(200, f"<html><body>{links}</body></html>".encode())
        if request.path.startswith("/2025/"):
            time.sleep(delay)
            return Reply(200, article_page(f"Story {request.path.split('-')[-1].strip('/')}").encode())
        return Reply(404)

    return app


def drip_server(drip_interval: float, chunks: int) -> tuple[socket.socket, list[str], threading.Event]:
    """A raw HTTP server on 127.0.0.1 whose article pages send their headers at once, then one byte
    every ``drip_interval`` seconds; every request line is recorded."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    seen: list[str] = []
    stop = threading.Event()

    def answer(connection: socket.socket) -> None:
        with connection:
            request = connection.recv(65536).decode("latin-1")
            line = request.split("\r\n", 1)[0]
            seen.append(line)
            if " /robots.txt " in line:
                connection.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            if " / " in line:
                body = b'<html><body><a href="/2025/06/03/slow/">slow</a></body></html>'
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                return
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n"
                + f"Content-Length: {chunks}\r\n\r\n".encode()
            )
            for _ in range(chunks):
                if stop.wait(drip_interval):
                    return
                try:
                    connection.sendall(b" ")
                except OSError:
                    return

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=answer, args=(connection,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener, seen, stop


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        (("NETWORK_IDLE_TIMEOUT=1", "DOWNLOAD_TIMEOUT=20"), "stopped sending the response"),
        (("NETWORK_IDLE_TIMEOUT=0", "DOWNLOAD_TIMEOUT=3"), "still arriving after DOWNLOAD_TIMEOUT (3 s)"),
    ],
    ids=["idle", "total"],
)
def test_a_dripping_response_is_cut_off_once_and_not_retried(tmp_path: Path, settings, words) -> None:
    interval = 2.0 if "NETWORK_IDLE_TIMEOUT=1" in settings else 0.5
    listener, seen, stop = drip_server(interval, chunks=1000)
    base = f"http://127.0.0.1:{listener.getsockname()[1]}"
    db = tmp_path / "archive.db"
    started = time.monotonic()
    try:
        crawl(base + "/", db, *settings, "RETRY_TIMES=3")
    finally:
        stop.set()
        listener.close()
    elapsed = time.monotonic() - started
    assert sum(" /2025/06/03/slow/ " in line for line in seen) == 1  # never retried
    (row,) = rows(db, "SELECT * FROM fetches WHERE url = ?", base + "/2025/06/03/slow/")
    assert (row["outcome"], row["reason_kind"]) == ("error", "timeout")
    assert words in row["reason"] and "not retried" in row["reason"]
    assert elapsed < 30


def test_a_crawl_pauses_while_another_process_holds_the_archive_lock_and_loses_nothing(tmp_path: Path) -> None:
    """A real crawl; mid-crawl another connection holds the archive's write lock for 2.5 s (past
    ARCHIVE_BUSY_TIMEOUT): the crawl waits, resumes, and archives every article."""
    count = 30
    stories = stories_site(count, delay=0.1)
    db = tmp_path / "archive.db"
    held = threading.Event()

    answered = itertools.count()

    def app(request: Request) -> Reply:
        # Caught in the middle whatever the machine's load: after the first 10 stories, the others
        # answer once the lock is held.
        if request.path.startswith("/2025/") and next(answered) >= 10:
            held.wait(30)
        return stories(request)

    def hold_lock_mid_crawl() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with sqlite3.connect(db, timeout=0.1) as reader:
                    if reader.execute("SELECT COUNT(*) FROM articles").fetchone()[0] >= 3:
                        break
            except sqlite3.Error:
                pass
            time.sleep(0.05)
        holder = sqlite3.connect(db, timeout=5, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(LOCK_HELD_S)
        holder.execute("ROLLBACK")
        holder.close()

    locker = threading.Thread(target=hold_lock_mid_crawl, daemon=True)
    with serve(app) as site:
        locker.start()
        output = crawl(site.base_url + "/", db)
        locker.join(timeout=30)
    assert held.is_set()
    (run,) = rows(db, "SELECT * FROM crawl_runs")
    assert run["status"] == "succeeded", run["reason"]
    assert rows(db, "SELECT COUNT(*) AS n FROM articles")[0]["n"] == count
    said = " ".join(output.split())  # the terminal wraps long log lines
    assert "crawl paused until it can write again" in said and "crawl resumed" in said


def test_a_full_queue_spills_to_the_archive_frontier_and_every_page_is_still_fetched(tmp_path: Path) -> None:
    count = 150
    app = stories_site(count)

    db = tmp_path / "archive.db"
    with serve(app) as site:
        crawl(site.base_url + "/", db, "DISCOVERY_MAX_PENDING=20")
        fetched = [path for path in site.paths() if path.startswith("/2025/")]
    (run,) = rows(db, "SELECT * FROM crawl_runs")
    assert run["status"] == "succeeded", run["reason"]
    assert sorted(fetched) == sorted(set(fetched)) and len(fetched) == count  # each page once
    assert rows(db, "SELECT COUNT(*) AS n FROM articles")[0]["n"] == count
    assert rows(db, "SELECT COUNT(*) AS n FROM crawl_state WHERE fetched_at IS NULL")[0]["n"] == 0
    stats = json.loads(run["stats_json"])
    assert stats["newsarchive/frontier/spilled"] >= count - 20
    assert stats["newsarchive/frontier/read_back"] == stats["newsarchive/frontier/spilled"]
