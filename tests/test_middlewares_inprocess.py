"""BackoffRetryMiddleware and RenderPagesMiddleware in the test process.

Both are built as a crawl builds them: by Scrapy's DownloaderMiddlewareManager from
``DOWNLOADER_MIDDLEWARES`` (to see which are on), or through their own ``from_crawler`` on a crawler
with our settings (tests/inprocess.py). BackoffRetryMiddleware's wait is a real reactor timer: its
``process_response`` coroutine runs on the asyncio loop the installed asyncio reactor is built on, as
in a crawl, with ``BACKOFF_*`` set small so the waits are short. RenderPagesMiddleware is checked on
the meta it gives requests; no browser is started.
"""

from __future__ import annotations

import time

import pytest
from scrapy import Request
from scrapy.core.downloader.middleware import DownloaderMiddlewareManager
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import NotConfigured
from scrapy_playwright.page import PageMethod

from crawler.middlewares.backoff_retry import BackoffRetryMiddleware
from crawler.middlewares.render_pages import SETTLE_SCRIPT, RenderPagesMiddleware
from crawler.sources.config import adhoc_source
from tests.inprocess import component_crawler, news_crawler, response_to, run

PAGE = "https://www.news.example/2025/03/24/harbour-wall-repairs-begin/"
BASE_DELAY = 0.05
MAX_DELAY = 0.3


def middleware_classes(crawler: Crawler) -> list[type]:
    return [type(middleware) for middleware in DownloaderMiddlewareManager.from_crawler(crawler).middlewares]


# -- BackoffRetryMiddleware -----------------------------------------------------------------------


@pytest.fixture
def crawler() -> Crawler:
    settings = {"BACKOFF_BASE_DELAY": BASE_DELAY, "BACKOFF_MAX_DELAY": MAX_DELAY, "RETRY_TIMES": 2}
    return news_crawler(settings, source=adhoc_source("https://www.news.example/", render_js="never"))


@pytest.fixture
def backoff(crawler: Crawler) -> BackoffRetryMiddleware:
    return BackoffRetryMiddleware.from_crawler(crawler)


def timed(backoff: BackoffRetryMiddleware, request: Request, response: object) -> tuple[object, float]:
    started = time.monotonic()
    result = run(backoff.process_response(request, response))
    return result, time.monotonic() - started


def stat(crawler: Crawler, name: str) -> object:
    return crawler.stats.get_value(name)


def test_backoff_replaces_scrapys_retry_middleware(crawler: Crawler) -> None:
    classes = middleware_classes(crawler)
    assert BackoffRetryMiddleware in classes
    assert RetryMiddleware not in classes  # only our subclass: a failed request is retried once, not twice


def test_retry_after_is_honoured_up_to_the_cap(crawler: Crawler, backoff: BackoffRetryMiddleware) -> None:
    request = Request(PAGE, priority=10, meta={"kind": "page", "found_by": "link", "hops": 1})
    response = response_to(request, b"busy", status=503, headers={"Retry-After": "3600"})
    retry, waited = timed(backoff, request, response)

    assert isinstance(retry, Request)
    assert retry.url == PAGE
    assert retry.dont_filter  # the same URL again
    assert retry.priority == 10 + crawler.settings.getint("RETRY_PRIORITY_ADJUST")
    assert retry.meta["retry_times"] == 1
    assert (retry.meta["kind"], retry.meta["found_by"], retry.meta["hops"]) == ("page", "link", 1)
    assert MAX_DELAY <= waited < 3, f"waited {waited:.2f}s; BACKOFF_MAX_DELAY is {MAX_DELAY}s"
    assert stat(crawler, "backoff/waits") == 1
    assert stat(crawler, "backoff/wait_seconds") == MAX_DELAY
    assert stat(crawler, "retry/count") == 1
    assert stat(crawler, "retry/reason_count/HTTP 503") == 1


def test_retry_after_zero_retries_at_once(crawler: Crawler, backoff: BackoffRetryMiddleware) -> None:
    request = Request(PAGE)
    retry, waited = timed(backoff, request, response_to(request, b"", status=429, headers={"Retry-After": "0"}))
    assert isinstance(retry, Request) and retry.meta["retry_times"] == 1
    assert waited < MAX_DELAY
    assert stat(crawler, "backoff/waits") is None


def test_without_retry_after_the_wait_doubles(crawler: Crawler, backoff: BackoffRetryMiddleware) -> None:
    request = Request(PAGE)
    first, first_wait = timed(backoff, request, response_to(request, b"", status=500))
    second, second_wait = timed(backoff, first, response_to(first, b"", status=502))

    assert isinstance(second, Request) and second.meta["retry_times"] == 2
    assert first_wait >= BASE_DELAY and second_wait >= 2 * BASE_DELAY
    assert stat(crawler, "backoff/waits") == 2
    assert stat(crawler, "backoff/wait_seconds") == pytest.approx(BASE_DELAY + 2 * BASE_DELAY)


