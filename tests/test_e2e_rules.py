"""End to end, narrower crawls of the fixture site: one URL reached many ways, and source rules."""

from __future__ import annotations

import itertools
import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive import Archive
from crawler.cli.main import main
from crawler.demo.server import Reply, Request, serve
from tests.cli_crawl import crawl, write_config
from tests.newssite import NewsSite, serve_site

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_amp_shortlink_and_tracking_urls_resolve_to_one_article(tmp_path: Path) -> None:
    site = NewsSite(n_articles=60, seed=3)
    article = next(a for a in site.model.articles if a.amp_path and a.reach == "everywhere")
    with serve_site(site) as local:
        base = local.base_url
        doors = [
            base + article.amp_path,
            f"{base}/?p={article.article_id}",
            f"{base}{article.path}?utm_source=newsletter&utm_medium=email&fbclid=abc#comments",
        ]
        starts = ", ".join(f'"{url}"' for url in doors)
        # Sitemaps and feeds would bring every article; this crawl is about the three doors only.
        crawl(
            write_config(
                tmp_path,
                f"start_urls = [{starts}]\nfollow_links = false\ndownload_delay = 0.0\n"
                "exclude_urls = ['sitemap', '/feed/']\n",
            )
        )
    with Archive(tmp_path / "archive.db") as archive:
        rows = archive.db.execute("SELECT url FROM articles").fetchall()
        assert rows == [(base + article.path,)]
        for url in (base + article.amp_path, f"{base}/?p={article.article_id}"):
            found = archive.find_article(url)
            assert found is not None and found["url"] == base + article.path, url


def test_article_urls_decide_what_is_an_article(tmp_path: Path) -> None:
    site = NewsSite(n_articles=60, seed=4)
    with serve_site(site) as local:
        base = local.base_url
        # Only politics articles count; the about page (long text) matches but is not excluded by text.
        crawl(
            write_config(
                tmp_path,
                f'start_urls = ["{base}/"]\ndownload_delay = 0.0\nconcurrency = 8\n'
                "article_urls = ['/20\\d\\d/\\d\\d/\\d\\d/[^/]+/$']\nexclude_urls = ['/calendar/']\n",
            )
        )
        expected = {a.url for a in site.expected_articles(base)}
    with sqlite3.connect(tmp_path / "archive.db") as connection:
        archived = {url for (url,) in connection.execute("SELECT url FROM articles")}
        calendar = connection.execute("SELECT count(*) FROM fetches WHERE url LIKE '%/calendar/%'").fetchone()[0]
        not_matching = connection.execute(
            "SELECT count(*) FROM fetches WHERE reason = 'URL matches none of the source''s article patterns'"
        ).fetchone()[0]
    # Wire copies and app shells do not match the pattern; every dated article does.
    assert archived == {url for url in expected if "/20" in url}
    assert calendar == 0
    assert not_matching > 0


def test_robots_txt_holds_for_every_request_waiting_on_it(tmp_path: Path) -> None:
    """Start URLs that all wait for robots.txt at once: each disallowed one is refused, none is sent.

    Scrapy 2.19's own middleware let every waiter after the first through (crawler.middlewares.robots_txt).
    """
    site = NewsSite(n_articles=60, seed=5)
    private = [article.path for article in site.model.private_articles]
    with serve_site(site) as local:
        starts = ", ".join(f'"{local.base_url}{path}"' for path in ["/", *private])
        crawl(write_config(tmp_path, f"start_urls = [{starts}]\nfollow_links = false\ndownload_delay = 0.0\n"))
        asked = local.paths()
    assert "/" in asked
    assert not [path for path in asked if path.startswith("/private/")]


def test_max_pages_is_a_hard_limit_on_pages_sent(tmp_path: Path) -> None:
    """max_pages = 20 with 8 requests in flight: the server answers 20 pages, not 20 + what was in flight.
    Discovery documents (robots.txt, sitemaps, feeds) do not count; a retry or a redirect is the same page."""
    site = NewsSite(n_articles=80, seed=5)
    with serve_site(site) as local:
        base = local.base_url
        crawl(
            write_config(tmp_path, f'start_urls = ["{base}/"]\ndownload_delay = 0.0\nconcurrency = 8\nmax_pages = 20\n')
        )
        records = local.log.since(0)
    discovery = [r for r in records if r.path == "/robots.txt" or r.path.split("?")[0].endswith(".xml")]
    pages = {r.path for r in records if r not in discovery and not 300 <= r.status < 400}
    assert discovery and len(pages) == 20
    with sqlite3.connect(tmp_path / "archive.db") as connection:
        (stats,) = connection.execute("SELECT stats_json FROM crawl_runs").fetchone()
        frontier = connection.execute("SELECT count(*) FROM crawl_state WHERE fetched_at IS NULL").fetchone()[0]
    assert json.loads(stats)["finish_reason"] == "closespider_pagecount"
    assert frontier > 0  # the pages not sent wait for the next run


