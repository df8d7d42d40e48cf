"""The WARC records of one exchange, and the pointer the archive keeps of it.

A plain-HTTP answer is written as a ``response`` record (status line, the headers the server sent,
the body as received: still in its ``Content-Encoding``), a ``request`` record (the request line and
headers as sent) concurrent to it, and a ``metadata`` record (``application/warc-fields``: how the
URL was found, its depth, the page that led to it, fetch mode, source, run). The body Scrapy hands
on is already de-chunked, so a ``Transfer-Encoding`` header is kept as ``X-Archive-Orig-Transfer-Encoding``
(a reader would otherwise try to de-chunk it again).

Instead of a ``response``, a ``revisit`` record (HTTP headers only) is written for

- a ``304 Not Modified``: profile ``server-not-modified``, referring to the previous copy of the URL
  when the archive has one (``previous``);
- a ``200`` whose payload is byte-identical (the same ``WARC-Payload-Digest``, sha1 in base32) to a
  response stored earlier in this crawl (a bounded LRU of digests), or to the previous copy of the
  same URL: profile ``identical-payload-digest``.

A revisit names what it refers to with the standard ``WARC-Refers-To`` (record id),
``WARC-Refers-To-Target-URI`` and ``WARC-Refers-To-Date``, and with newsarchive's own
``WARC-Refers-To-Filename``, ``WARC-Refers-To-Offset`` and ``WARC-Refers-To-Length`` (its pointer),
which crawler.warc.reader.resolve_revisit follows.

A page rendered in the browser is written as a ``resource`` record (the rendered DOM, ``text/html;
charset=utf-8``) and a ``metadata`` record saying it was rendered. The pointer of an exchange is its
``response``, ``revisit`` or ``resource`` record: the one the spider's body came from.
"""

from __future__ import annotations

import base64
import hashlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from io import BytesIO
from typing import Any
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders

from crawler.warc.reader import REFERS_TO_FILENAME, REFERS_TO_LENGTH, REFERS_TO_OFFSET, StoredResponse
from crawler.warc.writer import Pointer, WarcWriter

PROFILE_IDENTICAL = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
PROFILE_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
MAX_DIGESTS = 20_000  # payload digests remembered per crawl (~150 bytes each)
RENAMED_HEADERS = {"transfer-encoding": "X-Archive-Orig-Transfer-Encoding"}


@dataclass
class Exchange:
    """One request and its answer, as plain data (crawler.middlewares.warc_records builds it from Scrapy's)."""

    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes = field(repr=False)
    method: str = "GET"
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    request_body: bytes = field(default=b"", repr=False)
    protocol: str | None = None  # "HTTP/1.1"
    ip_address: str | None = None
    fetch_mode: str = "plain"  # plain | browser
    found_by: str | None = None
    depth: int | None = None
    referer: str | None = None
    truncated: bool = False  # the download was stopped before the body's end
    known: bool = False  # the crawl state has fetched this URL before: its previous copy may be looked up


@dataclass(frozen=True)
class Recorded:
    """What was written for an exchange: the pointer the archive keeps, and the record's kind."""

    pointer: Pointer
    kind: str  # response | revisit | resource
    bytes: int  # every record of the exchange


@dataclass(frozen=True)
class Original:
    """A stored response a revisit can refer to."""

    uri: str
    date: str
    record_id: str | None
    payload_digest: str | None
    pointer: Pointer


def payload_digest(body: bytes) -> str:
    """``sha1:<base32>``, as warcio writes ``WARC-Payload-Digest``."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


def original_of(stored: StoredResponse) -> Original | None:
    """A stored record as a revisit's target (a revisit itself leads to what it refers to)."""
    if stored.file is None or stored.offset is None or stored.length is None:
        return None
    if stored.kind == "revisit":
        location = (
            stored.warc_header(REFERS_TO_FILENAME),
            stored.warc_header(REFERS_TO_OFFSET),
            stored.warc_header(REFERS_TO_LENGTH),
        )
        if not all(location) or not stored.refers_to:
            return None
        uri, date = stored.refers_to
        return Original(
            uri,
            date,
            stored.warc_header("WARC-Refers-To"),
            stored.payload_digest,
            Pointer(str(location[0]), int(str(location[1])), int(str(location[2]))),
        )
    if stored.kind != "response":
        return None
    return Original(
        stored.url,
        stored.date,
        stored.record_id,
        stored.payload_digest,
        Pointer(stored.file, stored.offset, stored.length),
    )


