"""What a fetched page points to: its links, headline teasers, feeds, canonical, shortlink and AMP URLs.

Read where the page is extracted, in an extraction worker process (spiders.reading), so the crawl
process never parses a page's HTML: parsing it and walking its links cost the reactor more than any
other step of a page. The reading is Scrapy's own (``HtmlResponse``, ``LinkExtractor``, the same
XPath), so what is read is what the spider would have read from its response. The result is plain
data (:class:`PageLinks`), cheap to send back to the crawl process. No settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urljoin

from scrapy.http import HtmlResponse, TextResponse
from scrapy.linkextractors import LinkExtractor

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


def read_page_links(
    body: bytes,
    url: str,
    content_type: str | None,
    follow_links: bool = True,
    headlines: bool = True,
    response_class: type[TextResponse] = HtmlResponse,
) -> PageLinks:
    """Read a page as the news spider reads it. Without ``follow_links`` its links are not read (a page
    at the hop limit, a source that does not follow links); without ``headlines``, neither are its
    headline teasers (they only matter for pages the archive has)."""
    headers = {"Content-Type": content_type} if content_type else None
    response = response_class(url=url, body=body, headers=headers)
    href = response.xpath(CANONICAL_XPATH).get()
    return PageLinks(
        links=_links(response) if follow_links else (),
        headlines=headline_links(response) if follow_links and headlines else {},
        feeds=tuple(
            (urljoin(response.url, (link.xpath("@href").get() or "").strip()), link.xpath("@title").get())
            for link in response.xpath(FEED_LINK_XPATH)
        ),
        canonical=urljoin(response.url, href.strip()) if href else None,
        shortlink=response.xpath(SHORTLINK_XPATH).get(),
        amphtml=response.xpath(AMP_LINK_XPATH).get(),
    )


def _links(response: TextResponse) -> tuple[tuple[str, bool], ...]:
    extractor = LinkExtractor(unique=True, canonicalize=False)
    return tuple((link.url, link.nofollow) for link in extractor.extract_links(response))


def headline_links(response: TextResponse) -> dict[str, str]:
    """URL -> text of the links that are headlines (teasers in a heading or a title/headline element):
    only their text can say that an article's headline changed; a link in running text cannot."""
    found: dict[str, str] = {}
    for anchor in response.xpath(HEADLINE_LINK_XPATH):
        href = anchor.xpath("@href").get()
        text = " ".join(anchor.xpath(".//text()").getall()).strip()
        if href and text:
            found.setdefault(urljoin(response.url, href.strip()), text)
    return found
