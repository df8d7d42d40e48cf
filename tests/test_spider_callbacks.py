"""The news spider in the test process: what ``start()``, every callback and the errback yield.

The spider is built through ``NewsSpider.from_crawler`` with our settings (``build_settings``) and a
source from a sources file (``load_config``) or ad hoc (``adhoc_source``): tests/inprocess.py,
``news_crawler``. Each response answers a request the spider itself yielded, so it carries the meta
the spider set; its class (HtmlResponse, XmlResponse, TextResponse, Response) is chosen by Scrapy's
``responsetypes`` as a download handler chooses it. Failures come from Scrapy's own components
(HttpErrorMiddleware, RedirectMiddleware, the robots.txt parser, the HTTP download handler against a
local server) and reach ``on_error`` as Scrapy's scraper delivers them. No engine runs.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.exceptions import (
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.spidermiddlewares.httperror import HttpErrorMiddleware
from scrapy.utils._download_handlers import get_maxsize_msg
from scrapy.utils.misc import load_object

from crawler.discovery.links import PRIORITY_FEED_OR_SITEMAP, PRIORITY_LIKELY_ARTICLE
from crawler.items import FetchItem, NotFetchedItem, PageItem
from crawler.middlewares.robots_txt import ForbiddenByRobots, ObeyRobotsTxtMiddleware
from crawler.sources.config import adhoc_source, load_config
from tests.inprocess import (
    NO_ENGINE_SETTINGS,
    close_spider,
    collect,
    failure_from,
    news_crawler,
    open_spider,
    response_to,
)

SITE = "https://www.news.example"
SOURCES_TOML = r"""
[archive]
db = "harbour.db"

