"""AutoThrottle follows the source's concurrency and is not held back by a site's 404s and redirects.

The policy (``next_delay``) as plain values, then the extension as the crawler's extension manager
builds it for a source, in this process: it replaces Scrapy's own AutoThrottle, takes the source's
``concurrency`` as its target, and adjusts a downloader slot's delay on ``response_downloaded``
as in a crawl.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from scrapy import Request
from scrapy.extensions.throttle import AutoThrottle

from crawler.extensions.throttle import ThrottleExtension, is_server_trouble, next_delay
from crawler.sources.config import adhoc_source
from tests.inprocess import news_crawler, response_to

URL = "https://www.news.example/"


@pytest.mark.parametrize("status", [200, 301, 304, 404, 410])
def test_an_ordinary_answer_lowers_the_delay_towards_latency_over_target(status: int) -> None:
    # 40 ms answers, 16 in flight wanted: the delay halves towards 2.5 ms.
    assert next_delay(1.0, 0.04, 16.0, 0.0, 60.0, status) == pytest.approx((1.0 + 0.0025) / 2)


@pytest.mark.parametrize("status", [408, 429, 500, 503, 504])
def test_server_trouble_may_raise_the_delay_but_never_lowers_it(status: int) -> None:
    assert is_server_trouble(status)
    assert next_delay(1.0, 0.04, 16.0, 0.0, 60.0, status) == 1.0
    assert next_delay(0.1, 8.0, 2.0, 0.0, 60.0, status) == 4.0  # a slow answer: at once to latency / target


def test_the_delay_stays_between_download_delay_and_the_maximum() -> None:
    assert next_delay(1.0, 0.01, 2.0, 1.0, 60.0, 200) == 1.0  # polite defaults stay polite
    assert next_delay(1.0, 500.0, 2.0, 1.0, 60.0, 200) == 60.0


def test_a_target_of_one_caps_a_crawl_at_one_request_per_latency() -> None:
    # What Scrapy's default target (1.0) does to a 16-way source: the delay settles at the latency.
    delay = 1.0
    for _ in range(30):
        delay = next_delay(delay, 0.2, 1.0, 0.0, 60.0, 200)
    assert delay == pytest.approx(0.2)
    for _ in range(30):
        delay = next_delay(delay, 0.2, 16.0, 0.0, 60.0, 200)
    assert delay == pytest.approx(0.2 / 16, rel=1e-3)


def crawler_for(concurrency: int, download_delay: float = 0.0, **settings: object):
    source = adhoc_source(URL)
    source = type(source)(**{**source.__dict__, "concurrency": concurrency, "download_delay": download_delay})
    return news_crawler(settings, source=source)


def test_the_extension_replaces_scrapys_and_targets_the_sources_concurrency() -> None:
    crawler = crawler_for(16)
    extension = crawler.get_extension(ThrottleExtension)
    assert type(extension) is ThrottleExtension
    assert [e for e in crawler.extensions.middlewares if type(e) is AutoThrottle] == []
    assert extension.target_concurrency == 16.0
    assert crawler_for(2, 1.0).get_extension(ThrottleExtension).target_concurrency == 2.0


def test_the_command_line_target_wins_over_the_source() -> None:
    crawler = crawler_for(16, AUTOTHROTTLE_TARGET_CONCURRENCY=3)
    assert crawler.get_extension(ThrottleExtension).target_concurrency == 3.0


def test_404s_bring_a_slots_delay_down_and_503s_do_not() -> None:
    crawler = crawler_for(16)
    extension = crawler.get_extension(ThrottleExtension)
    extension.mindelay, extension.maxdelay = 0.0, 60.0  # what spider_opened sets from the settings
    slot = SimpleNamespace(delay=0.5, transferring=set())
    crawler.engine = SimpleNamespace(downloader=SimpleNamespace(slots={"host": slot}))

    def answer(status: int) -> None:
        request = Request(URL + "missing/", meta={"download_slot": "host", "download_latency": 0.02})
        extension._response_downloaded(response_to(request, b"", status=status), request, crawler.spider)

    for _ in range(3):
        answer(503)
    assert slot.delay == 0.5
    for _ in range(10):
        answer(404)
    assert slot.delay < 0.01


def test_a_rendered_page_does_not_slow_the_plain_fetches() -> None:
    crawler = crawler_for(16)
    extension = crawler.get_extension(ThrottleExtension)
    extension.mindelay, extension.maxdelay = 0.0, 60.0
    slot = SimpleNamespace(delay=0.01, transferring=set())
    crawler.engine = SimpleNamespace(downloader=SimpleNamespace(slots={"host": slot}))
    # A browser page takes seconds of JavaScript; counted, it would set the delay to 3 s / 16.
    request = Request(URL + "app/", meta={"download_slot": "host", "download_latency": 3.0, "playwright": True})
    extension._response_downloaded(response_to(request, b"<html></html>"), request, crawler.spider)
    assert slot.delay == 0.01
