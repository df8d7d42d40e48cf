"""Article or not: decide from the fields :func:`crawler.extraction.extract.extract_page` returns.

Two modes, chosen by the source configuration:

* ``article_patterns`` given (the source lists URL regexes of its article pages): a page is an
  article iff its URL matches one of them and it has real text (not an app shell or placeholder).
* no patterns: page signals decide, the way news-please/fundus-style crawlers judge real news
  sites. In order: no text / app shell / placeholder -> not; one JSON-LD article entity of the page
  itself (an ItemList of related stories does not count) with enough text -> article; several -> a
  listing; JSON-LD collection/profile/about/... page or og:type website/profile -> not; URL of a
  home, tag, category, author, section, pagination, about, login, contact or search page -> not;
  og:type article with enough text in >= 3 paragraphs -> article (related-story teasers around it
  do not count); listing layout (several ``<article>`` teasers, many links) -> not; og:type article with enough
  text -> article; otherwise enough text in >= 3 real paragraphs, low link density and a title ->
  article.

``min_text_chars`` (the ``EXTRACT_MIN_TEXT_CHARS`` setting, passed in by pipelines/extract.py) is
"enough text": a page with less text is "no article text", in both modes.
Every verdict carries a short human reason, so a user can see why a page was kept or skipped,
and a rejection also its machine-readable kind (``archive.models.ReasonKind``: ``no_text``,
``javascript_shell``, ``listing``, ``not_article_url``…), which the archive stores beside the
reason and which counts and health rules use.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from archive.models import ReasonKind
from crawler.extraction.jsonld import ARTICLE_JSONLD_TYPES

NON_ARTICLE_JSONLD_TYPES = frozenset(
    {"CollectionPage", "ProfilePage", "AboutPage", "ContactPage", "SearchResultsPage", "CheckoutPage"}
)
# Present on every page of most CMS sites (Yoast, Rank Math): says nothing about this page alone.
SITE_WIDE_JSONLD_TYPES = frozenset(
    {
        "WebSite",
        "Organization",
        "NewsMediaOrganization",
        "Person",
        "BreadcrumbList",
        "ImageObject",
        "ListItem",
        "SiteNavigationElement",
        "WPHeader",
        "WPFooter",
        "SearchAction",
        "WebPage",
    }
)
NON_ARTICLE_OG_TYPES = frozenset({"website", "profile", "book", "music.song", "video.other", "product"})
MIN_PARAGRAPHS = 3
MAX_LINK_DENSITY = 0.5
LISTING_MIN_TEASERS = 3
LISTING_LINK_DENSITY = 0.15
LISTING_ALWAYS_TEASERS = 6
# Pages with no article markup at all (no og:type article, no JSON-LD) must show more of an
# article's shape: a short section front with two teasers otherwise passes as a news brief.
UNMARKED_MIN_TEXT_CHARS = 400
UNMARKED_LISTING_TEASERS = 2
UNMARKED_LISTING_LINK_DENSITY = 0.2

NON_ARTICLE_URL_HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^/(index\.(html?|php))?$"), "home page"),
    (re.compile(r"/(tag|tags|topic|topics|schlagwort|thema)/", re.I), "tag page"),
    (re.compile(r"/(category|categories|rubrik|kategorie)/", re.I), "category page"),
    (re.compile(r"/(author|authors|autor|autoren|people|profile)/", re.I), "author page"),
    (re.compile(r"/section/", re.I), "section page"),
    (re.compile(r"/page/\d+/?$", re.I), "pagination page"),
    (re.compile(r"/(about|about-us|ueber-uns|impressum|imprint)/?$", re.I), "/about page"),
    (re.compile(r"/(login|log-in|signin|sign-in|register|signup|sign-up|anmelden|account)/?$", re.I), "login page"),
    (re.compile(r"/(contact|contact-us|kontakt)/?$", re.I), "contact page"),
    (
        re.compile(
            r"/(privacy|privacy-policy|privacy-notice|datenschutz|datenschutzerklaerung|terms|terms-of-use|"
            r"terms-of-service|terms-and-conditions|agb|nutzungsbedingungen|cookies?|cookie-policy|legal|"
            r"disclaimer|politica-de-privacidad|confidentialite|mentions-legales)(\.html?)?/?$",
            re.I,
        ),
        "legal page",
    ),
    (re.compile(r"/(search|suche)(/|$)", re.I), "search page"),
)


@dataclass(frozen=True)
class Verdict:
    """Whether a page is an article, and why: in words (short, for humans and logs) and, for a
    rejection, as a kind (None for an article)."""

    is_article: bool
    reason: str
    kind: ReasonKind | None = None


def classify_page(
    fields: dict[str, Any],
    url: str,
    article_patterns: Sequence[re.Pattern[str]] = (),
    *,
    min_text_chars: int = 200,
) -> Verdict:
    """Classify one extracted page as article or not; see the module docstring for the rules."""
    signals = fields.get("signals") or {}
    text_chars = int(signals.get("text_chars") or len(fields.get("text") or ""))
    no_text = _no_text(fields, signals, text_chars, min_text_chars)

    if article_patterns:
        matched = next((p for p in article_patterns if p.search(url)), None)
        if matched is None:
            return Verdict(
                False, "URL matches none of the source's article patterns", ReasonKind.OUTSIDE_ARTICLE_PATTERNS
            )
        if no_text:
            return Verdict(False, f"URL matches article pattern but {no_text.reason}", no_text.kind)
        return Verdict(True, f"URL matches article pattern {matched.pattern!r}")

    if no_text:
        return no_text

    jsonld_types = [str(t) for t in signals.get("jsonld_types") or []]
    article_types = [t for t in jsonld_types if t in ARTICLE_JSONLD_TYPES]
    enough_text = text_chars >= min_text_chars
    # The page's own article entities count; an ItemList of related stories or a breadcrumb does not.
    main_articles = int(signals.get("jsonld_main_articles") or 0) if article_types else 0
    if main_articles == 1 and enough_text:
        return Verdict(True, f"JSON-LD {article_types[0]} with {text_chars} chars of text")
    if main_articles >= 2 or (main_articles == 0 and len(article_types) >= 2):
        count = main_articles or len(article_types)
        return Verdict(False, f"listing page: JSON-LD lists {count} articles", ReasonKind.LISTING)

    page_types = [t for t in jsonld_types if t in NON_ARTICLE_JSONLD_TYPES]
    if page_types:
        return Verdict(False, f"JSON-LD {page_types[0]}: not an article page", ReasonKind.NOT_ARTICLE_TYPE)
    if "WebSite" in jsonld_types and not set(jsonld_types) - {"WebSite", "Organization", "SearchAction"}:
        return Verdict(False, "JSON-LD WebSite only: a home page", ReasonKind.NOT_ARTICLE_TYPE)
    og_type = (signals.get("og_type") or "").lower()
    if og_type in NON_ARTICLE_OG_TYPES:
        return Verdict(False, f"og:type {og_type}: not an article page", ReasonKind.NOT_ARTICLE_TYPE)

    url_hint = _url_hint(url)
    if url_hint:
        return Verdict(False, f"URL looks like a {url_hint}", ReasonKind.NOT_ARTICLE_URL)

    teasers = int(signals.get("article_elements") or 0)
    link_density = float(signals.get("link_density") or 0.0)
    paragraphs = int(signals.get("paragraphs") or 0)
    # An article page says so (og:type article) and has an article's body; related-story blocks
    # marked up as <article> around it do not make it a listing.
    if og_type == "article" and enough_text and paragraphs >= MIN_PARAGRAPHS and link_density <= MAX_LINK_DENSITY:
        return Verdict(True, f"og:type article with {text_chars} chars in {paragraphs} paragraphs")
    if teasers >= LISTING_ALWAYS_TEASERS or (teasers >= LISTING_MIN_TEASERS and link_density >= LISTING_LINK_DENSITY):
        return _listing(teasers, link_density)

    if og_type == "article" and enough_text:
        return Verdict(True, f"og:type article with {text_chars} chars of text")

    if teasers >= UNMARKED_LISTING_TEASERS and link_density >= UNMARKED_LISTING_LINK_DENSITY:
        return _listing(teasers, link_density)
    needed = max(min_text_chars, UNMARKED_MIN_TEXT_CHARS)
    if text_chars < needed:
        return Verdict(
            False,
            f"too little text for a page without article markup ({text_chars} < {needed} chars)",
            ReasonKind.TOO_LITTLE_TEXT,
        )
    if paragraphs < MIN_PARAGRAPHS:
        return Verdict(False, f"too few paragraphs ({paragraphs} < {MIN_PARAGRAPHS})", ReasonKind.TOO_FEW_PARAGRAPHS)
    if link_density > MAX_LINK_DENSITY:
        return Verdict(False, f"mostly links (link density {link_density:.2f})", ReasonKind.MOSTLY_LINKS)
    if not (fields.get("title") or "").strip():
        return Verdict(False, "no title", ReasonKind.NO_TITLE)
    return Verdict(True, f"{paragraphs} paragraphs, {text_chars} chars, link density {link_density:.2f}")


def looks_like_javascript_shell(fields: dict[str, Any]) -> bool:
    """The page's text comes from scripts: an empty app root, "Loading…", an "enable JavaScript" notice."""
    signals = fields.get("signals") or {}
    return bool(signals.get("app_shell") or signals.get("placeholder"))