def test_exhausted_retries_give_up_with_the_response(crawler: Crawler, backoff: BackoffRetryMiddleware) -> None:
    request = Request(PAGE, meta={"retry_times": 2})  # RETRY_TIMES = 2: this was the last try
    response = response_to(request, b"still busy", status=503, headers={"Retry-After": "3600"})
    result, waited = timed(backoff, request, response)

    assert result is response  # on to HttpErrorMiddleware and the spider's errback
    assert waited < MAX_DELAY  # no wait for a retry that will not happen
    assert stat(crawler, "backoff/waits") is None
    assert stat(crawler, "retry/max_reached") == 1

    own_limit = Request(PAGE, meta={"max_retry_times": 0})
    assert run(backoff.process_response(own_limit, response_to(own_limit, b"", status=503))).status == 503


@pytest.mark.parametrize("status", [200, 301, 404, 410, 501])
def test_other_statuses_pass_through(crawler: Crawler, backoff: BackoffRetryMiddleware, status: int) -> None:
    request = Request(PAGE)
    response = response_to(request, b"<html></html>", status=status, headers={"Retry-After": "3600"})
    result, waited = timed(backoff, request, response)
    assert result is response
    assert waited < MAX_DELAY
    assert stat(crawler, "retry/count") is None


def test_dont_retry_passes_through(crawler: Crawler, backoff: BackoffRetryMiddleware) -> None:
    request = Request(PAGE, meta={"dont_retry": True})
    response = response_to(request, b"", status=503, headers={"Retry-After": "3600"})
    assert run(backoff.process_response(request, response)) is response
    assert stat(crawler, "retry/count") is None


# -- RenderPagesMiddleware ------------------------------------------------------------------------


def rendering(context_pages: int = 2, wait_ms: int = 0) -> tuple[Crawler, RenderPagesMiddleware]:
    crawler = component_crawler(
        NEWSARCHIVE_RENDER_ENABLED=True, RENDER_CONTEXT_PAGES=context_pages, RENDER_WAIT_MS=wait_ms
    )
    return crawler, RenderPagesMiddleware.from_crawler(crawler)


def test_render_pages_is_off_unless_rendering_is_on() -> None:
    with pytest.raises(NotConfigured, match="no source of this crawl renders pages"):
        RenderPagesMiddleware.from_crawler(component_crawler())
    never = news_crawler(source=adhoc_source("https://www.news.example/", render_js="never"))
    assert RenderPagesMiddleware not in middleware_classes(never)


def test_render_pages_is_on_for_a_source_that_may_render(real_browser: str) -> None:
    auto = news_crawler(source=adhoc_source("https://www.news.example/", render_js="auto"))
    assert RenderPagesMiddleware in middleware_classes(auto)


def test_rendered_requests_get_contexts_in_turn() -> None:
    crawler, middleware = rendering(context_pages=2)
    requests = [Request(f"{PAGE}?n={n}", meta={"playwright": True}) for n in range(5)]
    for request in requests:
        assert middleware.process_request(request) is None

    assert [r.meta["playwright_context"] for r in requests] == [
        "render-0",
        "render-0",
        "render-1",
        "render-1",
        "render-2",
    ]
    assert all(r.meta["playwright_include_page"] is True for r in requests)  # so the middleware closes each page
    assert all("playwright_page_methods" not in r.meta for r in requests)  # RENDER_WAIT_MS = 0
    assert crawler.stats.get_value("newsarchive/render/requests") == 5

    retried = requests[0].copy()  # a retry keeps the context it was given
    middleware.process_request(retried)
    assert retried.meta["playwright_context"] == "render-0"
    assert crawler.stats.get_value("newsarchive/render/requests") == 5


def test_plain_requests_are_untouched() -> None:
    crawler, middleware = rendering()
    request = Request(PAGE, meta={"kind": "page", "found_by": "link"})
    before = dict(request.meta)
    assert middleware.process_request(request) is None
    assert request.meta == before
    response = response_to(request, b"<html></html>")
    assert run(middleware.process_response(request, response)) is response
    assert run(middleware.process_exception(request, TimeoutError("slow"))) is None
    assert crawler.stats.get_value("newsarchive/render/requests") is None
    assert crawler.stats.get_value("newsarchive/render/errors") is None


def test_page_methods_wait_only_when_render_wait_ms_is_set() -> None:
    _, middleware = rendering(wait_ms=250)
    request = Request(PAGE, meta={"playwright": True})
    middleware.process_request(request)
    (method,) = request.meta["playwright_page_methods"]
    assert isinstance(method, PageMethod)
    # Until the text is there, at most RENDER_WAIT_MS; EXTRACT_MIN_TEXT_CHARS is what "there" means.
    assert (method.method, method.args) == ("evaluate", (SETTLE_SCRIPT, {"minChars": 200, "quietMs": 50, "capMs": 250}))

    own = [PageMethod("wait_for_selector", "article")]
    chosen = Request(PAGE, meta={"playwright": True, "playwright_page_methods": own})
    middleware.process_request(chosen)
    assert chosen.meta["playwright_page_methods"] is own  # a request's own page methods are kept


def test_a_failed_rendered_request_is_counted() -> None:
    crawler, middleware = rendering(context_pages=1)
    request = Request(PAGE, meta={"playwright": True})
    middleware.process_request(request)
    assert run(middleware.process_exception(request, TimeoutError("navigation timed out"))) is None
    assert crawler.stats.get_value("newsarchive/render/errors") == 1
