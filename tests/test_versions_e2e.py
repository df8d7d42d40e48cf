"""End to end: the real `newsarchive crawl` crawls a local site twice; between the crawls one
article's headline changes and every page carries a fresh nonce (its raw HTML differs on every
fetch). `newsarchive history URL` then shows exactly one new version, with `headline`, for that
article, and the other article has none.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli.main import main
from crawler.demo.server import Reply, Request, serve

PARAGRAPHS = {
    "/2025/06/03/ferry-cancelled/": (
        "The morning ferry to the islands was cancelled on Tuesday after a fault in its steering gear was found.",
        "Engineers expect the repair to take two days; the afternoon crossing runs as timetabled from the pier.",
        "Passengers with tickets for the cancelled sailing can travel on any crossing this week at no charge.",
        "The operator apologised and said a replacement vessel had been requested from the mainland yard.",
    ),
    "/2025/06/03/library-reopens/": (
        "The central library reopened on Tuesday after eight months of renovation work on its roof and stairs.",
        "Visitors found a new reading room for children, longer opening hours and a café on the ground floor.",
        "The city paid for most of the work; a local foundation gave the money for the new children's books.",
        "Librarians said more than two thousand people came through the doors on the first morning alone.",
    ),
}
EDITED = "/2025/06/03/ferry-cancelled/"


class Site:
    """Two articles and a home page linking them; headlines can change, a nonce changes on every answer."""

    def __init__(self) -> None:
        self.headlines = {
            "/2025/06/03/ferry-cancelled/": "Morning ferry cancelled",
            "/2025/06/03/library-reopens/": "Central library reopens",
        }
        self._nonce = itertools.count()

    def __call__(self, request: Request) -> Reply:
        nonce = next(self._nonce)
        path = request.path.split("?")[0]
        if path == "/":
            links = "".join(f'<li><a href="{p}">{h}</a></li>' for p, h in self.headlines.items())
            body = f"<html><head><title>Harbour News</title></head><body><ul>{links}</ul></body></html>"
            return Reply(200, body.encode())
        if path in self.headlines:
            return Reply(200, self.article(path, nonce).encode())
        return Reply(404, b"<html><body>Not found</body></html>")

    def article(self, path: str, nonce: int) -> str:
        headline = self.headlines[path]
        return (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{headline}</title>"
            f'<meta property="og:title" content="{headline}"><meta property="og:type" content="article">'
            '<meta name="author" content="Anna Becker">'
            '<meta property="article:published_time" content="2025-06-03T09:00:00+01:00">'
            f'<script>window.renderNonce = "{nonce}";</script></head>'
            f"<body><article><h1>{headline}</h1>"
            + "".join(f"<p>{paragraph}</p>" for paragraph in PARAGRAPHS[path])
            + f'</article><footer data-nonce="{nonce}">Harbour News</footer></body></html>'
        )


def crawl(url: str, db: Path) -> None:
    # Every page fetched again (RECRAWL_ENABLED off): the version rule is under test here; what a
    # recurring crawl fetches is tested in tests/test_recrawl_e2e.py.
    result = CliRunner().invoke(
        main, ["crawl", url, "--db", str(db), "--no-progress", "--delay", "0", "-s", "RECRAWL_ENABLED=False"]
    )
    assert result.exit_code == 0, result.output


@pytest.mark.e2e
@pytest.mark.slow
def test_a_changed_headline_is_one_version_and_a_nonce_is_none(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    site_app = Site()
    with serve(site_app) as site:
        crawl(site.base_url + "/", db)
        site_app.headlines[EDITED] = "Morning ferry cancelled after steering fault"
        crawl(site.base_url + "/", db)
        edited_url = site.base_url + EDITED
        other_url = site.base_url + "/2025/06/03/library-reopens/"
    with sqlite3.connect(db) as connection:
        outcomes = connection.execute(
            "SELECT r.id, f.url, f.outcome FROM fetches f JOIN crawl_runs r ON r.id = f.run_id"
            " WHERE f.article_id IS NOT NULL ORDER BY r.id, f.url"
        ).fetchall()
        versions = connection.execute("SELECT article_id, change_kinds, diff FROM article_versions").fetchall()
    assert [(run, url.removeprefix(site.base_url), outcome) for run, url, outcome in outcomes] == [
        (1, EDITED, "new"),
        (1, "/2025/06/03/library-reopens/", "new"),
        (2, EDITED, "updated"),
        (2, "/2025/06/03/library-reopens/", "unchanged"),
    ]
    ((_, kinds, diff),) = versions
    assert json.loads(kinds) == ["headline"]
    assert json.loads(diff) == {
        "title": {"old": "Morning ferry cancelled", "new": "Morning ferry cancelled after steering fault"}
    }

    shown = CliRunner().invoke(main, ["history", edited_url, "--db", str(db)])
    assert shown.exit_code == 0, shown.output
    headers = [line for line in shown.output.splitlines() if line.startswith("version ")]
    assert len(headers) == 2 and headers[0].startswith("version 1  ") and "changes" not in headers[0]
    assert headers[1].startswith("version 2 (current)") and headers[1].endswith("changes: headline")
    assert '  headline: "Morning ferry cancelled" -> "Morning ferry cancelled after steering fault"' in shown.output

    as_json = json.loads(CliRunner().invoke(main, ["history", other_url, "--db", str(db), "--format", "json"]).output)
    assert [entry["version"] for entry in as_json["versions"]] == [1]
