"""JSON-LD of a page: every entity (``@graph`` members, ItemList entries marked as listed), the
page's own article entity, people and organisations with ``@id`` references resolved.
No settings drive this module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import lxml.html

from crawler.extraction.page import as_list, clean

ARTICLE_JSONLD_TYPES = frozenset(
    {
        "Article",
        "NewsArticle",
        "BlogPosting",
        "ReportageNewsArticle",
        "AnalysisNewsArticle",
        "OpinionNewsArticle",
        "BackgroundNewsArticle",
        "ReviewNewsArticle",
        "AskPublicNewsArticle",
        "LiveBlogPosting",
        "SocialMediaPosting",
        "TechArticle",
        "ScholarlyArticle",
        "Report",
    }
)
ORGANIZATION_TYPES = frozenset(
    {"Organization", "NewsMediaOrganization", "Corporation", "GovernmentOrganization", "EducationalOrganization"}
)


def jsonld_entities(tree: lxml.html.HtmlElement) -> Iterator[tuple[dict[str, Any], bool]]:
    """Every JSON-LD object of the page (top level, ``@graph`` members and ItemList entries), with
    whether it is an ItemList entry (a related story, a breadcrumb), not the page's own entity."""
    for script in tree.xpath("//script[@type='application/ld+json']"):
        raw = (script.text or "").strip()
        if not raw:
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError:
            # Sites often leave trailing commas or raw newlines in strings; lenient second try.
            try:
                data = json.loads(re.sub(r",\s*([}\]])", r"\1", raw), strict=False)
            except json.JSONDecodeError:
                continue
        yield from flatten_jsonld(data)


def flatten_jsonld(data: Any, listed: bool = False) -> Iterator[tuple[dict[str, Any], bool]]:
    if isinstance(data, list):
        for item in data:
            yield from flatten_jsonld(item, listed)
    elif isinstance(data, dict):
        if "@type" in data:
            yield data, listed
        if "@graph" in data:
            yield from flatten_jsonld(data["@graph"], listed)
        for entry in as_list(data.get("itemListElement")):
            if isinstance(entry, dict):
                yield from flatten_jsonld(entry.get("item", entry) if "item" in entry else entry, True)


def main_articles(entities: list[tuple[dict[str, Any], bool]]) -> int:
    """How many distinct article entities describe the page itself (ItemList entries left out; one
    article given twice, as NewsArticle and Article of the same URL, counts once)."""
    keys = set()
    for obj, listed in entities:
        if listed or not ARTICLE_JSONLD_TYPES & set(types_of(obj)):
            continue
        page = obj.get("mainEntityOfPage")
        page_id = page.get("@id") if isinstance(page, dict) else page
        key = str(obj.get("url") or page_id or obj.get("@id") or obj.get("headline") or "the page")
        # http and https, www or not, a trailing slash: the same page.
        keys.add(re.sub(r"^https?://(www\.)?", "", key).split("#")[0].split("?")[0].rstrip("/"))
    return len(keys)


def types_of(obj: dict[str, Any]) -> list[str]:
    return [t.rsplit("/", 1)[-1] for t in as_list(obj.get("@type")) if isinstance(t, str)]


def with_main_entities(objects: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The objects, each followed by its ``mainEntity`` (WebPage → NewsArticle nesting)."""
    for obj in objects:
        yield obj
        for entity in as_list(obj.get("mainEntity")):
            if isinstance(entity, dict):
                yield entity


def ld_person(value: Any, by_id: dict[str, dict[str, Any]]) -> tuple[str, bool]:
    """(name, is_organisation) of a JSON-LD author: a string, a Person/Organization or an ``@id`` reference."""
    if isinstance(value, str):
        return value, False
    if not isinstance(value, dict):
        return "", False
    if isinstance(value.get("@id"), str) and value["@id"] in by_id:
        value = {**by_id[value["@id"]], **{k: v for k, v in value.items() if v not in (None, "", [])}}
    is_org = bool(ORGANIZATION_TYPES & set(types_of(value)))
    name = clean(value.get("name")) or clean(value.get("byline"))
    if not name:
        name = " ".join(part for part in (clean(value.get("givenName")), clean(value.get("familyName"))) if part)
    return name or "", is_org


def publisher_name(article_ld: dict[str, Any]) -> str | None:
    publisher = article_ld.get("publisher")
    return publisher.get("name") if isinstance(publisher, dict) else None
