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
from crawler.extraction.classify import (
    ARTICLE_THRESHOLD,
    DECISIVE,
    SIGNAL_KINDS,
    SIGNAL_WEIGHTS,
    Verdict,
    classify_page,
)
from crawler.extraction.extract import extract_page, failed_fields

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
ARTICLE_URL = "https://www.example-news.org/2024/03/12/lifeboat-rescues-fishing-crew"


def evidence_names(verdict: Verdict) -> set[str]:
    return {item.signal for item in verdict.evidence}


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
    assert verdict.is_article and verdict.kind is None, verdict.reason
    assert evidence_names(verdict) >= {"dated_url", "article_slug", "text_length", "paragraphs"}
    assert "og_type" not in evidence_names(verdict) and "jsonld_main_article" not in evidence_names(verdict)


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
    path=st.sampled_from(["/", "/tag/x/", "/2024/01/02/story", "/news/a-long-story-about-the-town", "/world/"]),
    authors=st.lists(st.sampled_from(["Ada Lovelace", "Li Ming"]), max_size=2),
    published_at=st.sampled_from([None, "2024-01-02"]),
)
def test_every_verdict_has_a_reason_and_its_evidence(
    signals: dict[str, Any], title: str | None, path: str, authors: list[str], published_at: str | None
) -> None:
    fields = {
        "title": title,
        "text": "x" * signals["text_chars"],
        "signals": signals,
        "authors": authors,
        "published_at": published_at,
    }
    verdict = classify_page(fields, f"https://example.org{path}")
    assert isinstance(verdict.is_article, bool)
    assert verdict.reason.strip()
    assert (verdict.kind is None) is verdict.is_article
    # Every piece of evidence is a documented signal with one of its documented weights.
    assert verdict.evidence
    for item in verdict.evidence:
        assert item.weight in SIGNAL_WEIGHTS[item.signal], item
    if all(abs(item.weight) < DECISIVE for item in verdict.evidence):
        assert verdict.is_article is (verdict.score >= ARTICLE_THRESHOLD)
        if not verdict.is_article:  # the kind comes from the strongest negative evidence
            strongest = min(verdict.evidence, key=lambda item: item.weight)
            assert strongest.weight < 0 and verdict.kind is SIGNAL_KINDS[strongest.signal]
            assert verdict.reason.startswith(strongest.detail)
    if signals["app_shell"] or signals["placeholder"] or signals["text_chars"] == 0:
        assert not verdict.is_article
        assert verdict.kind in NO_TEXT_KINDS
    if signals["app_shell"]:
        assert verdict.kind is ReasonKind.JAVASCRIPT_SHELL


# --- the weighing, on small pages shaped like real ones ------------------------------------------------

SENTENCES = (
    "The regional council voted on Tuesday evening to fund a new flood barrier along the lower river, after two winters of damage.",
    "Engineers told the meeting that the existing wall was built in the 1950s and had been patched more than forty times since then.",
    "Residents of the riverside streets packed the public gallery, and several of them spoke about water reaching their kitchens last year.",
    "The barrier will cost about twelve million euros, most of it from a national fund, and work is due to begin next spring if permits arrive.",
    "Opposition members asked why the plan had taken so long, and the council leader said the money had only been confirmed in the autumn.",
    "A local shop owner said she would believe it when she saw the first lorries arrive, but that the vote was at least a start for the town.",
    "The environment agency welcomed the decision and said it would publish new flood maps for the valley before the end of the summer.",
    "Council officers will hold drop-in sessions at the library next month so that residents can see the drawings and ask questions.",
)


def paragraphs_html(count: int) -> str:
    return "".join(
        f"<p>{SENTENCES[n % len(SENTENCES)]} {SENTENCES[(n + 3) % len(SENTENCES)]}</p>" for n in range(count)
    )


def teasers_html(count: int, *, summary: bool = False) -> str:
    """``<article>`` teaser cards as news sites print them: a linked headline, maybe a summary."""
    return "".join(
        f"<article class='teaser'><h3><a href='/news/2024/05/{n:02d}/story-number-{n}-about-the-town/'>Story {n} "
        f"about the town</a></h3>{f'<p>{SENTENCES[n % len(SENTENCES)]}</p>' if summary else ''}</article>"
        for n in range(1, count + 1)
    )


