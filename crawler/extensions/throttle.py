"""AutoThrottle that follows the source's settings and is not slowed by a site's ordinary error pages.

Scrapy's AutoThrottle aims at ``AUTOTHROTTLE_TARGET_CONCURRENCY`` requests in flight per host; its
default, 1.0, caps a crawl at about one request per response latency whatever the source's
``concurrency`` says. The spider sets the target to the source's ``concurrency`` (at spider
priority; ``-s AUTOTHROTTLE_TARGET_CONCURRENCY=…`` still wins), so ``concurrency = 16`` means
sixteen in flight, while ``download_delay`` stays the floor: the polite defaults (``concurrency =
2``, ``download_delay = 1.0``) still send at most one request a second.

Scrapy also never lowers the delay on a non-200 answer, so a site whose links lead to many 404s,
redirects or 304s keeps a crawl at its start delay. Here only answers that say the server is in
trouble (429, 408, 5xx) are kept from lowering it; any other answer is a fair measure of the
server's speed. A page rendered in the browser never adjusts it: its latency (seconds of
JavaScript) says nothing about the server, and once counted it slowed every plain fetch of the
source. The policy is :func:`next_delay`; the class is a thin shell over Scrapy's.

Settings: ``AUTOTHROTTLE_ENABLED`` (off: ``NotConfigured``), ``AUTOTHROTTLE_TARGET_CONCURRENCY``,
``AUTOTHROTTLE_START_DELAY``, ``AUTOTHROTTLE_MAX_DELAY``, ``DOWNLOAD_DELAY`` (the floor).
"""

from __future__ import annotations

from typing import Any

from scrapy.extensions.throttle import AutoThrottle

SERVER_TROUBLE = frozenset({408, 429})  # with every 5xx: the server asks us to slow down


def is_server_trouble(status: int) -> bool:
    """Whether an answer says the server is overloaded or failing (the delay may grow, never shrink)."""
    return status in SERVER_TROUBLE or status >= 500


def next_delay(
    delay: float, latency: float, target_concurrency: float, min_delay: float, max_delay: float, status: int
) -> float:
    """The slot's next delay after an answer that took ``latency`` seconds.

    Scrapy's policy (move halfway towards ``latency / target_concurrency``, at once when that is
    longer, within ``[min_delay, max_delay]``), except that only a server-trouble answer is kept
    from lowering the delay.
    """
    target = latency / target_concurrency
    new = max(target, (delay + target) / 2.0)
    new = min(max(min_delay, new), max_delay)
    if is_server_trouble(status) and new <= delay:
        return delay
    return new


class ThrottleExtension(AutoThrottle):
    """Scrapy's AutoThrottle with :func:`next_delay` as its policy; a page rendered in the browser
    does not adjust the delay (its latency is the browser's work, not the server's answer)."""

    def _response_downloaded(self, response: Any, request: Any, spider: Any) -> None:
        if request.meta.get("playwright"):
            return
        super()._response_downloaded(response, request, spider)

    def _adjust_delay(self, slot: Any, latency: float, response: Any) -> None:
        slot.delay = next_delay(
            slot.delay, latency, self.target_concurrency, self.mindelay, self.maxdelay, response.status
        )
