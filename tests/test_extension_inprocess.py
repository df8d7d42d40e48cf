"""SkipNonHtmlExtension and LazyPlaywrightDownloadHandler in the test process.

The extension is the one the crawler's extension manager builds from ``EXTENSIONS``; it is reached
the way a download handler reaches it, through the ``headers_received`` signal, whose handlers may
stop the download by raising StopDownload (``send_catch_log`` returns their failures). The download
handler is the one Scrapy's ``DownloadHandlers`` builds from ``DOWNLOAD_HANDLERS`` for a source that
may render pages; the engine's ``engine_started`` and ``engine_stopped`` signals are sent as the
engine sends them. Whether a Playwright driver runs is read from the process table: it is a child
process of this one (``node ... run-driver``). The one test that renders a page in the system
Chromium is marked ``browser``.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request, signals
from scrapy.core.downloader.handlers import DownloadHandlers
from scrapy.crawler import Crawler
from scrapy.exceptions import StopDownload
from scrapy.http import Headers, HtmlResponse
from twisted.python.failure import Failure

from crawler.browser.download_handler import LazyPlaywrightDownloadHandler
from crawler.demo.server import Reply, serve
from crawler.extensions.skip_non_html import SkipNonHtmlExtension
from crawler.sources.config import adhoc_source
from tests.inprocess import component_crawler, news_crawler, run

PAGE = "https://www.news.example/2025/03/24/harbour-wall-repairs-begin/"


# -- SkipNonHtmlExtension -------------------------------------------------------------------------


def headers_received(crawler: Crawler, request: Request, content_type: str | None) -> StopDownload | None:
    """Send ``headers_received`` as a download handler does; the StopDownload a handler raised, if any."""
    headers = Headers({"Content-Type": content_type} if content_type else {})
    results = crawler.signals.send_catch_log(
        signal=signals.headers_received, headers=headers, body_length=123456, request=request, spider=crawler.spider
    )
    stops = [result.value for _, result in results if isinstance(result, Failure) and result.check(StopDownload)]
    errors = [result for _, result in results if isinstance(result, Failure) and not result.check(StopDownload)]
    assert errors == []
    return stops[0] if stops else None


def skipped(crawler: Crawler) -> Any:
    return crawler.stats.get_value("newsarchive/skipped_non_html")


def test_the_extension_is_installed_by_the_settings() -> None:
    assert isinstance(component_crawler().get_extension(SkipNonHtmlExtension), SkipNonHtmlExtension)
    assert (
        component_crawler(EXTENSIONS={"crawler.extensions.skip_non_html.SkipNonHtmlExtension": None}).get_extension(
            SkipNonHtmlExtension
        )
        is None
    )


@pytest.mark.parametrize("content_type", ["application/pdf", "image/jpeg", "video/mp4; codecs=avc1", "APPLICATION/ZIP"])
def test_a_page_that_is_not_html_is_cut_after_its_headers(content_type: str) -> None:
    crawler = component_crawler()
    stop = headers_received(crawler, Request(PAGE, meta={"kind": "page"}), content_type)
    assert isinstance(stop, StopDownload)
    assert stop.fail is False  # the callback still gets the (empty) response, flagged download_stopped
    assert skipped(crawler) == 1


@pytest.mark.parametrize(
    "content_type",
    ["text/html; charset=utf-8", "application/xhtml+xml", "text/plain", "application/octet-stream", None],
)
def test_html_or_an_unknown_type_passes(content_type: str | None) -> None:
    crawler = component_crawler()
    assert headers_received(crawler, Request(PAGE, meta={"kind": "page"}), content_type) is None
    assert skipped(crawler) is None


@pytest.mark.parametrize(
    ("kind", "content_type"),
    [
        ("feed", "application/rss+xml"),
        ("feed", "application/feed+json"),
        ("sitemap", "application/xml"),
        ("sitemap", "application/gzip"),
        ("robots", "text/plain"),
        (None, "application/pdf"),  # a request the spider did not mark as a page
    ],
)
def test_feeds_sitemaps_and_robots_are_never_cut(kind: str | None, content_type: str) -> None:
    crawler = component_crawler()
    meta = {"kind": kind} if kind else {}
    assert headers_received(crawler, Request("https://www.news.example/feed.xml", meta=meta), content_type) is None
    assert skipped(crawler) is None


# -- LazyPlaywrightDownloadHandler ----------------------------------------------------------------


def playwright_drivers() -> set[int]:
    """PIDs of this process's children that are Playwright drivers."""
    me = str(os.getpid())
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue  # the process ended meanwhile
        if parent == me and b"playwright" in command and b"run-driver" in command:
            found.add(int(entry.name))
    return found


