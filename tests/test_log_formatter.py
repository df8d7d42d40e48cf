"""Log lines about items name the item, never print it (crawler.run.log_formatter, LOG_FORMATTER).

A page item carries the page: Scrapy's own formatter wrote it whole into the log each time a
pipeline failed on it (issue 12: a 7.6 MB line per page, an 18 MB run log on a full disk).
"""

from __future__ import annotations

import logging

from scrapy.utils.log import logformatter_adapter

from crawler.items import MAX_DESCRIPTION_CHARS, Fetch, FetchItem, ListedItem, PageItem, describe_item
from crawler.run.log_formatter import ItemNamingLogFormatter
from tests.inprocess import news_crawler

URL = "https://news.example/2025/01/02/harbour/"
BODY = b"<html><body>" + b"<p>The harbour wall gave way.</p>" * 60_000 + b"</body></html>"  # ~2 MB


def page_item() -> PageItem:
    fields = {"title": "Harbour", "text": "The harbour wall gave way. " * 40_000}
    return PageItem("courier", Fetch(url=URL, status=200, bytes=len(BODY)), BODY, fields=fields)


def logged(result: dict) -> str:
    level, message, *args = logformatter_adapter(result)  # what Scrapy's scraper hands to logger.log
    return logging.LogRecord("scrapy.core.scraper", level, __file__, 1, message, tuple(args), None).getMessage()


def test_the_crawl_uses_the_formatter_and_a_failed_page_item_is_one_short_line() -> None:
    crawler = news_crawler(url="https://news.example/")
    formatter = crawler.logformatter
    assert isinstance(formatter, ItemNamingLogFormatter)
    item = page_item()
    error = RuntimeError("database is locked")
    for result in (
        formatter.item_error(item, error, None, crawler.spider),
        formatter.dropped(item, error, None, crawler.spider),
        formatter.scraped(item, None, crawler.spider),
    ):
        line = logged(result)
        assert URL in line and "courier" in line and "HTTP 200" in line
        assert "harbour wall" not in line and len(line) < 2 * MAX_DESCRIPTION_CHARS


def test_every_item_kind_is_named_by_what_it_is_about() -> None:
    assert describe_item(page_item()) == f"PageItem courier ({URL}, HTTP 200, {len(BODY):,} bytes)"
    fetch_item = FetchItem("courier", Fetch(url="https://news.example/feed.xml", status=404), "error")
    assert describe_item(fetch_item) == "FetchItem courier (https://news.example/feed.xml, HTTP 404)"
    listed = ListedItem("courier", "https://news.example/sitemap.xml", [URL] * 50_000)
    assert describe_item(listed) == "ListedItem courier (https://news.example/sitemap.xml, 50,000 URLs)"
    assert len(describe_item({"text": "x" * 100_000})) == MAX_DESCRIPTION_CHARS


def test_a_page_items_repr_leaves_out_the_body() -> None:
    assert "harbour wall gave way.</p>" not in repr(page_item())
