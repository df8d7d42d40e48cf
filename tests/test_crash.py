"""A crawl process killed with SIGKILL mid-crawl loses nothing already archived; the next crawl completes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from crawler.run.crawl_process import CrawlSpec
from crawler.run.supervisor import crawl_process_command
from tests.newssite import NewsSite, serve_site

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def count(db: Path, sql: str) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as connection:
            return connection.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # not created yet


def test_kill_9_mid_crawl_keeps_archived_articles(tmp_path: Path) -> None:
    site = NewsSite(n_articles=150, seed=5)
    db = tmp_path / "archive.db"
    with serve_site(site) as local:
        spec = CrawlSpec(
            db=str(db),
            url=local.base_url + "/",
            source_overrides={"name": "crash", "download_delay": 0.02, "concurrency": 1},
            settings={"AUTOTHROTTLE_ENABLED": False},
            log_level="ERROR",
        )
        process = subprocess.Popen(crawl_process_command(spec))
        deadline = time.monotonic() + 60
        while count(db, "SELECT count(*) FROM articles") < 20 and time.monotonic() < deadline:
            time.sleep(0.1)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        survived = count(db, "SELECT count(*) FROM articles")
        assert survived >= 20
        with sqlite3.connect(db) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            texts = connection.execute("SELECT text FROM articles").fetchall()
            assert all(len(text) > 200 for (text,) in texts)
            (status,) = connection.execute("SELECT status FROM crawl_runs").fetchone()
            assert status == "running"  # nobody was left to record the end; the scheduler marks it abandoned

        spec.source_overrides["download_delay"] = 0.0
        spec.source_overrides["concurrency"] = 8
        completed = subprocess.run(crawl_process_command(spec), timeout=300)
        assert completed.returncode == 0
        expected = {article.url for article in site.expected_articles(local.base_url)}
    with sqlite3.connect(db) as connection:
        urls = [url for (url,) in connection.execute("SELECT url FROM articles")]
        (new,) = connection.execute("SELECT articles_new FROM crawl_runs WHERE id = 2").fetchone()
    assert len(urls) == len(set(urls)) == len(expected)
    assert set(urls) == expected
    assert new == len(expected) - survived  # the second run continued where the killed one stopped