[[sources]]
name = "harbour"
start_urls = ["https://www.news.example/", "https://www.news.example/local/?utm_source=newsletter"]
feeds = ["https://www.news.example/feed.xml", "https://feeds.example.org/harbour.rss"]
sitemaps = ["https://www.news.example/sitemap.xml", "https://www.news.example/private/sitemap.xml"]
article_urls = ['/\d{4}/\d{2}/\d{2}/']
exclude_urls = ['/private/', '/tag/']
download_delay = 2.5
concurrency = 3
max_pages = 40
render_js = "never"
"""
HOME_PAGE = b"""<html><head><title>The Harbour Courier</title>
<link rel="alternate" type="application/rss+xml" href="/feed/">
<link rel="alternate" type="application/atom+xml" href="https://elsewhere.example/atom.xml">
</head><body>
<a href="/2025/03/24/harbour-wall-repairs-begin/">Harbour wall repairs begin</a>
<a href="/local/">Local news</a>
<a href="/page/2/">Older stories</a>
<a href="/about/" rel="nofollow">About us</a>
<a href="https://elsewhere.example/2025/03/24/another-paper/">Another paper</a>
<a href="/tag/harbour/">More on the harbour</a>
</body></html>"""


@pytest.fixture
def sources_file(tmp_path: Path) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(SOURCES_TOML, encoding="utf-8")
    return path


@pytest.fixture
def crawler(sources_file: Path) -> Crawler:
    return news_crawler(source=load_config(sources_file).source("harbour"))


def start_requests(crawler: Crawler) -> list[Request]:
    return collect(crawler.spider.start())


def start_request(crawler: Crawler, url: str) -> Request:
    return next(request for request in start_requests(crawler) if request.url == url)


def page_request(crawler: Crawler, url: str, **kwargs: Any) -> Request:
    request = crawler.spider.page_request(url, kwargs.pop("found_by", "link"), **kwargs)
    assert request is not None, f"the spider would not fetch {url}"
    return request


def split(results: Iterator[Any]) -> tuple[list[Any], list[Request]]:
    items, requests = [], []
    for result in results:
        (requests if isinstance(result, Request) else items).append(result)
    return items, requests


def stat(crawler: Crawler, name: str) -> Any:
    return crawler.stats.get_value(f"newsarchive/{name}")


# -- from_crawler and start() ---------------------------------------------------------------------


def test_from_crawler_applies_the_sources_file_and_command_line_wins(sources_file: Path) -> None:
    crawler = news_crawler(source="harbour", config=str(sources_file))
    settings = crawler.settings
    assert crawler.spider.source.name == "harbour"
    assert settings.getfloat("DOWNLOAD_DELAY") == 2.5
    assert settings.getfloat("AUTOTHROTTLE_START_DELAY") == 2.5
    assert settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 3
    assert settings.getint("NEWSARCHIVE_MAX_PAGES") == 40
    assert settings.getbool("ROBOTSTXT_OBEY") is True
    assert settings["ARCHIVE_DB"] == str(sources_file.parent / "harbour.db")
    assert settings.frozen

    overridden = news_crawler(
        {"DOWNLOAD_DELAY": 0, "DISCOVERY_MAX_DEPTH": 2}, source="harbour", config=str(sources_file)
    )
    assert overridden.settings.getfloat("DOWNLOAD_DELAY") == 0
    assert overridden.spider.max_hops == 2


def test_ad_hoc_url_gives_an_ad_hoc_source() -> None:
    crawler = news_crawler(url="https://www.news.example/")
    assert crawler.spider.source.name == "news-example"
    assert crawler.spider.hosts == {"news.example"}


def test_start_yields_robots_sitemaps_feeds_then_start_urls(crawler: Crawler) -> None:
    requests = start_requests(crawler)
    spider = crawler.spider

    assert [request.url for request in requests] == [
        f"{SITE}/robots.txt",  # one robots.txt per host, in order of first appearance
        "https://feeds.example.org/robots.txt",
        f"{SITE}/sitemap.xml",  # /private/sitemap.xml is excluded
        f"{SITE}/feed.xml",
        "https://feeds.example.org/harbour.rss",
        f"{SITE}/",
        f"{SITE}/local/",  # tracking parameter dropped
    ]
    assert [request.meta["kind"] for request in requests] == ["robots"] * 2 + ["sitemap"] + ["feed"] * 2 + ["page"] * 2
    assert [request.meta["found_by"] for request in requests] == ["robots"] * 2 + ["start"] * 5
    priorities = [request.priority for request in requests]
    assert priorities == sorted(priorities, reverse=True)
    assert priorities[:5] == [PRIORITY_FEED_OR_SITEMAP + 10] * 5
    assert priorities[5:] == [PRIORITY_FEED_OR_SITEMAP] * 2
    assert [request.callback for request in requests] == [spider.parse_robots] * 2 + [spider.parse_sitemap] + [
        spider.parse_feed
    ] * 2 + [spider.parse_page] * 2
    assert all(request.errback == spider.on_error for request in requests)
    assert requests[2].meta["sitemap_depth"] == 0
    assert all(request.meta["hops"] == 0 and "playwright" not in request.meta for request in requests[5:])


def test_start_urls_that_are_excluded_are_not_fetched() -> None:
    source = adhoc_source("https://www.news.example/tag/harbour/", exclude_urls=["/tag/"], render_js="never")
    requests = start_requests(news_crawler(source=source))
    assert [request.url for request in requests] == [f"{SITE}/robots.txt"]


def test_render_always_and_browser_first_send_pages_to_the_browser(real_browser: str) -> None:
    always = news_crawler(source=adhoc_source(f"{SITE}/", render_js="always"))
    robots, page = start_requests(always)
    assert page.meta["playwright"] is True
    assert "playwright" not in robots.meta

    auto = start_requests(news_crawler(source=adhoc_source(f"{SITE}/", render_js="auto")))
    assert "playwright" not in auto[1].meta
    learned = news_crawler({"NEWSARCHIVE_RENDER_FIRST": True}, source=adhoc_source(f"{SITE}/", render_js="auto"))
    assert start_requests(learned)[1].meta["playwright"] is True


# -- robots.txt and sitemaps ----------------------------------------------------------------------


def test_parse_robots_follows_sitemap_lines(crawler: Crawler) -> None:
    request = start_request(crawler, f"{SITE}/robots.txt")
    body = (
        b"User-agent: *\nDisallow: /private/\n"
        b"Sitemap: https://www.news.example/sitemap.xml\n"
        b"sitemap:https://www.news.example/news-sitemap.xml\n"
        b"Sitemap: https://www.news.example/private/sitemap.xml\n"
        b"Sitemap: https://www.news.example/sitemap.xml\n"
    )
    items, requests = split(crawler.spider.parse_robots(response_to(request, body, "text/plain")))

    (item,) = items
    assert isinstance(item, FetchItem) and item.outcome == "discovery"
    assert (item.fetch.url, item.fetch.status, item.fetch.content_type) == (request.url, 200, "text/plain")
    assert (item.fetch.found_by, item.fetch.bytes) == ("robots", len(body))
    assert [r.url for r in requests] == [f"{SITE}/sitemap.xml", f"{SITE}/news-sitemap.xml"]
    assert all(r.meta["kind"] == "sitemap" and r.meta["found_by"] == "robots" for r in requests)
    assert all(r.meta["sitemap_depth"] == 0 and r.callback == crawler.spider.parse_sitemap for r in requests)


NEWS_URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url>
    <loc>https://www.news.example/2025/03/14/harbour-logbooks-digitised/</loc>
    <lastmod>2025-03-14T09:00:00Z</lastmod>
    <news:news>
      <news:publication><news:name>The Harbour Courier</news:name><news:language>en</news:language></news:publication>
      <news:publication_date>2025-03-14T08:30:00+00:00</news:publication_date>
      <news:title>Harbour logbooks digitised</news:title>
      <news:keywords>harbour, archives</news:keywords>
    </news:news>
  </url>
  <url><loc>/2025/03/10/quay-lights-replaced/</loc></url>
  <url><loc>https://elsewhere.example/2025/03/14/not-ours/</loc></url>
  <url><loc>https://www.news.example/tag/harbour/</loc></url>
  <url><loc>https://www.news.example/files/annual-report.pdf</loc></url>
</urlset>"""


