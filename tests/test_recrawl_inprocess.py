"""Recurring crawls in the test process: the news spider reading a real archive's crawl state, the
conditional-requests middleware, and the spider's callbacks for 304s, identical bodies, removals and
sitemap windows (built as a crawl builds them: tests/inprocess.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.spidermiddlewares.httperror import HttpError

from archive import Archive
from archive.models import FetchOutcome, FoundBy, ReasonKind, UrlKind
from crawler.discovery.page_links import read_page_links
from crawler.discovery.recrawl import Fetching, body_hash
from crawler.items import FetchItem, ListedItem, PageItem
from crawler.middlewares.conditional_requests import AlreadyFetched, ConditionalRequestsMiddleware
from crawler.sources.config import adhoc_source
from tests.inprocess import collect, failure_from, news_crawler, response_to

SITE = "https://www.news.example"
ARTICLE = f"{SITE}/2025/03/24/harbour-wall-repairs-begin/"
OLD_ARTICLE = f"{SITE}/2025/01/02/old-story/"
FRONTIER = f"{SITE}/2025/03/25/not-fetched-yet/"
SECTION = f"{SITE}/local/"
SITEMAP = f"{SITE}/sitemap-1.xml"
BODY = b"<html><head><title>Harbour wall repairs begin</title></head><body><p>Text.</p></body></html>"
FETCHED = "2025-03-24T12:00:00.000Z"


def article_record(url: str) -> dict[str, Any]:
    text = "Repairs to the harbour wall began on Monday. " * 20
    return {"url": url, "source": "harbour", "title": "Harbour wall repairs begin", "text": text}


@pytest.fixture
def archive_db(tmp_path: Path) -> Path:
    """An archive after one run: two archived articles, a section front, a frontier URL, a sitemap."""
    db = tmp_path / "archive.db"
    with Archive(db) as archive:
        run_id = archive.start_run("harbour")
        ids = {}
        for url in (ARTICLE, OLD_ARTICLE):
            ids[url] = archive.save_article(run_id, article_record(url), {"url": url, "status": 200}).article_id
        page = {"kind": UrlKind.PAGE, "fetched_at": FETCHED, "status": 200, "body_hash": body_hash(BODY)}
        archive.record_crawl_state(
            run_id,
            "harbour",
            {
                ARTICLE: {
                    **page,
                    "outcome": FetchOutcome.NEW,
                    "article_id": ids[ARTICLE],
                    "etag": '"v1"',
                    "last_modified": "Mon, 24 Mar 2025 11:00:00 GMT",
                    "listed_in": SITEMAP,
                    "next_due_at": "2025-03-24T13:00:00.000Z",  # long past: due
                },
                OLD_ARTICLE: {
                    **page,
                    "outcome": FetchOutcome.NEW,
                    "article_id": ids[OLD_ARTICLE],
                    "listed_in": SITEMAP,
                    "next_due_at": None,  # past revisit_max_age
                },
                SECTION: {**page, "outcome": FetchOutcome.REJECTED, "found_by": FoundBy.LINK, "hops": 1},
                SITEMAP: {
                    "kind": UrlKind.SITEMAP,
                    "found_by": FoundBy.SITEMAP,
                    "signal": "2025-03-24T10:00:00Z",
                    "fetched_at": FETCHED,
                    "status": 200,
                    "outcome": FetchOutcome.DISCOVERY,
                },
            },
        )
        archive.add_to_frontier(run_id, "harbour", [{"url": FRONTIER, "kind": UrlKind.PAGE, "found_by": "feed"}])
        archive.finish_run(run_id, "succeeded")
    return db


@pytest.fixture
def crawler(archive_db: Path) -> Crawler:
    source = adhoc_source(f"{SITE}/", name="harbour", render_js="never", revisit_budget=10)
    crawler = news_crawler({"ARCHIVE_DB": str(archive_db)}, source=source)
    crawler.spider.load_crawl_state()
    return crawler


def visits(requests: list[Request]) -> dict[str, Fetching]:
    return {request.url: request.meta["visit"].fetching for request in requests if "visit" in request.meta}


def test_start_adds_every_run_pages_the_frontier_and_due_revisits(crawler: Crawler) -> None:
    requests = [request for request in collect(crawler.spider.start()) if request is not None]
    fetching = visits(requests)
    assert fetching[SECTION] == Fetching.EVERY_RUN
    assert fetching[FRONTIER] == Fetching.NEW
    assert fetching[ARTICLE] == Fetching.DUE
    assert OLD_ARTICLE not in fetching  # not due, no signal
    due = next(request for request in requests if request.url == ARTICLE)
    assert due.priority < next(request for request in requests if request.url == FRONTIER).priority


def test_links_to_known_pages_are_skipped_unless_signalled(crawler: Crawler) -> None:
    spider = crawler.spider
    assert spider.page_request(OLD_ARTICLE, FoundBy.LINK) is None
    assert spider.page_request(OLD_ARTICLE, FoundBy.SITEMAP, signal="2025-03-20") is None  # older than our copy
    signalled = spider.page_request(OLD_ARTICLE, FoundBy.SITEMAP, signal="2025-03-30T08:00:00Z")
    assert signalled is not None and signalled.meta["visit"].fetching == Fetching.SIGNALLED
    assert crawler.stats.get_value("newsarchive/recrawl/skipped_known") == 2


def test_known_urls_are_requested_conditionally_and_a_304_gets_through(crawler: Crawler) -> None:
    middleware = ConditionalRequestsMiddleware.from_crawler(crawler)
    request = crawler.spider.page_request(ARTICLE, FoundBy.SITEMAP, fetching=Fetching.DUE)
    middleware.process_request(request)
    assert request.headers[b"If-None-Match"] == b'"v1"'
    assert request.headers[b"If-Modified-Since"] == b"Mon, 24 Mar 2025 11:00:00 GMT"
    assert 304 in request.meta["handle_httpstatus_list"]

    redirected = request.replace(url=f"{SITE}/2025/03/24/elsewhere/")
    redirected.meta["redirect_urls"] = [ARTICLE]
    middleware.process_request(redirected)
    assert b"If-None-Match" not in redirected.headers and 304 not in redirected.meta["handle_httpstatus_list"]

    new = crawler.spider.page_request(FRONTIER, FoundBy.FEED)
    middleware.process_request(new)
    assert b"If-None-Match" not in new.headers and "handle_httpstatus_list" not in new.meta


def test_a_redirect_to_an_archived_page_that_is_not_due_is_dropped(crawler: Crawler) -> None:
    middleware = ConditionalRequestsMiddleware.from_crawler(crawler)
    dropped: list[Request] = []

    def on_dropped(request: Request, spider: Any) -> None:
        dropped.append(request)

    crawler.signals.connect(on_dropped, signal=signals.request_dropped)
    shortlink = crawler.spider.page_request(f"{SITE}/?p=12", FoundBy.LINK)
    redirected = shortlink.replace(url=OLD_ARTICLE)
    redirected.meta["redirect_urls"] = [shortlink.url]
    failure = failure_from(redirected, lambda: middleware.process_request(redirected))
    assert failure.check(AlreadyFetched)
    assert dropped == [redirected]
    assert list(crawler.spider.on_error(failure)) == []


def test_a_304_and_an_identical_body_are_recorded_without_extraction(crawler: Crawler) -> None:
    spider = crawler.spider
    request = spider.page_request(ARTICLE, FoundBy.SITEMAP, fetching=Fetching.DUE)
    (item,) = collect(spider.parse_page(response_to(request, b"", status=304)))
    assert isinstance(item, FetchItem) and item.outcome == FetchOutcome.NOT_MODIFIED
    (item,) = collect(spider.parse_page(response_to(request, BODY)))
    assert isinstance(item, FetchItem) and item.outcome == FetchOutcome.UNCHANGED
    assert item.visit.known.article_id is not None
    changed = collect(spider.parse_page(response_to(request, BODY.replace(b"Text.", b"New text."))))
    assert isinstance(changed[0], PageItem)  # another body: extracted as usual


def test_an_archived_article_that_answers_404_or_redirects_home_is_removed(crawler: Crawler) -> None:
    spider = crawler.spider
    request = spider.page_request(ARTICLE, FoundBy.SITEMAP, fetching=Fetching.DUE)
    response = response_to(request, b"gone", status=404)
    failure = failure_from(request, lambda: (_ for _ in ()).throw(HttpError(response)))
    (item,) = spider.on_error(failure)
    assert item.removed_status == 404 and item.reason == "HTTP 404: removed"

    home = response_to(request.replace(url=f"{SITE}/"), b"<html><body>Home</body></html>")
    home.meta["redirect_urls"] = [ARTICLE]
    (item,) = collect(spider.parse_page(home))
    assert item.outcome == FetchOutcome.ERROR and item.reason_kind == ReasonKind.REDIRECTED_HOME
    assert item.removed_status == 200


def sitemap_index(*entries: tuple[str, str]) -> bytes:
    rows = "".join(f"<sitemap><loc>{loc}</loc><lastmod>{lastmod}</lastmod></sitemap>" for loc, lastmod in entries)
    return f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{rows}</sitemapindex>'.encode()


def test_a_sub_sitemap_is_fetched_only_when_its_lastmod_moved(crawler: Crawler) -> None:
    spider = crawler.spider
    index = spider._discovery_request(f"{SITE}/sitemap_index.xml", "sitemap", spider.parse_sitemap)
    body = sitemap_index((SITEMAP, "2025-03-20T00:00:00Z"), (f"{SITE}/sitemap-2.xml", "2025-03-20T00:00:00Z"))
    _, requests = split(spider.parse_sitemap(response_to(index, body, "application/xml")))
    assert [request.url for request in requests] == [f"{SITE}/sitemap-2.xml"]  # sitemap-1 unchanged since our copy
    body = sitemap_index((SITEMAP, "2025-03-30T00:00:00Z"))
    _, requests = split(spider.parse_sitemap(response_to(index, body, "application/xml")))
    assert [request.url for request in requests] == [SITEMAP]


def test_an_article_that_left_its_sitemap_is_checked_once_the_crawl_is_idle(crawler: Crawler) -> None:
    spider = crawler.spider
    request = spider._discovery_request(SITEMAP, "sitemap", spider.parse_sitemap)
    urlset = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{ARTICLE}</loc></url></urlset>'
    items, _ = split(spider.parse_sitemap(response_to(request, urlset.encode(), "application/xml")))
    assert not [item for item in items if isinstance(item, ListedItem)]  # ARTICLE is listed there already
    assert [known.url for known in spider.state.take_dropped()] == [OLD_ARTICLE]


def split(results: Any) -> tuple[list[Any], list[Request]]:
    items, requests = [], []
    for result in results:
        (requests if isinstance(result, Request) else items).append(result)
    return items, requests


def test_only_a_headline_link_with_another_headline_signals_a_change(crawler: Crawler) -> None:
    spider = crawler.spider
    listing = spider.page_request(f"{SITE}/local/", FoundBy.LINK, fetching=Fetching.EVERY_RUN)
    body = f"""<html><body>
    <article><h2><a href="{OLD_ARTICLE}">Harbour wall repairs halted after storm damage</a></h2></article>
    <p>As <a href="{ARTICLE}">the council said on Monday after the vote</a>, the repairs go on.</p>
    </body></html>""".encode()
    links = read_page_links(body, listing.url, "text/html; charset=utf-8")  # as an extraction worker reads it
    _, requests = split(spider.link_requests(listing.url, links, hops=1))
    assert [(request.url, request.meta["visit"].fetching) for request in requests] == [
        (OLD_ARTICLE, Fetching.SIGNALLED)
    ]
    assert requests[0].meta["visit"].signal == "headline: harbour wall repairs halted after storm damage"