class CrawlRecorder:
    """Writes each exchange of one crawl; ``previous(url)`` looks up the archive's last copy of a known URL."""

    def __init__(
        self,
        writer: WarcWriter,
        source: str,
        run_id: int | str,
        previous: Callable[[str], Original | None] | None = None,
        max_digests: int = MAX_DIGESTS,
    ) -> None:
        self.writer = writer
        self.builder = writer.builder
        self.source = source
        self.run_id = run_id
        self.previous = previous
        self.max_digests = max_digests
        self.digests: OrderedDict[str, Original] = OrderedDict()
        self.records = 0
        self.bytes = 0
        self.revisits = 0

    def record(self, exchange: Exchange) -> Recorded:
        if exchange.fetch_mode == "browser":
            return self._rendered(exchange)
        return self._plain(exchange)

    # -- plain HTTP ---------------------------------------------------------------------------

    def _plain(self, exchange: Exchange) -> Recorded:
        http_headers = response_headers(exchange)
        common = {"WARC-IP-Address": exchange.ip_address} if exchange.ip_address else {}
        if exchange.truncated:
            common["WARC-Truncated"] = "unspecified"
        kind = "response"
        if exchange.status == 304:
            original = self._previous(exchange)
            record = self._revisit(exchange.url, http_headers, PROFILE_NOT_MODIFIED, original, None, common)
            kind = "revisit"
        else:
            digest = payload_digest(exchange.body)
            original = None
            if exchange.status == 200 and exchange.body and not exchange.truncated:
                original = self.digests.get(digest)
                if original is not None:
                    self.digests.move_to_end(digest)
                else:
                    previous = self._previous(exchange)
                    if previous is not None and previous.payload_digest == digest:
                        original = previous
            if original is not None:
                record = self._revisit(exchange.url, http_headers, PROFILE_IDENTICAL, original, digest, common)
                kind = "revisit"
            else:
                record = self.builder.create_warc_record(
                    exchange.url,
                    "response",
                    payload=BytesIO(exchange.body),
                    length=len(exchange.body),
                    http_headers=http_headers,
                    warc_headers_dict={**common, "WARC-Payload-Digest": digest},
                )
        pointer = self._write(record, rotate=False)
        written = pointer.length
        response_id = record.rec_headers.get_header("WARC-Record-ID")
        if kind == "response" and exchange.status == 200 and exchange.body and not exchange.truncated:
            self._remember(record, pointer)
        if kind == "revisit":
            self.revisits += 1
        written += self._write(self._request(exchange, response_id), rotate=False).length
        written += self._write(self._metadata(exchange, response_id, rendered=False)).length
        return Recorded(pointer, kind, written)

    def _previous(self, exchange: Exchange) -> Original | None:
        if not exchange.known or self.previous is None:
            return None
        try:
            return self.previous(exchange.url)
        except Exception:  # the archive could not say: no reference, the record is written all the same
            return None

    def _revisit(
        self,
        url: str,
        http_headers: StatusAndHeaders,
        profile: str,
        original: Original | None,
        digest: str | None,
        common: dict[str, str],
    ) -> Any:
        warc_headers: dict[str, str] = {**common, "WARC-Profile": profile}
        if original is not None:
            if original.record_id:
                warc_headers["WARC-Refers-To"] = original.record_id
            warc_headers["WARC-Refers-To-Target-URI"] = original.uri
            warc_headers["WARC-Refers-To-Date"] = original.date
            warc_headers[REFERS_TO_FILENAME] = original.pointer.file
            warc_headers[REFERS_TO_OFFSET] = str(original.pointer.offset)
            warc_headers[REFERS_TO_LENGTH] = str(original.pointer.length)
        digest = digest or (original.payload_digest if original is not None else None)
        if digest:
            warc_headers["WARC-Payload-Digest"] = digest
        return self.builder.create_warc_record(
            url, "revisit", payload=BytesIO(b""), length=0, http_headers=http_headers, warc_headers_dict=warc_headers
        )

    def _request(self, exchange: Exchange, response_id: str) -> Any:
        parts = urlsplit(exchange.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = list(exchange.request_headers)
        if not any(name.lower() == "host" for name, _ in headers):
            headers.insert(0, ("Host", parts.netloc))
        http = StatusAndHeaders(f"{exchange.method} {target} HTTP/1.1", headers, is_http_request=True)
        return self.builder.create_warc_record(
            exchange.url,
            "request",
            payload=BytesIO(exchange.request_body),
            length=len(exchange.request_body),
            http_headers=http,
            warc_headers_dict={"WARC-Concurrent-To": response_id},
        )

    # -- the browser ----------------------------------------------------------------------------

    def _rendered(self, exchange: Exchange) -> Recorded:
        record = self.builder.create_warc_record(
            exchange.url,
            "resource",
            payload=BytesIO(exchange.body),
            length=len(exchange.body),
            warc_content_type="text/html; charset=utf-8",
        )
        pointer = self._write(record, rotate=False)
        resource_id = record.rec_headers.get_header("WARC-Record-ID")
        written = pointer.length + self._write(self._metadata(exchange, resource_id, rendered=True)).length
        return Recorded(pointer, "resource", written)

    # -- both -----------------------------------------------------------------------------------

    def _metadata(self, exchange: Exchange, concurrent_to: str, rendered: bool) -> Any:
        fields: list[tuple[str, Any]] = [
            ("found-by", exchange.found_by),
            ("depth", exchange.depth),
            ("via", exchange.referer),
            ("fetch-mode", exchange.fetch_mode),
            ("source", self.source),
            ("run-id", self.run_id),
        ]
        if rendered:
            fields += [
                ("rendered", "the DOM after the page's scripts ran, in headless Chromium (scrapy-playwright)"),
                ("http-status", exchange.status),
            ]
        block = "".join(f"{name}: {_field(value)}\r\n" for name, value in fields if value not in (None, ""))
        payload = block.encode("utf-8")
        return self.builder.create_warc_record(
            exchange.url,
            "metadata",
            payload=BytesIO(payload),
            length=len(payload),
            warc_content_type="application/warc-fields",
            warc_headers_dict={"WARC-Concurrent-To": concurrent_to},
        )

    def _write(self, record: Any, rotate: bool = True) -> Pointer:
        pointer = self.writer.write(record, rotate=rotate)
        self.records += 1
        self.bytes += pointer.length
        return pointer

    def _remember(self, record: Any, pointer: Pointer) -> None:
        headers = record.rec_headers
        digest = headers.get_header("WARC-Payload-Digest")
        if not digest:
            return
        self.digests[digest] = Original(
            headers.get_header("WARC-Target-URI"),
            headers.get_header("WARC-Date"),
            headers.get_header("WARC-Record-ID"),
            digest,
            pointer,
        )
        while len(self.digests) > self.max_digests:
            self.digests.popitem(last=False)


def response_headers(exchange: Exchange) -> StatusAndHeaders:
    """The status line and headers of the answer, as the server sent them (Transfer-Encoding renamed)."""
    try:
        phrase = HTTPStatus(exchange.status).phrase
    except ValueError:
        phrase = ""
    headers = [(RENAMED_HEADERS.get(name.lower(), name), value) for name, value in exchange.headers]
    statusline = f"{exchange.status} {phrase}".strip()
    return StatusAndHeaders(statusline, headers, protocol=exchange.protocol or "HTTP/1.1")


def _field(value: Any) -> str:
    return " ".join(str(value).split())  # one line: a warc-fields value has no line breaks


def software() -> str:
    """``newsarchive/<version> warcio/<version>``."""
    from importlib.metadata import PackageNotFoundError, version

    names = []
    for package in ("newsarchive", "warcio"):
        try:
            names.append(f"{package}/{version(package)}")
        except PackageNotFoundError:
            names.append(package)
    return " ".join(names)


def warcinfo_fields(
    source: str, run_id: int | str, archive_name: str, *, obey_robots: bool = True, user_agent: str | None = None
) -> dict[str, Any]:
    """The ``warcinfo`` record's fields of a crawl's files (the writer adds ``hostname``)."""
    return {
        "software": software(),
        "format": "WARC File Format 1.1",
        "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
        "isPartOf": source,
        "source": source,
        "run-id": run_id,
        "archive": archive_name,
        "robots": "obey" if obey_robots else "ignore",
        "http-header-user-agent": user_agent,
    }