def test_parse_sitemap_urlset_with_news_hints(crawler: Crawler) -> None:
    request = start_request(crawler, f"{SITE}/sitemap.xml")
    items, requests = split(crawler.spider.parse_sitemap(response_to(request, NEWS_URLSET, "application/xml")))

    (item,) = items
    assert (item.outcome, item.reason, item.fetch.found_by) == ("discovery", "urlset with 5 entries", "start")
    assert [r.url for r in requests] == [
        f"{SITE}/2025/03/14/harbour-logbooks-digitised/",
        f"{SITE}/2025/03/10/quay-lights-replaced/",  # relative <loc> resolved
    ]  # another host, an excluded URL and a PDF are not fetched
    news, plain = requests
    assert news.priority == PRIORITY_FEED_OR_SITEMAP + 5 and plain.priority == PRIORITY_FEED_OR_SITEMAP
    assert news.meta["hints"] == {
        "title": "Harbour logbooks digitised",
        "published_at": "2025-03-14T08:30:00+00:00",
        "language": "en",
        "tags": ["harbour", "archives"],
        "site_name": "The Harbour Courier",
        "lastmod": "2025-03-14T09:00:00Z",
    }
    assert plain.meta["hints"] == {}
    assert all(r.meta["kind"] == "page" and r.meta["found_by"] == "sitemap" and r.meta["hops"] == 0 for r in requests)
    assert stat(crawler, "skipped_non_html_url") == 1


def test_parse_sitemap_reads_gzip(crawler: Crawler) -> None:
    robots = start_request(crawler, f"{SITE}/robots.txt")
    robots_txt = b"Sitemap: https://www.news.example/sitemap.xml.gz\n"
    (request,) = split(crawler.spider.parse_robots(response_to(robots, robots_txt, "text/plain")))[1]
    response = response_to(request, gzip.compress(NEWS_URLSET), "application/gzip")
    items, requests = split(crawler.spider.parse_sitemap(response))
    assert items[0].reason == "urlset with 5 entries"
    assert len(requests) == 2


def sitemap_index(*locs: str) -> bytes:
    entries = "".join(f"<sitemap><loc>{loc}</loc></sitemap>" for loc in locs)
    return f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</sitemapindex>'.encode()


def test_parse_sitemap_index_recurses_up_to_the_depth_limit(sources_file: Path) -> None:
    crawler = news_crawler({"DISCOVERY_SITEMAP_MAX_DEPTH": 1}, source=load_config(sources_file).source("harbour"))
    spider = crawler.spider
    top = start_request(crawler, f"{SITE}/sitemap.xml")
    body = sitemap_index("/sitemap-2025-03.xml", f"{SITE}/private/old.xml")
    items, requests = split(spider.parse_sitemap(response_to(top, body, "application/xml")))

    assert items[0].outcome == "discovery" and items[0].reason == "index with 2 entries"
    (child,) = requests  # the excluded one is not fetched
    assert child.url == f"{SITE}/sitemap-2025-03.xml"
    assert (child.meta["kind"], child.meta["found_by"], child.meta["sitemap_depth"]) == ("sitemap", "sitemap", 1)
    assert child.callback == spider.parse_sitemap

    nested = sitemap_index(f"{SITE}/sitemap-2025-03-a.xml")
    items, requests = split(spider.parse_sitemap(response_to(child, nested, "application/xml")))
    assert [item.outcome for item in items] == ["discovery"]
    assert requests == []
    assert stat(crawler, "sitemap_depth_exceeded") == 1


