"""A few thousand pages: the crawl archives every reachable article once, and nothing else.

Prints recall, precision, duplicates and the crawl rate (run with -s to see them live; CI logs
show them in the summary line of this test's report section).
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli.main import main
from tests.newssite import NewsSite, serve_site
from tests.newssite.model import SYNDICATION_NOTE, TEMPLATE_LINES

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

N_ARTICLES = 600


def test_large_site_recall_precision_and_duplicates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = NewsSite(n_articles=N_ARTICLES, seed=11)
    with serve_site(site) as local:
        base = local.base_url
        config = tmp_path / "sources.toml"
        config.write_text(
            '[archive]\ndb = "archive.db"\n\n[[sources]]\nname = "large"\n'
            f'start_urls = ["{base}/"]\ndownload_delay = 0.0\nconcurrency = 16\nmax_pages = 20000\n'
        )
        started = time.monotonic()
        result = CliRunner().invoke(
            main,
            [
                "crawl",
                "--config",
                str(config),
                "--no-progress",
                "-s",
                "AUTOTHROTTLE_ENABLED=False",
                "-s",
                "CONCURRENT_REQUESTS=32",
            ],
        )
        elapsed = time.monotonic() - started
        assert result.exit_code == 0, result.output
        truth = {article.url: article for article in site.expected_articles(base)}
        expected = set(truth)
        non_articles = set(site.non_article_urls(base))
        wire_copies = {url for url in site.alias_urls(base) if "/wire/" in url}
        requests = len(local.hits)
    with sqlite3.connect(tmp_path / "archive.db") as connection:
        archived = [url for (url,) in connection.execute("SELECT url FROM articles")]
        duplicates = {url for (url,) in connection.execute("SELECT url FROM fetches WHERE outcome = 'duplicate'")}
        (pages,) = connection.execute("SELECT pages_fetched FROM crawl_runs").fetchone()
        stored = connection.execute("SELECT url, title, authors, text FROM articles").fetchall()
    found = set(archived) & expected
    # Issue 9's fixture figures: template lines and syndication notes in stored text, titles and authors right.
    chrome = [line.split("{year}")[-1].strip() for line in TEMPLATE_LINES.values()] + [SYNDICATION_NOTE]
    with_boilerplate = sum(1 for _, _, _, text in stored if any(line in text for line in chrome)) / len(stored)
    titles_right = sum(1 for url, title, _, _ in stored if url in truth and title == truth[url].title) / len(stored)
    authors_right = sum(
        1 for url, _, authors, _ in stored if url in truth and json.loads(authors) == truth[url].authors
    ) / len(stored)
    recall = len(found) / len(expected)
    precision = len(found) / len(archived)
    with capsys.disabled():
        print(
            f"\n[large crawl] {N_ARTICLES} articles, {pages} pages fetched ({requests} requests) in {elapsed:.1f}s "
            f"({pages / elapsed:.0f} pages/s): recall {recall:.4f}, precision {precision:.4f}, "
            f"rows {len(archived)} (unique {len(set(archived))}), duplicates recorded {len(duplicates)} "
            f"of {len(wire_copies)} exact copies; articles with boilerplate lines {with_boilerplate:.2%}, "
            f"titles right {titles_right:.2%}, authors right {authors_right:.2%}"
        )
    assert len(archived) == len(set(archived))
    assert recall == 1.0
    assert precision == 1.0
    assert not set(archived) & non_articles
    assert duplicates == wire_copies
    assert pages > N_ARTICLES
    assert with_boilerplate <= 0.005
    assert titles_right >= 0.99 and authors_right >= 0.99