def page_html(head: str, body: str, title: str = "Council votes to fund flood barrier", lang: str = "en") -> bytes:
    return (
        f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'><title>{title}</title>{head}</head>"
        f"<body><header><nav><a href='/'>Home</a> <a href='/politics/'>Politics</a> <a href='/sport/'>Sport</a>"
        f"</nav></header>{body}<footer><a href='/privacy/'>Privacy</a></footer></body></html>"
    ).encode()


def ld_json(*objects: dict[str, Any]) -> str:
    return "".join(f'<script type="application/ld+json">{json.dumps(obj)}</script>' for obj in objects)


def classify_html(html: bytes, url: str) -> Verdict:
    return classify_page(extract_page(html, url, "text/html"), url)


def test_an_article_with_an_itemlist_of_related_stories_and_19_teasers_is_kept() -> None:
    url = "https://news.example/2026/01/06/council-votes-to-fund-flood-barrier/"
    related = {
        "@context": "https://schema.org",
        "@type": "ItemList",
        "itemListElement": [
            {"@type": "ListItem", "position": n, "item": {"@type": "NewsArticle", "url": f"/2026/01/0{n}/other-{n}/"}}
            for n in range(1, 6)
        ],
    }
    main = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": "Council votes to fund flood barrier",
        "mainEntityOfPage": url,
        "datePublished": "2026-01-06T08:00:00+01:00",
        "author": {"@type": "Person", "name": "Maren Olsen"},
    }
    head = f"<meta property='og:type' content='article'>{ld_json(main, related)}"
    body = f"<main><article><h1>Council votes to fund flood barrier</h1>{paragraphs_html(6)}</article></main>"
    body += f"<aside><h2>More news</h2>{teasers_html(18)}</aside>"
    verdict = classify_html(page_html(head, body), url)
    assert verdict.is_article, verdict.reason
    assert evidence_names(verdict) >= {"jsonld_main_article", "og_type", "byline", "published_date", "teasers"}
    teasers = next(item for item in verdict.evidence if item.signal == "teasers")
    assert teasers.weight == 0 and "19 <article>" in teasers.detail  # related stories of a declared article
    assert "jsonld_listing" not in evidence_names(verdict)


def test_an_article_saying_og_type_website_with_byline_date_and_long_text_is_kept() -> None:
    url = "https://www.zeitung.example/politik/council-votes-to-fund-new-flood-barrier"
    head = (
        "<meta property='og:type' content='website'><meta name='author' content='Jonas Weber'>"
        "<meta property='article:published_time' content='2024-05-12T09:30:00+02:00'>"
    )
    body = f"<article><h1>Council votes to fund flood barrier</h1>{paragraphs_html(8)}</article>"
    verdict = classify_html(page_html(head, body), url)
    assert verdict.is_article, verdict.reason
    og_type = next(item for item in verdict.evidence if item.signal == "og_type")
    assert og_type.weight < 0  # weak evidence against, outweighed
    assert evidence_names(verdict) >= {"og_type", "byline", "published_date", "text_length", "paragraphs"}


CHINESE_SENTENCES = (
    "市议会星期二晚上投票决定拨款修建新的防洪堤，此前两个冬天洪水给沿河街区造成了严重损失。",
    "工程师在会上表示，现有的堤坝建于上世纪五十年代，此后已经修补了四十多次，难以继续使用。",
    "沿河街道的居民挤满了旁听席，其中几位讲述了去年洪水漫进厨房和客厅的经历，希望工程尽快开工。",
    "新堤坝预计耗资约一千二百万元，大部分资金来自国家基金，如果审批顺利，明年春天就将动工。",
    "反对派议员质问为何计划拖延这么久，议会领导人回答说，资金直到去年秋天才最终得到确认。",
    "当地一位店主说，只有看到第一批卡车开进来她才会相信，但这次投票至少是一个好的开始。",
    "环境部门对这一决定表示欢迎，并表示将在夏天结束前公布河谷地区新的洪水风险地图供居民查阅。",
    "议会工作人员下个月将在图书馆举办开放日活动，居民可以查看设计图纸并当面提出问题和建议。",
)


