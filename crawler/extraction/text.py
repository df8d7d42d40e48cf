"""The article text: boilerplate dropped before trafilatura (``DEFAULT_DROP_SELECTORS``, the
``EXTRACT_DROP_SELECTORS`` setting's default; short link lines), trafilatura's body turned into
blocks separated by a blank line, widget lines and a repeated headline left out, and the visible
and link text lengths the classifier weighs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

import lxml.html
from lxml import etree
from lxml.cssselect import CSSSelector
from trafilatura.xml import xmltotxt

from crawler.extraction.page import normalise

DEFAULT_DROP_SELECTORS: tuple[str, ...] = (
    # WordPress core comment area and form
    "#comments",
    "#respond",
    ".comment-respond",
    ".comments-area",
    "#commentform",
    ".comment-form",
    ".comment-list",
    ".commentlist",
    "#reply-title",
    # Jetpack / WordPress.com share buttons, likes, related posts, subscriptions
    ".sharedaddy",
    ".sd-sharing-enabled",
    "#jp-post-flair",
    ".jp-relatedposts",
    "#jp-relatedposts",
    ".wpl-likebox",
    ".jetpack_subscription_widget",
    "#disqus_thread",
    # cookie / consent banners
    "#cookie-notice",
    "#cookie-law-info-bar",
    ".cookie-banner",
    ".cookie-notice",
    ".cookie-consent",
    "#onetrust-consent-sdk",
    "#CybotCookiebotDialog",
    ".cc-window",
    "[aria-label='cookieconsent']",
    # newsletter sign-up boxes and "related / read more" link lists
    ".newsletter-signup",
    ".newsletter-box",
    ".related-articles",
    ".related-posts",
)

# Lines of the Jetpack comment widget; a safety net for markup the selectors above do not match.
WIDGET_LINE_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"^leave a (reply|comment)\b", re.I),
    re.compile(r"fill in your details below or click an icon to log in", re.I),
    re.compile(r"you are commenting using your\b.*\baccount", re.I),
    re.compile(r"^connecting to %s", re.I),
    re.compile(r"^notify me of (new comments|new posts|follow-up comments)", re.I),
)

VISIBLE_TEXT = etree.XPath(
    "//body//text()[not(ancestor::script or ancestor::style or ancestor::noscript or ancestor::template)]"
)
LINK_TEXT = etree.XPath(
    "//body//a//text()[not(ancestor::script or ancestor::style or ancestor::noscript or ancestor::template)]"
)


@lru_cache(maxsize=16)  # pure memo: compiling CSS to XPath costs more than most pages' drop pass
def compiled_selectors(selectors: tuple[str, ...]) -> tuple[CSSSelector, ...]:
    return tuple(CSSSelector(selector, translator="html") for selector in selectors)


def drop_elements(tree: lxml.html.HtmlElement, selectors: tuple[str, ...]) -> None:
    for selector in compiled_selectors(tuple(selectors)):
        for el in selector(tree):
            if el.getparent() is not None:
                el.drop_tree()


# A short line that is mostly link text ("Archive: June 2024", "Read more: …", "Tags: a, b") is
# navigation wherever it stands; trafilatura keeps such lines when they sit beside the article.
LINK_LINE_MAX_WORDS = 12
LINK_LINE_MIN_LINK_SHARE = 0.5


def drop_link_lines(tree: lxml.html.HtmlElement) -> None:
    for element in list(tree.iter("p", "li", "dd", "dt")):
        if element.getparent() is None:
            continue
        text = " ".join(element.text_content().split())
        if not text or len(text.split()) > LINK_LINE_MAX_WORDS:
            continue
        link_chars = sum(len(" ".join(link.text_content().split())) for link in element.iter("a"))
        if link_chars and link_chars >= LINK_LINE_MIN_LINK_SHARE * len(text):
            element.drop_tree()


def article_text(document: Any, title: str | None) -> str:
    body = getattr(document, "body", None)
    if body is None:
        return ""
    blocks: list[str] = []
    for child in body:
        block = xmltotxt(child, False).strip()
        lines = [line for line in block.split("\n") if not is_widget_line(line)]
        block = "\n".join(lines).strip()
        if block:
            blocks.append(block)
    if blocks and title and normalise(blocks[0]) == normalise(title):
        blocks = blocks[1:]
    return "\n\n".join(blocks)


def is_widget_line(line: str) -> bool:
    stripped = line.strip()
    return len(stripped) < 200 and any(p.search(stripped) for p in WIDGET_LINE_PATTERNS)


def text_lengths(tree: lxml.html.HtmlElement) -> tuple[int, int]:
    def total(pieces: Iterable[str]) -> int:
        return sum(len(" ".join(piece.split())) for piece in pieces)

    return total(VISIBLE_TEXT(tree)), total(LINK_TEXT(tree))


def visible_lines(tree: lxml.html.HtmlElement) -> Iterator[str]:
    for piece in VISIBLE_TEXT(tree):
        if piece.strip():
            yield piece.strip()