def wait_for(condition: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def crawler_rendering(site_url: str) -> Crawler:
    """A crawler of the source at ``site_url`` that may render (its network boundary: that host and port)."""
    crawler = news_crawler(source=adhoc_source(site_url, render_js="auto"))
    assert crawler.spider.rendering, "a browser was found, so this source may render"
    return crawler


@pytest.fixture
def rendering_crawler(real_browser: str) -> Crawler:
    return crawler_rendering("http://127.0.0.1/")


def start_handlers(crawler: Crawler) -> DownloadHandlers:
    """The downloader's handlers, then the engine start, as a crawl does them."""
    handlers = DownloadHandlers(crawler)
    run(crawler.signals.send_catch_log_async(signals.engine_started))
    return handlers


def stop_handlers(crawler: Crawler) -> None:
    run(crawler.signals.send_catch_log_async(signals.engine_stopped))


def test_the_handler_starts_no_driver_when_the_engine_starts(rendering_crawler: Crawler) -> None:
    before = playwright_drivers()
    handlers = start_handlers(rendering_crawler)
    try:
        assert isinstance(handlers._get_handler("https"), LazyPlaywrightDownloadHandler)
        assert isinstance(handlers._get_handler("http"), LazyPlaywrightDownloadHandler)
        time.sleep(0.5)  # a driver started in the background would be up by now
        assert playwright_drivers() - before == set(), "a Playwright driver started before any page needed it"
    finally:
        stop_handlers(rendering_crawler)


SCRIPTED_PAGE = b"""<html><head><title>Harbour wall</title></head><body><div id="app"></div>
<script>document.getElementById("app").innerHTML = "<p>Repairs to the harbour wall began on Monday.</p>";</script>
</body></html>"""


@pytest.mark.browser
@pytest.mark.usefixtures("real_browser")
def test_the_first_rendered_requests_start_one_driver_and_render() -> None:
    before = playwright_drivers()
    with serve(lambda request: Reply(200, SCRIPTED_PAGE, {"Content-Type": "text/html; charset=utf-8"})) as site:
        rendering_crawler = crawler_rendering(site.base_url + "/")
        handlers = start_handlers(rendering_crawler)
        try:
            # Two pages need the browser at once, as in a crawl: both wait for the one driver start.
            requests = [
                Request(f"{site.base_url}/2025/03/24/harbour-wall-{n}/", meta={"kind": "page", "playwright": True})
                for n in (1, 2)
            ]

            async def download_both() -> list[Any]:
                return await asyncio.gather(*(handlers.download_request_async(request) for request in requests))

            responses = run(download_both())
            started = playwright_drivers() - before
        finally:
            stop_handlers(rendering_crawler)

    for response in responses:
        assert isinstance(response, HtmlResponse)
        assert response.status == 200
        assert "Repairs to the harbour wall began on Monday." in response.text  # written by the page's script
    assert len(started) == 1, f"expected one Playwright driver once pages needed the browser, found {started}"
    assert wait_for(lambda: not (playwright_drivers() & started)), "the driver outlived the crawl"
