"""The article text: what is dropped before trafilatura (``DEFAULT_DROP_SELECTORS``, the
``EXTRACT_DROP_SELECTORS`` setting's default; short link lines; HTML comments, which cut paragraphs;
picture captions; call-to-action boxes; boxes of related / popular / next stories), trafilatura's
body turned into blocks separated by a blank line, and the clean-up of that text: widget lines,
lines repeated three times, credits and video teasers left out; the lines that lead it without
being body (headline again, kicker, byline, date, labels) and those that end it (dangling labels,
related-link lists, signatures) dropped; a second story appended by an infinite-scroll page cut;
the standfirst (lead / teaser paragraph of the article header, which trafilatura drops) put back
at the top. Also the visible and link text lengths the classifier weighs.

The page is read once before trafilatura (:func:`outline`: where each text stands, the standfirst
candidates, the ``<article>`` stories) because trafilatura may prune the tree it is given.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
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

# Lines that lead the text but are not body: the headline again (or with its kicker glued on), a
# kicker, a byline, a date line, an "Updated" label, a picture credit. Only a run of such lines at the
# very top is dropped; the first other line ends it.
HEADLINE_MIN_CHARS = 10
# A label leading the text: "Article", "Main content", "Up top", "In short", a section name.
LEADING_LABEL_MAX_WORDS = 3
LEADING_LABEL_MAX_CHARS = 30
READING_TIME_RE = re.compile(
    r"\b(lesedauer|lesezeit|reading time|min read|minutes? read|temps de lecture|tiempo de lectura|"
    r"min\.? de lectura|tempo di lettura|lästid|lesetid)\b",
    re.I,
)
# A reworded headline (the page shows another wording than its meta title): most of a headline's
# words, in a line that is no sentence (no full stop) and headline-short.
HEADLINE_MIN_WORD_SHARE = 0.6
HEADLINE_MAX_WORDS = 20
KICKER_MAX_WORDS = 5
KICKER_MAX_CHARS = 50
SENTENCE_END_RE = re.compile(r"[.!?…:]['\"”’»)]*$")
BYLINE_RE = re.compile(r"^(by|von|par|di|por|av|door|af|od|fra|text|texte|autor|autorin|author|reporter)\b[:\s]", re.I)
BYLINE_MAX_WORDS = 8
BYLINE_MAX_CHARS = 60  # CJK lines have no spaces to count words by
DATE_RES: tuple[re.Pattern[str], ...] = (
    re.compile(r"\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b"),
    re.compile(r"\b\d{4}-\d{2}-\d{2}\b"),
    re.compile(r"\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日"),
    re.compile(r"\b\d{1,2}[:.]\d{2}\b"),
    re.compile(r"\b\d{1,2}\.?\s+[^\W\d_]{3,}\.?,?\s+\d{4}\b"),
    re.compile(r"\b[^\W\d_]{3,}\.?\s+\d{1,2},?\s+\d{4}\b"),
)
DATE_LINE_MAX_OTHER_WORDS = 3
UPDATED_RE = re.compile(
    r"\b(updated|aktualisiert|actualizado|actualisé|mis à jour|aggiornato|oppdatert|uppdaterad|bijgewerkt|opdateret|"
    r"aktualizováno|zaktualizowano|güncellendi|更新)",
    re.I,
)
UPDATED_LINE_MAX_WORDS = 4
CREDIT_RE = re.compile(
    r"^(foto|fotos|photo|photos|bild|image|images|quelle|source|credit|crédit|imagen|billede|kuva|фото)\s*:|getty images$|"
    r"\((ap|afp|reuters|dpa) photo\b",
    re.I,
)
CREDIT_MAX_WORDS = 12
# A caption ending with its credit ("… Bild: Name"), a picture's caption line above its credit line.
CREDIT_TAIL_RE = re.compile(r"\b(foto|photo|bild|image|picture|credit|crédit|quelle|imagen)\s*:\s*[^.!?:]{0,60}$", re.I)

# Lines that end the text but are not body: a dangling label ("Read more:", "Ähnliche:") whose links
# were dropped, a list of related links under such a label or a short heading, a signature line.
LABEL_MAX_WORDS = 8
LABEL_MAX_CHARS = 60
LIST_ITEM_MAX_WORDS = 20
LIST_HEADING_MAX_WORDS = 5
LIST_LABEL_MAX_WORDS = 3  # "Related:", "Lesen Sie auch:"; a longer one introduces a list of the body
ITEM_SENTENCE_END_RE = re.compile(r"[.,;]$")  # headlines of linked stories end without these
MIN_LINK_LIST_ITEMS = 2

# Anywhere in the text: a line repeated this often is a placeholder (an embed blocked by consent
# settings, "Advertisement"), a short picture credit line is no body, nor is the teaser of a video
# ending with its date and running time ("… 21.04.2024 | 3:18 min").
REPEATED_LINE_MIN_COUNT = 3
CREDIT_LINE_MAX_WORDS = 8
VIDEO_TEASER_RE = re.compile(r"\|\s*\d{1,3}:\d{2}\s*min\.?$")

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

# A line is placed in the page by its first characters, when that long a text node starts it.
PLACE_CHARS = 40

VISIBLE_TEXT = etree.XPath(
    "//body//text()[not(ancestor::script or ancestor::style or ancestor::noscript or ancestor::template)]"
)
LINK_TEXT = etree.XPath(
    "//body//a//text()[not(ancestor::script or ancestor::style or ancestor::noscript or ancestor::template)]"
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
        if element.tag == "figcaption" or BOX_CLASS_HINT_RE.search(element.get("class") or "")
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


def finished_text(text: str, page: Outline, headlines: Sequence[str], authors: Sequence[str], title: str | None) -> str:
    """trafilatura's text cleaned up: the lines leading and ending it that are no body, a next story,
    noise lines dropped; the standfirst put back at the top."""
    if not text:
        return text
    text = without_leading_chrome(text, headlines, authors) or text
    text = without_trailing_chrome(without_noise_lines(without_next_story(text, page)), authors)
    return with_lead(text, page, title)


# --- the standfirst --------------------------------------------------------------------------------


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


def class_words(element: lxml.html.HtmlElement) -> set[str]:
    return {word.lower() for word in CLASS_WORD_RE.findall(element.get("class") or "")}


def has_lead_class(element: lxml.html.HtmlElement) -> bool:
    if not LEAD_CLASS_HINT_RE.search(element.get("class") or ""):
        return False  # most elements: skip splitting the class into words
    words = class_words(element)
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
        if classes and LEAD_CLASS_HINT_RE.search(classes) and has_lead_class(element):
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


# --- lines that lead the text but are not body -----------------------------------------------------


def is_headline(line: str, headlines: Sequence[str]) -> bool:
    """The headline again: equal to one, containing one (kicker glued on), or a good part of one."""
    key = normalise(line)
    if len(key) < HEADLINE_MIN_CHARS:
        return False
    for headline in headlines:
        other = normalise(headline)
        if len(other) < HEADLINE_MIN_CHARS:
            continue
        if key in other and 2 * len(key) >= len(other):
            return True
        if other in key and len(key) - len(other) <= KICKER_MAX_CHARS and not is_sentence(line, headline):
            return True  # the kicker glued to the headline
        if is_reworded_headline(line, key, other):
            return True
    return False


def is_sentence(line: str, headline: str) -> bool:
    """Ends with a full stop the headline does not have: a sentence of the body, not a headline."""
    return line.rstrip().endswith(".") and not headline.rstrip().endswith(".")


def is_reworded_headline(line: str, key: str, headline_key: str) -> bool:
    words = key.split()
    if len(words) > HEADLINE_MAX_WORDS or line.rstrip().endswith("."):
        return False
    wanted = set(headline_key.split())
    return len(wanted) >= 3 and len(wanted & set(words)) >= HEADLINE_MIN_WORD_SHARE * len(wanted)


def is_date_line(line: str) -> bool:
    if SENTENCE_END_RE.search(line) and not re.search(r"\d\.$", line):
        return False  # "On 12 May 2024 he won." is a sentence
    rest = line
    for pattern in DATE_RES:
        rest = pattern.sub(" ", rest)
    if rest == line:
        return False
    return len(re.findall(r"[^\W\d_]{2,}", rest)) <= DATE_LINE_MAX_OTHER_WORDS


def is_byline(line: str, authors: Sequence[str]) -> bool:
    words = line.split()
    if len(words) > BYLINE_MAX_WORDS or len(line) > BYLINE_MAX_CHARS or SENTENCE_END_RE.search(line):
        return False
    if BYLINE_RE.match(line):
        return True
    key = normalise(line)
    return any(normalise(name) and normalise(name) in key for name in authors)


def is_chrome_line(line: str, authors: Sequence[str]) -> bool:
    """A date line, an "Updated" label, a byline or a picture credit."""
    words = line.split()
    return (
        is_date_line(line)
        or (len(words) <= UPDATED_LINE_MAX_WORDS and bool(UPDATED_RE.search(line)))
        or is_byline(line, authors)
        or (len(words) <= CREDIT_MAX_WORDS and bool(CREDIT_RE.search(line)))
    )


def is_leading_label(line: str) -> bool:
    """A short label line (no sentence), a label ending with a colon, or a reading time."""
    words = line.split()
    if len(words) <= LEADING_LABEL_MAX_WORDS and len(line) <= LEADING_LABEL_MAX_CHARS:
        return not SENTENCE_END_RE.search(line) or line.endswith(":")
    return is_label(line) or (len(words) <= UPDATED_LINE_MAX_WORDS and bool(READING_TIME_RE.search(line)))


def is_whole_block(lines: list[str], index: int) -> bool:
    """The line stands alone between blank lines: not a piece of a paragraph split at inline markup."""
    before = index == 0 or not lines[index - 1].strip()
    after = index + 1 >= len(lines) or not lines[index + 1].strip()
    return before and after


def is_kicker(line: str) -> bool:
    return len(line.split()) <= KICKER_MAX_WORDS and len(line) <= KICKER_MAX_CHARS and not SENTENCE_END_RE.search(line)


def without_leading_chrome(text: str, headlines: Sequence[str], authors: Sequence[str]) -> str:
    """The text without the headline, kicker, byline, date and credit lines that lead it."""
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = squash(lines[index])
        following = next((squash(later) for later in lines[index + 1 :] if later.strip()), "")
        if (
            not line
            or is_headline(line, headlines)
            or is_chrome_line(line, authors)
            or bool(CREDIT_TAIL_RE.search(line))
            or (is_leading_label(line) and is_whole_block(lines, index))
            or (line.startswith("- ") and is_leading_label(line[2:]))  # share and menu buttons
            or (is_kicker(line) and is_headline(following, headlines))
            or (bool(following) and is_chrome_line(following, authors) and bool(CREDIT_RE.search(following)))
        ):
            index += 1
            continue
        break
    if index == 0:
        return text
    return "\n".join(lines[index:]).strip()


# --- a second story appended -----------------------------------------------------------------------


def without_next_story(text: str, page: Outline) -> str:
    """The text cut where a later story begins: an infinite-scroll page renders the next article
    (its own ``<article>`` with its own ``<h1>``) after the one read, and trafilatura keeps both."""
    start = body_start(page, text)
    if start is None or len(page.stories) < 2:
        return text
    own = [story for story in page.stories if story[0] <= start <= story[1]]
    if not own:
        return text
    own_end = min(own, key=lambda story: story[1] - story[0])[1]
    later = [story for story in page.stories if story[0] > own_end]
    if not later:
        return text
    places: dict[str, int] = {}
    for position, node_text, _ in page.texts:
        if len(node_text) >= PLACE_CHARS:
            places.setdefault(node_text[:PLACE_CHARS], position)
    lines = text.split("\n")
    for index, line in enumerate(lines):
        position = places.get(squash(line)[:PLACE_CHARS])
        if position is not None and any(first <= position <= last for first, last in later):
            kept = "\n".join(lines[:index]).strip()
            return kept or text
    return text


def without_noise_lines(text: str) -> str:
    """The text without lines repeated three times or more, picture credit lines and video teasers."""
    lines = text.split("\n")
    counts = Counter(squash(line) for line in lines if line.strip())
    kept = [
        line
        for line in lines
        if not (
            counts[squash(line)] >= REPEATED_LINE_MIN_COUNT
            or (line.strip() and len(line.split()) <= CREDIT_LINE_MAX_WORDS and CREDIT_RE.search(squash(line)))
            or VIDEO_TEASER_RE.search(line.rstrip())
        )
    ]
    if len(kept) == len(lines):
        return text
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


# --- lines that end the text but are not body ------------------------------------------------------


def is_label(line: str) -> bool:
    return line.endswith(":") and len(line.split()) <= LABEL_MAX_WORDS and len(line) <= LABEL_MAX_CHARS


def is_list_item(line: str) -> bool:
    return line.startswith("- ") and len(line.split()) <= LIST_ITEM_MAX_WORDS and not ITEM_SENTENCE_END_RE.search(line)


def trailing_link_list(lines: list[str]) -> int:
    """How many of the last lines are a list of links under a label or short heading (0: none)."""
    index = len(lines)
    while index > 0 and is_list_item(lines[index - 1]):
        index -= 1
    items = len(lines) - index
    if items < MIN_LINK_LIST_ITEMS or index == 0:
        return 0
    heading = lines[index - 1]
    if (is_label(heading) and len(heading.split()) <= LIST_LABEL_MAX_WORDS) or (
        len(heading.split()) <= LIST_HEADING_MAX_WORDS and not SENTENCE_END_RE.search(heading)
    ):
        return items + 1
    return 0


def without_trailing_chrome(text: str, authors: Sequence[str]) -> str:
    """The text without the labels, link lists and signature lines that end it."""
    lines = [squash(line) for line in text.split("\n")]
    kept = list(lines)
    while kept:
        if not kept[-1] or is_label(kept[-1]) or is_byline(kept[-1], authors):
            kept.pop()
            continue
        cut = trailing_link_list([line for line in kept if line])
        if not cut:
            break
        while cut:
            if kept.pop():
                cut -= 1
    if len(kept) == len(lines) or not any(kept):
        return text
    return "\n".join(text.split("\n")[: len(kept)]).strip()
