"""Read XML sitemaps, sitemap indexes and Google News sitemaps.

Scrapy's own Sitemap class drops nested elements, so the ``news:`` fields (title, publication
date, language, keywords) would be lost; this reads them with lxml, tolerating broken XML,
huge files and gzip. Settings: none here (the spider bounds index nesting with
``DISCOVERY_SITEMAP_MAX_DEPTH``).
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

# The sitemap protocol's own limit (sitemaps.org: 50,000 URLs, 50 MB uncompressed): a gzip sitemap
# is unpacked up to it, never further, so a compression bomb costs at most this much memory.
MAX_UNZIPPED_BYTES = 50 * 1024 * 1024


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


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _text(element: etree._Element) -> str:
    return (element.text or "").strip()


def maybe_gunzip(body: bytes) -> bytes:
    if body[:2] != b"\x1f\x8b":
        return body
    try:
        with gzip.GzipFile(fileobj=__import__("io").BytesIO(body)) as stream:
            data = stream.read(MAX_UNZIPPED_BYTES + 1)
    except (OSError, EOFError) as error:
        raise SitemapError(f"broken gzip sitemap: {error}") from error
    if len(data) > MAX_UNZIPPED_BYTES:
        raise SitemapError(
            f"gzip sitemap unpacks to more than {MAX_UNZIPPED_BYTES:,} bytes, the sitemap protocol's limit "
            "(split it into several sitemaps listed in a sitemap index)"
        )
    return data


def _news_fields(url_element: etree._Element) -> dict[str, str]:
    news: dict[str, str] = {}
    for child in url_element:
        if _local(child.tag) != "news":
            continue
        for part in child.iter():
            name = _local(part.tag)
            if name == "name" or name == "language" or name in ("title", "publication_date", "keywords", "genres"):
                news[name] = _text(part)
    return {key: value for key, value in news.items() if value}


def parse_sitemap(body: bytes) -> Sitemap:
    """Parse a sitemap or sitemap index (gzip or not); raise SitemapError for anything else."""
    data = maybe_gunzip(body).lstrip()
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=True)
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as error:
        raise SitemapError(f"not XML: {error}") from error
    if root is None:
        raise SitemapError("empty or unreadable XML")
    kind = _local(root.tag).lower()
    if kind == "sitemapindex":
        item_tag, sitemap_kind = "sitemap", "index"
    elif kind == "urlset":
        item_tag, sitemap_kind = "url", "urlset"
    else:
        raise SitemapError(f"root element is <{_local(root.tag)}>, not <urlset> or <sitemapindex>")
    entries = []
    for element in root:
        if _local(element.tag) != item_tag:
            continue
        loc = lastmod = None
        for child in element:
            name = _local(child.tag)
            if name == "loc":
                loc = _text(child)
            elif name == "lastmod":
                lastmod = _text(child) or None
        if loc:
            news = _news_fields(element) if sitemap_kind == "urlset" else {}
            entries.append(SitemapEntry(url=loc, lastmod=lastmod, news=news))
    return Sitemap(kind=sitemap_kind, entries=entries)


_SITEMAP_LINE = re.compile(r"^\s*sitemap\s*:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


def sitemaps_from_robots(robots_txt: str) -> list[str]:
    """The URLs of every ``Sitemap:`` line, in order, without repeats."""
    seen: dict[str, None] = {}
    for match in _SITEMAP_LINE.finditer(robots_txt):
        seen.setdefault(match.group(1), None)
    return list(seen)
