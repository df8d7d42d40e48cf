"""Authors: the people credited with an article, from JSON-LD, byline ``<meta>`` tags,
trafilatura and the theme's byline markup; the publisher only when nobody else is named.
No settings drive this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import lxml.html

from crawler.extraction.jsonld import ld_person
from crawler.extraction.labels import labelled_values
from crawler.extraction.page import Meta, as_list, unique
from crawler.extraction.site import is_site_like

# <meta> names that carry a byline, in order of trust. Dublin Core / citation metas write "Last, First".
AUTHOR_META_KEYS = (
    "author",
    "article:author",
    "itemprop:author",
    "parsely-author",
    "sailthru.author",
    "cxenseparse:author",
    "byl",
)
INVERTED_AUTHOR_META_KEYS = ("dc.creator", "citation_author")
# Byline elements of themes: rel=author links, itemprop=author, class "author" / "byline" (hCard ".fn" inside).
BYLINE_CLASSES = frozenset({"author", "byline", "fn"})
BYLINE_MAX_CHARS = 120
BYLINE_PREFIX_RE = re.compile(
    r"^\s*(?:(?:written|reported|text|words|story)\s+)?(?:by|von|por|par|door|di|da|av|af|autor|autorin|author|"
    r"autor/in|text|texto|reporter)\b\s*[:.]?\s*",
    re.I,
)
# Labels of an author field in a metadata box ("<strong>Autorin/Autor</strong> Jane Doe").
AUTHOR_LABEL_RE = re.compile(
    r"autor(?:in)?(?:\s*/\s*autor(?:in)?)?|autor\*in|autor:innen|autoren|author|authors|written by|reporter|"
    r"verfasser(?:in)?|texto|text",
    re.I,
)
NAME_JOINER_RE = re.compile(r"\s*(?:,|;|\s&\s|\sand\s|\sund\s|\sy\s|\se\s|\set\s|\sen\s|\sog\s|\soch\s)\s*", re.I)
MAX_NAME_WORDS = 5
# WordPress and similar CMSs credit their default account when nobody set an author.
CMS_ACCOUNT_RE = re.compile(r"/author/(?:admin|administrator|webmaster)/?$", re.I)
# A signature line: 2-4 capitalised words of letters (a hyphen, apostrophe or initial's dot aside).
SIGNATURE_WORDS = (2, 4)
SIGNATURE_MIN_PARAGRAPHS = 3
# "Capital von Jemima Kelly": a brand or section word before the byline's "von"/"by". Names with a
# particle ("Ursula von der Leyen", "Otto von Bismarck") do not have two capitalised words after it.
MID_BYLINE_WORDS = frozenset({"by", "von", "por", "par"})
NAME_PARTICLES = frozenset({"der", "den", "dem", "zu", "und", "de", "del", "la", "le", "van", "y"})


def authors(
    article_ld: dict[str, Any],
    by_id: dict[str, dict[str, Any]],
    meta: Meta,
    trafilatura_author: str | None,
    bylines: list[str],
    site_names: list[str],
    host: tuple[str, ...],
    signatures: list[str] | tuple[str, ...] = (),
) -> list[str]:
    """People credited with the article; the publisher only when the page names nobody else.

    Sources in order, the first that yields a person wins: JSON-LD authors (``@id`` references
    resolved, ``givenName``/``familyName``, ``byline``), byline ``<meta>`` tags, trafilatura's
    author, the theme's byline markup (``rel=author``, ``.author .fn``), a signature line opening or
    closing the text (``signatures``). Names that are the site itself (its name, host or initials)
    or a CMS account (WordPress "admin") are not people; an Organization author is the last resort.
    """
    people: list[str] = []
    organisations: list[list[str]] = [[]]
    accounts: set[str] = set()
    for author in as_list(article_ld.get("author")):
        for item in as_list(author):
            name, is_org = ld_person(item, by_id)
            if is_cms_account(item, by_id):
                accounts.add(name.casefold())
                continue
            (organisations[0] if is_org else people).append(name)

    def persons(names: Iterable[str]) -> list[str]:
        found, sited = [], []
        for raw in names:
            for name in split_names(raw):
                if name.casefold() in accounts:
                    continue
                (sited if is_site_like(name, site_names, host) else found).append(name)
        organisations.append(sited)
        return unique(found)

    found = persons(people)
    if not found:
        found = persons(value for key in AUTHOR_META_KEYS for value in meta.getall(key))
    if not found:
        found = persons(inverted_name(value) for key in INVERTED_AUTHOR_META_KEYS for value in meta.getall(key))
    if not found and trafilatura_author:
        found = persons(trafilatura_author.split(";"))
    if not found:
        found = persons(bylines)
    if not found:
        found = persons(signatures)
    if not found:
        # Nobody named: the organisation credited first (JSON-LD Organization, then site-like bylines).
        group = next((group for group in organisations if any(group)), [])
        found = unique(name for raw in group for name in split_names(raw))
    return found


def byline_texts(tree: lxml.html.HtmlElement) -> list[str]:
    """Texts of the theme's byline elements (``rel=author``, ``.author .fn``, ``.byline``), short ones
    only, then the values of labelled author fields ("<strong>Autor</strong> Jane Doe")."""
    texts = []
    # A walk over the page's elements (their proxies are built already, see extract._extract) with a
    # cheap substring test first: the same test as an XPath predicate cost ~3 ms a page.
    for el in tree.iter():
        if not isinstance(el.tag, str):
            continue
        classes = el.get("class") or ""
        rel_or_itemprop = el.get("rel") == "author" or el.get("itemprop") == "author"
        if not (rel_or_itemprop or "author" in classes or "byline" in classes):
            continue
        if not (rel_or_itemprop or BYLINE_CLASSES & set(classes.split())):
            continue
        text = " ".join(el.text_content().split())
        if text and len(text) <= BYLINE_MAX_CHARS:
            texts.append(text)
            if len(texts) >= 6:
                break
    return [*texts, *labelled_values(tree, AUTHOR_LABEL_RE)[:6]]


def is_cms_account(value: Any, by_id: dict[str, dict[str, Any]]) -> bool:
    """A JSON-LD author that is the CMS's default account (``/author/admin/``): the site, not a writer."""
    if not isinstance(value, dict):
        return False
    reference = value.get("@id")
    entity = by_id.get(reference, {}) if isinstance(reference, str) else {}
    addresses = [reference, value.get("url"), entity.get("url")]
    return any(isinstance(a, str) and CMS_ACCOUNT_RE.search(a) for a in addresses)