def test_unreadable_sitemap_is_an_error(crawler: Crawler) -> None:
    request = start_request(crawler, f"{SITE}/sitemap.xml")
    response = response_to(request, b"<html><body>Page not found</body></html>")
    items, requests = split(crawler.spider.parse_sitemap(response))
    (item,) = items
    assert item.outcome == "error"
    assert item.reason.startswith("unreadable sitemap: root element is <html>")
    assert item.fetch.url == f"{SITE}/sitemap.xml"
    assert requests == []


# -- feeds ----------------------------------------------------------------------------------------

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<title>The Harbour Courier</title><link>https://www.news.example/</link><language>en</language>
<item><title>Harbour wall repairs begin</title>
  <link>https://www.news.example/2025/03/24/harbour-wall-repairs-begin/?utm_source=rss</link>
  <pubDate>Mon, 24 Mar 2025 08:00:00 +0000</pubDate><dc:creator>Ellen Pascoe</dc:creator><category>Harbour</category></item>
<item><title>Elsewhere</title><link>https://elsewhere.example/2025/03/24/other/</link></item>
</channel></rss>"""


def test_parse_feed_rss(crawler: Crawler) -> None:
    request = start_request(crawler, f"{SITE}/feed.xml")
    items, requests = split(crawler.spider.parse_feed(response_to(request, RSS, "application/rss+xml")))

    (item,) = items
    assert (item.outcome, item.reason) == ("discovery", "rss feed with 2 entries")
    (article,) = requests  # the other host's entry is not fetched
    assert article.url == f"{SITE}/2025/03/24/harbour-wall-repairs-begin/"
    assert article.priority == PRIORITY_FEED_OR_SITEMAP
    assert (article.meta["kind"], article.meta["found_by"], article.meta["hops"]) == ("page", "feed", 0)
    assert article.meta["hints"] == {
        "title": "Harbour wall repairs begin",
        "published_at": "2025-03-24T08:00:00Z",
        "authors": ["Ellen Pascoe"],
        "tags": ["Harbour"],
        "language": "en",
    }
    assert article.callback == crawler.spider.parse_page


def test_parse_feed_json(crawler: Crawler) -> None:
    request = start_request(crawler, f"{SITE}/feed.xml")
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "The Harbour Courier",
            "items": [{"id": "1", "url": "/2025/03/26/choir-fifty-years/", "title": "Choir at fifty"}],
        }
    ).encode()
    items, requests = split(crawler.spider.parse_feed(response_to(request, body, "application/feed+json")))
    assert items[0].reason == "json feed with 1 entries"
    assert [r.url for r in requests] == [f"{SITE}/2025/03/26/choir-fifty-years/"]
    assert requests[0].meta["hints"]["title"] == "Choir at fifty"


def test_unreadable_feed_is_an_error(crawler: Crawler) -> None:
    request = start_request(crawler, f"{SITE}/feed.xml")
    items, requests = split(crawler.spider.parse_feed(response_to(request, b"Service temporarily moved", "text/plain")))
    assert [(item.outcome, item.reason.split(":")[0]) for item in items] == [("error", "unreadable feed")]
    assert requests == []


# -- pages ----------------------------------------------------------------------------------------


def test_parse_page_yields_the_page_then_feeds_then_links(crawler: Crawler) -> None:
    spider = crawler.spider
    request = start_request(crawler, f"{SITE}/")
    response = response_to(request, HOME_PAGE)
    response.meta["download_latency"] = 0.1234  # set by Scrapy's downloader
    results = collect(spider.parse_page(response))

    page = results[0]
    assert isinstance(page, PageItem)
    assert (page.source, page.body, page.redirect_urls, page.hints, page.fetch_mode) == (
        "harbour",
        HOME_PAGE,
        [],
        {},
        "plain",
    )
    fetch = page.fetch
    assert (fetch.url, fetch.final_url, fetch.status) == (f"{SITE}/", f"{SITE}/", 200)
    assert (fetch.content_type, fetch.bytes, fetch.elapsed_ms) == ("text/html; charset=utf-8", len(HOME_PAGE), 123.4)
    assert (fetch.found_by, fetch.depth, fetch.referer, fetch.fetch_mode) == ("start", 0, None, "plain")

    requests = results[1:]
    assert all(isinstance(r, Request) for r in requests)
    summary = [(r.url, r.meta["kind"], r.meta["found_by"], r.meta.get("hops"), r.priority) for r in requests]
    assert summary == [
        (f"{SITE}/feed/", "feed", "link", None, PRIORITY_FEED_OR_SITEMAP + 10),  # the other host's feed is dropped
        (f"{SITE}/2025/03/24/harbour-wall-repairs-begin/", "page", "link", 1, PRIORITY_LIKELY_ARTICLE),
        (f"{SITE}/page/2/", "page", "link", 0, 5),  # pagination is no hop further
    ]  # nofollow, another host and an excluded URL are not followed; /local/ is a start URL, requested already
    assert all(r.meta["referer_url"] == f"{SITE}/" for r in requests[1:])
    assert requests[0].callback == spider.parse_feed


def test_parse_page_fetches_the_canonical_of_an_alternate_copy(crawler: Crawler) -> None:
    request = page_request(crawler, f"{SITE}/amp/2025/03/24/harbour-wall/", hops=2, referer=f"{SITE}/")
    body = b'<html><head><link rel="canonical" href=" /2025/03/24/harbour-wall/ "></head><body>AMP</body></html>'
    results = collect(crawler.spider.parse_page(response_to(request, body)))

    assert isinstance(results[0], PageItem)
    assert results[0].fetch.depth == 2 and results[0].fetch.referer == f"{SITE}/"
    canonical = results[1]
    assert canonical.url == f"{SITE}/2025/03/24/harbour-wall/"
    assert (canonical.meta["found_by"], canonical.meta["hops"]) == ("canonical", 2)
    assert canonical.meta["referer_url"] == f"{SITE}/amp/2025/03/24/harbour-wall/"


def test_parse_page_after_a_redirect_keeps_both_urls(crawler: Crawler) -> None:
    short = page_request(crawler, f"{SITE}/s/4f2a")
    redirect = response_to(short, b"", "text/html", status=301, headers={"Location": "/2025/03/24/harbour-wall/"})
    followed = RedirectMiddleware.from_crawler(crawler).process_response(short, redirect)
    assert isinstance(followed, Request)

    page, *_ = collect(crawler.spider.parse_page(response_to(followed, b"<html><body><p>The wall.</p></body></html>")))
    assert page.fetch.url == f"{SITE}/s/4f2a"
    assert page.fetch.final_url == f"{SITE}/2025/03/24/harbour-wall/"
    assert page.redirect_urls == [f"{SITE}/s/4f2a"]


def test_link_following_stops_at_the_hop_limit(sources_file: Path) -> None:
    crawler = news_crawler({"DISCOVERY_MAX_DEPTH": 1}, source=load_config(sources_file).source("harbour"))
    at_limit = page_request(crawler, f"{SITE}/local/", hops=1)
    results = collect(crawler.spider.parse_page(response_to(at_limit, HOME_PAGE)))
    assert isinstance(results[0], PageItem)
    assert [r.meta["kind"] for r in results[1:]] == ["feed"]  # page items and feeds still, links no more

    below = page_request(crawler, f"{SITE}/world/", hops=0)
    links = [r for r in collect(crawler.spider.parse_page(response_to(below, HOME_PAGE))) if isinstance(r, Request)]
    assert {r.meta["hops"] for r in links if r.meta["kind"] == "page"} == {0, 1}


def test_follow_links_off_follows_no_links() -> None:
    crawler = news_crawler(source=adhoc_source(f"{SITE}/", follow_links=False, render_js="never"))
    request = start_request(crawler, f"{SITE}/")
    results = collect(crawler.spider.parse_page(response_to(request, HOME_PAGE)))
    assert [type(r).__name__ for r in results] == ["PageItem", "Request"]
    assert results[1].meta["kind"] == "feed"


def test_pattern_budget_bounds_a_calendar_and_closed_reports_it(
    sources_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = {"DISCOVERY_PATTERN_BUDGET": 3, **NO_ENGINE_SETTINGS}
    crawler = news_crawler(settings, source=load_config(sources_file).source("harbour"))
    calendar = "".join(f'<a href="/calendar/2025/03/{day:02d}/">{day}</a>' for day in range(1, 7))
    request = start_request(crawler, f"{SITE}/")
    body = f"<html><body>{calendar}</body></html>".encode()
    links = [r.url for r in collect(crawler.spider.parse_page(response_to(request, body))) if isinstance(r, Request)]

    assert links == [f"{SITE}/calendar/2025/03/{day:02d}/" for day in (1, 2, 3)]
    assert stat(crawler, "links_over_pattern_budget") == 3

    open_spider(crawler)
    with caplog.at_level(logging.INFO, logger="news"):
        close_spider(crawler, "finished")
    assert stat(crawler, "pattern_budget_exhausted") == 1
    message = next(r.getMessage() for r in caplog.records if getattr(r, "event", None) == "pattern_budget_exhausted")
    assert "DISCOVERY_PATTERN_BUDGET" in message and "www.news.example/calendar/{n}/{n}/{n}/" in message


def test_pattern_budget_counts_pages_not_repeated_links(sources_file: Path) -> None:
    """/story/<id>/ URLs share one pattern; a "most read" box repeats five of them on every listing page.
    Repeated links cost nothing: all 17 stories are requested under a budget of 20 (32 links)."""
    settings = {"DISCOVERY_PATTERN_BUDGET": 20, **NO_ENGINE_SETTINGS}
    crawler = news_crawler(settings, source=load_config(sources_file).source("harbour"))
    most_read = "".join(f'<a href="/story/{i}/">Most read {i}</a>' for i in range(1, 6))
    requested: set[str] = set()
    for page in range(1, 5):
        new = "".join(f'<a href="/story/{page * 10 + i}/">Story {page * 10 + i}</a>' for i in range(3))
        request = page_request(crawler, f"{SITE}/news/page/{page}/")
        body = f"<html><body><main>{new}</main><aside>{most_read}</aside></body></html>".encode()
        links = [r for r in collect(crawler.spider.parse_page(response_to(request, body))) if isinstance(r, Request)]
        requested.update(r.url for r in links if r.meta["kind"] == "page")
    stories = {f"{SITE}/story/{i}/" for i in range(1, 6)} | {
        f"{SITE}/story/{page * 10 + i}/" for page in range(1, 5) for i in range(3)
    }
    assert requested == stories
    assert stat(crawler, "links_over_pattern_budget") is None
    assert crawler.spider.budget.counts["www.news.example/story/{n}/"] == 17

    # A story already requested from the sitemap costs the budget nothing when a link names it.
    page_request(crawler, f"{SITE}/story/99/", found_by="sitemap")
    request = page_request(crawler, f"{SITE}/news/page/5/")
    body = b'<html><body><a href="/story/99/">From the sitemap</a></body></html>'
    (collect(crawler.spider.parse_page(response_to(request, body))))
    assert crawler.spider.budget.counts["www.news.example/story/{n}/"] == 17


def test_closed_without_a_cut_pattern_sets_no_stat(sources_file: Path) -> None:
    crawler = news_crawler(NO_ENGINE_SETTINGS, source=load_config(sources_file).source("harbour"))
    open_spider(crawler)
    close_spider(crawler, "finished")
    assert stat(crawler, "pattern_budget_exhausted") is None


def test_links_that_are_never_articles_are_not_followed(crawler: Crawler) -> None:
    """A WordPress article page: its log-in, comment-feed, print and share links cost no request."""
    article = f"{SITE}/2025/03/24/harbour-wall-repairs-begin/"
    body = f"""<html><body><article><h1>Harbour wall repairs begin</h1><p>Text.</p></article>