def test_robots_crawl_delay_is_honoured_up_to_its_cap(tmp_path: Path) -> None:
    """robots.txt asks for 60 s between requests; NEWSARCHIVE_MAX_CRAWL_DELAY caps it at 1 s, and the source's
    download_delay of 0 does not win: pages come at least about a second apart (Scrapy randomises 0.5-1.5x)."""
    moments: list[tuple[str, float]] = []
    lock = threading.Lock()

    def app(request: Request) -> Reply:
        with lock:
            moments.append((request.path, time.monotonic()))
        if request.path == "/robots.txt":
            return Reply(
                body=b"User-agent: *\nCrawl-delay: 60\nDisallow: /private/\n", headers={"content-type": "text/plain"}
            )
        if request.path == "/":
            links = "".join(f'<a href="/2024/05/0{i}/story-number-{i}-of-the-week/">Story {i}</a>' for i in range(1, 5))
            return Reply(body=f"<html><body><h1>Front</h1>{links}</body></html>".encode())
        if request.path.startswith("/2024/"):
            return Reply(
                body=f"<html><body><article><h1>A story</h1><p>{request.path}</p></article></body></html>".encode()
            )
        return Reply(status=404, body=b"not here")

    with serve(app) as local:
        config = write_config(tmp_path, f'start_urls = ["{local.base_url}/"]\ndownload_delay = 0.0\nconcurrency = 4\n')
        started = time.monotonic()
        result = CliRunner().invoke(
            main, ["crawl", "--config", str(config), "--no-progress", "-s", "NEWSARCHIVE_MAX_CRAWL_DELAY=1"]
        )
        took = time.monotonic() - started
    assert result.exit_code == 0, result.output
    pages = [moment for path, moment in moments if path != "/robots.txt"]
    assert len(pages) >= 5  # the front page and its four stories
    gaps = [later - earlier for earlier, later in itertools.pairwise(pages)]
    assert min(gaps) >= 0.45, gaps
    assert took < 40  # capped: not 60 s a page


def test_robots_txt_is_fetched_once_per_host_per_run(tmp_path: Path) -> None:
    """The spider reads robots.txt for its Sitemap: lines and the robots middleware to obey it: one request
    serves both, in the first run and in a recrawl, and the spider still records it and follows its sitemaps."""
    site = NewsSite(n_articles=30, seed=6)
    with serve_site(site) as local:
        config = write_config(tmp_path, f'start_urls = ["{local.base_url}/"]\ndownload_delay = 0.0\nconcurrency = 4\n')
        for run in (1, 2):
            mark = local.log.mark()
            crawl(config)
            asked = [record.path for record in local.log.since(mark)]
            assert asked.count("/robots.txt") == 1, (run, asked[:10])
    with sqlite3.connect(tmp_path / "archive.db") as connection:
        robots = connection.execute("SELECT count(*) FROM fetches WHERE url LIKE '%/robots.txt'").fetchone()[0]
        from_robots = connection.execute(
            "SELECT count(*) FROM fetches WHERE url LIKE '%/sitemap_index.xml' AND found_by = 'robots'"
        ).fetchone()[0]
    assert robots == 2  # recorded by the spider in each run
    assert from_robots >= 1  # and its Sitemap: line followed


def test_the_original_takes_over_from_a_wire_copy_a_cut_short_run_archived(tmp_path: Path) -> None:
    """A run that met only the site's copy of an article (a wire copy saying where it first appeared)
    archived the article under the copy's URL; the next run that meets the original moves the
    article there, the copy's URL becoming an alias: one article, at its original's URL."""
    site = NewsSite(n_articles=60, seed=5)
    copy = site.model.wire_copies[0]
    with serve_site(site) as local:
        base = local.base_url
        exclusions = "exclude_urls = ['sitemap', '/feed/']\n"
        crawl(write_config(tmp_path, f'start_urls = ["{base}{copy.path}"]\nfollow_links = false\n{exclusions}'))
        with Archive(tmp_path / "archive.db") as archive:
            before = archive.db.execute("SELECT id, url, syndicated_from FROM articles").fetchall()
        assert [(url, bool(note)) for _, url, note in before] == [(base + copy.path, True)]
        crawl(
            write_config(tmp_path, f'start_urls = ["{base}{copy.original.path}"]\nfollow_links = false\n{exclusions}')
        )
    with Archive(tmp_path / "archive.db") as archive:
        after = archive.db.execute("SELECT id, url, syndicated_from FROM articles").fetchall()
        alias = archive.db.execute("SELECT reason FROM url_aliases WHERE url = ?", [base + copy.path]).fetchall()
        outcomes = archive.db.execute("SELECT run_id, outcome FROM fetches WHERE article_id IS NOT NULL").fetchall()
        assert archive.find_article(base + copy.path)["url"] == base + copy.original.path
    assert after == [(before[0][0], base + copy.original.path, None)]  # the same article, moved
    assert alias == [("duplicate",)]
    assert [outcome for _, outcome in outcomes] == ["new", "updated"]  # known since the first run