def test_a_chinese_article_whose_body_is_one_long_block_is_kept() -> None:
    """Many Chinese news sites: no og:type, no JSON-LD, the body one block with <br> breaks, a dated URL with an id."""
    url = "http://society.people.example/n1/2024/0512/c1008-40234567.html"
    text = "<br>".join(CHINESE_SENTENCES * 2)
    head = "<meta name='publishdate' content='2024-05-12'><meta name='author' content='李明'>"
    body = f"<div class='rm_txt'><h1>市议会投票拨款修建防洪堤</h1><div class='rm_txt_con'><p>{text}</p></div></div>"
    verdict = classify_html(page_html(head, body, title="市议会投票拨款修建防洪堤", lang="zh-CN"), url)
    assert verdict.is_article, verdict.reason
    assert evidence_names(verdict) >= {"dated_url", "article_slug", "text_length", "paragraphs"}
    text_length = next(item for item in verdict.evidence if item.signal == "text_length")
    assert "CJK" in text_length.detail


def test_a_short_two_paragraph_blog_post_with_date_and_author_is_kept() -> None:
    url = "https://gardennotes.example/2024/05/12/first-tomatoes-of-the-year/"
    head = (
        "<meta property='og:type' content='article'><meta name='author' content='Ruth Hale'>"
        "<meta property='article:published_time' content='2024-05-12T18:04:00+00:00'>"
    )
    body = (
        "<article class='post'><h1 class='entry-title'>First tomatoes of the year</h1><div class='entry-content'>"
        "<p>The first tomatoes ripened this week in the greenhouse, a full fortnight earlier than last year, "
        "thanks to the warm April and the new shade cloth.</p><p>I picked six of them on Sunday and they went "
        "straight into a salad with basil from the window box. More next week if the weather holds.</p>"
        "</div></article>"
    )
    verdict = classify_html(page_html(head, body, title="First tomatoes of the year"), url)
    assert verdict.is_article, verdict.reason
    assert evidence_names(verdict) >= {"og_type", "byline", "published_date", "dated_url", "paragraphs"}
    paragraphs = next(item for item in verdict.evidence if item.signal == "paragraphs")
    assert paragraphs.weight < 0  # two paragraphs count against it, the rest outweighs them


def test_a_privacy_page_with_long_text_is_not_kept() -> None:
    """Yoast and similar plugins give every page og:type article; the URL says what it is."""
    url = "https://news.example/privacy-policy/"
    head = "<meta property='og:type' content='article'>" + ld_json(
        {"@context": "https://schema.org", "@graph": [{"@type": "WebPage", "@id": url}, {"@type": "WebSite"}]}
    )
    body = f"<article><h1>Privacy policy</h1>{paragraphs_html(10)}</article>"
    verdict = classify_html(page_html(head, body, title="Privacy policy"), url)
    assert not verdict.is_article
    assert verdict.kind is ReasonKind.NOT_ARTICLE_URL and verdict.reason.startswith("URL looks like a legal page")
    assert evidence_names(verdict) >= {"url_hint", "og_type", "text_length", "paragraphs"}


def test_a_section_front_with_many_teasers_is_not_kept() -> None:
    url = "https://news.example/world/"
    head = "<meta property='og:type' content='website'>"
    body = f"<main><h1>World</h1>{teasers_html(12, summary=True)}</main>"
    verdict = classify_html(page_html(head, body, title="World news"), url)
    assert not verdict.is_article
    assert verdict.kind is ReasonKind.LISTING and verdict.reason.startswith("listing page:")
    assert evidence_names(verdict) >= {"teasers", "og_type", "text_length", "paragraphs"}


def test_a_tag_page_is_not_kept() -> None:
    url = "https://news.example/tag/flooding/"
    head = "<meta property='og:type' content='article'><meta name='robots' content='noindex, follow'>"
    body = f"<main><h1>Tag: flooding</h1>{teasers_html(5, summary=True)}</main>"
    verdict = classify_html(page_html(head, body, title="flooding Archives"), url)
    assert not verdict.is_article
    assert verdict.kind is ReasonKind.NOT_ARTICLE_URL and verdict.reason.startswith("URL looks like a tag page")
    assert evidence_names(verdict) >= {"url_hint", "og_type", "teasers"}


def test_strong_evidence_outweighs_a_url_that_merely_resembles_an_index() -> None:
    """An index hint (/people/, /topics/) is weighed, not a veto: a dated article with its own JSON-LD stays."""
    url = "https://magazine.example/people/2024/05/12/actor-opens-theatre-in-home-town/"
    main = {"@context": "https://schema.org", "@type": "NewsArticle", "mainEntityOfPage": url}
    head = f"<meta property='og:type' content='article'>{ld_json(main)}<meta name='author' content='Kim Lee'>"
    body = f"<article><h1>Actor opens theatre</h1>{paragraphs_html(8)}</article>"
    verdict = classify_html(page_html(head, body, title="Actor opens theatre in home town"), url)
    assert verdict.is_article, verdict.reason
    hint = next(item for item in verdict.evidence if item.signal == "url_hint")
    assert hint.weight < 0 and "author page" in hint.detail


