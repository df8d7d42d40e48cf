"""Stop downloading a page as soon as its headers say it is not HTML.

Article candidates (requests with ``meta["kind"] == "page"``) whose Content-Type is a PDF, an
image, a video… are cut off after the headers, so a crawl never pays for their bodies; the
spider records them as skipped. No settings; remove it from ``EXTENSIONS`` to turn it off.
"""

from __future__ import annotations

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import StopDownload

HTML_TYPES = ("text/html", "application/xhtml+xml")


def is_html_content_type(content_type: str | None) -> bool:
    """True for HTML or when the server did not say (then the body decides)."""
    if not content_type:
        return True
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type in HTML_TYPES or media_type in ("", "text/plain", "application/octet-stream")


class SkipNonHtmlExtension:
    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SkipNonHtmlExtension:
        extension = cls(crawler)
        crawler.signals.connect(extension.headers_received, signal=signals.headers_received)
        return extension

    def headers_received(self, headers, body_length, request: Request, spider) -> None:
        if request.meta.get("kind") != "page":
            return
        content_type = headers.get(b"Content-Type", b"").decode("latin-1")
        if not is_html_content_type(content_type):
            self.stats.inc_value("newsarchive/skipped_non_html")
            raise StopDownload(fail=False)
