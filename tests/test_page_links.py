"""What a page links to, read as an extraction worker reads it (crawler.discovery.page_links, spiders.reading).

The reading is Scrapy's own, done with w3lib and parsel without importing Scrapy in the workers: it
is checked against Scrapy itself (an HtmlResponse, its LinkExtractor and XPath) on real pages. The
other tests pin what the spider relies on: absolute URLs (a <base href> counts), nofollow kept as a
flag, each URL once in page order, headline teasers, feeds, canonical, shortlink and AMP; links not
read where they are not followed; and one worker call giving both the page's fields and its links.
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path
from urllib.parse import urljoin

import pytest
from scrapy.http import HtmlResponse
from scrapy.linkextractors import LinkExtractor

from crawler.discovery.page_links import (
    AMP_LINK_XPATH,
    CANONICAL_XPATH,
    FEED_LINK_XPATH,
    HEADLINE_LINK_XPATH,
    SHORTLINK_XPATH,
    PageLinks,
    read_page_links,
)
from crawler.extraction.extract import DEFAULT_DROP_SELECTORS
from spiders.reading import read_in_pool, read_page
from tests.inprocess import run, shared_pool

URL = "https://www.news.example/local/"
HTML = "text/html; charset=utf-8"
PAGE = b"""<html><head><title>Local news</title>
<link rel="canonical" href="/local/">
<link rel="shortlink" href="https://nws.example/l">
<link rel="amphtml" href="/local/amp/">
<link rel="alternate" type="application/rss+xml" title="Local news feed" href="/local/feed/">
<link rel="alternate" type="text/html" hreflang="de" href="/de/lokal/">
</head><body>
<h2><a href=" /2025/03/24/harbour-wall/ ">Harbour wall repairs begin</a></h2>
<p>See <a href="/2025/03/24/harbour-wall/">the story</a> and <a href="sport/">sport</a>.</p>
<a href="/about/" rel="nofollow noopener">About</a>
<a href="https://elsewhere.example/x">Elsewhere</a>
<a href="mailto:desk@news.example">Write to us</a>
</body></html>"""


def test_a_page_reads_as_the_spider_needs_it() -> None:
    links = read_page_links(PAGE, URL, HTML)
    assert links.links == (
        ("https://www.news.example/2025/03/24/harbour-wall/", False),
        ("https://www.news.example/local/sport/", False),
        ("https://www.news.example/about/", True),
        ("https://elsewhere.example/x", False),
    )  # each URL once, relative ones resolved, mailto: left out
    assert links.headlines == {"https://www.news.example/2025/03/24/harbour-wall/": "Harbour wall repairs begin"}
    assert links.feeds == (("https://www.news.example/local/feed/", "Local news feed"),)
    assert (links.canonical, links.shortlink, links.amphtml) == (URL, "https://nws.example/l", "/local/amp/")


def test_a_base_href_resolves_relative_links() -> None:
    page = b'<html><head><base href="https://www.news.example/archive/"></head><body><a href="a/">A</a></body></html>'
    assert read_page_links(page, URL, HTML).links == (("https://www.news.example/archive/a/", False),)


def test_links_are_not_read_where_they_are_not_followed() -> None:
    links = read_page_links(PAGE, URL, HTML, follow_links=False)
    assert links.links == () and links.headlines == {}
    assert links.canonical == URL and links.feeds  # what the page says about itself still counts
    assert read_page_links(PAGE, URL, HTML, headlines=False).headlines == {}


def test_the_encoding_of_the_page_is_the_one_its_headers_or_meta_say() -> None:
    page = '<html><head><meta charset="iso-8859-1"></head><body><a href="/café/?q=café">Café</a></body></html>'
    links = read_page_links(page.encode("iso-8859-1"), URL, "text/html")
    # Read as Latin-1: the path is quoted as UTF-8, the query in the page's own encoding (as browsers do).
    assert links.links == (("https://www.news.example/caf%C3%A9/?q=caf%E9", False),)


def test_one_worker_call_gives_the_fields_and_the_links() -> None:
    fields, links = run(read_in_pool(shared_pool(), PAGE, URL, HTML, follow_links=True, headlines=True))
    assert fields["title"] == "Local news" and "error" not in fields
    assert links == read_page_links(PAGE, URL, HTML)


def test_a_page_that_cannot_be_read_gives_empty_links_and_says_why() -> None:
    fields, links = read_page(b"\x00\x01 not html", URL, HTML, DEFAULT_DROP_SELECTORS, 200, True, True)
    assert links == PageLinks() or links.links == ()
    assert isinstance(fields, dict)


# --- the same as Scrapy's own reading ----------------------------------------------------------------

REALWORLD_PAGES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "realworld" / "pages"
GOLDEN = Path(__file__).resolve().parent / "golden"


def scrapys_reading(body: bytes, url: str, content_type: str | None) -> PageLinks:
    """How the spider read a page from its Scrapy response (before the reading moved to the workers)."""
    response = HtmlResponse(url=url, body=body, headers={"Content-Type": content_type} if content_type else None)
    extractor = LinkExtractor(unique=True, canonicalize=False, deny_extensions=[])  # extensions: the spider's rule
    headlines: dict[str, str] = {}
    for anchor in response.xpath(HEADLINE_LINK_XPATH):
        href = anchor.xpath("@href").get()
        text = " ".join(anchor.xpath(".//text()").getall()).strip()
        if href and text:
            headlines.setdefault(urljoin(response.url, href.strip()), text)
    href = response.xpath(CANONICAL_XPATH).get()
    return PageLinks(
        links=tuple((link.url, link.nofollow) for link in extractor.extract_links(response)),
        headlines=headlines,
        feeds=tuple(
            (urljoin(response.url, (link.xpath("@href").get() or "").strip()), link.xpath("@title").get())
            for link in response.xpath(FEED_LINK_XPATH)
        ),
        canonical=urljoin(response.url, href.strip()) if href else None,
        shortlink=response.xpath(SHORTLINK_XPATH).get(),
        amphtml=response.xpath(AMP_LINK_XPATH).get(),
    )


def pages_to_compare() -> list[tuple[str, bytes, str | None]]:
    pages = [(f"https://golden.example/{p.stem}/", p.read_bytes(), "text/html") for p in sorted(GOLDEN.glob("*.html"))]
    if REALWORLD_PAGES.is_dir():
        for path in sorted(REALWORLD_PAGES.glob("*.html.gz")):
            pages.append(
                (f"https://realworld.example/{path.name.split('.')[0]}/", gzip.decompress(path.read_bytes()), None)
            )
    # Encodings declared by header, by meta, by nothing; a byte-order mark; bytes that are not UTF-8.
    pages += [
        ("https://enc.example/1/", '<a href="/é?q=é">x</a>'.encode("cp1252"), "text/html; charset=windows-1252"),
        (
            "https://enc.example/2/",
            '<meta charset="iso-8859-2"><a href="/ł?q=ł">x</a>'.encode("iso-8859-2"),
            "text/html",
        ),
        ("https://enc.example/3/", b"\xef\xbb\xbf<a href='/\xc3\xa9'>x</a>", None),
        ("https://enc.example/4/", b"<a href='/caf\xe9?x=\xe9'>x</a><a href=' javascript:void(0)'>j</a>", None),
    ]
    return pages


def test_the_reading_is_scrapys_on_real_pages() -> None:
    pages = pages_to_compare()
    differing = [
        url
        for url, body, content_type in pages
        if read_page_links(body, url, content_type) != scrapys_reading(body, url, content_type)
    ]
    assert differing == [], f"{len(differing)} of {len(pages)} pages read differently"
    if not REALWORLD_PAGES.is_dir():
        pytest.skip(
            f"compared on {len(pages)} golden and encoding pages; the real-world pages are not at {REALWORLD_PAGES}"
        )


def test_the_workers_reading_does_not_import_scrapy() -> None:
    import subprocess

    code = "import sys, spiders.reading; print(any(m == 'scrapy' or m.startswith('scrapy.') for m in sys.modules))"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )
