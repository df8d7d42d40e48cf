"""One extraction-worker call per fetched page: its fields and what it links to.

The news spider hands each HTML page to the crawl's :class:`crawler.extraction.pool.ExtractionPool`
once (:func:`read_in_pool`); the worker extracts it (crawler.extraction.extract.extract_page) and
reads its links (crawler.discovery.page_links), so the crawl process never parses the page's
HTML, and the page crosses to a worker once, not twice; nor does it import the extractor (the
functions that run in the workers import it). No settings of its own: the pool carries
``EXTRACT_MIN_TEXT_CHARS`` and the drop selectors.
"""

from __future__ import annotations

from typing import Any

from crawler.discovery.page_links import PageLinks
from crawler.extraction.fields import failed_fields
from crawler.extraction.pool import ExtractionPool


def read_page(
    body: bytes,
    url: str,
    content_type: str | None,
    drop_selectors: tuple[str, ...],
    min_text_chars: int,
    follow_links: bool,
    headlines: bool,
    selector_type: str | None = "html",
    max_links: int = 0,
) -> tuple[dict[str, Any], PageLinks]:
    """In a worker: the page's extracted fields and its links (none when the markup cannot be read)."""
    # Imported here, in the worker: the crawl process imports this module only to send pages.
    from lxml import etree

    from crawler.discovery.page_links import read_page_links
    from crawler.extraction.extract import extract_page

    fields = extract_page(body, url, content_type, drop_selectors, min_text_chars)
    try:
        links = read_page_links(body, url, content_type, follow_links, headlines, selector_type, max_links)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError, TypeError, LookupError) as error:
        fields.setdefault("error", f"could not read the links of {url}: {type(error).__name__}: {error}")
        links = PageLinks()
    return fields, links


def warm_up() -> None:
    """In a worker, before its first page: import all that :func:`read_page` needs."""
    import crawler.discovery.page_links
    import crawler.extraction.extract  # noqa: F401


def _unreadable(message: str) -> tuple[dict[str, Any], PageLinks]:
    return failed_fields(message), PageLinks()


async def read_in_pool(
    pool: ExtractionPool,
    body: bytes,
    url: str,
    content_type: str | None,
    follow_links: bool,
    headlines: bool,
    selector_type: str | None = "html",
    max_links: int = 0,
) -> tuple[dict[str, Any], PageLinks]:
    """:func:`read_page` in one of ``pool``'s workers; never raises because a worker died."""
    return await pool.call(
        read_page,
        body,
        url,
        content_type,
        pool.drop_selectors,
        pool.min_text_chars,
        follow_links,
        headlines,
        selector_type,
        max_links,
        label=url,
        fallback=_unreadable,
    )
