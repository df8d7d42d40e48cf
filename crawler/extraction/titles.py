"""The headline: the first of trafilatura's title, JSON-LD headline, og:title, twitter:title,
``<h1>`` and ``<title>``, with the site name, dates and decorations that other candidates lack cut
off; when those disagree (an SEO or social title next to the headline), the one the page shows as its
visible ``<h1>`` headline. No settings drive this module.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import unescape as html_unescape
from typing import Any, NamedTuple

import lxml.html

from crawler.extraction.page import Meta, clean, normalise
from crawler.extraction.site import is_site_like

TITLE_SEPARATOR_RE = re.compile(r"\s+[|\-–—·•*»/]\s+|\s*[|｜：]\s*|\s+::\s+")
DATE_SEGMENT_RE = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$|^\d{4}-\d{2}-\d{2}")
# An <h1> inside these is a teaser, a menu or a widget heading, not the page's own headline.
TEASER_ANCESTORS = frozenset({"a", "nav", "aside", "footer"})
# Nor is the last item of a breadcrumb trail (it carries the SEO title) or a heading hidden from view.
NOT_HEADLINE_RE = re.compile(r"breadcrumb|visually-hidden|sr-only|screen-reader|offscreen|display:\s*none", re.I)
# A kicker (Dachzeile, overline, eyebrow) set as its own element inside the <h1>, above the headline.
KICKER_RE = re.compile(r"kicker|overline|dachzeile|spitzmarke|topline|roofline|eyebrow|supertitle|pretitle", re.I)
# Where metadata joins a kicker to the headline: "Kicker: Headline", "Kicker - Headline".
KICKER_JOINT_RE = re.compile(r":\s+|\s+[-–—|/]\s+")


class Headline(NamedTuple):
    """A visible ``<h1>``: its whole text, its kicker element's text and the text without the kicker
    (and without visually hidden separators); ``kicker`` is None and ``main == text`` when it has none."""

    text: str
    kicker: str | None
    main: str


def title_candidates(tree: lxml.html.HtmlElement, meta: Meta, article_ld: dict[str, Any]) -> dict[str, str]:
    """Title candidates by source, in order of trust: JSON-LD headline, og:title, twitter:title, the
    first ``<h1>``, ``<title>``."""
    h1 = next((text for text in (clean(h.text_content()) for h in tree.iter("h1")) if text), None)
    headline = article_ld.get("headline")
    candidates = {
        "jsonld": clean(html_unescape(headline)) if isinstance(headline, str) else None,
        "og": meta.get("og:title"),
        "twitter": meta.get("twitter:title"),
        "h1": h1,
        "title": clean(tree.findtext(".//title")),
    }
    return {source: text for source, text in candidates.items() if text}


def visible_headlines(tree: lxml.html.HtmlElement) -> list[Headline]:
    """The ``<h1>``s a reader sees as the page's headline: not inside a link, a menu, an aside or a
    footer (teasers of other stories), not in a breadcrumb trail, not hidden, not only a link."""
    headlines = []
    for h1 in tree.iter("h1"):
        text = clean(h1.text_content())
        if not text or any(el.tag in TEASER_ANCESTORS for el in h1.iterancestors()):
            continue
        if any(NOT_HEADLINE_RE.search(marks(el)) for el in (h1, *h1.iterancestors())):
            continue
        if clean(" ".join(a.text_content() for a in h1.iter("a"))) == text:
            continue
        headlines.append(split_kicker(h1, text))
    return headlines


def split_kicker(h1: lxml.html.HtmlElement, text: str) -> Headline:
    """The ``<h1>``'s text with its first kicker element and visually hidden parts set aside."""
    kicker, parts = None, []

    def walk(el: lxml.html.HtmlElement) -> None:
        nonlocal kicker
        if el is not h1 and isinstance(el.tag, str):
            if KICKER_RE.search(marks(el)) and kicker is None:
                kicker = clean(el.text_content())
                parts.append(el.tail or "")
                return
            if NOT_HEADLINE_RE.search(marks(el)):
                parts.append(el.tail or "")
                return
        parts.append((el.text or "") if isinstance(el.tag, str) else "")  # a comment's text is no text
        for child in el:
            walk(child)
        if el is not h1:
            parts.append(el.tail or "")

    walk(h1)
    main = clean("".join(parts))
    return Headline(text, kicker, main) if kicker and main else Headline(text, None, text)


