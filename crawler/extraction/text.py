"""The article text: what is dropped before trafilatura (``DEFAULT_DROP_SELECTORS``, the
``EXTRACT_DROP_SELECTORS`` setting's default; short link lines; HTML comments, which cut paragraphs;
picture captions; call-to-action boxes; boxes of related / popular / next stories), trafilatura's
body turned into blocks separated by a blank line (widget lines left out), and :func:`finished_text`,
the clean-up of that text: its lines (:mod:`crawler.extraction.text_lines`), then the standfirst
put back at the top (:mod:`crawler.extraction.standfirst`). Also the visible and link text lengths
the classifier weighs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any

import lxml.html
from lxml import etree
from lxml.cssselect import CSSSelector
from trafilatura.xml import xmltotxt

from crawler.extraction.page import normalise
from crawler.extraction.standfirst import CAPTION_CLASS_WORDS, Outline, class_words, has_hint, with_lead
from crawler.extraction.text_lines import (
    without_leading_chrome,
    without_next_story,
    without_noise_lines,
    without_trailing_chrome,
)

# Drop selectors that are a plain id or class, matched without XPath.
SIMPLE_ID_RE = re.compile(r"^#[A-Za-z][\w-]*$")
SIMPLE_CLASS_RE = re.compile(r"^\.[A-Za-z_-][\w-]*$")

# Lines of the Jetpack comment widget; a safety net for markup the selectors above do not match.
WIDGET_LINE_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"^leave a (reply|comment)\b", re.I),
    re.compile(r"fill in your details below or click an icon to log in", re.I),
    re.compile(r"you are commenting using your\b.*\baccount", re.I),
    re.compile(r"^connecting to %s", re.I),
    re.compile(r"^notify me of (new comments|new posts|follow-up comments)", re.I),
)

# Picture captions and credits: trafilatura keeps some in the text, yet a caption describes the picture,
# not the story. A <figcaption>, or an element whose class names a caption or credit (or a picture's
# description / widget), short enough not to be a container of the body.
PICTURE_CLASS_WORDS = frozenset({"image", "img", "photo", "picture", "figure"})
PICTURE_PART_WORDS = frozenset({"description", "widget", "text"})
CAPTION_MAX_CHARS = 600

# Calls to action inside the article: sign-up walls, subscription and donation boxes, newsletter
# promotions, modal dialogs (a "save this article" box, "subscription in use on another device"),
# feedback prompts ("Found an error? Report it").
# Recognised by class words; a short box only, never a wrapper of the body.
PROMO_CLASS_WORDS = frozenset(
    {
        "modal",
        "wall",
        "cta",
        "newsletter",
        "subscribe",
        "subscription",
        "subscriptions",
        "donate",
        "donation",
        "donations",
        "promo",
        "promotion",
        "upsell",
        "feedback",
    }
)
PROMO_MAX_CHARS = 1500
# Boxes of other stories inside the article (within an <article>): related, recommended, popular,
# trending, "read next".
RELATED_CLASS_WORDS = frozenset({"related", "recommended", "recommendations", "popular", "trending", "readnext"})
RELATED_MAX_CHARS = 3000

# Candidates for both, found in one pass over the elements (a regex on the class attribute is faster
# than an XPath of contains()); their class words decide.
BOX_CLASS_HINT_RE = re.compile(
    "aption|redit|escription|idget|odal|wall|cta|ewsletter|ubscri|onat|romo|psell|eedback|elated|ecommend|opular|"
    "rending|ead",
    re.I,
)
BOX_CLASS_HINT_LOWER_RE = re.compile(BOX_CLASS_HINT_RE.pattern)  # for ASCII classes: see standfirst.has_hint

# A short line that is mostly link text ("Archive: June 2024", "Read more: …", "Tags: a, b") is
# navigation wherever it stands; trafilatura keeps such lines when they sit beside the article.
LINK_LINE_MAX_WORDS = 12
LINK_LINE_MIN_LINK_SHARE = 0.5

# "//body/descendant::" rather than "//body//": the same nodes, without libxml2 first gathering every
# node of the body (descendant-or-self::node()) to take their children. Plain strings: a "smart"
# string holds its parent element, a proxy object built per text node.
VISIBLE_TEXT = etree.XPath(
    "//body/descendant::text()[not(ancestor::script or ancestor::style or ancestor::noscript or ancestor::template)]",
    smart_strings=False,
)
LINK_TEXT = etree.XPath(
    "//body/descendant::a/descendant::text()"
    "[not(ancestor::script or ancestor::style or ancestor::noscript or ancestor::template)]",
    smart_strings=False,
)


@lru_cache(maxsize=16)  # pure memo: compiling CSS to XPath costs more than most pages' drop pass
def compiled_selectors(selectors: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str], tuple[CSSSelector, ...]]:
    """The selectors split into plain ``#id`` and ``.class`` ones (matched in one pass over the tree,
    much faster than one XPath per selector) and the others, compiled."""
    ids = frozenset(selector[1:] for selector in selectors if SIMPLE_ID_RE.match(selector))
    classes = frozenset(selector[1:] for selector in selectors if SIMPLE_CLASS_RE.match(selector))
    others = tuple(
        CSSSelector(selector, translator="html")
        for selector in selectors
        if not SIMPLE_ID_RE.match(selector) and not SIMPLE_CLASS_RE.match(selector)
    )
    return ids, classes, others


def has_id_or_class(element: lxml.html.HtmlElement, ids: frozenset[str], classes: frozenset[str]) -> bool:
    if not isinstance(element.tag, str):
        return False
    if ids and element.get("id") in ids:
        return True
    names = element.get("class") if classes else None
    return bool(names) and not classes.isdisjoint(names.split())


def drop_elements(tree: lxml.html.HtmlElement, selectors: tuple[str, ...]) -> None:
    ids, classes, others = compiled_selectors(tuple(selectors))
    matched: list[lxml.html.HtmlElement] = []
    if ids or classes:
        matched = [element for element in tree.iter() if has_id_or_class(element, ids, classes)]
    for element in matched:
        if element.getparent() is not None:
            element.drop_tree()
    for selector in others:
        for element in selector(tree):
            if element.getparent() is not None:
                element.drop_tree()


def drop_non_body(tree: lxml.html.HtmlElement) -> None:
    """What trafilatura would cut paragraphs at or keep in the text though it is not the article's:
    HTML comments, picture captions, call-to-action boxes, boxes of other stories."""
    drop_comments(tree)
    drop_captions_and_promotions(tree)


def drop_comments(tree: lxml.html.HtmlElement) -> None:
    """Remove HTML comments, keeping the text after them: trafilatura ends a paragraph at an inline
    ``<!-- -->`` (React and Vue leave them between text pieces), cutting the rest of it."""
    etree.strip_elements(tree, etree.Comment, with_tail=False)


def is_caption_element(element: lxml.html.HtmlElement) -> bool:
    if element.tag == "figcaption":
        return True
    words = class_words(element)
    return bool(words & CAPTION_CLASS_WORDS) or bool(words & PICTURE_CLASS_WORDS and words & PICTURE_PART_WORDS)


def drop_captions_and_promotions(tree: lxml.html.HtmlElement) -> None:
    body = tree.find("body")
    if body is None:
        return
    marked = [
        element
        for element in body.iterdescendants()
        if element.tag == "figcaption" or has_box_hint(element.get("class") or "")
    ]
    for element in marked:
        if element.getparent() is None:
            continue
        if is_caption_element(element):
            limit = CAPTION_MAX_CHARS
        elif class_words(element) & PROMO_CLASS_WORDS:
            limit = PROMO_MAX_CHARS
        elif is_related_box(element):
            limit = RELATED_MAX_CHARS
        else:
            continue
        if not text_longer_than(element, limit):
            element.drop_tree()


@lru_cache(maxsize=8192)  # pure memo by class attribute, as standfirst.words_of_class
def has_box_hint(classes: str) -> bool:
    return has_hint(classes, BOX_CLASS_HINT_RE, BOX_CLASS_HINT_LOWER_RE)


def is_related_box(element: lxml.html.HtmlElement) -> bool:
    """A box of other stories inside an ``<article>``: on a listing page the same boxes are the page's
    content (and the classifier counts their teasers), so only those within an article go."""
    words = class_words(element)
    if not (words & RELATED_CLASS_WORDS or {"read", "next"} <= words):
        return False
    return any(ancestor.tag == "article" for ancestor in element.iterancestors())


def text_longer_than(element: lxml.html.HtmlElement, limit: int) -> bool:
    """Whether the element holds more than ``limit`` characters of text; stops reading once it does
    (a wrapper of the whole page is not read through)."""
    total = 0
    for piece in element.itertext():
        total += len(piece)
        if total > limit:
            return True
    return False


def drop_link_lines(tree: lxml.html.HtmlElement) -> None:
    for element in list(tree.iter("p", "li", "dd", "dt")):
        if element.getparent() is None or next(element.iter("a"), None) is None:
            continue  # no link, no link line: most paragraphs, whose text need not be read
        words = element.text_content().split()
        if not words or len(words) > LINK_LINE_MAX_WORDS:
            continue
        text = " ".join(words)
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


HIDDEN_TAGS = frozenset({"script", "style", "noscript", "template"})


def text_lengths(tree: lxml.html.HtmlElement) -> tuple[int, int]:
    """Characters of visible text in ``<body>`` and of those inside links (whitespace runs as one).

    The same text as :data:`VISIBLE_TEXT` and :data:`LINK_TEXT` select, read in one walk: libxml2
    merges the node sets of a multi-step XPath in quadratic time (a page of 100,000 links took 34 s).
    """
    visible = in_links = 0
    for body in tree.iter("body"):
        hidden = links = 0
        for event, element in etree.iterwalk(body, events=("start", "end", "comment", "pi")):
            tag = element.tag if isinstance(element.tag, str) else None
            if event in ("comment", "pi"):
                pass  # no text of its own, a tail as any element
            elif event == "start":
                if tag in HIDDEN_TAGS:
                    hidden += 1
                elif tag == "a":
                    links += 1
                if not hidden and tag is not None and element.text:
                    size = len(" ".join(element.text.split()))
                    visible += size
                    in_links += size if links else 0
                continue
            if tag in HIDDEN_TAGS:
                hidden -= 1
            elif tag == "a":
                links -= 1
            if not hidden and element is not body and element.tail:
                size = len(" ".join(element.tail.split()))
                visible += size
                in_links += size if links else 0
        break  # the first <body>, as the XPath's document order gives it
    return visible, in_links


def visible_lines(tree: lxml.html.HtmlElement) -> Iterator[str]:
    for piece in VISIBLE_TEXT(tree):
        if piece.strip():
            yield piece.strip()


def finished_text(text: str, page: Outline, headlines: Sequence[str], authors: Sequence[str], title: str | None) -> str:
    """trafilatura's text cleaned up: the lines leading and ending it that are no body, a next story,
    noise lines dropped; the standfirst put back at the top."""
    if not text:
        return text
    text = without_leading_chrome(text, headlines, authors) or text
    text = without_trailing_chrome(without_noise_lines(without_next_story(text, page)), authors)
    return with_lead(text, page, title)
