"""Killing a crawl, or the command that started it, leaves no process behind.

A real ``newsarchive crawl`` (a subprocess, the real CLI) crawls a slow local site; the test records
the process tree from /proc (the crawl process, its extraction workers, their forkserver and the
resource tracker), kills one process with SIGKILL, and watches /proc until every recorded pid is
gone (a zombie counts as gone: it runs nothing and only waits for its new parent to reap it).
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from crawler.extraction.pool import watch_process
from tests.newssite import NewsSite, serve_site

GONE_WITHIN_S = 10.0  # after SIGKILL of the crawl process: workers, forkserver and tracker
PARENT_GONE_WITHIN_S = 20.0  # after SIGKILL of newsarchive crawl: the crawl stops gracefully first


def stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()  # [state, ppid, ...]


def is_running(pid: int) -> bool:
    fields = stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def process_tree(root: int) -> dict[int, str]:
    """Every live descendant of ``root`` (not root itself), pid -> command line."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = stat_fields(int(entry.name))
            if fields is not None and fields[0] not in ("Z", "X"):
                parents[int(entry.name)] = int(fields[1])
    found: dict[int, str] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                try:
                    found[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                except OSError:
                    continue
                frontier.append(pid)
    return found


def wait_until(condition, timeout: float) -> float:
    """Seconds until ``condition()`` held; fails after ``timeout``."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout}s")
        time.sleep(0.1)
    return time.monotonic() - started


def query(db: Path, sql: str) -> tuple | None:
    try:
        with closing(sqlite3.connect(db, timeout=5)) as connection:
            return connection.execute(sql).fetchone()
    except sqlite3.OperationalError:
        return None  # not created yet


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A TMPDIR of the test's own for the crawl command: its run folders (everything the crawl puts in
    temp files) land there. In /tmp: pytest's tmp_path is too long a path for them (crawler.run.run_dir)."""
    folder = Path(tempfile.mkdtemp(prefix="na-", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def start_crawl(url: str, db: Path, tmp_path: Path, temp_dir: Path, **popen: object) -> subprocess.Popen:
    """``newsarchive crawl URL`` as a child process, ``temp_dir`` its TMPDIR."""
    command = [sys.executable, "-m", "crawler.cli", "crawl", url, "--db", str(db), "--delay", "0.2"]
    command += ["--workers", "2", "--no-progress", "--log-dir", str(tmp_path / "logs")]
    environment = {**os.environ, "TMPDIR": str(temp_dir)}
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment, **popen)


def crawl_under_way(db: Path, cli: subprocess.Popen, articles: int = 3) -> tuple[int, dict[int, str]]:
    """Wait until the crawl archived ``articles`` articles (so its workers exist); its pid and its tree."""
    started = time.monotonic()
    while (query(db, "SELECT count(*) FROM articles") or (0,))[0] < articles:
        assert cli.poll() is None, "the crawl ended before the test could kill it"
        assert time.monotonic() - started < 90, "the crawl archived nothing within 90s"
        time.sleep(0.1)
    (crawl_pid,) = query(db, "SELECT pid FROM crawl_runs WHERE id = 1")
    tree = process_tree(crawl_pid)
    kinds = list(tree.values())
    assert any("resource_tracker" in cmdline for cmdline in kinds), tree
    assert sum("forkserver" in cmdline for cmdline in kinds) >= 2, tree  # the forkserver and its workers
    return crawl_pid, tree


def kill_what_is_left(pids) -> None:
    for pid in pids:
        if is_running(pid):
            os.kill(pid, signal.SIGKILL)


def test_watch_process_calls_back_when_the_process_ends() -> None:
    ended = threading.Event()
    child = subprocess.Popen(["sleep", "30"])
    try:
        watch_process(child.pid, ended.set)
        assert not ended.wait(0.3)  # still running
        child.kill()
        assert ended.wait(5)
    finally:
        child.kill()
        child.wait()
    gone = threading.Event()
    watch_process(child.pid, gone.set)  # already gone (reaped): at once
    assert gone.wait(5)


@pytest.mark.e2e
@pytest.mark.slow
def test_killing_the_crawl_process_leaves_no_worker_forkserver_or_tracker(tmp_path: Path, short_tmp: Path) -> None:
    db = tmp_path / "archive.db"
    with serve_site(NewsSite(n_articles=200, seed=3)) as local:
        cli = start_crawl(local.base_url + "/", db, tmp_path, short_tmp)
        tree: dict[int, str] = {}
        try:
            crawl_pid, tree = crawl_under_way(db, cli)
            os.kill(crawl_pid, signal.SIGKILL)  # the OOM killer
            took = wait_until(lambda: not any(is_running(pid) for pid in tree), GONE_WITHIN_S)
            print(f"crawl process killed: its {len(tree)} helpers gone in {took:.1f}s")
            assert cli.wait(timeout=30) == 1
        finally:
            kill_what_is_left([*tree, cli.pid])
    status, reason = query(db, "SELECT status, reason FROM crawl_runs WHERE id = 1")
    assert status == "failed" and "killed by signal 9" in reason
    assert list(short_tmp.iterdir()) == []  # its temp folder (pymp-*) went with the run


@pytest.mark.e2e
@pytest.mark.slow
def test_killing_newsarchive_crawl_stops_the_crawl_and_its_helpers(tmp_path: Path, short_tmp: Path) -> None:
    db = tmp_path / "archive.db"
    with serve_site(NewsSite(n_articles=200, seed=4)) as local:
        cli = start_crawl(local.base_url + "/", db, tmp_path, short_tmp)
        tree: dict[int, str] = {}
        try:
            crawl_pid, _ = crawl_under_way(db, cli)
            tree = {crawl_pid: "crawl process", **process_tree(crawl_pid)}
            cli.kill()  # SIGKILL the parent: nobody is left to stop or close the crawl
            cli.wait()
            took = wait_until(lambda: not any(is_running(pid) for pid in tree), PARENT_GONE_WITHIN_S)
            print(f"newsarchive crawl killed: the crawl and its {len(tree) - 1} helpers gone in {took:.1f}s")
        finally:
            kill_what_is_left(tree)
        articles = query(db, "SELECT count(*) FROM articles")[0]
        assert articles < 200  # it stopped, it did not crawl on to the end
    status, reason, finished = query(db, "SELECT status, reason, finished_at FROM crawl_runs WHERE id = 1")
    assert status == "interrupted" and finished
    assert reason == f"its parent process (pid {cli.pid}, which started the crawl) died; the crawl stopped itself"
    assert list(short_tmp.iterdir()) == []  # the crawl removed its temp folder as it exited
