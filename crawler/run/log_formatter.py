"""Scrapy's log lines about items, naming the item instead of printing it.

Scrapy's ``LogFormatter`` puts the whole item into the line when an item fails in a pipeline, is
dropped, or is scraped (the last at DEBUG): for a :class:`crawler.items.PageItem` that is the page's
raw body and its extracted text, megabytes in one log line (a failing archive once wrote a 7.6 MB
line per page, an 18 MB run log on a disk that was already full). :class:`ItemNamingLogFormatter`
keeps Scrapy's messages, levels and tracebacks and replaces the item with :func:`describe_item`:
its kind, its source and its URL, at most ``MAX_DESCRIPTION_CHARS``. Setting: ``LOG_FORMATTER``.
"""

from __future__ import annotations

from typing import Any

from scrapy.logformatter import LogFormatter, LogFormatterResult

MAX_DESCRIPTION_CHARS = 500


def describe_item(item: Any) -> str:
    """One short line naming an item: ``PageItem example (https://…, HTTP 200, 25,431 bytes)``."""
    kind = type(item).__name__
    source = getattr(item, "source", None)
    fetch = getattr(item, "fetch", None)
    if fetch is not None:
        details = [str(fetch.final_url or fetch.url)]
        if fetch.status is not None:
            details.append(f"HTTP {fetch.status}")
        if fetch.bytes:
            details.append(f"{fetch.bytes:,} bytes")
    elif getattr(item, "sitemap_url", None) is not None:
        details = [str(item.sitemap_url), f"{len(item.urls):,} URLs"]
    elif getattr(item, "url", None) is not None:
        details = [str(item.url)]
    else:
        details = [repr(item)]
    described = f"{kind} {source} ({', '.join(details)})" if source else f"{kind} ({', '.join(details)})"
    if len(described) > MAX_DESCRIPTION_CHARS:
        described = described[: MAX_DESCRIPTION_CHARS - 1] + "…"
    return described


def _named(result: LogFormatterResult, item: Any) -> LogFormatterResult:
    args = dict(result.get("args") or {})
    args["item"] = describe_item(item)
    return {**result, "args": args}


class ItemNamingLogFormatter(LogFormatter):
    """Scrapy's log formatter with every item named by :func:`describe_item`, never printed whole."""

    def scraped(self, item: Any, response: Any, spider: Any) -> LogFormatterResult:
        return _named(super().scraped(item, response, spider), item)

    def dropped(self, item: Any, exception: BaseException, response: Any, spider: Any) -> LogFormatterResult:
        return _named(super().dropped(item, exception, response, spider), item)

    def item_error(self, item: Any, exception: BaseException, response: Any, spider: Any) -> LogFormatterResult:
        return _named(super().item_error(item, exception, response, spider), item)