def _listing(teasers: int, link_density: float) -> Verdict:
    return Verdict(
        False, f"listing page: {teasers} <article> teasers, link density {link_density:.2f}", ReasonKind.LISTING
    )


def _no_text(fields: dict[str, Any], signals: dict[str, Any], text_chars: int, min_chars: int) -> Verdict | None:
    """The rejection of a page with no article text to extract, or None when it has some."""
    if signals.get("app_shell"):
        return Verdict(False, "no article text (JavaScript app shell)", ReasonKind.JAVASCRIPT_SHELL)
    if signals.get("placeholder"):
        return Verdict(False, "no article text (placeholder page)", ReasonKind.PLACEHOLDER)
    if text_chars == 0:
        if fields.get("error"):
            return Verdict(
                False, f"no article text (extraction failed: {fields['error']})", ReasonKind.EXTRACTION_FAILED
            )
        return Verdict(False, "no article text", ReasonKind.NO_TEXT)
    if text_chars < min_chars:
        return Verdict(
            False, f"no article text (too little text: {text_chars} < {min_chars} chars)", ReasonKind.NO_TEXT
        )
    return None


def _url_hint(url: str) -> str | None:
    parts = urlsplit(url)
    path = parts.path or "/"
    for pattern, hint in NON_ARTICLE_URL_HINTS:
        if pattern.search(path):
            return hint
    if re.search(r"(^|&)(s|q|query|search)=", parts.query) and path.rstrip("/") in ("", "/search"):
        return "search page"
    return None
