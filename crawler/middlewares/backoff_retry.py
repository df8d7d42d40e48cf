"""Retries that back off: honour ``Retry-After`` on 429/503, else wait exponentially longer.

Scrapy's own RetryMiddleware re-queues a failed request at once, which hammers a server that
has just asked us to slow down. This middleware waits before handing the retry back, holding
the download slot so the whole host slows down too. A download that timed out after its response
had begun (crawler.extensions.slow_responses) is not retried: a server that answers that slowly
will do it again, and each try would hold a slot for ``DOWNLOAD_TIMEOUT``. Settings: ``RETRY_*``
(Scrapy's), ``BACKOFF_BASE_DELAY``, ``BACKOFF_MAX_DELAY``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.task import deferLater

from crawler.network.responses import LAST_BYTES, RESPONSE_STARTED, response_began


def retry_after_seconds(value: str | bytes | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent or bad."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff_delay(retry_times: int, retry_after: float | None, base: float, cap: float) -> float:
    """The wait before retry number ``retry_times + 1``: the server's word if it gave one, else base·2ⁿ."""
    delay = retry_after if retry_after is not None else base * (2**retry_times)
    return min(delay, cap)


class BackoffRetryMiddleware(RetryMiddleware):
    """RetryMiddleware that sleeps before retrying an HTTP status it retries."""

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.base_delay = settings.getfloat("BACKOFF_BASE_DELAY")
        self.max_delay = settings.getfloat("BACKOFF_MAX_DELAY")

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        retry_times = request.meta.get("retry_times", 0)
        if retry_times >= request.meta.get("max_retry_times", self.max_retry_times):
            return self._retry(request, f"HTTP {response.status}") or response
        delay = backoff_delay(
            retry_times,
            retry_after_seconds(response.headers.get("Retry-After")),
            self.base_delay,
            self.max_delay,
        )
        if delay > 0:
            self.crawler.stats.inc_value("backoff/waits")
            self.crawler.stats.inc_value("backoff/wait_seconds", delay)
            from twisted.internet import reactor  # the running one; importing earlier would install a default

            await maybe_deferred_to_future(deferLater(reactor, delay, lambda: None))
        return self._retry(request, f"HTTP {response.status}") or response

    def process_exception(self, request: Request, exception: Exception, spider: object = None) -> Request | None:
        if isinstance(exception, self.exceptions_to_retry) and response_began(request):
            self.crawler.stats.inc_value("newsarchive/slow_responses_not_retried")
            return None  # the server answered, too slowly: it would again
        return super().process_exception(request, exception)

    def _retry(self, request: Request, reason: object) -> Request | None:
        retry = super()._retry(request, reason)
        if retry is not None:
            # The new try starts afresh: what the last answer did is no evidence against it.
            for key in (RESPONSE_STARTED, LAST_BYTES):
                retry.meta.pop(key, None)
        return retry
