"""Syndication notes: "This article first appeared in …" is a fact about the article, not its text.

Republished articles carry a short note naming where they first appeared ("This article was
originally published on The Conversation", "Dieser Artikel erschien zuerst bei …", "Republished
with permission from …"). :func:`take_syndication_note` finds such a note in the page before
trafilatura runs, removes it from the tree, and returns what it names: the URL it links to, else
the publication's name as written. That value is the article's ``syndicated_from`` field; the
archive uses it to point a copy at its original. No settings drive this module.

A note is a short block (``NOTE_MAX_WORDS``) that *starts* with one of the phrasings below, in
English, German, French, Spanish, Italian, Dutch or Portuguese: a sentence in the middle of a
paragraph ("the photo first appeared on X") is not a note.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urljoin

import lxml.html

NOTE_MAX_WORDS = 60
# Their text is code or data, never a note (and scanning a page's scripts costs more than the page).
INVISIBLE = frozenset({"script", "style", "noscript", "template"})
NOTE_ELEMENTS = ("p", "div", "aside", "footer", "small", "em", "i", "span", "section", "blockquote")
# Optional lead-in, then the phrase; group "rest" is what follows the preposition.
_LEAD = (
    r"^[\W_]*(?:editor'?s note\W+|note\W+|anm\.\s*d\.\s*red\.\W+)?"
    r"(?:(?:this|the|a version of this|an earlier version of this|parts of this)\s+"
    r"(?:article|story|piece|post|report|column|essay|interview|text|op-ed|commentary)\s+"
    r"(?:was\s+|has\s+been\s+|is\s+|were\s+)?)?"
)
NOTE_RE = re.compile(
    "|".join(
        (
            _LEAD + r"(?:first|originally|initially|previously)\s+(?:appeared|published|ran|posted)\s+"
            r"(?:in|on|at|by|with|via)\s+(?P<rest_en>.+)",
            _LEAD + r"republished\s+(?:here\s+)?(?:with\s+(?:kind\s+)?permission\s+)?(?:from|of|by)\s+(?P<rest_rp>.+)",
            _LEAD + r"reprinted\s+(?:with\s+permission\s+)?(?:from|of)\s+(?P<rest_rpr>.+)",
            r"^[\W_]*(?:dieser|der)\s+(?:artikel|beitrag|text)\s+(?:ist|erschien|wurde)\s+(?:zuerst|ursprünglich|erstmals)"
            r"\s+(?:erschienen\s+|veröffentlicht\s+)?(?:in|bei|auf|im)\s+(?P<rest_de>.+)",
            r"^[\W_]*(?:zuerst|ursprünglich|erstmals)\s+(?:erschienen|veröffentlicht)\s+(?:in|bei|auf|im)\s+(?P<rest_de2>.+)",
            r"^[\W_]*(?:cet\s+article\s+(?:a\s+été\s+)?)?(?:initialement|d'abord|originellement)\s+publié\s+"
            r"(?:dans|sur|par)\s+(?P<rest_fr>.+)",
            r"^[\W_]*(?:este\s+artículo\s+(?:fue\s+)?)?(?:publicado\s+originalmente|publicado\s+por\s+primera\s+vez)"
            r"\s+(?:en|por)\s+(?P<rest_es>.+)",
            r"^[\W_]*(?:questo\s+articolo\s+(?:è\s+stato\s+)?)?(?:pubblicato|apparso)\s+(?:originariamente|per\s+la\s+prima"
            r"\s+volta|originalmente)\s+(?:su|in|da)\s+(?P<rest_it>.+)",
            r"^[\W_]*(?:dit\s+(?:artikel|stuk)\s+)?(?:verscheen\s+eerder|is\s+eerder\s+verschenen|eerder\s+verschenen)"
            r"\s+(?:in|op|bij)\s+(?P<rest_nl>.+)",
            r"^[\W_]*(?:este\s+(?:artigo|texto)\s+(?:foi\s+)?)?(?:publicado\s+originalmente|originalmente\s+publicado)"
            r"\s+(?:em|no|na|pelo|pela)\s+(?P<rest_pt>.+)",
        )
    ),
    re.I | re.S,
)
# Phrases (lower case) one of which every note NOTE_RE reads contains: a page whose text has none
# has no note (most pages). Plain substring tests: a regex over a whole page costs ~50 ms.
NOTE_HINTS = (
    *(
        f"{when} {verb}"
        for when in ("first", "originally", "initially", "previously")
        for verb in ("appeared", "published", "ran", "posted")
    ),
    "republished",
    "reprinted",
    "erschien zuerst",
    "erschien ursprünglich",
    "erschien erstmals",
    *(f"{when} {verb}" for when in ("zuerst", "ursprünglich", "erstmals") for verb in ("erschienen", "veröffentlicht")),
    "initialement publié",
    "d'abord publié",
    "originellement publié",
    "publicado originalmente",
    "originalmente publicado",
    "publicado por primera",
    *(
        f"{verb} {how}"
        for verb in ("pubblicato", "apparso")
        for how in ("originariamente", "originalmente", "per la prima")
    ),
    "verscheen eerder",
    "eerder verschenen",
)


def has_note_hint(text: str) -> bool:
    lowered = text.lower()
    return any(hint in lowered for hint in NOTE_HINTS)


# The name ends at the first sentence end, clause or date: "The Conversation on 3 May. Read the original…"
_NAME_END = re.compile(r"\s*(?:[.;:!?(|]\s|[.;:!?]$|,|\s(?:on|am|le|el|il|op|em)\s+\d|\s+and\s+is\b|\s+und\s+)")
NAME_MAX_WORDS = 8
# "First published on Mon 12 May 2024" is a dateline, not a source.
_DATE_LIKE = re.compile(
    r"^(?:\d|(?:mon|tue|wed|thu|fri|sat|sun|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b)", re.I
)


def take_syndication_note(tree: lxml.html.HtmlElement, url: str) -> str | None:
    """Find the page's syndication note, drop it from ``tree`` and return where it says the article
    first appeared: the absolute URL of its link, else the name it gives. None when there is no note."""
    body = tree.find("body")
    if body is None or not has_note_hint("\0".join(visible_pieces(body))):
        return None  # most pages: one test over the text, no note search
    for node in body.iter():
        # Where a note's words stand: an element's own text, or the text after an inline child
        # ("<strong>Note:</strong> This article first appeared …").
        if (
            not isinstance(node.tag, str)
            or node.tag in INVISIBLE
            or not any(piece and has_note_hint(piece) for piece in (node.text, node.tail))
        ):
            continue
        element = _note_block(node if node.text and has_note_hint(node.text) else node.getparent())
        if element is None:
            continue
        match = NOTE_RE.match(" ".join(element.text_content().split()))
        if match is None:
            continue
        rest = next(value for value in match.groupdict().values() if value)
        source = _linked_source(element, url) or _named_source(rest)
        if source is None:
            continue
        if element.getparent() is not None:
            element.drop_tree()
        return source
    return None


def visible_pieces(body: lxml.html.HtmlElement) -> Iterator[str]:
    """The pieces of text the note search reads: each visible element's own text and the text after
    it (not the body's own tail, which the body's text never held either). Joined by a character no
    hint holds, they are one test for a hint in any of them; the body's whole text, the test this
    replaces, holds its scripts' too (~100 kB a page)."""
    for node in body.iter():
        if not isinstance(node.tag, str) or node.tag in INVISIBLE:
            continue
        if node.text:
            yield node.text
        if node.tail and node is not body:
            yield node.tail


def _note_block(node: lxml.html.HtmlElement | None) -> lxml.html.HtmlElement | None:
    """The largest short block around ``node`` (the <p> around an <em>), None when there is none."""
    block = None
    while node is not None and node.tag != "body":
        if node.tag in NOTE_ELEMENTS:
            if len(node.text_content().split()) > NOTE_MAX_WORDS:
                break
            block = node
        node = node.getparent()
    return block


def _linked_source(element: lxml.html.HtmlElement, url: str) -> str | None:
    for link in element.iter("a"):
        href = (link.get("href") or "").strip()
        if href and not href.startswith(("#", "javascript:", "mailto:")):
            return urljoin(url, href)
    return None


def _named_source(rest: str) -> str | None:
    name = _NAME_END.split(rest.strip(), maxsplit=1)[0].strip(" \"'“”‘’«».")
    words = name.split()
    if not words or len(words) > NAME_MAX_WORDS or _DATE_LIKE.match(name):
        return None
    return name
