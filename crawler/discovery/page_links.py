"""What a fetched page points to: its links, headline teasers, feeds, canonical, shortlink and AMP URLs.

Read where the page is extracted, in an extraction worker process (spiders.reading), so the crawl
process never parses a page's HTML: parsing it and walking its links cost the reactor more than any
other step of a page. The reading is Scrapy's own, step for step, with the libraries Scrapy uses for
it (w3lib for the encoding, the base URL and URL quoting, parsel and lxml for the document), without
importing Scrapy itself: ~50 MB less in every worker. :func:`read_page_links` gives what the spider
read before from its response with ``LinkExtractor(unique=True, canonicalize=False)`` and the XPath
below; tests/test_page_links.py holds the two alike on real pages. The result is plain data
(:class:`PageLinks`), cheap to send back to the crawl process. No settings.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from lxml import etree
from parsel import Selector
from w3lib.encoding import (
    html_body_declared_encoding,
    html_to_unicode,
    http_content_type_encoding,
    read_bom,
    resolve_encoding,
)
from w3lib.html import get_base_url, strip_html5_whitespace
from w3lib.url import safe_url_string

HEADLINE_LINK_XPATH = (
    "//h1//a[@href] | //h2//a[@href] | //h3//a[@href] | //h4//a[@href]"
    " | //*[contains(@class, 'title') or contains(@class, 'headline')]//a[@href]"
    " | //a[@href][contains(@class, 'title') or contains(@class, 'headline')]"
)
AMP_LINK_XPATH = "//link[contains(concat(' ', normalize-space(@rel), ' '), ' amphtml ')]/@href"
SHORTLINK_XPATH = "//link[contains(concat(' ', normalize-space(@rel), ' '), ' shortlink ')]/@href"
CANONICAL_XPATH = "//link[@rel='canonical']/@href"
FEED_LINK_XPATH = (
    "//link[contains(concat(' ', normalize-space(@rel), ' '), ' alternate ')]"
    "[@type='application/rss+xml' or @type='application/atom+xml' or @type='application/feed+json'"
    " or @type='application/json'][@href]"
)


@dataclass(frozen=True)
class PageLinks:
    """What one page links to. URLs are absolute (joined to the page's URL), not canonicalised."""

    links: tuple[tuple[str, bool], ...] = ()  # (url, rel=nofollow) of each <a>/<area>, first occurrence, page order
    headlines: dict[str, str] = field(default_factory=dict)  # url -> text of the links that are headlines
    feeds: tuple[tuple[str, str | None], ...] = ()  # (url, title) of <link rel=alternate> feeds
    canonical: str | None = None  # <link rel=canonical>
    shortlink: str | None = None  # <link rel=shortlink> as written
    amphtml: str | None = None  # <link rel=amphtml> as written


# What Scrapy's TextResponse assumes before it looks at the bytes, and the link extractor's rules.
DEFAULT_ENCODING = "ascii"
LINK_TAGS = frozenset({"a", "area"})
LINK_SCHEMES = frozenset({"http", "https", "file", "ftp"})
XHTML_NAMESPACE = "{http://www.w3.org/1999/xhtml}"
# An href with a scheme and host, or a path from the root: what it resolves to depends on the page's
# scheme and host only, not on its path, so one resolution serves every page of a site.
ROOTED_HREF_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://|/(?!/)")


def read_page_links(
    body: bytes,
    url: str,
    content_type: str | None,
    follow_links: bool = True,
    headlines: bool = True,
    selector_type: str | None = "html",
    max_links: int = 0,
) -> PageLinks:
    """Read a page as the news spider reads it. Without ``follow_links`` its links are not read (a page
    at the hop limit, a source that does not follow links); without ``headlines``, neither are its
    headline teasers (they only matter for pages the archive has). ``selector_type``: ``"html"``,
    ``"xml"`` (what Scrapy's HtmlResponse and XmlResponse parse as), None to let parsel decide.
    ``max_links`` > 0: reading stops after one link more than that (the caller sees the page had too many)."""
    encoding, text = decoded_page(body, content_type)
    base_url = get_base_url(text[:4096], url, encoding)
    selector = Selector(text=text, type=selector_type, base_url=base_url)
    href = selector.xpath(CANONICAL_XPATH).get()
    return PageLinks(
        links=_links(selector, url, encoding, base_url, max_links) if follow_links else (),
        headlines=headline_links(selector, url) if follow_links and headlines else {},
        feeds=tuple(
            (urljoin(url, (link.xpath("@href").get() or "").strip()), link.xpath("@title").get())
            for link in selector.xpath(FEED_LINK_XPATH)
        ),
        canonical=urljoin(url, href.strip()) if href else None,
        shortlink=selector.xpath(SHORTLINK_XPATH).get(),
        amphtml=selector.xpath(AMP_LINK_XPATH).get(),
    )


def decoded_page(body: bytes, content_type: str | None) -> tuple[str, str]:
    """``(encoding, text)`` as Scrapy's TextResponse decides and decodes them: a byte-order mark, the
    Content-Type header, a ``<meta charset>``, else what the bytes decode as (ASCII, UTF-8,
    charset-normalizer's guess), whose decoding is kept, not done again."""
    declared = read_bom(body)[0] or http_content_type_encoding(content_type or "") or html_body_declared_encoding(body)
    if declared:
        return declared, html_to_unicode(f"charset={declared}", body)[1]
    return html_to_unicode(content_type or "", body, auto_detect_fun=_detect, default_encoding=DEFAULT_ENCODING)


def _detect(data: bytes) -> str | None:
    for encoding in (DEFAULT_ENCODING, "utf-8"):
        try:
            data.decode(encoding)
        except UnicodeError:
            continue
        return resolve_encoding(encoding)
    from charset_normalizer import from_bytes

    match = from_bytes(data).best()
    return resolve_encoding(match.encoding) if match else None


def _links(
    selector: Selector, url: str, encoding: str, base_url: str, max_links: int = 0
) -> tuple[tuple[str, bool], ...]:
    """Every ``<a href>`` and ``<area href>``, as Scrapy's link extractor resolves and filters them
    (its extension filter aside: the spider judges the canonical URL, crawler.discovery.urls), each URL once."""
    found: dict[str, bool] = {}
    base_origin, page_origin = _origin(base_url), _origin(url)
    for element in selector.root.iter(etree.Element):
        tag = element.tag
        if isinstance(tag, str) and tag.startswith(XHTML_NAMESPACE):
            tag = tag[len(XHTML_NAMESPACE) :]
        if tag not in LINK_TAGS or "href" not in element.attrib:
            continue
        href = strip_html5_whitespace(element.attrib["href"])
        try:
            if ROOTED_HREF_RE.match(href):
                # Menus and footers repeat on every page of a site: resolved once per crawl, not per page.
                target = _link_target(base_origin, page_origin, href, encoding)
            else:
                target = _link_target(base_url, url, href, encoding)
        except ValueError:
            continue  # a bogus link
        if target.split("://", 1)[0] in LINK_SCHEMES and target not in found:
            found[target] = _has_nofollow(element.get("rel"))
            if max_links and len(found) > max_links:
                break  # a link dump: the caller takes the first max_links
    return tuple(found.items())


def _origin(url: str) -> str:
    """``scheme://host/`` of a URL: all that a rooted href takes from the URL it is joined to."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


@functools.lru_cache(maxsize=16384)
def _link_target(base_url: str, url: str, href: str, encoding: str) -> str:
    """An href as Scrapy's link extractor resolves it: joined to the base URL, made safe in the page's
    encoding, joined to the page's URL."""
    return urljoin(url, safe_url_string(urljoin(base_url, href), encoding=encoding))


def _has_nofollow(rel: str | None) -> bool:
    return rel is not None and "nofollow" in rel.lower().replace(",", " ").split()


def headline_links(selector: Selector, url: str) -> dict[str, str]:
    """URL -> text of the links that are headlines (teasers in a heading or a title/headline element):
    only their text can say that an article's headline changed; a link in running text cannot."""
    found: dict[str, str] = {}
    for anchor in selector.xpath(HEADLINE_LINK_XPATH):
        href = anchor.xpath("@href").get()
        text = " ".join(anchor.xpath(".//text()").getall()).strip()
        if href and text:
            found.setdefault(urljoin(url, href.strip()), text)
    return found
