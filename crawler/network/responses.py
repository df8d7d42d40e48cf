"""What the crawl notes on a request while its response arrives (request meta keys), and what they tell.

Written by crawler.extensions.slow_responses (headers and body bytes as they arrive), read by
crawler.middlewares.backoff_retry (a response that had begun is not retried after a timeout) and
spiders.failures (the reason of a cut-off). Plain data and functions: no Scrapy, no settings.
"""

from __future__ import annotations

from typing import Any

RESPONSE_STARTED = "newsarchive_response_started"  # meta: monotonic time the headers arrived
LAST_BYTES = "newsarchive_last_bytes"  # meta: monotonic time the last body bytes arrived
IDLE_CUT = "newsarchive_idle_cut"  # meta: seconds the body had stopped when it was cut off


def response_began(request: Any) -> bool:
    """Whether the server had begun to answer this request (its headers arrived)."""
    return RESPONSE_STARTED in request.meta


def idle_gap(request: Any, now: float) -> float:
    """Seconds since the response's last bytes (or its headers)."""
    last = request.meta.get(LAST_BYTES, request.meta.get(RESPONSE_STARTED, now))
    return now - last
