"""Publication and modification timestamps: JSON-LD and ``<meta>`` first, then a labelled date field
of the article's metadata box ("Datum 28.04.2023"), then ``<time>`` elements checked against
trafilatura's date. ISO 8601 with time and offset when the page has them, the date alone otherwise.
No settings drive this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import lxml.html

from crawler.extraction.labels import labelled_values
from crawler.extraction.page import Meta

# Labels of a publication-date field. Trafilatura takes the first date-like element instead, which on
# such pages is often a related story's.
DATE_LABEL_RE = re.compile(
    r"datum|date|published|publication date|posted|veröffentlicht(?: am)?|erschienen(?: am)?|"
    r"publicado(?: el)?|fecha|publié le|publié|data|dato|datum publicatie",
    re.I,
)
# A field value that is a date and nothing else: day-first with dots (28.04.2023) or ISO.
DOTTED_DATE_RE = re.compile(r"(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{4})")
ISO_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def published_at(
    tree: lxml.html.HtmlElement, article_ld: dict[str, Any], meta: Meta, trafilatura_date: str | None
) -> str | None:
    explicit = first_timestamp(
        [
            article_ld.get("datePublished"),
            meta.get("article:published_time"),
            meta.get("og:published_time"),
            meta.get("itemprop:datePublished"),
            *tree.xpath("//time[@itemprop='datePublished' or @pubdate]/@datetime"),
        ]
    )
    if explicit:
        return explicit
    labelled = first_labelled_date(tree)
    if labelled:
        return labelled
    # A bare <time> is trusted only when it agrees with trafilatura's date (or there is none):
    # pages also carry <time>s for "today", comments and related stories.
    first_time = first_timestamp(tree.xpath("(//article//time[@datetime] | //time[@datetime])[1]/@datetime"))
    if first_time and (not trafilatura_date or first_time.startswith(trafilatura_date)):
        return first_time
    return trafilatura_date or None


def first_labelled_date(tree: lxml.html.HtmlElement) -> str | None:
    """The first labelled date field of a metadata box ("<li><strong>Datum</strong> 28.04.2023</li>") as
    an ISO date; not one written as a paragraph of the text, which is an event's date more often."""
    for value in labelled_values(tree, DATE_LABEL_RE, in_paragraphs=False):
        if match := DOTTED_DATE_RE.fullmatch(value):
            day, month, year = (int(part) for part in match.groups())
        elif match := ISO_DATE_RE.fullmatch(value):
            year, month, day = (int(part) for part in match.groups())
        else:
            continue
        try:
            return date(year, month, day).isoformat()
        except ValueError:
            continue
    return None


def first_timestamp(candidates: Iterable[Any]) -> str | None:
    for candidate in candidates:
        normalised = iso_timestamp(candidate)
        if normalised:
            return normalised
    return None


def iso_timestamp(value: Any) -> str | None:
    """ISO 8601 with time and offset when the source has them; date only otherwise."""
    if not isinstance(value, str) or not value.strip():
        return None
    raw = value.strip()
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        match = re.match(r"^(\d{4}-\d{2}-\d{2})", raw)
        return match.group(1) if match else None
    if re.fullmatch(r"\d{4}-?\d{2}-?\d{2}", raw):
        return parsed.date().isoformat()
    return parsed.isoformat()