def test_a_monthly_archive_url_is_not_a_dated_article_url() -> None:
    fields = plain_article_fields()
    archive = classify_page(fields, "https://news.example/2024/06/")
    assert "dated_url" not in evidence_names(archive)
    assert "dated_url" in evidence_names(classify_page(fields, "https://news.example/2024/06/harbour-wall-repairs"))
    assert "dated_url" in evidence_names(classify_page(fields, "https://news.example/news/story-20240612.html"))


SCHEMA_DOC = Path(__file__).resolve().parent.parent / "docs" / "schema.md"
SIGNALS_HEADING = "### How a page is judged an article"


def documented_signals() -> list[list[str]]:
    """The rows of the signal table in docs/schema.md: signal, weights, meaning, reason_kind."""
    section = SCHEMA_DOC.read_text(encoding="utf-8").split(SIGNALS_HEADING, 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [[cell.strip() for cell in row.strip().strip("|").split(" | ")] for row in rows]


def test_the_documented_signals_are_the_codes() -> None:
    rows = documented_signals()
    assert [row[0].strip("`") for row in rows] == list(SIGNAL_WEIGHTS)
    for name, weights, _, kind in rows:
        signal = name.strip("`")
        assert tuple(float(w) for w in weights.split(", ")) == SIGNAL_WEIGHTS[signal], signal
        if signal in SIGNAL_KINDS:
            assert kind == f"`{SIGNAL_KINDS[signal]}`", signal
    assert f"reaches **{ARTICLE_THRESHOLD:g}**" in SCHEMA_DOC.read_text(encoding="utf-8")


def test_related_teasers_beside_an_unmarked_article_with_byline_count_half() -> None:
    """No og:type, no JSON-LD: an article URL and a byline say the teaser cards are related stories."""
    url = "https://www.tagblatt.example/region/council-votes-to-fund-flood-barrier-ld.2291234"
    head = "<meta name='author' content='Petra Keller'><meta name='date' content='2024-05-12'>"
    body = f"<article><h1>Council votes to fund flood barrier</h1>{paragraphs_html(8)}</article>"
    body += f"<section class='more'>{teasers_html(9)}</section>"
    verdict = classify_html(page_html(head, body), url)
    assert verdict.is_article, verdict.reason
    teasers = next(item for item in verdict.evidence if item.signal == "teasers")
    assert teasers.weight == SIGNAL_WEIGHTS["teasers"][1] / 2 and "counted half" in teasers.detail
    assert evidence_names(verdict) >= {"article_slug", "byline", "published_date", "teasers"}


def test_og_type_article_alone_does_not_excuse_the_teasers_of_a_section_front() -> None:
    """Some CMSs give every page og:type article; a section front's URL has no date, slug or id."""
    url = "https://news.example/politics/"
    head = "<meta property='og:type' content='article'>"
    body = f"<main><h1>Politics</h1>{teasers_html(10, summary=True)}</main>"
    verdict = classify_html(page_html(head, body, title="Politics"), url)
    assert not verdict.is_article
    assert verdict.kind is ReasonKind.LISTING
    teasers = next(item for item in verdict.evidence if item.signal == "teasers")
    assert teasers.weight == SIGNAL_WEIGHTS["teasers"][1]  # in full
    url_shape = next(item for item in verdict.evidence if item.signal == "article_slug")
    assert url_shape.weight < 0


@pytest.mark.parametrize(
    ("path", "article_url"),
    [
        ("/articles/AST1F4445T1FUTIL02SM.html", True),  # an opaque id
        ("/news/world-67123456", True),  # a numeric id
        ("/politik/council-votes-to-fund-barrier", True),  # a headline slug
        ("/2024/05/12/barrier/", True),  # a date
        ("/world/", False),
        ("/politik/inland", False),
        ("/news/uk-politics", False),
    ],
)
def test_the_url_shape_of_an_article(path: str, article_url: bool) -> None:
    verdict = classify_page(plain_article_fields(), f"https://news.example{path}")
    shapes = {item.weight > 0 for item in verdict.evidence if item.signal in ("article_slug", "dated_url")}
    assert shapes == {article_url}
