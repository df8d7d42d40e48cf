"""Scrapy's log lines about items, naming the item instead of printing it.

Scrapy's ``LogFormatter`` puts the whole item into the line when an item fails in a pipeline, is
dropped, or is scraped (the last at DEBUG): for a :class:`crawler.items.PageItem` that is the page's
raw body and its extracted text, megabytes in one log line (a failing archive once wrote a 7.6 MB
line per page, an 18 MB run log on a disk that was already full). :class:`ItemNamingLogFormatter`
keeps Scrapy's messages, levels and tracebacks and replaces the item with :func:`describe_item`:
its kind, its source and its URL (at most ``crawler.items.MAX_DESCRIPTION_CHARS``). Setting: ``LOG_FORMATTER``.
"""

from __future__ import annotations

from typing import Any

from scrapy.logformatter import LogFormatter, LogFormatterResult

from crawler.items import describe_item


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
