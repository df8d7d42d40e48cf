"""End to end: the real CLI crawls the fixture news site (tests/newssite) into a real archive.

Checks the archive row by row against the site's own ground truth: every article once, no
non-article, nothing disallowed, clean text, right metadata, duplicates recorded, and a second
crawl that adds nothing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from archive.models import NO_TEXT_KINDS, ReasonKind
from crawler.browser.chromium import find_browser
from crawler.cli.main import main
from crawler.demo.server import LocalSite
from tests.newssite import ExpectedArticle, NewsSite, serve_site

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WIDGET_AND_CHROME = (
    "Leave a Reply",
    "Fill in your details below",
    "You are commenting using your",
    "Connecting to %s",
    "Log Out /",
    "cookie",
    "Archive:",
    "Like this:",
    "Subscribe to our newsletter",
    # Lines the templates print inside the article body: the source's learned boilerplate.
    "Got a story tip? Email the newsroom",
    "Independent local journalism needs your support",
    "All rights reserved. Reproduction without permission is prohibited.",
    # The wire copies' syndication note (a field, syndicated_from, not text).
    "This article first appeared in",
)


@dataclass
class Crawled:
    site: NewsSite
    local: LocalSite
    db: Path
    expected: dict[str, ExpectedArticle]
    first_output: str
    second_output: str
    hits_after_first: list[str]


def crawl(config: Path) -> str:
    result = CliRunner().invoke(main, ["crawl", "--config", str(config), "--no-progress"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    folder = tmp_path_factory.mktemp("e2e")
    site = NewsSite(n_articles=60, seed=1)
    with serve_site(site) as local:
        config = folder / "sources.toml"
        config.write_text(
            '[archive]\ndb = "archive.db"\n\n[[sources]]\nname = "fixture"\n'
            f'start_urls = ["{local.base_url}/"]\ndownload_delay = 0.0\nconcurrency = 8\n'
        )
        first = crawl(config)
        hits = local.paths()
        second = crawl(config)
        yield Crawled(
            site,
            local,
            folder / "archive.db",
            {a.url: a for a in site.expected_articles(local.base_url)},
            first,
            second,
            hits,
        )


def query(db: Path, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        return list(connection.execute(sql, params))


def test_every_article_archived_exactly_once_and_nothing_else(crawled: Crawled) -> None:
    urls = [row["url"] for row in query(crawled.db, "SELECT url FROM articles")]
    assert len(urls) == len(set(urls))
    assert set(urls) == set(crawled.expected)
    assert not set(urls) & set(crawled.site.non_article_urls(crawled.local.base_url))


def test_article_metadata_is_right(crawled: Crawled) -> None:
    for row in query(crawled.db, "SELECT * FROM articles"):
        expected = crawled.expected[row["url"]]
        assert row["title"] == expected.title
        assert json.loads(row["authors"]) == expected.authors
        assert row["published_at"] == expected.published_at
        assert row["language"] == expected.language
        assert row["source"] == "fixture"
        assert row["published_at_utc"].endswith("Z")
        assert row["first_seen_at"] <= row["last_seen_at"]


def test_article_text_is_whole_and_clean(crawled: Crawled) -> None:
    for row in query(crawled.db, "SELECT url, text FROM articles"):
        expected = crawled.expected[row["url"]]
        for paragraph in expected.paragraphs:
            assert paragraph in row["text"], (expected.template, expected.encoding, row["url"])
        for boilerplate in WIDGET_AND_CHROME:
            assert boilerplate not in row["text"], (expected.template, row["url"], boilerplate)


def test_non_utf8_and_undeclared_pages_are_correct_unicode(crawled: Crawled) -> None:
    special = [a for a in crawled.expected.values() if a.encoding != "utf-8"]
    assert {a.encoding for a in special} == {"windows-1252", "utf-8-undeclared"}
    for article in special:
        (row,) = query(crawled.db, "SELECT title, text FROM articles WHERE url = ?", (article.url,))
        assert row["title"] == article.title
        assert "\ufffd" not in row["text"] and "â€" not in row["text"]


def test_robots_txt_obeyed_and_user_agent_honest(crawled: Crawled) -> None:
    hits = crawled.local.hits
    for prefix in crawled.site.disallowed_prefixes():
        assert not [hit for hit in hits if hit.path.startswith(prefix)]
    assert all(hit.user_agent.startswith("newsarchive/") and "+http" in hit.user_agent for hit in hits)


def test_calendar_trap_and_non_html_cost_little(crawled: Crawled) -> None:
    calendar = [path for path in crawled.hits_after_first if path.startswith("/calendar/")]
    assert 0 < len(calendar) <= 20
    assert not [path for path in crawled.hits_after_first if path.endswith((".pdf", ".jpg"))]
    skipped = query(crawled.db, "SELECT url, bytes, reason FROM fetches WHERE outcome = 'skipped' AND run_id = 1")
    assert skipped and all(row["reason"] == "not HTML (application/pdf)" and row["bytes"] == 0 for row in skipped)


def test_discovery_used_every_channel(crawled: Crawled) -> None:
    found_by = {row["found_by"] for row in query(crawled.db, "SELECT DISTINCT found_by FROM fetches")}
    assert {"start", "robots", "sitemap", "link"} <= found_by
    # The feeds were read and named articles; whether a feed was the first to name one (and so the
    # found_by of its fetch) depends on timing, but every finder is in the article's hints.
    feeds = query(crawled.db, "SELECT url FROM fetches WHERE outcome = 'discovery' AND reason LIKE '%feed with%'")
    finders = [
        json.loads(row["hints"] or "{}").get("found_by") or []
        for row in query(crawled.db, "SELECT hints FROM articles")
    ]
    assert feeds and ("feed" in found_by or any("feed" in names for names in finders))
    sitemap_only = [a for a in crawled.site.model.articles if a.reach == "sitemap-only"]
    for article in sitemap_only:
        rows = query(
            crawled.db,
            "SELECT found_by FROM fetches WHERE url = ? AND run_id = 1",
            (crawled.local.base_url + article.path,),
        )
        assert [row["found_by"] for row in rows] == ["sitemap"]


def test_exact_copies_are_duplicates_not_articles(crawled: Crawled) -> None:
    aliases = crawled.site.alias_urls(crawled.local.base_url)
    wire = [url for url in aliases if "/wire/" in urlsplit(url).path]
    assert wire
    for url in wire:
        (fetch,) = query(crawled.db, "SELECT outcome, article_id FROM fetches WHERE url = ? AND run_id = 1", (url,))
        assert fetch["outcome"] == "duplicate"
        (original,) = query(crawled.db, "SELECT url FROM articles WHERE id = ?", (fetch["article_id"],))
        assert original["url"] == aliases[url]
        (alias,) = query(crawled.db, "SELECT article_id FROM url_aliases WHERE url = ?", (url,))
        assert alias["article_id"] == fetch["article_id"]


def test_failures_are_recorded_with_reasons(crawled: Crawled) -> None:
    errors = {
        row["reason"] for row in query(crawled.db, "SELECT reason FROM fetches WHERE outcome = 'error' AND run_id = 1")
    }
    assert "HTTP 404" in errors
    assert any(reason.startswith("redirect loop: ") and "/loop/a" in reason for reason in errors)
    shell = query(crawled.db, "SELECT reason, fetch_mode FROM fetches WHERE url LIKE '%/live/%' AND run_id = 1")
    assert shell and all(row["reason"].startswith("no article text (JavaScript app shell)") for row in shell)
    plain = [row for row in shell if row["fetch_mode"] == "plain"]
    # With a browser installed (render_js = "auto") each shell is tried once more in it, in vain.
    assert all(row["reason"].endswith("fetched again in a browser") for row in plain) or not find_browser()


def test_every_reason_has_its_kind(crawled: Crawled) -> None:
    rows = query(crawled.db, "SELECT url, outcome, reason, reason_kind FROM fetches WHERE run_id = 1")
    for row in rows:
        outcome, reason, kind = row["outcome"], row["reason"], row["reason_kind"]
        if outcome in ("rejected", "skipped", "error"):
            assert kind in set(ReasonKind), dict(row)
        elif outcome == "discovery":
            assert kind == ("http_status" if reason == "HTTP 404" else None), dict(row)
        else:
            assert kind is None and reason is None, dict(row)
        expected = {"HTTP 404": "http_status", "not HTML (application/pdf)": "not_html"}.get(reason or "")
        if expected:
            assert kind == expected, dict(row)
        if (reason or "").startswith("redirect loop: "):
            assert kind == "redirect_loop"
        if (reason or "").startswith("no article text (JavaScript app shell)"):
            assert kind == "javascript_shell"
    (run,) = query(crawled.db, "SELECT extraction_failures, stats_json FROM crawl_runs WHERE id = 1")
    no_text = [row for row in rows if row["outcome"] == "rejected" and row["reason_kind"] in NO_TEXT_KINDS]
    worded = [row for row in rows if row["outcome"] == "rejected" and row["reason"].startswith("no article text")]
    assert run["extraction_failures"] == len(no_text) == len(worded) > 0
    # Requests robots.txt forbids are never sent, and never recorded as failures either.
    assert json.loads(run["stats_json"]).get("robotstxt/forbidden", 0) > 0
    for prefix in crawled.site.disallowed_prefixes():
        assert not [row for row in rows if urlsplit(row["url"]).path.startswith(prefix)]


def test_503_and_429_are_retried_after_retry_after(crawled: Crawled) -> None:
    model = crawled.site.model
    for path in (model.flaky_path, model.busy_path):
        assert crawled.hits_after_first.count(path) == 2  # the refusal, then the retry
        rows = query(
            crawled.db, "SELECT outcome FROM fetches WHERE url = ? AND run_id = 1", (crawled.local.base_url + path,)
        )
        assert [row["outcome"] for row in rows] == ["new"]


def test_summary_printed_per_source(crawled: Crawled) -> None:
    assert "Crawl summary" in crawled.first_output
    (run,) = query(crawled.db, "SELECT * FROM crawl_runs WHERE id = 1")
    assert run["status"] == "succeeded"
    assert run["articles_new"] == len(crawled.expected)
    assert run["articles_duplicate"] >= 2
    assert f"│ {len(crawled.expected)} " in crawled.first_output.replace("  ", " ")


def test_second_crawl_of_an_unchanged_site_fetches_no_article_again(crawled: Crawled) -> None:
    runs = query(crawled.db, "SELECT * FROM crawl_runs ORDER BY id")
    assert [run["status"] for run in runs] == ["succeeded", "succeeded"]
    second = runs[1]
    assert (second["articles_new"], second["articles_updated"], second["articles_unchanged"]) == (0, 0, 0)
    assert second["not_modified"] > 0  # robots.txt, feeds, sitemaps, the home page and sections: 304
    assert len(query(crawled.db, "SELECT id FROM articles")) == len(crawled.expected)
    assert query(crawled.db, "SELECT url FROM articles WHERE first_run_id != 1") == []
    second_paths = crawled.local.paths()[len(crawled.hits_after_first) :]
    article_paths = {url.removeprefix(crawled.local.base_url) for url in crawled.expected}
    assert not article_paths & set(second_paths)
