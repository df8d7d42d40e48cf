"""Scrapy components built and driven in the test process, the way a crawl process builds and drives them.

The reactor. A crawl process runs on Twisted's asyncio reactor (Scrapy's default ``TWISTED_REACTOR``,
and the one scrapy-playwright requires). That reactor is built on an asyncio event loop: its timers
(``callLater``, hence ``LoopingCall`` and ``deferLater``) and its sockets are served by that loop.
:func:`asyncio_reactor` installs it once per test process, the same way ``Crawler`` does
(``scrapy.utils.reactor.install_reactor``); a reactor cannot be uninstalled, so it stays for the
rest of the session (the suite's other in-process tests never import a reactor). :func:`run` runs a
coroutine on the reactor's own loop until it completes: components await Scrapy deferreds,
``asyncio`` futures and reactor timers exactly as they do in a crawl, while the reactor itself is
never started, because a reactor can run only once per process and every test needs it. (So no test
downloads through Scrapy's HTTP handler: Twisted resolves host names, even 127.0.0.1, in a thread
pool that starts with the reactor. The browser handler drives Chromium over asyncio and works.)

The crawler. ``scrapy.utils.test.get_crawler`` applies and freezes the settings before any spider
exists. That suits a component that only reads settings (:func:`component_crawler`). The news
spider's ``from_crawler`` writes per-source settings (delay, robots, page budget, browser rendering)
at spider priority, which frozen settings refuse, so :func:`news_crawler` follows the order of
``Crawler.crawl``: the crawler from our settings (``crawler.run.crawl_process.build_settings``), the
spider through ``NewsSpider.from_crawler``, then the settings applied (stats, extensions) and frozen.
No engine is started: tests call what the engine would call, and send the signals it would send
(:func:`open_spider`, :func:`close_spider`).
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Headers, Request, Response
from scrapy.responsetypes import responsetypes
from scrapy.utils.reactor import install_reactor, is_asyncio_reactor_installed, is_reactor_installed
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from crawler.extraction.pool import ExtractionPool
from crawler.run.crawl_process import build_settings
from spiders.news import NewsSpider

ASYNCIO_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
RUN_TIMEOUT_S = 60.0
# For a crawler whose spider is opened and closed (open_spider, close_spider): AutoThrottle sets the
# engine's downloader delay on spider_opened, and without an engine there is no downloader to pace.
NO_ENGINE_SETTINGS = {"AUTOTHROTTLE_ENABLED": False}

T = TypeVar("T")


def asyncio_reactor() -> Any:
    """The installed asyncio reactor, installed now if no reactor is yet."""
    if not is_reactor_installed():
        install_reactor(ASYNCIO_REACTOR)
    if not is_asyncio_reactor_installed():
        from twisted.internet import reactor

        raise RuntimeError(
            f"another test installed {type(reactor).__name__}, but a crawl runs on {ASYNCIO_REACTOR}; "
            "find the test that imports twisted.internet.reactor first, or run these tests in their own pytest process"
        )
    from twisted.internet import reactor

    return reactor


def run(awaitable: Awaitable[T], timeout: float = RUN_TIMEOUT_S) -> T:
    """Run ``awaitable`` on the asyncio loop of the installed reactor until it is done (or ``timeout``)."""
    loop = asyncio_reactor()._asyncioEventloop
    asyncio.set_event_loop(loop)  # another test's asyncio.run() may have unset it; Scrapy looks it up

    async def bounded() -> T:
        return await asyncio.wait_for(awaitable, timeout)

    return loop.run_until_complete(bounded())


def collect(iterable: AsyncIterator[T]) -> list[T]:
    """Everything an async iterator (e.g. ``NewsSpider.start()``) yields."""

    async def gather() -> list[T]:
        return [value async for value in iterable]

    return run(gather())


def component_crawler(**settings: Any) -> Crawler:
    """A crawler with our settings (plus ``settings``), applied and frozen, and no spider."""
    asyncio_reactor()
    return get_crawler(settings_dict=build_settings(settings).copy_to_dict())


@functools.cache
def shared_pool() -> ExtractionPool:
    """One extraction worker for every in-process news spider of the test session (a pool per test
    would leave its workers running until the session ends: they stop when their owner does)."""
    pool = ExtractionPool(workers=1)
    atexit.register(pool.close)
    return pool


def news_crawler(settings: Mapping[str, Any] | None = None, **spider_args: Any) -> Crawler:
    """A crawler whose spider is the news spider, built in the order of ``Crawler.crawl``.

    ``spider_args`` are what the crawl process passes (``source=SourceConfig``) or what
    ``scrapy crawl news -a ...`` passes (``source=NAME, config=FILE`` or ``url=URL``); ``settings``
    are overrides at command-line priority, as ``-s NAME=VALUE``.
    """
    asyncio_reactor()
    crawler = Crawler(NewsSpider, build_settings(settings))
    crawler.spider = NewsSpider.from_crawler(crawler, **spider_args)
    crawler.spider.use_pool(shared_pool())
    crawler._apply_settings()  # what Crawler.crawl and get_crawler do once the spider exists
    return crawler


def open_spider(crawler: Crawler) -> None:
    """What the engine does when it opens the spider (after the pipelines are open).

    The crawler needs :data:`NO_ENGINE_SETTINGS`.
    """
    if crawler.settings.getbool("AUTOTHROTTLE_ENABLED"):
        raise ValueError("open_spider() without an engine needs a crawler built with NO_ENGINE_SETTINGS")
    crawler.stats.open_spider()
    run(crawler.signals.send_catch_log_async(signals.spider_opened, spider=crawler.spider))


def close_spider(crawler: Crawler, reason: str = "finished") -> None:
    """What the engine does when it closes the spider (after the pipelines are closed)."""
    run(crawler.signals.send_catch_log_async(signals.spider_closed, spider=crawler.spider, reason=reason))
    crawler.stats.close_spider(reason=reason)


def response_to(
    request: Request,
    body: bytes,
    content_type: str | None = "text/html; charset=utf-8",
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    flags: list[str] | None = None,
) -> Response:
    """The response a download handler gives for ``request``: its class chosen by ``responsetypes``, as
    the handlers choose it (HtmlResponse, XmlResponse, TextResponse or plain Response)."""
    all_headers = Headers({**({"Content-Type": content_type} if content_type else {}), **(headers or {})})
    response_class = responsetypes.from_args(headers=all_headers, url=request.url, body=body)
    return response_class(
        url=request.url, status=status, headers=all_headers, body=body, request=request, flags=flags or []
    )


def failure_from(request: Request, call: Callable[[], Any]) -> Failure:
    """The Failure an errback receives when ``call`` (a real Scrapy component's method; a coroutine is
    run to completion) raises for ``request``."""
    try:
        result = call()
        if inspect.isawaitable(result):
            run(result)
    except Exception:  # whatever it raised is what the errback gets
        failure = Failure()
    else:
        raise AssertionError(f"expected {call} to raise for {request}, it returned normally")
    failure.request = request  # as Scrapy's scraper sets it before calling the errback
    return failure
