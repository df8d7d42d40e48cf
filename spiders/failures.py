"""Why a request failed, in words for people and as a ``ReasonKind`` for programs.

Decided from the exception's class and the request's meta, never from the exception's message.
Settings read: ``REDIRECT_MAX_TIMES`` and ``DOWNLOAD_MAXSIZE`` (they name the limits in the reasons).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)

# Scrapy's own class for it: the only way to tell a decompression bomb from other dropped requests.
from scrapy.utils._compression import _DecompressionMaxSizeExceeded
from twisted.internet import error as tx_error
from twisted.python.failure import Failure
from twisted.web.client import ResponseFailed, ResponseNeverReceived

from archive.models import ReasonKind
from crawler.middlewares.render_pages import BrowserLoadFailed
from crawler.network.responses import IDLE_CUT, response_began


def failure_reason(failure: Failure, settings: Any) -> tuple[str, ReasonKind]:
    """What went wrong with a request (in words, with the fix where there is one) and its kind."""
    meta = failure.request.meta
    if failure.check(BrowserLoadFailed):
        return str(failure.value), ReasonKind.CONNECTION_FAILED
    if failure.check(IgnoreRequest) and isinstance(failure.value.__cause__, _DecompressionMaxSizeExceeded):
        # Scrapy's HttpCompressionMiddleware: a Content-Encoding (gzip, br…) body inflating past the limit.
        limit = int(meta.get("download_maxsize", settings.getint("DOWNLOAD_MAXSIZE")) or 0)
        return (
            f"response inflates past DOWNLOAD_MAXSIZE ({limit} bytes) as it is decompressed (a compression bomb?); "
            f"if such pages matter, raise it (newsarchive crawl -s DOWNLOAD_MAXSIZE={limit * 2})"
        ), ReasonKind.TOO_LARGE
    if failure.check(IgnoreRequest):
        message = str(failure.value) or "request dropped"
        if redirects_exhausted(meta, settings.getint("REDIRECT_MAX_TIMES")):
            return f"too many redirects (a redirect loop?): {message}", ReasonKind.TOO_MANY_REDIRECTS
        return message, ReasonKind.DROPPED
    if IDLE_CUT in meta:
        return (
            f"the server stopped sending the response for {meta[IDLE_CUT]:.0f} s (NETWORK_IDLE_TIMEOUT is "
            f"{settings.getfloat('NETWORK_IDLE_TIMEOUT'):g} s): cut off, not retried"
        ), ReasonKind.TIMEOUT
    if failure_kind(failure) == ReasonKind.TIMEOUT and response_began(failure.request):
        timeout = meta.get("download_timeout", settings.getfloat("DOWNLOAD_TIMEOUT"))
        return (
            f"the response was still arriving after DOWNLOAD_TIMEOUT ({timeout:g} s): the server answers too slowly; "
            "not retried"
        ), ReasonKind.TIMEOUT
    limit = int(meta.get("download_maxsize", settings.getint("DOWNLOAD_MAXSIZE")) or 0)
    # Scrapy's HTTP download handlers cancel a download for one reason: the response outgrew
    # DOWNLOAD_MAXSIZE (announced by Content-Length, or while the body arrived).
    if failure.check(DownloadCancelledError) and limit > 0:
        return (
            f"response larger than DOWNLOAD_MAXSIZE ({limit} bytes); if such pages matter, raise it "
            f"(newsarchive crawl -s DOWNLOAD_MAXSIZE={limit * 2})"
        ), ReasonKind.TOO_LARGE
    kind = failure_kind(failure)
    return f"{failure.type.__name__}: {failure.getErrorMessage().strip() or silent_failure_words(failure, kind)}", kind


# What a failure means when its exception says nothing (Scrapy raises several without a message).
SILENT_FAILURES: tuple[tuple[type[BaseException], str], ...] = (
    (ResponseDataLossError, "the connection closed before the whole response arrived (fewer bytes than announced)"),
    (DownloadCancelledError, "the download was cancelled before the response arrived"),
)
KIND_WORDS: Mapping[ReasonKind, str] = {
    ReasonKind.TIMEOUT: "no answer in time",
    ReasonKind.DNS_LOOKUP: "the host name could not be resolved",
    ReasonKind.CONNECTION_FAILED: "the connection failed",
}


def silent_failure_words(failure: Failure, kind: ReasonKind) -> str:
    """Words for a failure whose exception has no message, so that no reason is ever blank."""
    for exception_type, words in SILENT_FAILURES:
        if failure.check(exception_type):
            return words
    return KIND_WORDS.get(kind, "the download failed")


def redirects_exhausted(meta: Mapping[str, Any], max_redirect_times: int) -> bool:
    """Whether RedirectMiddleware dropped this request for following too many redirects.

    It refuses a redirect once the request's ``redirect_ttl`` has run out or one more would pass
    REDIRECT_MAX_TIMES; both live in the request's meta, which the middleware itself sets.
    """
    if "redirect_ttl" not in meta:
        return False  # never went through RedirectMiddleware's redirect step
    return meta["redirect_ttl"] <= 0 or meta.get("redirect_times", 0) + 1 > max_redirect_times


def failure_kind(failure: Failure) -> ReasonKind:
    """The kind of a download failure, from its exception class (Scrapy's download handler
    exceptions, the Twisted errors under them, Playwright's for rendered pages)."""
    # Imported here, not at the top: only a crawl that met an error needs Playwright's classes.
    from playwright.async_api import TimeoutError as BrowserTimeoutError

    if failure.check(DownloadTimeoutError, tx_error.TimeoutError, tx_error.TCPTimedOutError, BrowserTimeoutError):
        return ReasonKind.TIMEOUT
    if failure.check(CannotResolveHostError, tx_error.DNSLookupError):
        return ReasonKind.DNS_LOOKUP
    if failure.check(
        DownloadConnectionRefusedError,
        DownloadFailedError,
        ResponseDataLossError,
        tx_error.ConnectError,
        tx_error.ConnectionLost,
        ResponseFailed,
        ResponseNeverReceived,
    ):
        return ReasonKind.CONNECTION_FAILED
    return ReasonKind.DOWNLOAD_FAILED
