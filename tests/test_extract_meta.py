"""Titles, authors, dates and site names on small pages that mimic real publishers' markup (issue 9).

Each test is one markup pattern many sites share: an SEO og:title next to the visible headline, a
kicker set in its own element, a byline with a brand word, a labelled metadata box, a signature
line, a WordPress admin account, a site name that is a host or a page title. The last test runs the
real-world pages in ../shared/fixtures/realworld when they are there.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from crawler.extraction.authors import split_names
from crawler.extraction.extract import extract_page
from crawler.extraction.site import is_host_like
from crawler.extraction.titles import visible_headlines

REALWORLD = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "realworld"
URL = "https://news.example.com/politik/2024/04/28/story-123.html"
PARAGRAPH = (
    "<p>The council met on Tuesday evening to discuss the harbour plans, which have been debated for "
    "years by residents, business owners and the port authority alike without any result.</p>"
)
BODY = PARAGRAPH * 4


def page(head: str = "", body: str = "", ld: dict[str, Any] | None = None) -> bytes:
    script = f'<script type="application/ld+json">{json.dumps(ld)}</script>' if ld else ""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">{head}{script}</head><body>{body}</body></html>'
    ).encode()


def extract(head: str = "", body: str = "", ld: dict[str, Any] | None = None) -> dict[str, Any]:
    return extract_page(page(head, body, ld), URL, "text/html; charset=utf-8")


def news_article(**fields: Any) -> dict[str, Any]:
    return {"@context": "https://schema.org", "@type": "NewsArticle", **fields}


# --- titles ------------------------------------------------------------------------------------------


def test_the_metadata_title_the_visible_h1_confirms_beats_an_seo_og_title() -> None:
    # og:title written for social media; JSON-LD headline and <h1> are what the reader sees.
    fields = extract(
        '<meta property="og:title" content="Harbour row: what you need to know">'
        "<title>Harbour row: what you need to know | Example News</title>",
        f"<article><header><h1>Council rejects the ‘new’ harbour plan</h1></header>{BODY}</article>",
        news_article(headline="Council rejects the &#8216;new&#8217; harbour plan"),
    )
    assert fields["title"] == "Council rejects the ‘new’ harbour plan"


def test_when_the_h1_confirms_no_candidate_the_first_one_stays() -> None:
    # The <h1> is a short form of the title; metadata keeps its kicker ("Nach X: Y").
    fields = extract(
        '<meta property="og:title" content="After the vote: Council rejects the harbour plan">',
        f"<main><h1>Council rejects the harbour plan</h1>{BODY}</main>",
        news_article(headline="After the vote: Council rejects the harbour plan"),
    )
    assert fields["title"] == "After the vote: Council rejects the harbour plan"


@pytest.mark.parametrize(
    "h1",
    [
        # The last item of a breadcrumb trail carries the SEO title.
        '<nav class="breadcrumbs"><a href="/">Home</a><h1>Harbour row explained</h1></nav>',
        '<div class="breadcrumb"><a href="/">Home</a><h1 class="breadcrumb__headline">Harbour row explained</h1></div>',
        '<h1 data-breadcrumb-headline="">Harbour row explained</h1>',
        # Teasers of other stories, a hidden SEO heading.
        '<a href="/other"><h1>Harbour row explained</h1></a>',
        "<aside><h1>Harbour row explained</h1></aside>",
        '<h1 class="sr-only">Harbour row explained</h1>',
    ],
)
def test_an_h1_in_a_breadcrumb_teaser_or_hidden_is_no_arbiter(h1: str) -> None:
    fields = extract(
        '<meta property="og:title" content="Council rejects harbour plan">',
        f"{h1}<article>{BODY}</article>",
        news_article(headline="Harbour row explained"),
    )
    assert fields["title"] == "Council rejects harbour plan"


def test_visible_headlines_split_a_kicker_element_and_hidden_separator_off() -> None:
    tree = lxml.html.fromstring(
        '<div><article><h1 class="article-title"><span class="article-title__overline">Harbour dispute</span>'
        '<span class="h-offscreen"> - </span><span class="article-title__text">Council says no</span></h1>'
        "</article></div>"
    )
    (headline,) = visible_headlines(tree)
    assert headline.text == "Harbour dispute - Council says no"
    assert (headline.kicker, headline.main) == ("Harbour dispute", "Council says no")


def test_a_metadata_kicker_other_than_the_h1_kicker_is_dropped() -> None:
    # The page shows its own kicker above the headline; og:title prefixes a different (SEO) one.
    fields = extract(
        '<meta property="og:title" content="Port of Example: «Council says no to the plan»">',
        '<article><h1><span class="kicker">Harbour dispute</span><span class="visually-hidden">: </span>'
        f"<span>«Council says no to the plan»</span></h1>{BODY}</article>",
    )
    assert fields["title"] == "«Council says no to the plan»"


def test_a_metadata_title_with_the_h1_kicker_keeps_it() -> None:
    fields = extract(
        '<meta property="og:title" content="Harbour dispute: Council says no">',
        '<article><h1><span class="kicker">Harbour dispute</span><span class="hide">: </span>'
        f"<span>Council says no</span></h1>{BODY}</article>",
    )
    assert fields["title"] == "Harbour dispute: Council says no"


# --- authors -----------------------------------------------------------------------------------------


def test_a_labelled_author_field_names_the_author() -> None:
    fields = extract(
        '<meta name="author" content="Example News (www.example.com)">',
        f'<article><h1>Harbour</h1>{BODY}</article><div class="col"><ul class="smallList">'
        "<li><strong>Datum</strong> 28.04.2023</li><li><strong>Autorin/Autor</strong> Roman Beispiel</li>"
        "</ul></div>",
    )
    assert fields["authors"] == ["Roman Beispiel"]


@pytest.mark.parametrize(
    ("byline", "names"),
    [
        ("Capital Von Jemima Kelly", ["Jemima Kelly"]),
        ("Sport by Jane Doe", ["Jane Doe"]),
        ("Ursula von der Leyen", ["Ursula von der Leyen"]),
        ("Otto von Bismarck", ["Otto von Bismarck"]),
        ("von Jemima Kelly", ["Jemima Kelly"]),
    ],
)
def test_a_brand_word_before_the_bylines_von_or_by_is_dropped(byline: str, names: list[str]) -> None:
    assert split_names(byline) == names


@pytest.mark.parametrize(
    "signature",
    [
        f'<div class="content">{BODY}<p style="text-align:right;"><strong>Lê Phương</strong></p></div>',
        f'<div class="post-content"><p><strong>MTHOBISI SITHOLE&nbsp;</strong></p>{BODY}</div>',
    ],
)
def test_a_bold_signature_line_opening_or_closing_the_text_names_the_author(signature: str) -> None:
    fields = extract(
        '<meta name="author" content="Example News"><meta property="og:site_name" content="Example News">',
        f"<article><h1>Harbour</h1>{signature}</article>",
        news_article(headline="Harbour", author={"@type": "Organization", "name": "Example News"}),
    )
    assert fields["authors"] == [signature.split("<strong>")[1].split("<")[0].replace("&nbsp;", "").strip()]


def test_a_bold_subheading_is_no_signature() -> None:
    fields = extract(
        '<meta property="og:site_name" content="Example News">',
        f"<article><h1>Harbour</h1><div>{BODY}<p><strong>What happens next?</strong></p></div></article>",
        news_article(headline="Harbour", author={"@type": "Organization", "name": "Example News"}),
    )
    assert fields["authors"] == ["Example News"]


def test_a_wordpress_admin_account_is_no_author() -> None:
    ld = {
        "@context": "https://schema.org",
        "@graph": [
            news_article(headline="Harbour", author={"@id": "https://news.example.com/author/admin/"}),
            {"@type": "Person", "@id": "https://news.example.com/author/admin/", "name": "Example D"},
        ],
    }
    fields = extract(
        "",
        f'<article><h1>Harbour</h1><div class="entry-content"><p><strong>JANE DOE</strong></p>{BODY}</div>'
        '<span class="author"><a href="/author/admin/" rel="author">Example D</a></span></article>',
        ld,
    )
    assert fields["authors"] == ["JANE DOE"]


# --- dates -------------------------------------------------------------------------------------------


def test_a_labelled_date_field_beats_a_related_storys_date() -> None:
    # Trafilatura takes the first span.date, a related story's; the metadata box says "Datum".
    fields = extract(
        "",
        f'<article><h1>Harbour</h1>{BODY}</article><div class="related"><a href="/a"><span class="date">'
        '24.04.2023</span> Older story</a></div><div class="col"><ul class="smallList">'
        "<li><strong>Datum</strong> 28.04.2023</li></ul></div>",
    )
    assert fields["published_at"] == "2023-04-28"


def test_metadata_dates_beat_a_labelled_field() -> None:
    fields = extract(
        '<meta property="article:published_time" content="2023-04-27T10:00:00+02:00">',
        f"<article><h1>Harbour</h1>{BODY}<ul><li><b>Date:</b> 2023-04-28</li></ul></article>",
    )
    assert fields["published_at"] == "2023-04-27T10:00:00+02:00"


def test_a_date_field_written_as_a_paragraph_of_the_text_is_an_events_date() -> None:
    fields = extract("", f"<article><h1>Harbour fair</h1>{BODY}<p><strong>Datum:</strong> 12.05.2031</p></article>")
    assert fields["published_at"] != "2031-05-12"


def test_a_labelled_value_that_is_not_only_a_date_is_ignored() -> None:
    fields = extract(
        '<meta property="article:published_time" content="2023-04-27">',
        f"<article><h1>Harbour</h1>{BODY}<p><strong>Datum</strong> der Sitzung ist der 28.04.2023</p></article>",
    )
    assert fields["published_at"] == "2023-04-27"


# --- site name ---------------------------------------------------------------------------------------


def test_a_page_title_in_og_site_name_is_no_site_name() -> None:
    fields = extract(
        '<meta property="og:site_name" content="Council rejects the harbour plan after long debate - Example.lu">'
        '<meta name="application-name" content="Example">',
        f"<article><h1>Council rejects the harbour plan after long debate</h1>{BODY}</article>",
    )
    assert fields["site_name"] == "Example"


def test_a_lower_case_host_or_legal_name_gives_way_to_the_publishers_name() -> None:
    fields = extract(
        '<meta property="og:site_name" content="news.example.com">',
        f"<article><h1>Harbour</h1>{BODY}</article>",
        {
            "@context": "https://schema.org",
            "@graph": [
                news_article(headline="Harbour", publisher={"@type": "Organization", "name": "Example Verlag GmbH"}),
                {"@type": "WebSite", "name": "Example News", "url": "https://news.example.com/"},
            ],
        },
    )
    assert fields["site_name"] == "Example News"
    assert is_host_like("news.example.com", ("news.example.com",))
    assert is_host_like("example", ("www.example.com",))
    assert not is_host_like("Golem.de", ("www.golem.de",))


def test_a_site_name_entity_is_unescaped() -> None:
    fields = extract('<meta property="og:site_name" content="Example Press &amp;amp; Co">', f"<p>{BODY}</p>")
    assert fields["site_name"] == "Example Press & Co"


# --- real pages --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_realworld_titles_authors_and_dates() -> None:
    """Title, authors and date on the real pages (extraction alone; the benchmark runs the crawl)."""
    if not (REALWORLD / "truth.jsonl").is_file():
        pytest.skip(f"real-world pages not present at {REALWORLD} (they live outside the repo, in ../shared)")
    titles, authors, dates = [], [], []
    for line in (REALWORLD / "truth.jsonl").read_text(encoding="utf-8").splitlines():
        truth = json.loads(line)
        body = gzip.decompress((REALWORLD / "pages" / f"{truth['id']}.html.gz").read_bytes())
        fields = extract_page(body, truth["url"], "text/html; charset=utf-8")
        if truth.get("title"):
            titles.append(" ".join(truth["title"].split()) == " ".join((fields["title"] or "").split()))
        if truth.get("authors"):
            want = {name.casefold() for name in truth["authors"]}
            got = {name.casefold() for name in fields["authors"]}
            authors.append(2 * len(want & got) / (len(want) + len(got)) if got else 0.0)
        if truth.get("published_at"):
            dates.append((fields["published_at"] or "")[:10] == truth["published_at"][:10])
    assert sum(titles) / len(titles) >= 0.85
    assert sum(authors) / len(authors) >= 0.92
    assert sum(dates) / len(dates) >= 0.98