def signature_lines(tree: lxml.html.HtmlElement) -> list[str]:
    """Bold one-line paragraphs that open or close the article text: "<p><strong>Jane Doe</strong></p>".

    Agencies and smaller sites sign articles this way (the author above the first paragraph, or
    right-aligned under the last one) and name nobody in metadata. Only 2–4 capitalised words count.
    """
    lines = []
    containers = {id(p.getparent()): p.getparent() for p in tree.iter("p") if p.getparent() is not None}
    for container in containers.values():
        paragraphs = [child for child in container if child.tag == "p" and child.text_content().strip()]
        if len(paragraphs) < SIGNATURE_MIN_PARAGRAPHS:
            continue
        for paragraph in (paragraphs[0], paragraphs[-1]):
            children = list(paragraph)
            text = " ".join(paragraph.text_content().split())
            if (
                len(children) == 1
                and children[0].tag in ("strong", "b")
                and " ".join(children[0].text_content().split()) == text
                and is_signature(text)
            ):
                lines.append(text)
    return lines


def is_signature(text: str) -> bool:
    words = text.split()
    low, high = SIGNATURE_WORDS
    return low <= len(words) <= high and all(
        word[0].isupper() and all(ch.isalpha() or ch in "-'’." for ch in word) for word in words
    )


def inverted_name(value: str) -> str:
    """'Last, First' (Dublin Core, citation metas) → 'First Last'; anything else unchanged."""
    parts = [part.strip() for part in value.split(",")]
    if len(parts) == 2 and all(parts) and all(len(part.split()) <= 3 for part in parts):
        return f"{parts[1]} {parts[0]}"
    return value


def split_names(raw: str) -> list[str]:
    """One byline string → names: prefixes ("By ", "Von ") off, "A, B and C" split, roles dropped."""
    raw = " ".join((raw or "").split())
    if not raw or raw.startswith(("http://", "https://", "www.")) or "@" in raw:
        return []
    raw = after_lead_words(BYLINE_PREFIX_RE.sub("", raw).strip())
    names = []
    for part in NAME_JOINER_RE.split(raw):
        part = BYLINE_PREFIX_RE.sub("", part).strip(" .:|-–—")
        if not part:
            continue
        if not looks_like_name(part):
            # "Jane Doe, professor of history at X": a role or place after the name ends the list.
            if names:
                break
            continue
        names.append(part)
    return names


def after_lead_words(raw: str) -> str:
    """What follows a byline word ("von", "by") that comes after one or two leading words, when two
    capitalised words follow it: "Capital Von Jemima Kelly" → "Jemima Kelly"."""
    words = raw.split()
    for lead in (1, 2):
        following = words[lead + 1 : lead + 3]
        if (
            len(following) == 2
            and words[lead].lower() in MID_BYLINE_WORDS
            and following[0].lower() not in NAME_PARTICLES
            and all(word[:1].isupper() for word in following)
        ):
            return " ".join(words[lead + 1 :])
    return raw


def looks_like_name(part: str) -> bool:
    words = part.split()
    if len(words) > MAX_NAME_WORDS:
        return False
    # Latin-script names are capitalised words (particles such as "van", "de", "bin" aside).
    lowercase = [w for w in words if w[:1].isalpha() and w[:1].islower() and len(w) > 3]
    return len(lowercase) <= 1


# --- site name and titles ----------------------------------------------------------------------------
