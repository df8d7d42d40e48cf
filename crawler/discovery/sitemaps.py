"""Read XML sitemaps, sitemap indexes and Google News sitemaps.

Scrapy's own Sitemap class drops nested elements, so the ``news:`` fields (title, publication
date, language, keywords) would be lost; this reads them with lxml, tolerating broken XML.

Hostile sitemaps cost bounded memory and time. The body is read as a stream: a gzip body (raw
``.xml.gz``, any number of gzip members) is inflated a chunk at a time straight into lxml's push
parser, whose target builds no tree: each ``<url>``/``<sitemap>`` entry's fields are kept as its
elements end, so neither the inflated document nor a tree of it is ever held. Reading stops

* with :class:`SitemapError` once more than ``max_bytes`` (:data:`MAX_UNZIPPED_BYTES`, the sitemap
  protocol's 50 MB) have been inflated or read: a 10 GB gzip bomb costs what 50 MB of parsing costs;
* with :class:`SitemapError` past ``max_tags`` markup tags (:data:`MAX_TAGS`), which bounds the
  parsing time of 50 MB of tiny elements;
* at the first element, with :class:`SitemapError`, when the document is not a sitemap (an HTML page);
* after ``max_entries`` (:data:`MAX_ENTRIES`, the protocol's 50,000 URLs) entries: the rest are not
  read, and ``Sitemap.truncated`` says so.

A body sent with ``Content-Encoding: gzip`` is inflated before it gets here by Scrapy's
HttpCompressionMiddleware, in chunks, up to ``DOWNLOAD_MAXSIZE``. External entities are never
loaded (``resolve_entities=False``, ``no_network``); internal ones are bounded by libxml2's
entity-amplification limit (a "billion laughs" document stops the parser); libxml2's default
nesting limit (256) stays on (no ``huge_tree``: a sitemap nests four deep). No settings of its own:
the limits are parameters with the module defaults above (the spider bounds index nesting with
``DISCOVERY_SITEMAP_MAX_DEPTH``).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

# The sitemap protocol's own limits (sitemaps.org: 50,000 URLs, 50 MB uncompressed).
MAX_UNZIPPED_BYTES = 50 * 1024 * 1024
MAX_ENTRIES = 50_000
# Markup tags a sitemap may hold, start and end tags counted ("<"): 40 for each of MAX_ENTRIES
# entries (a Google News entry has about 20, a plain one 6). Parsing costs up to ~0.8 s a million,
# in the crawl process, whose downloads wait meanwhile.
MAX_TAGS = 2_000_000
# Compressed bytes handed to zlib at a time, and most bytes it may inflate from them in one call:
# what stays in memory of the stream at any moment.
_INPUT_CHUNK = 16 * 1024
_OUTPUT_CHUNK = 256 * 1024
GZIP_MAGIC = b"\x1f\x8b"


class SitemapError(ValueError):
    """The document is not a sitemap we can read."""


@dataclass(frozen=True)
class SitemapEntry:
    url: str
    lastmod: str | None = None
    news: dict[str, str] = field(default_factory=dict)

    def hints(self) -> dict[str, Any]:
        hints: dict[str, Any] = {}
        if self.news.get("title"):
            hints["title"] = self.news["title"]
        if self.news.get("publication_date"):
            hints["published_at"] = self.news["publication_date"]
        if self.news.get("language"):
            hints["language"] = self.news["language"]
        if self.news.get("keywords"):
            hints["tags"] = [k.strip() for k in self.news["keywords"].split(",") if k.strip()]
        if self.news.get("name"):
            hints["site_name"] = self.news["name"]
        if self.lastmod:
            hints["lastmod"] = self.lastmod
        return hints


@dataclass
class Sitemap:
    kind: str  # "index" or "urlset"
    entries: list[SitemapEntry]
    truncated: bool = False  # it lists more than max_entries entries: reading stopped there


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _gunzipped(body: bytes) -> Iterator[bytes]:
    """The inflated bytes of a gzip body, a chunk of at most ``_OUTPUT_CHUNK`` at a time, member
    after member. Bytes after the last whole member that are not gzip are ignored (as gzip does
    with padding); a body that breaks off or is corrupt ends the stream where it breaks, like
    Scrapy's gunzip: what arrived before is read. SitemapError when nothing at all inflates."""
    view = memoryview(body)
    position, produced = 0, False
    while position < len(view) and view[position : position + 2] == GZIP_MAGIC:
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        while not inflater.eof and position < len(view):
            pending = view[position : position + _INPUT_CHUNK]
            position += len(pending)
            while True:
                try:
                    chunk = inflater.decompress(pending, _OUTPUT_CHUNK)
                except zlib.error as error:
                    if not produced:
                        raise SitemapError(f"broken gzip sitemap: {error}") from error
                    return
                if chunk:
                    produced = True
                    yield chunk
                if inflater.eof:
                    # The member ended inside this input chunk: the next one starts in what is left.
                    position -= len(inflater.unused_data)
                    break
                pending = inflater.unconsumed_tail
                if not pending and len(chunk) < _OUTPUT_CHUNK:
                    break  # all of this input is inflated (a full chunk may leave more inside zlib)
        if not inflater.eof:
            return  # broken off mid-member


