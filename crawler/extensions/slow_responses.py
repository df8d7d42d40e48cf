"""Responses that arrive too slowly: cut off, and never retried once they began.

A server that sends its headers and then drips the body (by accident or on purpose, a "slowloris"
answer) would hold a download slot for ``DOWNLOAD_TIMEOUT`` seconds, and Scrapy's retries would
hold it four times over. Two rules, decided here and read by crawler.middlewares.backoff_retry:

- a response whose body stops arriving for ``NETWORK_IDLE_TIMEOUT`` seconds is cut off when its
  next bytes come (Scrapy's download handler offers no hook between chunks; ``DOWNLOAD_TIMEOUT``
  still bounds the whole response);
- a request whose response had begun (its headers arrived) is not retried after a timeout or a
  cut-off: a server that answers that slowly will answer slowly again. A timeout before any
  answer (a connection that never came) is retried as before.

Settings: ``NETWORK_IDLE_TIMEOUT`` (0: no idle cut-off), Scrapy's ``DOWNLOAD_TIMEOUT``.
"""

from __future__ import annotations

import time
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured, StopDownload

from crawler.network.responses import IDLE_CUT, LAST_BYTES, RESPONSE_STARTED, idle_gap


class SlowResponsesExtension:
    def __init__(self, crawler: Crawler, idle_timeout: float) -> None:
        self.stats = crawler.stats
        self.idle_timeout = idle_timeout

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SlowResponsesExtension:
        idle_timeout = crawler.settings.getfloat("NETWORK_IDLE_TIMEOUT")
        if idle_timeout < 0:
            raise NotConfigured("NETWORK_IDLE_TIMEOUT is negative")
        extension = cls(crawler, idle_timeout)
        crawler.signals.connect(extension.headers_received, signal=signals.headers_received)
        crawler.signals.connect(extension.bytes_received, signal=signals.bytes_received)
        return extension

    def headers_received(self, headers: Any, body_length: Any, request: Request, spider: Any) -> None:
        request.meta[RESPONSE_STARTED] = time.monotonic()

    def bytes_received(self, data: bytes, request: Request, spider: Any) -> None:
        now = time.monotonic()
        gap = idle_gap(request, now)
        request.meta[LAST_BYTES] = now
        if self.idle_timeout and gap > self.idle_timeout:
            request.meta[IDLE_CUT] = gap
            self.stats.inc_value("newsarchive/slow_responses_cut")
            raise StopDownload(fail=True)
