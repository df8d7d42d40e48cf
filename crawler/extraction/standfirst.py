"""The standfirst (lead / teaser paragraph of the article header, which trafilatura drops) put back
at the top of the article text.

The page is read once before trafilatura (:func:`outline`: where each text stands, the standfirst
candidates, the ``<article>`` stories) because trafilatura may prune the tree it is given;
:func:`body_start` places the text's first line in that outline. Also the helpers the other text
modules share: :func:`squash`, :func:`class_words` and the caption class words.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import lxml.html

from crawler.extraction.page import normalise

# The standfirst (lead, teaser, dek, intro, summary) sits in the article header, outside the body
# container trafilatura keeps. It is recognised by its class words (camelCase and -/_ split) or by
# its text being the page's description, and must stand before the first line of the body.
LEAD_CLASS_WORDS = frozenset(
    {
        "lead",
        "leadtext",
        "intro",
        "standfirst",
        "teaser",
        "summary",
        "dek",
        "deck",
        "subtitle",
        "subheadline",
        "excerpt",
        "abstract",
        "preamble",
        "epigraph",
        "synopsis",
    }
)
LEAD_CLASS_HINT_RE = re.compile("|".join(sorted(LEAD_CLASS_WORDS)) + "|title", re.I)
# The same test for an ASCII class, lower-cased first: a case-insensitive alternation costs ~4x more,
# and on ASCII text (the pattern is lower-case ASCII letters) both match alike.
LEAD_CLASS_HINT_LOWER_RE = re.compile(LEAD_CLASS_HINT_RE.pattern)
CLASS_WORD_RE = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
LEAD_TAGS = frozenset({"p", "div", "h2", "h3", "h4", "section", "span", "strong"})
# Not a standfirst: a teaser card (heading, list, picture inside) or a link line.
LEAD_EXCLUDED_DESCENDANTS = ("h1", "h2", "h3", "h4", "li", "figure", "figcaption", "img", "picture", "video", "article")
# Nor the caption of the header picture (an image's "lead" box holds its caption and credit).
# An author's bio, the byline, date or share bar in the header is no standfirst either.
LEAD_EXCLUDED_CLASS_WORDS = frozenset(
    {
        "caption",
        "credit",
        "photo",
        "image",
        "img",
        "media",
        "gallery",
        "video",
        "figure",
        "author",
        "byline",
        "bio",
        "date",
        "share",
        "nav",
        "menu",
        "breadcrumb",
        "breadcrumbs",
    }
)
CAPTION_CLASS_WORDS = frozenset({"caption", "credit", "figcaption"})
CAPTION_TAGS = frozenset({"figure", "figcaption"})
CAPTION_ANCESTOR_DEPTH = 4
LEAD_MIN_CHARS = 25
LEAD_MIN_WORDS = 5
LEAD_MAX_CHARS = 1500
LEAD_MAX_LINK_SHARE = 0.3
# Tokens of a CJK text are characters, not words: a lead of such a script is long enough by its chars.
CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
TRUNCATION_MARKS = ("…", "...")
# A text node this long (or the whole first line) is enough to say where the body starts.
# A standfirst known only by its class stands right above the body: at most this many text nodes.
LEAD_MAX_GAP_TEXTS = 40
START_MATCH_CHARS = 60
START_MIN_CHARS = 20
NON_CONTENT_TAGS = frozenset({"script", "style", "template", "noscript", "svg", "button", "select", "option"})


@dataclass(frozen=True)
class Lead:
    """A standfirst candidate: where it stands in the page, its text, and whether it is the description."""

    position: int
    text: str
    described: bool


@dataclass(frozen=True)
class Outline:
    """Where text stands in the page before trafilatura prunes it (positions in document order)."""

    texts: tuple[tuple[int, str, lxml.html.HtmlElement], ...]  # every element's own text, whitespace collapsed
    first_h1: int | None
    leads: tuple[Lead, ...]
    stories: tuple[tuple[int, int], ...] = ()  # (first, last) position of each <article> with an <h1>


def squash(text: str) -> str:
    return " ".join(text.split())


def class_words(element: lxml.html.HtmlElement) -> frozenset[str]:
    return words_of_class(element.get("class") or "")


# Pure memos by class attribute: a page repeats the same few hundred class strings on its thousand
# elements (and a site on all its pages); a regex over a long utility-class string costs microseconds.
@lru_cache(maxsize=8192)
def words_of_class(classes: str) -> frozenset[str]:
    return frozenset(word.lower() for word in CLASS_WORD_RE.findall(classes))


def has_hint(classes: str, hint_re: re.Pattern[str], lower_hint_re: re.Pattern[str]) -> bool:
    """``hint_re`` (case-insensitive) finds something in the class; ``lower_hint_re`` is its pattern
    without the flag, used on the lower-cased class when that is ASCII."""
    if classes.isascii():
        return lower_hint_re.search(classes.lower()) is not None
    return hint_re.search(classes) is not None


@lru_cache(maxsize=8192)
def is_lead_class(classes: str) -> bool:
    if not has_hint(classes, LEAD_CLASS_HINT_RE, LEAD_CLASS_HINT_LOWER_RE):
        return False  # most elements: skip splitting the class into words
    words = words_of_class(classes)
    return not words & LEAD_EXCLUDED_CLASS_WORDS and (bool(words & LEAD_CLASS_WORDS) or {"sub", "title"} <= words)


def in_caption(element: lxml.html.HtmlElement) -> bool:
    """Whether the element is (inside) a picture's caption: its text is not the article's."""
    for depth, node in enumerate([element, *element.iterancestors()]):
        if depth > CAPTION_ANCESTOR_DEPTH:
            return False
        if node.tag in CAPTION_TAGS or class_words(node) & CAPTION_CLASS_WORDS:
            return True
    return False


def lead_text(element: lxml.html.HtmlElement) -> str | None:
    """The element's text when it reads as one standfirst paragraph, else None."""
    if any(True for _ in element.iterdescendants(*LEAD_EXCLUDED_DESCENDANTS)):
        return None
    if any(class_words(child) & LEAD_EXCLUDED_CLASS_WORDS for child in element.iterdescendants()):
        return None
    text = squash(element.text_content())
    if not LEAD_MIN_CHARS <= len(text) <= LEAD_MAX_CHARS:
        return None
    if len(text.split()) < LEAD_MIN_WORDS and len(CJK_RE.findall(text)) < LEAD_MIN_CHARS:
        return None
    link_chars = sum(len(squash(link.text_content())) for link in element.iter("a"))
    if link_chars > LEAD_MAX_LINK_SHARE * len(text):
        return None
    return text