def _chunks(body: bytes, max_bytes: int) -> Iterator[bytes]:
    """The document's bytes, inflated when ``body`` is gzip, in chunks; SitemapError past ``max_bytes``."""
    gzipped = body[:2] == GZIP_MAGIC
    stream = _gunzipped(body) if gzipped else (body[i : i + _OUTPUT_CHUNK] for i in range(0, len(body), _OUTPUT_CHUNK))
    total = 0
    for chunk in stream:
        total += len(chunk)
        if total > max_bytes:
            if gzipped:
                raise SitemapError(
                    f"gzip sitemap unpacks to more than {max_bytes:,} bytes, the sitemap protocol's limit "
                    "(split it into several sitemaps listed in a sitemap index)"
                )
            raise SitemapError(
                f"sitemap is larger than {max_bytes:,} bytes, the sitemap protocol's limit "
                "(split it into several sitemaps listed in a sitemap index)"
            )
        yield chunk


NEWS_FIELDS = frozenset({"name", "language", "title", "publication_date", "keywords", "genres"})


def _parses_as_url(text: str) -> bool:
    # urljoin and urlsplit raise ValueError on e.g. "http://[oops/": such a <loc> names no page, and
    # the caller, who joins every entry to the sitemap's URL, would stop at it.
    try:
        urlsplit(text)
    except ValueError:
        return False
    return True


def parse_sitemap(
    body: bytes, max_bytes: int = MAX_UNZIPPED_BYTES, max_entries: int = MAX_ENTRIES, max_tags: int = MAX_TAGS
) -> Sitemap:
    """Parse a sitemap or sitemap index (gzip or not); raise SitemapError for anything else, or for
    one that inflates to more than ``max_bytes`` or holds more than ``max_tags`` markup tags. At most
    ``max_entries`` entries are read (see the module's docstring)."""
    reader = _SitemapReader(max_entries)
    parser = etree.XMLParser(target=reader, recover=True, resolve_entities=False, no_network=True)
    started, tags = False, 0
    try:
        for chunk in _chunks(body, max_bytes):
            if not started:
                chunk = chunk.lstrip()  # an XML declaration after blank lines is an error to libxml2
                started = bool(chunk)
            tags += chunk.count(b"<")
            if tags > max_tags:
                raise SitemapError(
                    f"more than {max_tags:,} markup tags: not read (a sitemap lists at most "
                    f"{max_entries:,} URLs, with a few tags each)"
                )
            if chunk:
                parser.feed(chunk)
            if reader.truncated:
                break
        else:
            if started:
                parser.close()
    except etree.XMLSyntaxError as error:
        raise SitemapError(f"not XML: {error}") from error
    if reader.kind is None:
        raise SitemapError("empty or unreadable XML")
    return Sitemap(kind=reader.kind, entries=reader.entries, truncated=reader.truncated)


class _SitemapReader:
    """lxml parser target: builds no tree. Checks the root element, and keeps each ``<url>`` or
    ``<sitemap>`` entry's fields as its elements end; memory holds one entry's text at a time."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self.kind: str | None = None
        self.item_tag = ""
        self.entries: list[SitemapEntry] = []
        self.truncated = False
        self.depth = 0
        # Inside an entry (depth >= 2): per open element, its name and its text before its first child
        # (lxml's .text), None once a child has started.
        self.open: list[tuple[str, list[str] | None]] = []
        self.fields: dict[str, str] = {}
        self.news: dict[str, str] = {}
        self.in_news = False

    def start(self, tag: Any, attrib: Any) -> None:
        self.depth += 1
        if self.depth == 1:
            self._root(_local(tag))
        elif self.open:
            parent, _ = self.open[-1]
            self.open[-1] = (parent, None)  # its .text ends where its first child starts
            name = _local(tag)
            self.open.append((name, []))
            if self.depth == 3 and name == "news":
                self.in_news = True
        elif self.depth == 2 and not self.truncated and _local(tag) == self.item_tag:
            self.open = [(self.item_tag, None)]
            self.fields, self.news = {}, {}

    def data(self, text: str) -> None:
        if self.open:
            texts = self.open[-1][1]
            if texts is not None:
                texts.append(text)

    def end(self, tag: Any) -> None:
        self.depth -= 1
        if not self.open:
            return  # outside any entry: nothing to keep
        name, texts = self.open.pop()
        text = "".join(texts).strip() if texts else ""
        if self.depth == 2 and name in ("loc", "lastmod"):
            self.fields[name] = text
        if self.in_news and name in NEWS_FIELDS and text:
            self.news[name] = text
        if self.depth == 2 and name == "news":
            self.in_news = False
        if self.depth == 1:
            self._entry()

    def close(self) -> None:
        return None

    def _root(self, name: str) -> None:
        kind = name.lower()
        if kind == "sitemapindex":
            self.item_tag, self.kind = "sitemap", "index"
        elif kind == "urlset":
            self.item_tag, self.kind = "url", "urlset"
        else:
            raise SitemapError(f"root element is <{name}>, not <urlset> or <sitemapindex>")

    def _entry(self) -> None:
        loc = self.fields.get("loc")
        if not loc or not _parses_as_url(loc):
            return
        if len(self.entries) >= self.max_entries:
            self.truncated = True
            return
        news = self.news if self.kind == "urlset" else {}
        self.entries.append(SitemapEntry(url=loc, lastmod=self.fields.get("lastmod") or None, news=news))


_SITEMAP_LINE = re.compile(r"^\s*sitemap\s*:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


def sitemaps_from_robots(robots_txt: str) -> list[str]:
    """The URLs of every ``Sitemap:`` line, in order, without repeats."""
    seen: dict[str, None] = {}
    for match in _SITEMAP_LINE.finditer(robots_txt):
        seen.setdefault(match.group(1), None)
    return list(seen)
