"""kill -9 at random moments, again and again, into one archive: nothing lost, nothing twice.

``KILLS`` times, ``newsarchive crawl`` of the generated news site into one archive, and SIGKILL at a
random moment to the command, to its crawl process, or to both: half the moments counted from the
command's start (while Python still starts, robots.txt, the sitemaps, the first articles), half from
the run's first recorded article page (while articles are being written). After each kill, once every
process of that crawl has ended: SQLite's integrity check and the full-text index's pass, no article
is there twice (by canonical URL), every article archived before is still there. Then one full run:
every article of the site is archived, each once, and no run is left ``running``.

Moments and targets come from a seeded random: the seed is printed, and a failure reproduces with
``NEWSARCHIVE_KILL_SEED=<seed> pytest tests/test_kill_property.py``.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from crawler.discovery.urls import canonicalize_url
from tests.newssite import NewsSite, serve_site
from tests.test_orphans import is_running, process_tree, query, short_tmp  # noqa: F401 (short_tmp: a fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

KILLS = int(os.environ.get("NEWSARCHIVE_KILLS") or 3)  # more: NEWSARCHIVE_KILLS=20 pytest tests/test_kill_property.py
MOMENTS_S = (0.3, 6.0)  # a kill comes this long after the command started, or
WRITING_MOMENTS_S = (0.0, 3.0)  # this long after the run recorded its first article page (articles being written)
# Pages paced so that a first crawl of the site (~200 requests) outlasts the latest kill (a recrawl
# of an archive a kill left whole fetches only what is due, and may end first: then nothing is killed).
KILLED_CRAWL_DELAY_S = 0.05
TARGETS = ("the command", "its crawl process", "both")
GONE_WITHIN_S = 30.0  # a crawl whose command was killed stops itself: gracefully, or forced after 15 s


def seed() -> int:
    return int(os.environ.get("NEWSARCHIVE_KILL_SEED") or time.time_ns() % 1_000_000)


def crawl_command(url: str, db: Path, delay: float) -> list[str]:
    command = [sys.executable, "-m", "crawler.cli", "crawl", url, "--db", str(db), "--delay", str(delay)]
    return [*command, "--workers", "2", "--no-progress"]


def archive_state(db: Path) -> tuple[str, list[str]]:
    """The integrity check's answer (the full-text index's check raises when it fails) and the article URLs.

    An archive whose creation was killed may not have all its tables yet: the next command adds them.
    """
    with closing(sqlite3.connect(db, timeout=10)) as connection:
        (result,) = connection.execute("PRAGMA integrity_check").fetchone()
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "articles_fts" in tables:
            connection.execute("INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')")
        urls = [url for (url,) in connection.execute("SELECT url FROM articles")] if "articles" in tables else []
    return result, urls


def articles_being_written(db: Path) -> bool:
    """Whether the newest run has recorded an article page (new, changed or not): it is writing articles."""
    row = query(
        db,
        "SELECT count(*) FROM fetches WHERE run_id = (SELECT max(id) FROM crawl_runs)"
        " AND outcome IN ('new', 'updated', 'unchanged', 'not_modified', 'duplicate')",
    )
    return bool(row and row[0])


def crawl_pid(db: Path, command_pid: int) -> int | None:
    """The crawl process of the newest run, once the command has recorded it (None before)."""
    row = query(db, "SELECT pid FROM crawl_runs WHERE status = 'running' ORDER BY id DESC LIMIT 1")
    return int(row[0]) if row and row[0] and row[0] != command_pid else None


def test_kill_9_at_random_moments_loses_nothing(tmp_path: Path, short_tmp: Path) -> None:  # noqa: F811
    chosen = seed()
    rng = random.Random(chosen)
    print(f"\nkill property: seed {chosen} (reproduce: NEWSARCHIVE_KILL_SEED={chosen})")
    db = tmp_path / "archive.db"
    environment = {**os.environ, "TMPDIR": str(short_tmp)}
    site = NewsSite(n_articles=150, seed=12)
    archived: set[str] = set()
    with serve_site(site) as local:
        url = local.base_url + "/"
        for kill in range(1, KILLS + 1):
            when, target = rng.choice(("after start", "while writing")), rng.choice(TARGETS)
            moment = rng.uniform(*(MOMENTS_S if when == "after start" else WRITING_MOMENTS_S))
            command = subprocess.Popen(
                crawl_command(url, db, KILLED_CRAWL_DELAY_S),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=environment,
                start_new_session=True,
            )
            tree: dict[int, str] = {}
            try:
                if when == "while writing":
                    while not articles_being_written(db) and command.poll() is None:
                        time.sleep(0.05)
                started = time.monotonic()
                while time.monotonic() - started < moment and command.poll() is None:
                    time.sleep(0.05)
                if command.poll() is not None:
                    # A recrawl after a kill that left the archive whole fetches only what is due: it
                    # can end before its moment. Nothing to kill; it must have ended well.
                    assert command.returncode == 0, f"seed {chosen}, kill {kill}: the crawl failed on its own"
                    killed = "nothing (the crawl had ended)"
                else:
                    crawl = crawl_pid(db, command.pid)
                    tree = {command.pid: "newsarchive crawl", **process_tree(command.pid)}
                    killed = target if crawl is not None or target == "the command" else "the command (no crawl yet)"
                    if target in ("its crawl process", "both") and crawl is not None:
                        os.kill(crawl, signal.SIGKILL)
                    if target in ("the command", "both") or crawl is None:
                        command.kill()
                command.wait(timeout=60)
                deadline = time.monotonic() + GONE_WITHIN_S
                while any(is_running(pid) for pid in tree):
                    assert time.monotonic() < deadline, f"seed {chosen}, kill {kill}: processes left {tree}"
                    time.sleep(0.1)
            finally:
                for pid in tree:
                    if is_running(pid):
                        os.kill(pid, signal.SIGKILL)
            if not db.exists():
                print(f"kill {kill}: {killed} {moment:.1f}s {when}, before the archive existed")
                continue
            integrity, urls = archive_state(db)
            canonical = [canonicalize_url(one) for one in urls]
            print(f"kill {kill}: {killed} {moment:.1f}s {when}; {len(urls)} articles; integrity {integrity}")
            assert integrity == "ok", f"seed {chosen}, kill {kill}"
            assert len(canonical) == len(set(canonical)), f"seed {chosen}, kill {kill}: an article twice"
            assert archived <= set(urls), f"seed {chosen}, kill {kill}: lost {sorted(archived - set(urls))[:3]}"
            archived = set(urls)

        completed = subprocess.run(crawl_command(url, db, 0), env=environment, capture_output=True, timeout=300)
        assert completed.returncode == 0, f"seed {chosen}: {completed.stdout.decode()[-2000:]}"
        expected = {article.url for article in site.expected_articles(local.base_url)}
    integrity, urls = archive_state(db)
    lost = expected - set(urls)
    print(f"after one full run: {len(urls)} of {len(expected)} articles, lost {len(lost)}, integrity {integrity}")
    assert integrity == "ok" and lost == set(), f"seed {chosen}: lost {sorted(lost)[:3]}"
    canonical = [canonicalize_url(one) for one in urls]
    assert len(canonical) == len(set(canonical)), f"seed {chosen}: an article twice"
    with closing(sqlite3.connect(db)) as connection:
        statuses = dict(connection.execute("SELECT status, count(*) FROM crawl_runs GROUP BY status").fetchall())
        others = connection.execute(
            f"SELECT url, near_duplicate_of FROM articles WHERE url NOT IN ({', '.join('?' for _ in expected)})",
            sorted(expected),
        ).fetchall()
    # A wire copy (the site's copy of an article under another URL) is a duplicate of its original,
    # even when a kill left the original without the cleaning its run does at its end (the next run
    # does it) or archived the copy before its original (the original takes over).
    assert others == [], f"seed {chosen}: archived besides the site's articles: {others}"
    print(f"runs: {statuses}")
    assert "running" not in statuses and statuses.get("succeeded", 0) >= 1, f"seed {chosen}: {statuses}"
    assert list(short_tmp.iterdir()) == [], f"seed {chosen}: temp folders left"