def is_description(text: str, descriptions: Sequence[str]) -> bool:
    for description in descriptions:
        if text == description:
            return True
        for mark in TRUNCATION_MARKS:
            cut = description.removesuffix(mark).rstrip()
            if cut != description and len(cut) >= LEAD_MIN_CHARS and text.startswith(cut):
                return True
    return False


def described_element(element: lxml.html.HtmlElement, descriptions: Sequence[str]) -> lxml.html.HtmlElement | None:
    """The element (or the nearest ancestor starting with the same text) whose text is a description.

    Called only for an element whose own text starts like a description (see :func:`outline`).
    """
    own = squash(element.text or "")[:START_MIN_CHARS]
    node: lxml.html.HtmlElement | None = element
    while node is not None and node.tag != "body":
        text = squash(node.text_content())
        if not text.startswith(own) or len(text) > LEAD_MAX_CHARS:
            return None
        if is_description(text, descriptions):
            return node
        node = node.getparent()
    return None


def outline(tree: lxml.html.HtmlElement, descriptions: Iterable[str | None]) -> Outline:
    """One pass over the body: text positions, the first ``<h1>``, and standfirst candidates."""
    wanted = tuple(dict.fromkeys(squash(d) for d in descriptions if d and len(squash(d)) >= LEAD_MIN_CHARS))
    openings = {description[:START_MIN_CHARS] for description in wanted}
    texts: list[tuple[int, str, lxml.html.HtmlElement]] = []
    leads: list[Lead] = []
    first_h1: int | None = None
    stories: list[tuple[int, int]] = []
    inside: set[lxml.html.HtmlElement] = set()  # the elements of the leads taken: no lead inside a lead
    body = tree.find("body")
    for position, element in enumerate(body.iter() if body is not None else ()):
        tag = element.tag
        if not isinstance(tag, str) or tag in NON_CONTENT_TAGS:
            continue
        if tag == "h1" and first_h1 is None:
            first_h1 = position
        elif tag == "article" and any(True for _ in element.iter("h1")):
            stories.append((position, position + sum(1 for _ in element.iterdescendants())))
        raw = element.text
        own = " ".join(raw.split()) if raw and not raw.isspace() else ""
        if own:
            texts.append((position, own, element))
        if inside and element in inside:
            continue
        found = described_element(element, wanted) if own[:START_MIN_CHARS] in openings else None
        if found is not None and not in_caption(found):
            leads.append(Lead(position, squash(found.text_content()), True))
            inside.update(found.iter())
            continue
        if tag not in LEAD_TAGS:
            continue
        classes = element.get("class")
        if classes and is_lead_class(classes):
            text = lead_text(element)
            if text is not None and not in_caption(element):
                leads.append(Lead(position, text, is_description(text, wanted)))
                inside.update(element.iter())
    return Outline(tuple(texts), first_h1, tuple(leads), tuple(stories))


def body_start(page: Outline, text: str) -> int | None:
    """Position of the element the text's first line starts with (None: not found)."""
    first = next((squash(line) for line in text.split("\n") if line.strip()), "")
    first = first.removeprefix("- ")  # trafilatura's list item marker
    if not first:
        return None
    wanted = first[:START_MATCH_CHARS]
    for position, own, element in page.texts:
        head = own[:START_MATCH_CHARS]
        if not first.startswith(head):
            continue
        if len(head) >= min(START_MIN_CHARS, len(first)):
            return position
        # A short text node starts a paragraph split by inline markup (a drop cap, a link).
        parent = element.getparent()
        for block in (element, parent) if parent is not None else (element,):
            if squash(block.text_content()).startswith(wanted):
                return position
    return None


def with_lead(text: str, page: Outline, title: str | None) -> str:
    """The text with the standfirst put back at the top when trafilatura left it out."""
    start = body_start(page, text)
    if start is None:
        return text
    known = normalise(f"{title or ''}\n{text}")
    added: list[str] = []
    for lead in page.leads:
        if lead.position >= start:
            break
        if not lead.described and page.first_h1 is not None and page.first_h1 < start and lead.position < page.first_h1:
            continue  # a teaser above the headline belongs to another story
        if not lead.described and texts_between(page, lead.position, start) > LEAD_MAX_GAP_TEXTS:
            continue  # too far above the body to be its standfirst (a page without <h1>)
        key = normalise(lead.text)
        if key and key not in known:
            added.append(lead.text)
            known += "\n" + key
    return "\n\n".join([*added, text]) if added else text


def texts_between(page: Outline, first: int, last: int) -> int:
    """How many text nodes stand from position ``first`` up to ``last``."""
    positions = [position for position, _, _ in page.texts]
    return bisect_left(positions, last) - bisect_left(positions, first)