<a href="/wp-login.php?redirect_to={article}">Log in to reply</a>
<a href="/2025/03/24/harbour-wall-repairs-begin/?replytocom=7#respond">Reply</a>
<a href="/2025/03/24/harbour-wall-repairs-begin/feed/">Comments feed</a>
<a href="/comments/feed/">All comments</a>
<a href="/2025/03/24/harbour-wall-repairs-begin/?print=1">Print</a>
<a href="/2025/03/24/harbour-wall-repairs-begin/print/">Print version</a>
<a href="https://www.news.example/share?url={article}">Share</a>
<a href="/wp-admin/">Dashboard</a>
<a href="/xmlrpc.php?rsd">RSD</a>
<a href="/2025/03/23/ferry-timetable-changes/">Ferry timetable changes</a>
</body></html>""".encode()
    request = page_request(crawler, article)
    _, requests = split(collect(crawler.spider.parse_page(response_to(request, body))))
    pages = [r.url for r in requests if r.meta["kind"] == "page"]
    # the reply link is the article itself (canonicalize_url), requested above: no second request
    assert pages == [f"{SITE}/2025/03/23/ferry-timetable-changes/"]
    assert stat(crawler, "skipped_never_article_url") == 8


def test_non_html_page_is_skipped(crawler: Crawler) -> None:
    request = page_request(crawler, f"{SITE}/2025/03/24/budget-papers/")
    pdf = b"%PDF-1.7\n" + bytes(range(256))
    (item,) = collect(crawler.spider.parse_page(response_to(request, pdf, "application/pdf")))
    assert (item.outcome, item.reason) == ("skipped", "not HTML (application/pdf)")
    assert item.fetch.url == request.url and item.fetch.status == 200

    # SkipNonHtmlExtension stopped the download after the headers: an empty body, flagged.
    stopped = response_to(request, b"", "application/pdf", flags=["download_stopped"])
    (item,) = collect(crawler.spider.parse_page(stopped))
    assert (item.outcome, item.reason) == ("skipped", "not HTML (application/pdf)")


# -- errors ---------------------------------------------------------------------------------------


def http_error(crawler: Crawler, request: Request, status: int) -> Any:
    response = response_to(request, b"<html><body>Error</body></html>", status=status)
    middleware = HttpErrorMiddleware.from_crawler(crawler)
    return failure_from(request, lambda: middleware.process_spider_input(response))


def test_robots_404_is_discovery_other_http_errors_are_errors(crawler: Crawler) -> None:
    robots = start_request(crawler, f"{SITE}/robots.txt")
    (item,) = crawler.spider.on_error(http_error(crawler, robots, 404))
    assert (item.outcome, item.reason, item.fetch.status, item.fetch.url) == ("discovery", "HTTP 404", 404, robots.url)

    page = page_request(crawler, f"{SITE}/2025/03/24/harbour-wall/", hops=1, referer=f"{SITE}/")
    (item,) = crawler.spider.on_error(http_error(crawler, page, 500))
    assert (item.outcome, item.reason, item.fetch.status) == ("error", "HTTP 500", 500)
    assert (item.fetch.found_by, item.fetch.depth, item.fetch.referer) == ("link", 1, f"{SITE}/")

    (item,) = crawler.spider.on_error(http_error(crawler, page, 404))
    assert (item.outcome, item.reason) == ("error", "HTTP 404")


def test_a_redirect_to_a_file_url_says_so(crawler: Crawler) -> None:
    page = page_request(crawler, f"{SITE}/2025/03/24/moved/", hops=1)

    def reason_for(location: str) -> str:
        response = response_to(page, b"", status=302, headers={"Location": location})
        failure = failure_from(page, lambda: HttpErrorMiddleware.from_crawler(crawler).process_spider_input(response))
        (item,) = crawler.spider.on_error(failure)
        return item.reason

    for location, scheme in (("file:///etc/passwd", "file"), ("ftp://files.example/a.html", "ftp")):
        assert (
            reason_for(location) == f"HTTP 302: a redirect to a {scheme}: URL, not followed (only http and https are)"
        )
    assert reason_for(f"{SITE}/elsewhere/") == "HTTP 302"


def test_a_redirect_loop_is_an_error(sources_file: Path) -> None:
    crawler = news_crawler({"REDIRECT_MAX_TIMES": 3}, source=load_config(sources_file).source("harbour"))
    middleware = RedirectMiddleware.from_crawler(crawler)
    request = page_request(crawler, f"{SITE}/loop/a/", hops=1)
    for _ in range(3):  # a -> b -> a -> b: then Scrapy gives up
        target = "/loop/b/" if request.url.endswith("/a/") else "/loop/a/"
        request = middleware.process_response(
            request, response_to(request, b"", status=302, headers={"Location": target})
        )
    last = response_to(request, b"", status=302, headers={"Location": "/loop/a/"})
    failure = failure_from(request, lambda: middleware.process_response(request, last))
    assert failure.check(IgnoreRequest)

    (item,) = crawler.spider.on_error(failure)
    assert item.outcome == "error"
    assert item.reason == "too many redirects (a redirect loop?): max redirections reached"
    assert (item.fetch.url, item.fetch.found_by, item.fetch.depth) == (request.url, "link", 1)


def test_a_robots_txt_refusal_records_no_fetch(crawler: Crawler) -> None:
    request = page_request(crawler, f"{SITE}/private-ish/2025/03/24/x/")
    parser_class = load_object(crawler.settings["ROBOTSTXT_PARSER"])
    parser = parser_class.from_crawler(crawler, b"User-agent: *\nDisallow: /private-ish/\n")
    middleware = ObeyRobotsTxtMiddleware.from_crawler(crawler)  # the one DOWNLOADER_MIDDLEWARES installs
    failure = failure_from(request, lambda: middleware.process_request_2(parser, request))
    assert failure.check(ForbiddenByRobots) and failure.check(IgnoreRequest)
    # No fetch row and no page: only the crawl state learns the URL is not to be tried every run.
    (item,) = crawler.spider.on_error(failure)
    assert isinstance(item, NotFetchedItem) and item.url == request.url and item.reason == "forbidden by robots.txt"


def download_failure(request: Request, error: Exception) -> Any:
    """A download that failed in the handler, as the errback receives it. (A real download needs the
    reactor running: Twisted resolves even 127.0.0.1 in its thread pool, which starts with the reactor.)"""

    def download() -> None:
        raise error

    return failure_from(request, download)


def test_a_page_over_download_maxsize_names_the_setting() -> None:
    crawler = news_crawler({"DOWNLOAD_MAXSIZE": 1024}, source=adhoc_source(f"{SITE}/", render_js="never"))
    request = page_request(crawler, f"{SITE}/2025/03/24/long-read/")
    # The message Scrapy's HTTP download handlers cancel an oversized download with.
    error = DownloadCancelledError(get_maxsize_msg(4096, 1024, request, expected=True))
    (item,) = crawler.spider.on_error(download_failure(request, error))
    assert item.outcome == "error"
    assert item.reason == (
        "response larger than DOWNLOAD_MAXSIZE (1024 bytes); if such pages matter, raise it "
        "(newsarchive crawl -s DOWNLOAD_MAXSIZE=2048)"
    )
    assert item.fetch.url == request.url


def test_a_network_error_names_the_exception(crawler: Crawler) -> None:
    request = page_request(crawler, f"{SITE}/2025/03/24/closed/", hops=1)
    error = DownloadConnectionRefusedError("Connection was refused by other side: 111: Connection refused.")
    (item,) = crawler.spider.on_error(download_failure(request, error))
    assert item.outcome == "error"
    assert item.reason == (
        "DownloadConnectionRefusedError: Connection was refused by other side: 111: Connection refused."
    )
    assert (item.fetch.url, item.fetch.status, item.fetch.depth) == (request.url, None, 1)

    timeout = DownloadTimeoutError(f"Getting {request.url} took longer than 30 seconds.")
    (item,) = crawler.spider.on_error(download_failure(request, timeout))
    assert item.reason == f"DownloadTimeoutError: Getting {request.url} took longer than 30 seconds."


def test_a_failure_without_a_message_still_says_what_happened(crawler: Crawler) -> None:
    """Scrapy raises some download errors with no message: the reason must never end at the colon."""
    request = page_request(crawler, f"{SITE}/2025/03/24/cut/", hops=1)
    (item,) = crawler.spider.on_error(download_failure(request, ResponseDataLossError()))
    assert item.reason == (
        "ResponseDataLossError: the connection closed before the whole response arrived (fewer bytes than announced)"
    )
    (item,) = crawler.spider.on_error(download_failure(request, DownloadTimeoutError()))
    assert item.reason == "DownloadTimeoutError: no answer in time"


# -- render_js = "auto" ---------------------------------------------------------------------------


def test_rendered_retry_refetches_a_plain_page_in_the_browser(real_browser: str) -> None:
    crawler = news_crawler(source=adhoc_source(f"{SITE}/", render_js="auto"))
    assert crawler.spider.rendering
    request = page_request(crawler, f"{SITE}/2025/03/24/app-shell/", hops=1, referer=f"{SITE}/", hints={"title": "T"})
    page, *_ = collect(
        crawler.spider.parse_page(response_to(request, b'<html><body><div id="app"></div></body></html>'))
    )

    retry = crawler.spider.rendered_retry(page)
    assert retry.url == request.url
    assert retry.dont_filter  # the URL was fetched already
    assert retry.priority == PRIORITY_FEED_OR_SITEMAP + 5
    assert retry.callback == crawler.spider.parse_page
    meta = retry.meta
    assert (meta["playwright"], meta["render_retry"], meta["kind"]) == (True, True, "page")
    assert (meta["found_by"], meta["hops"], meta["referer_url"], meta["hints"]) == (
        "link",
        1,
        f"{SITE}/",
        {"title": "T"},
    )

    rendered, *_ = collect(
        crawler.spider.parse_page(response_to(retry, b"<html><body><p>Now with text.</p></body></html>"))
    )
    assert rendered.fetch_mode == "browser" and rendered.fetch.fetch_mode == "browser"
    assert crawler.spider.rendered_retry(rendered) is None  # once through the browser is enough


def test_rendered_retry_only_for_auto_sources(real_browser: str) -> None:
    for render_js in ("never", "always"):
        crawler = news_crawler(source=adhoc_source(f"{SITE}/", render_js=render_js))
        request = page_request(crawler, f"{SITE}/2025/03/24/app-shell/")
        page, *_ = collect(crawler.spider.parse_page(response_to(request, b"<html><body></body></html>")))
        assert crawler.spider.rendered_retry(page) is None, render_js
