"""EXTRACT_MIN_TEXT_CHARS decides "enough text": a lower or higher setting changes the verdict.

On real extractions (classify_page with ``min_text_chars``), and end to end: a real crawl of a
local page with the setting given as ``-s``, where pipelines/extract.py must pass it to classify_page.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from crawler.cli.main import main
from crawler.demo.server import Reply, Request, serve
from crawler.extraction.classify import classify_page
from crawler.extraction.extract import extract_page

BRIEF_PATH = "/2025/06/03/ferry-brief/"
PARAGRAPHS = (
    "The morning ferry to the islands was cancelled on Tuesday after a fault in its steering gear.",
    "Engineers expect the repair to take two days; the afternoon crossing runs as timetabled.",
    "Passengers with tickets for the cancelled sailing can travel on any crossing this week.",
)
BRIEF = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Morning ferry cancelled</title>'
    '<meta property="og:type" content="article">'
    '<meta property="article:published_time" content="2025-06-03T09:00:00+01:00"></head>'
    "<body><article><h1>Morning ferry cancelled</h1>"
    + "".join(f"<p>{paragraph}</p>" for paragraph in PARAGRAPHS)
    + "</article></body></html>"
)


def brief_fields(url: str) -> dict[str, Any]:
    return extract_page(BRIEF.encode(), url, "text/html")


def test_the_brief_is_between_the_two_minimums() -> None:
    chars = brief_fields("https://news.example" + BRIEF_PATH)["signals"]["text_chars"]
    assert 100 < chars < 1000, chars


@pytest.mark.parametrize("patterns", [(), (re.compile(r"/\d{4}/\d{2}/\d{2}/"),)], ids=["page signals", "article_urls"])
def test_a_lower_minimum_accepts_what_a_higher_one_rejects(patterns: tuple[re.Pattern[str], ...]) -> None:
    url = "https://news.example" + BRIEF_PATH
    fields = brief_fields(url)
    chars = fields["signals"]["text_chars"]
    accepted = classify_page(fields, url, patterns, min_text_chars=100)
    assert accepted.is_article, accepted.reason
    rejected = classify_page(fields, url, patterns, min_text_chars=1000)
    assert not rejected.is_article
    assert f"no article text (too little text: {chars} < 1000 chars)" in rejected.reason


def brief_site(request: Request) -> Reply:
    if request.path == BRIEF_PATH:
        return Reply(200, BRIEF.encode())
    return Reply(404, b"<html><body>Not found</body></html>")


def crawl_brief(tmp_path: Path, minimum: int) -> tuple[sqlite3.Row, int]:
    """Crawl the one page with EXTRACT_MIN_TEXT_CHARS=minimum; its fetch row and the articles archived."""
    db = tmp_path / f"min-{minimum}.db"
    with serve(brief_site) as site:
        url = site.base_url + BRIEF_PATH
        result = CliRunner().invoke(
            main,
            ["crawl", url, "--db", str(db), "--no-progress", "--delay", "0", "-s", f"EXTRACT_MIN_TEXT_CHARS={minimum}"],
        )
    assert result.exit_code == 0, result.output
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        (fetch,) = connection.execute("SELECT * FROM fetches WHERE url = ?", (url,)).fetchall()
        (articles,) = connection.execute("SELECT count(*) FROM articles").fetchone()
    return fetch, articles


def test_the_setting_reaches_the_verdict_in_a_real_crawl(tmp_path: Path) -> None:
    fetch, articles = crawl_brief(tmp_path, 100)
    assert (fetch["outcome"], articles) == ("new", 1), fetch["reason"]
    fetch, articles = crawl_brief(tmp_path, 1000)
    assert (fetch["outcome"], articles) == ("rejected", 0)
    assert fetch["reason"].startswith("no article text (too little text:") and "< 1000 chars" in fetch["reason"]
