"""classify_page on real extractions of the golden pages and of built pages."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archive.models import NO_TEXT_KINDS, ReasonKind
from crawler.extraction.classify import Verdict, classify_page
from crawler.extraction.extract import extract_page, failed_fields

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
ARTICLE_URL = "https://www.example-news.org/2024/03/12/lifeboat-rescues-fishing-crew"


def golden_names() -> list[str]:
    return sorted(path.stem for path in GOLDEN_DIR.glob("*.json"))


def extract_golden(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    expected = json.loads((GOLDEN_DIR / f"{name}.json").read_text(encoding="utf-8"))
    fields = extract_page((GOLDEN_DIR / f"{name}.html").read_bytes(), expected["url"], expected.get("content_type"))
    return expected, fields


def plain_article_fields() -> dict[str, Any]:
    """A real extraction of an article page with no og:type and no JSON-LD: only text signals."""
    paragraphs = "".join(
        f"<p>{sentence}</p>"
        for sentence in (
            "The lifeboat was launched just after midnight when a fishing boat reported engine failure three miles off the headland.",
            "Crews found the vessel drifting towards the rocks in a heavy swell and towed it back to the harbour by two in the morning.",
            "The skipper thanked the volunteers and said the engine had been serviced only a week before the trip, which had puzzled everyone aboard.",
            "The coastguard said it was the fourth call-out of the month, and reminded crews to carry a working radio and flares at all times.",
        )
    )
    page = (
        f"<html lang='en'><head><title>Lifeboat rescues fishing crew</title></head><body><nav><a href='/'>Home</a>"
        f"</nav><article><h1>Lifeboat rescues fishing crew</h1>{paragraphs}</article></body></html>"
    ).encode()
    return extract_page(page, ARTICLE_URL, "text/html")


@pytest.mark.parametrize("name", golden_names())
def test_golden_pages_are_classified_as_expected(name: str) -> None:
    expected, fields = extract_golden(name)
    verdict = classify_page(fields, expected["url"])
    assert verdict.is_article is expected["is_article"], verdict.reason
    assert verdict.reason
    assert (verdict.kind is None) is verdict.is_article  # every rejection has a kind, no article has one
    if "reason_contains" in expected:
        assert expected["reason_contains"].lower() in verdict.reason.lower()


def test_plain_article_is_recognised_from_text_alone() -> None:
    verdict = classify_page(plain_article_fields(), ARTICLE_URL)
    assert verdict == Verdict(True, verdict.reason)
    assert "paragraphs" in verdict.reason


@pytest.mark.parametrize(
    ("path", "hint"),
    [
        ("/", "home"),
        ("/index.html", "home"),
        ("/tag/harbour/", "tag"),
        ("/category/local-news/", "category"),
        ("/author/ellen-pascoe/", "author"),
        ("/section/world", "section"),
        ("/news/page/3/", "pagination"),
        ("/about", "about"),
        ("/about-us/", "about"),
        ("/login", "login"),
        ("/contact/", "contact"),
        ("/search?q=lifeboat", "search"),
        ("/?s=lifeboat", "home"),
    ],
)
def test_url_hints_count_against_an_article_looking_page(path: str, hint: str) -> None:
    verdict = classify_page(plain_article_fields(), f"https://www.example-news.org{path}")
    assert verdict.is_article is False
    assert hint in verdict.reason
    assert verdict.kind is ReasonKind.NOT_ARTICLE_URL


@pytest.mark.parametrize(
    "path",
    [
        "/2024/03/about-time-the-harbour-was-fixed",
        "/news/contact-sport-rules-change",
        "/world/2024/search-for-survivors-ends",
    ],
)
def test_slugs_that_merely_contain_hint_words_are_articles(path: str) -> None:
    assert classify_page(plain_article_fields(), f"https://www.example-news.org{path}").is_article


def test_article_patterns_decide_when_given() -> None:
    patterns = [re.compile(r"/\d{4}/\d{2}/\d{2}/[\w-]+$")]
    fields = plain_article_fields()
    matched = classify_page(fields, ARTICLE_URL, patterns)
    assert matched.is_article and "article pattern" in matched.reason
    unmatched = classify_page(fields, "https://www.example-news.org/lifeboat-rescues-fishing-crew", patterns)
    assert not unmatched.is_article and "none of the source's article patterns" in unmatched.reason
    assert unmatched.kind is ReasonKind.OUTSIDE_ARTICLE_PATTERNS
    # A matching URL is not enough when the page has no text.
    _, shell = extract_golden("app_shell")
    verdict = classify_page(shell, "https://metrodaily.example/2024/02/09/city-budget-vote", patterns)
    assert not verdict.is_article and "app shell" in verdict.reason
    assert verdict.kind is ReasonKind.JAVASCRIPT_SHELL  # counted as a page without text, patterns or not


def test_patterns_override_page_signals() -> None:
    expected, about = extract_golden("about_page")
    verdict = classify_page(about, expected["url"], [re.compile(r"/about/$")])
    assert verdict.is_article, "the source says its /about/ page is an article: trust the source"


def test_jsonld_list_of_articles_is_a_listing() -> None:
    items = ",".join(
        f'{{"@type":"ListItem","position":{i},"item":{{"@type":"NewsArticle","headline":"Story {i}","url":"/news/{i}"}}}}'
        for i in range(1, 5)
    )
    page = (
        f'<html><head><title>Latest</title><script type="application/ld+json">{{"@context":"https://schema.org",'
        f'"@type":"ItemList","itemListElement":[{items}]}}</script></head><body>'
    ).encode()
    fields = plain_article_fields()
    fields["signals"]["jsonld_types"] = extract_page(page + b"</body></html>", ARTICLE_URL)["signals"]["jsonld_types"]
    verdict = classify_page(fields, ARTICLE_URL)
    assert not verdict.is_article
    assert "listing" in verdict.reason and verdict.kind is ReasonKind.LISTING


def jsonld_signals(*objects: dict[str, Any]) -> dict[str, Any]:
    """The JSON-LD signals extract_page reads from a page carrying these objects."""
    scripts = "".join(f'<script type="application/ld+json">{json.dumps(obj)}</script>' for obj in objects)
    page = f"<html><head><title>Story</title>{scripts}</head><body></body></html>".encode()
    signals = extract_page(page, ARTICLE_URL)["signals"]
    return {"jsonld_types": signals["jsonld_types"], "jsonld_main_articles": signals["jsonld_main_articles"]}


RELATED = {
    "@type": "ItemList",
    "itemListElement": [
        {"@type": "ListItem", "position": n, "item": {"@type": "NewsArticle", "url": f"/related/{n}/"}}
        for n in range(1, 4)
    ],
}
BREADCRUMBS = {
    "@type": "BreadcrumbList",
    "itemListElement": [{"@type": "ListItem", "position": 1, "item": {"@type": "WebPage", "@id": "/"}}],
}


def test_related_stories_and_breadcrumbs_in_jsonld_do_not_make_an_article_a_listing() -> None:
    fields = plain_article_fields()
    main = {"@type": "NewsArticle", "headline": "Council approves budget", "url": ARTICLE_URL}
    fields["signals"].update(jsonld_signals(main, RELATED, BREADCRUMBS))
    assert fields["signals"]["jsonld_main_articles"] == 1
    verdict = classify_page(fields, ARTICLE_URL)
    assert verdict.is_article, verdict.reason


def test_one_article_given_twice_counts_once_and_two_distinct_ones_are_a_listing() -> None:
    twice = {
        "@graph": [
            {"@type": "NewsArticle", "mainEntityOfPage": {"@id": ARTICLE_URL}},
            {"@type": "Article", "mainEntityOfPage": ARTICLE_URL},
        ]
    }
    fields = plain_article_fields()
    fields["signals"].update(jsonld_signals(twice))
    assert classify_page(fields, ARTICLE_URL).is_article
    two = [{"@type": "NewsArticle", "url": "/a/"}, {"@type": "NewsArticle", "url": "/b/"}]
    fields["signals"].update(jsonld_signals(*two))
    verdict = classify_page(fields, ARTICLE_URL)
    assert not verdict.is_article and verdict.kind is ReasonKind.LISTING


def test_an_article_page_with_related_story_teasers_is_an_article() -> None:
    fields = plain_article_fields()
    fields["signals"].update(og_type="article", article_elements=19, link_density=0.39, paragraphs=40)
    verdict = classify_page(fields, "https://news.example/2026/01/06/oil-dream-experts-warn/")
    assert verdict.is_article, verdict.reason
    fields["signals"]["og_type"] = None  # without the page saying it is an article, 19 teasers are a listing
    assert classify_page(fields, "https://news.example/2026/01/06/oil-dream-experts-warn/").kind is ReasonKind.LISTING


@pytest.mark.parametrize("path", ["/privacy/", "/privacy-policy", "/datenschutz/", "/terms-of-use/", "/cookies"])
def test_legal_pages_are_not_articles(path: str) -> None:
    fields = plain_article_fields()
    fields["signals"]["og_type"] = "article"
    verdict = classify_page(fields, f"https://news.example{path}")
    assert not verdict.is_article and verdict.kind is ReasonKind.NOT_ARTICLE_URL


def test_failed_extraction_is_not_an_article() -> None:
    verdict = classify_page(failed_fields("could not parse HTML of x"), ARTICLE_URL)
    assert not verdict.is_article
    assert "extraction failed" in verdict.reason and verdict.kind is ReasonKind.EXTRACTION_FAILED


def test_short_page_is_not_an_article() -> None:
    page = b"<html><head><title>Brief</title></head><body><p>Road closed until Friday.</p></body></html>"
    verdict = classify_page(extract_page(page, ARTICLE_URL), ARTICLE_URL)
    assert not verdict.is_article
    # Under EXTRACT_MIN_TEXT_CHARS (200): no article text, counted as an extraction failure.
    assert "too little text" in verdict.reason and verdict.kind is ReasonKind.NO_TEXT


def test_a_page_with_some_text_but_no_article_markup_needs_more() -> None:
    sentence = "The council met on Tuesday and agreed to close Quay Road until Friday for repairs. "
    page = f"<html><head><title>Brief</title></head><body><p>{sentence * 4}</p></body></html>".encode()
    verdict = classify_page(extract_page(page, ARTICLE_URL), ARTICLE_URL)
    assert not verdict.is_article
    assert "too little text for a page without article markup" in verdict.reason
    assert verdict.kind is ReasonKind.TOO_LITTLE_TEXT


signal_values = st.fixed_dictionaries(
    {
        "og_type": st.sampled_from([None, "article", "website", "profile", "video.other", ""]),
        "jsonld_types": st.lists(
            st.sampled_from(["NewsArticle", "WebSite", "CollectionPage", "WebPage", "Person"]), max_size=4
        ),
        "jsonld_main_articles": st.integers(min_value=0, max_value=3),
        "link_density": st.floats(min_value=0, max_value=1),
        "article_elements": st.integers(min_value=0, max_value=40),
        "paragraphs": st.integers(min_value=0, max_value=60),
        "text_chars": st.integers(min_value=0, max_value=20000),
        "app_shell": st.booleans(),
        "placeholder": st.booleans(),
        "noindex": st.booleans(),
    }
)


@settings(max_examples=200, deadline=None)
@given(
    signals=signal_values,
    title=st.one_of(st.none(), st.text(max_size=30)),
    path=st.sampled_from(["/", "/tag/x/", "/2024/01/02/story"]),
)
def test_every_verdict_has_a_reason(signals: dict[str, Any], title: str | None, path: str) -> None:
    fields = {"title": title, "text": "x" * signals["text_chars"], "signals": signals}
    verdict = classify_page(fields, f"https://example.org{path}")
    assert isinstance(verdict.is_article, bool)
    assert verdict.reason.strip()
    assert (verdict.kind is None) is verdict.is_article
    if signals["app_shell"] or signals["placeholder"] or signals["text_chars"] == 0:
        assert not verdict.is_article
        assert verdict.kind in NO_TEXT_KINDS
    if signals["app_shell"]:
        assert verdict.kind is ReasonKind.JAVASCRIPT_SHELL
