"""render_js for real: headless system Chromium through scrapy-playwright, on a site whose
article bodies exist only after JavaScript runs (tests/jssite.py)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli.main import main
from crawler.demo.server import serve
from tests.jssite import expected_js_articles, js_site_app, static_article_urls

pytestmark = [pytest.mark.usefixtures("real_browser"), pytest.mark.browser, pytest.mark.e2e, pytest.mark.slow]


# The longest wait for a rendered page's text: far above what any page here needs, so a crawl that
# waited it out on every page would show in the settle time.
WAIT_CAP_MS = 2000
LATE = {"n_late": 2}  # articles whose text comes from an API call after the load event


def crawl_site(base_url: str, db: Path, mode: str, *settings: str) -> str:
    """``newsarchive crawl`` of the site into ``db`` with ``render_js = mode`` and ``-s`` settings; its output."""
    args = ["crawl", base_url + "/", "--db", str(db), "--no-progress", "--delay", "0", "--render-js", mode]
    for setting in settings:
        args += ["-s", setting]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return result.output


def crawl(tmp_path: Path, mode: str, static_only: bool = False) -> tuple[Path, str, dict, list[str]]:
    db = tmp_path / f"{mode}.db"
    counts = {"n_static": 3, "n_json": 0, "n_write": 0, "n_dom": 0} if static_only else LATE
    with serve(js_site_app(**counts)) as site:
        output = crawl_site(site.base_url, db, mode, f"RENDER_WAIT_MS={WAIT_CAP_MS}")
        paths = site.paths()
        base = site.base_url
    return db, base, {"output": output}, paths


def articles(db: Path) -> dict[str, sqlite3.Row]:
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        return {row["url"]: row for row in connection.execute("SELECT * FROM articles")}


def run_stats(db: Path) -> tuple[dict, sqlite3.Row]:
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        run = connection.execute("SELECT * FROM crawl_runs").fetchone()
    return json.loads(run["stats_json"]), run


@pytest.mark.parametrize("mode", ["auto", "always"])
def test_javascript_articles_are_archived_whole(tmp_path: Path, mode: str) -> None:
    db, base, _, _ = crawl(tmp_path, mode)
    stored = articles(db)
    expected = expected_js_articles(base, **LATE)
    for url, paragraphs in expected.items():
        assert url in stored, f"{url} missing with render_js = {mode}"
        for paragraph in paragraphs:
            assert paragraph in stored[url]["text"]
        assert stored[url]["fetch_mode"] == "browser"
        assert "Loading" not in stored[url]["text"] and "enable JavaScript" not in stored[url]["text"]
    for url in static_article_urls(base):
        assert stored[url]["fetch_mode"] == ("browser" if mode == "always" else "plain")
    stats, run = run_stats(db)
    assert run["pages_rendered"] == stats["newsarchive/render/pages"] > 0
    # Every page the browser loaded went through the crawl's checking proxy (crawler.browser.proxy).
    assert stats["newsarchive/browser_proxy/requests"] >= run["pages_rendered"]
    if mode == "auto":
        assert run["renders_needed"] == len(expected)  # each JavaScript page once, nothing else
        assert run["pages_rendered"] == len(expected)
        # Each article waited until its text was there (the late ones ~0.3 s), not the cap.
        assert stats["newsarchive/render/settle_ms"] < len(expected) * WAIT_CAP_MS / 2


def test_auto_remembers_a_javascript_source_and_goes_browser_first(tmp_path: Path) -> None:
    db = tmp_path / "learning.db"
    with serve(js_site_app()) as site:
        for _ in range(2):
            # Every page again in the second run (not only what changed): learning is what is tested.
            crawl_site(site.base_url, db, "auto", "RENDER_WAIT_MS=200", "RECRAWL_ENABLED=False")
        expected = expected_js_articles(site.base_url)
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        first, second = connection.execute("SELECT * FROM crawl_runs ORDER BY id").fetchall()
        fetched_twice = connection.execute(
            "SELECT count(*) FROM fetches WHERE run_id = ? AND fetch_mode = 'plain' AND url LIKE '%/json/%'",
            (second["id"],),
        ).fetchone()[0]
    assert not first["browser_first"] and first["renders_needed"] == len(expected)
    assert second["browser_first"] == 1 and second["renders_needed"] == 0
    assert second["pages_rendered"] >= len(expected) and fetched_twice == 0
    assert second["articles_unchanged"] == len(articles(db))


def test_never_misses_javascript_articles_and_says_why(tmp_path: Path) -> None:
    db, base, _, _ = crawl(tmp_path, "never")
    stored = articles(db)
    assert not set(expected_js_articles(base, **LATE)) & set(stored)
    assert set(static_article_urls(base)) <= set(stored)
    with sqlite3.connect(db) as connection:
        reasons = {
            reason
            for (reason,) in connection.execute(
                "SELECT reason FROM fetches WHERE outcome = 'rejected' AND url LIKE '%/json/%'"
            )
        }
    assert reasons and all(reason.startswith("no article text") for reason in reasons)
    stats, run = run_stats(db)
    assert not run["pages_rendered"] and "playwright/browser_count" not in stats


def test_static_pages_under_auto_never_open_the_browser(tmp_path: Path) -> None:
    db, base, _, _ = crawl(tmp_path, "auto", static_only=True)
    assert set(articles(db)) == set(static_article_urls(base))
    stats, run = run_stats(db)
    assert run["pages_rendered"] == 0 and run["renders_needed"] == 0
    assert "playwright/browser_count" not in stats
    assert not [key for key in stats if key.startswith("playwright/request_count")]


@pytest.mark.parametrize(
    "browser_setting", [[], ["-s", "NEWSARCHIVE_BROWSER=/nonexistent/chromium"]], ids=["none installed", "wrong path"]
)
def test_always_without_a_browser_fails_with_the_fix(tmp_path: Path, browser_setting: list[str]) -> None:
    db = tmp_path / "nobrowser.db"
    with serve(js_site_app()) as site:
        result = CliRunner().invoke(
            main,
            [
                "crawl",
                site.base_url + "/",
                "--db",
                str(db),
                "--no-progress",
                "--render-js",
                "always",
                *browser_setting,
            ],
            env={"PATH": "/nonexistent", "NEWSARCHIVE_BROWSER": ""},
        )
    assert result.exit_code == 1
    with sqlite3.connect(db) as connection:
        status, reason = connection.execute("SELECT status, reason FROM crawl_runs").fetchone()
    assert status == "failed"
    assert "render_js" in reason and "apt-get install chromium" in reason


def test_auto_sends_a_template_of_shells_to_the_browser_without_a_plain_fetch_first(tmp_path: Path) -> None:
    db = tmp_path / "templates.db"
    counts = {"n_static": 3, "n_json": 14, "n_write": 0, "n_dom": 0}
    with serve(js_site_app(**counts)) as site:
        # Two at a time, 0.3 s apart, so that most /json/ pages are still queued once five have been
        # extracted (in a worker, while downloads go on) and shown to be shells.
        settings = (
            "RENDER_WAIT_MS=500",
            "CONCURRENT_REQUESTS_PER_DOMAIN=2",
            "CONCURRENT_REQUESTS=2",
            "DOWNLOAD_DELAY=0.3",
            "RANDOMIZE_DOWNLOAD_DELAY=False",
        )
        crawl_site(site.base_url, db, "auto", *settings)
        expected = expected_js_articles(site.base_url, n_json=14, n_write=0, n_dom=0)
    stored = articles(db)
    assert set(expected) <= set(stored)
    assert all(stored[url]["fetch_mode"] == "browser" for url in expected)
    stats, run = run_stats(db)
    straight = stats.get("newsarchive/render/template_browser_first", 0)
    assert straight > 0 and run["renders_needed"] + straight == len(expected)  # each page fetched once or twice
    with sqlite3.connect(db) as connection:
        plain_json = connection.execute(
            "SELECT count(*) FROM fetches WHERE fetch_mode = 'plain' AND url LIKE '%/json/%'"
        ).fetchone()[0]
        plain_static = connection.execute(
            "SELECT count(*) FROM fetches WHERE fetch_mode = 'plain' AND url LIKE '%/static/%'"
        ).fetchone()[0]
    assert plain_json == run["renders_needed"] < len(expected)
    assert plain_static == 3  # another template: still plain HTTP