def marks(el: lxml.html.HtmlElement) -> str:
    """An element's class, id, role and attribute names: where themes say what a block is."""
    values = [el.get(name) or "" for name in ("class", "id", "role", "style")]
    return " ".join([*values, *map(str, el.attrib)])


def best_title(
    first: str | None,
    candidates: dict[str, str],
    site_names: list[str],
    host: tuple[str, ...],
    headlines: Sequence[Headline] = (),
) -> str | None:
    """The first title candidate with site name, dates and decorations other candidates lack cut off;
    when it is not the visible headline but another candidate is, that other candidate.

    Publishers often give og:title (or the JSON-LD headline) a different wording for search and
    social media; the one that matches the ``<h1>`` the reader sees is the article's headline. The
    candidate is kept rather than the ``<h1>`` text itself: metadata is free of line breaks, kickers
    and visually hidden separators.
    """
    ordered = [c for c in [first, *candidates.values()] if c]
    if not ordered:
        return None
    title = trimmed_title(ordered[0], ordered[1:], site_names, host)
    shown = {normalise(variant) for headline in headlines for variant in (headline.text, headline.main)} - {""}
    if not shown or normalise(title) in shown:
        return title
    # The <h1> is the arbiter here, not a candidate: only a metadata value it confirms may win.
    metadata = [text for source, text in candidates.items() if source != "h1"]
    for candidate in metadata:
        others = [other for other in ordered if other is not candidate]
        trimmed = trimmed_title(candidate, others, site_names, host)
        if normalise(trimmed) in shown:
            return trimmed
    return without_other_kicker(title, headlines) or title


def without_other_kicker(title: str, headlines: Sequence[Headline]) -> str | None:
    """ "Kicker: Headline" in metadata where the visible <h1> sets a different kicker of its own above
    the same headline: the headline. The metadata's prefix is then an SEO kicker the page does not show."""
    for headline in headlines:
        if not headline.kicker:
            continue
        for joint in KICKER_JOINT_RE.finditer(title):
            prefix, rest = title[: joint.start()], title[joint.end() :]
            if normalise(rest) == normalise(headline.main) and normalise(prefix) != normalise(headline.kicker):
                return rest.strip()
    return None


def trimmed_title(title: str, others: list[str], site_names: list[str], host: tuple[str, ...]) -> str:
    title = strip_site_segments(title, site_names, host)
    return cut_to_other_candidate(title, others) or title


def strip_site_segments(title: str, site_names: list[str], host: tuple[str, ...]) -> str:
    """Drop trailing segments that are the site's name, a date or "by Author" after the site name."""
    pieces = TITLE_SEPARATOR_RE.split(title)
    if len(pieces) < 2:
        return title
    positions = [m.start() for m in TITLE_SEPARATOR_RE.finditer(title)]
    for index in range(1, len(pieces)):
        tail = pieces[index:]
        joined = " ".join(tail)
        if is_site_like(joined, site_names, host) or (
            is_site_like(tail[0], site_names, host)
            and all(
                DATE_SEGMENT_RE.match(p) or re.match(r"^(by|von|por)\s", p, re.I) or is_site_like(p, site_names, host)
                for p in tail[1:]
            )
        ):
            return title[: positions[index - 1]].strip() or title
        if all(DATE_SEGMENT_RE.match(p) for p in tail):
            return title[: positions[index - 1]].strip() or title
    if is_site_like(pieces[0], site_names, host):
        return title[title.find(pieces[1], len(pieces[0])) :].strip() or title
    return title


def cut_to_other_candidate(title: str, others: list[str]) -> str | None:
    """When another candidate is this title minus a decorated segment (" | Section", "Kicker | "), that one."""
    norm_title = normalise(title)
    for other in others:
        norm_other = normalise(other)
        if not norm_other or norm_other == norm_title or len(norm_other) < 0.4 * len(norm_title):
            continue
        for match in TITLE_SEPARATOR_RE.finditer(title):
            if normalise(title[: match.start()]) == norm_other:
                return title[: match.start()].strip()
            if match.group().strip() in ("|", "｜") and normalise(title[match.end() :]) == norm_other:
                return title[match.end() :].strip()
    return None
