"""Every response the crawl receives, written as WARC records (crawler.warc), with its pointer in the request's meta.

Sits next to the downloader (``DOWNLOADER_MIDDLEWARES`` 990): its ``process_response`` runs first,
so it sees each answer as it came off the wire, before redirects are followed, errors raised or
``Content-Encoding`` decoded (HttpCompressionMiddleware, 590): pages, feeds, sitemaps, robots.txt,
redirects, error statuses, 304s, and browser pages (scrapy-playwright's rendered DOM). The records of
each exchange are crawler.warc.capture's; the pointer of the one the spider's body came from is put
in ``request.meta["warc"]`` (``{"file", "offset", "length"}``), which the spider copies into its
``Fetch`` (``fetches.warc_file``, ``warc_offset``, ``warc_length``).

An answer that no download produced (robots.txt, which crawler.middlewares.robots_txt fetched once
and hands to the spider's own request again) is not written twice: it gets the pointer of the
download that fetched it.

When the spider opens: the WARC folder (``WARC_DIR``, else ``<archive stem>-warc`` beside
``ARCHIVE_DB``) is repaired first (crawler.warc.writer.recover: files a killed crawl left), then the
writer is made for the source and run (the run id the archive pipeline opened, ``newsarchive/run_id``
in the stats, or ``NEWSARCHIVE_RUN_ID``); it is closed when the spider closes. Before the archive
commits a batch, the records written so far are synced to disk (``os.fsync``, on the
``crawler.signals.archive_opened`` hook), so no committed pointer can outlive its record in a power loss. Stats:
``newsarchive/warc/records``, ``newsarchive/warc/bytes``, ``newsarchive/warc/revisits``,
``newsarchive/warc/files``, ``newsarchive/warc/recovered``, ``newsarchive/warc/errors``.
Settings: ``WARC_ENABLED`` (``NotConfigured`` when off), ``WARC_DIR``, ``WARC_MAX_SIZE``,
``ARCHIVE_DB``, ``NEWSARCHIVE_RUN_ID``, ``ROBOTSTXT_OBEY``, ``USER_AGENT``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from crawler.signals import archive_opened
from crawler.warc.capture import CrawlRecorder, Exchange, warcinfo_fields
from crawler.warc.naming import warc_dir_for
from crawler.warc.previous import PreviousCopies
from crawler.warc.writer import WarcWriter, recover

logger = logging.getLogger(__name__)
SENT = "warc_sent"  # meta: the request reached the downloader through this middleware
BROWSER_ERROR_PAGE = "chrome-error:"


def header_pairs(headers: Any) -> list[tuple[str, str]]:
    """Scrapy ``Headers`` as (name, value) pairs, one per value."""
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, values in headers.items() for value in values]


def exchange_of(request: Request, response: Response) -> Exchange:
    """The plain data crawler.warc.capture writes, from Scrapy's request and response."""
    meta = request.meta
    visit = meta.get("visit")
    known = getattr(visit, "known", None)
    return Exchange(
        url=response.url,
        status=response.status,
        headers=header_pairs(response.headers),
        body=response.body,
        method=request.method,
        request_headers=header_pairs(request.headers),
        request_body=request.body or b"",
        protocol=response.protocol,
        ip_address=str(response.ip_address) if response.ip_address is not None else None,
        fetch_mode="browser" if meta.get("playwright") else "plain",
        found_by=meta.get("found_by"),
        depth=meta.get("hops"),
        referer=meta.get("referer_url"),
        truncated="download_stopped" in response.flags,
        # Its previous copy is looked up when the crawl state fetched it before, and for the requests the
        # spider did not make (robots.txt, which the robots.txt middleware fetches itself).
        known=visit is None or bool(known is not None and getattr(known, "fetched", False)),
    )


class WarcRecordsMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.recorder: CrawlRecorder | None = None
        self.previous: PreviousCopies | None = None
        self.reused: dict[str, dict[str, Any]] = {}  # robots.txt URL -> the pointer of its download
        self.failed = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcRecordsMiddleware:
        if not crawler.settings.getbool("WARC_ENABLED"):
            raise NotConfigured("WARC_ENABLED is off")
        if not crawler.settings.get("ARCHIVE_DB") and not crawler.settings.get("WARC_DIR"):
            # A distributed crawl's worker never opens the archive: no folder beside it to write to.
            raise NotConfigured("no ARCHIVE_DB to write WARC files beside, and no WARC_DIR")
        middleware = cls(crawler)
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(middleware.archive_opened, signal=archive_opened)
        return middleware

    def archive_opened(self, archive: Any) -> None:
        archive.before_commit.append(self.sync)

    def sync(self) -> None:
        """The records written so far on disk, before the archive commits their pointers."""
        if self.recorder is None or self.failed:
            return
        try:
            self.recorder.writer.sync()
        except OSError as error:
            self.failed = True
            self.stats.inc_value("newsarchive/warc/errors")
            logger.error(
                "WARC records could not be synced to disk (%s): this crawl writes no more of them",
                error,
                extra={"event": "warc_failed"},
            )

    def spider_opened(self, spider: Any = None) -> None:
        settings = self.crawler.settings
        archive = Path(settings.get("ARCHIVE_DB"))
        warc_dir = warc_dir_for(archive, settings.get("WARC_DIR") or "")
        recovered = recover(warc_dir)
        for result in recovered:
            logger.warning(
                "WARC file %s left by a killed crawl: %s",
                result.file,
                "removed (no complete record)"
                if result.removed
                else f"cut back to its last complete record ({result.records} records, {result.cut} bytes cut)",
                extra={"event": "warc_recovered"},
            )
        if recovered:
            self.stats.set_value("newsarchive/warc/recovered", len(recovered))
        spider = spider or self.crawler.spider
        source = getattr(getattr(spider, "source", None), "name", None) or getattr(spider, "name", "crawl")
        run_id = (
            self.stats.get_value("newsarchive/run_id")
            or settings.getint("NEWSARCHIVE_RUN_ID")
            or time.strftime("%Y%m%d%H%M%S", time.gmtime())
        )
        writer = WarcWriter(
            warc_dir,
            source,
            run_id,
            max_size=settings.getint("WARC_MAX_SIZE"),
            info=warcinfo_fields(
                source,
                run_id,
                archive.name,
                obey_robots=settings.getbool("ROBOTSTXT_OBEY"),
                user_agent=settings.get("USER_AGENT"),
            ),
        )
        self.previous = PreviousCopies(archive, warc_dir)
        self.recorder = CrawlRecorder(writer, source, run_id, previous=self.previous)

    def spider_closed(self, spider: Any = None) -> None:
        if self.recorder is not None:
            self.recorder.writer.close()
            self.stats.set_value("newsarchive/warc/files", len(self.recorder.writer.files))
            self.recorder = None
        if self.previous is not None:
            self.previous.close()
            self.previous = None

    def process_request(self, request: Request) -> None:
        request.meta.pop("warc", None)  # a redirect's copy of its hop's pointer
        request.meta[SENT] = True

    def process_response(self, request: Request, response: Response) -> Response:
        if self.recorder is None:
            return response
        if not request.meta.pop(SENT, False):
            pointer = self.reused.get(response.url)
            if pointer is not None:
                request.meta["warc"] = pointer
            return response
        if response.url.startswith(BROWSER_ERROR_PAGE) or self.failed:
            return response
        try:
            recorded = self.recorder.record(exchange_of(request, response))
        except OSError as error:
            self.failed = True  # a full disk: the crawl goes on, its later answers are not written
            self.stats.inc_value("newsarchive/warc/errors")
            logger.error(
                "WARC records could not be written (%s): this crawl writes no more of them",
                error,
                extra={"event": "warc_failed"},
            )
            return response
        pointer = recorded.pointer.as_meta()
        request.meta["warc"] = pointer
        if urlsplit(response.url).path == "/robots.txt":
            self.reused[response.url] = pointer
        writer = self.recorder.writer
        self.stats.set_value("newsarchive/warc/records", writer.records)  # warcinfo records included
        self.stats.set_value("newsarchive/warc/bytes", writer.bytes_written)
        if recorded.kind == "revisit":
            self.stats.inc_value("newsarchive/warc/revisits")
        return response
