"""The headline: the first of trafilatura's title, JSON-LD headline, og:title, twitter:title,
``<h1>`` and ``<title>``, with the site name, dates and decorations that other candidates lack cut
off. No settings drive this module.
"""

from __future__ import annotations

import re
from html import unescape as html_unescape
from typing import Any

import lxml.html

from crawler.extraction.page import Meta, clean, normalise
from crawler.extraction.site import is_site_like

TITLE_SEPARATOR_RE = re.compile(r"\s+[|\-–—·•*»/]\s+|\s*[|｜：]\s*|\s+::\s+")
DATE_SEGMENT_RE = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$|^\d{4}-\d{2}-\d{2}")


def title_candidates(tree: lxml.html.HtmlElement, meta: Meta, article_ld: dict[str, Any]) -> list[str]:
    h1 = next((text for text in (clean(h.text_content()) for h in tree.iter("h1")) if text), None)
    headline = article_ld.get("headline")
    candidates = [
        clean(html_unescape(headline)) if isinstance(headline, str) else None,
        meta.get("og:title"),
        meta.get("twitter:title"),
        h1,
        clean(tree.findtext(".//title")),
    ]
    return [c for c in candidates if c]


def best_title(first: str | None, candidates: list[str], site_names: list[str], host: tuple[str, ...]) -> str | None:
    """The first title candidate with site name, dates and decorations other candidates lack cut off."""
    ordered = [c for c in [first, *candidates] if c]
    if not ordered:
        return None
    title = strip_site_segments(ordered[0], site_names, host)
    return cut_to_other_candidate(title, ordered[1:]) or title


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
