"""The article body text on small pages mimicking real news markup: the standfirst put back, lines
that lead the text without being body dropped, a second appended story cut, placeholder and credit
lines dropped (``crawler.extraction.text``, ``.text_lines`` and ``.standfirst``, through ``extract_page``).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from crawler.extraction.extract import extract_page
from crawler.extraction.standfirst import LEAD_CLASS_HINT_LOWER_RE, LEAD_CLASS_HINT_RE, has_hint
from crawler.extraction.text import BOX_CLASS_HINT_LOWER_RE, BOX_CLASS_HINT_RE, drop_elements
from crawler.extraction.text_lines import (
    is_byline,
    is_date_line,
    is_headline,
    without_leading_chrome,
    without_noise_lines,
    without_trailing_chrome,
)

URL = "https://news.example.com/politik/2024/05/12/council-votes-on-budget"
REALWORLD = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "realworld"

HEADLINE = "Council votes to freeze the city budget for two years"
LEAD = "The city council froze spending after a long night of debate. Unions promise to fight the decision."
PARAGRAPHS = [
    "The council met on Tuesday evening in the old town hall, where more than two hundred residents had "
    "gathered to hear the members argue over the budget for the coming two years of the city.",
    "After six hours of debate the majority voted to keep spending at this year's level, citing falling tax "
    "revenue and the rising cost of energy for the public buildings the city has to heat and maintain.",
    "Opposition members said the freeze would hit schools and libraries first, and that the city could not "
    "afford to postpone the repairs its bridges and swimming pools have needed for more than a decade.",
    "The mayor said the decision was painful but necessary, and promised to review it next spring once the "
    "new figures on tax revenue are known and the state has decided on its grants to the municipalities.",
]


def page(
    header: str = "", body_extra: str = "", after: str = "", head: str = "", paragraphs: list[str] | None = None
) -> bytes:
    body = "".join(f"<p>{text}</p>" for text in (PARAGRAPHS if paragraphs is None else paragraphs))
    return (
        f"<!doctype html><html lang='en'><head><title>{HEADLINE} | Example News</title>{head}</head><body>"
        "<nav><a href='/'>Home</a> <a href='/politik'>Politics</a></nav>"
        f"<main><article class='story'><header>{header}</header>"
        f"<div class='article-body'>{body}{body_extra}</div></article>{after}</main>"
        "<footer><p>© Example News</p></footer></body></html>"
    ).encode()


def text_of(body: bytes) -> str:
    return extract_page(body, URL, "text/html; charset=utf-8")["text"]


# --- drop selectors ----------------------------------------------------------------------------------


def test_drop_selectors_match_as_css_does() -> None:
    import lxml.html

    tree = lxml.html.document_fromstring(
        "<html><body><div id='comments'>a</div><div class='x sharedaddy y'>b</div>"
        "<div class='sharedaddy-like'>c</div><div aria-label='cookieconsent'>d</div>"
        "<section class='related-posts'><p class='inner'>e</p></section><p id='commentsX'>f</p></body></html>"
    )
    drop_elements(tree, ("#comments", ".sharedaddy", "[aria-label='cookieconsent']", "section.related-posts"))
    assert [el.text_content() for el in tree.find("body")] == ["c", "f"]


# --- the standfirst ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lead_markup",
    [
        f"<p class='article__lead'>{LEAD}</p>",
        f"<div class='c-summary__intro'>{LEAD}</div>",
        f"<h2 class='subtitle'>{LEAD}</h2>",
        f"<div class='ContentHeaderDek-bIqFFZ'>{LEAD}</div>",
        f"<div class='entry-excerpt'><p>{LEAD}</p></div>",
        f"<p class='story-lead-text'><strong>{LEAD}</strong></p>",
    ],
    ids=["lead", "summary-intro", "subtitle", "camel-case-dek", "excerpt-wrapper", "inline-strong"],
)
def test_the_standfirst_in_the_article_header_is_put_back_at_the_top(lead_markup: str) -> None:
    text = text_of(page(header=f"<h1>{HEADLINE}</h1>{lead_markup}"))
    assert text.startswith(LEAD + "\n\n"), text[:200]
    assert text.count("froze spending") == 1


def test_a_visible_paragraph_equal_to_the_description_is_the_standfirst() -> None:
    head = f"<meta property='og:description' content='{LEAD}'>"
    text = text_of(page(head=head, header=f"<h1>{HEADLINE}</h1><p class='css-1485smx'>{LEAD}</p>"))
    assert text.startswith(LEAD + "\n\n")


def test_a_truncated_description_still_names_its_paragraph() -> None:
    head = f"<meta name='description' content='{LEAD[:60]}…'>"
    text = text_of(page(head=head, header=f"<h1>{HEADLINE}</h1><div><span>{LEAD}</span></div>"))
    assert text.startswith(LEAD + "\n\n")


def test_the_standfirst_already_in_the_text_is_not_repeated() -> None:
    paragraphs = [LEAD, *PARAGRAPHS]
    text = text_of(page(header=f"<h1>{HEADLINE}</h1><p class='intro'>{LEAD}</p>", paragraphs=paragraphs))
    assert text.count("froze spending") == 1


def test_teasers_of_other_stories_are_not_a_standfirst() -> None:
    other = "Another story about the harbour, with its own teaser text that is long enough to read as a lead."
    above = f"<div class='teaser'><p class='teaser-text'>{other}</p></div>"
    below = f"<aside><p class='teaser__text'>{other} And more.</p></aside>"
    body = (
        f"<!doctype html><html><head><title>{HEADLINE}</title></head><body>{above}<main><article>"
        f"<h1>{HEADLINE}</h1><div>{''.join(f'<p>{p}</p>' for p in PARAGRAPHS)}</div></article>{below}"
        "</main></body></html>"
    ).encode()
    text = text_of(body)
    assert "harbour" not in text


def test_a_teaser_far_above_the_body_of_a_page_without_h1_is_not_a_standfirst() -> None:
    other = "Another story about the harbour, with its own teaser text that is long enough to read as a lead."
    menu = "".join(f"<li>Market index {number}: up {number} points</li>" for number in range(60))
    body = (
        f"<!doctype html><html><head><title>{HEADLINE}</title></head><body><p class='teaser-text'>{other}</p>"
        f"<ul>{menu}</ul><main><article><h2>{HEADLINE}</h2>{''.join(f'<p>{p}</p>' for p in PARAGRAPHS)}"
        "</article></main></body></html>"
    ).encode()
    assert "harbour" not in text_of(body)


def test_an_author_intro_in_the_header_is_not_a_standfirst() -> None:
    bio = "Jane Roe covers city politics and has reported on the council for more than ten years."
    header = f"<h1>{HEADLINE}</h1><div class='author-intro'><p>{bio}</p></div>"
    assert "covers city politics" not in text_of(page(header=header))


def test_the_caption_of_the_header_picture_is_not_a_standfirst() -> None:
    caption = "A resident holds a sign outside the town hall on Tuesday evening. (Photo by Jane Roe)"
    header = (
        f"<h1>{HEADLINE}</h1><div class='LeadFeature'><div class='imageCaption'><div>{caption}</div></div></div>"
        f"<div class='article-lead'><figure><figcaption>{caption} again</figcaption></figure></div>"
    )
    assert "resident holds a sign" not in text_of(page(header=header))


# --- lines that lead the text but are not body ----------------------------------------------------


def test_kicker_headline_byline_and_date_leading_the_text_are_dropped() -> None:
    leading = "Budget crisis\n" + HEADLINE + "\nBy Jane Roe\n12.05.2024 14:30\n"
    text = without_leading_chrome(leading + "\n\n".join(PARAGRAPHS), [HEADLINE], ["Jane Roe"])
    assert text.startswith(PARAGRAPHS[0])


@pytest.mark.parametrize(
    "line",
    [
        f"Budget crisis{HEADLINE}",  # kicker glued to the headline
        "City budget: Council votes to freeze the budget for two years?",  # reworded headline
    ],
)
def test_headline_variants_are_recognised(line: str) -> None:
    assert is_headline(line, [HEADLINE])


def test_a_first_paragraph_repeating_the_headline_words_is_body() -> None:
    first = "The council votes to freeze the city budget for two years, its chairman said on Tuesday."
    assert not is_headline(first, [HEADLINE])
    assert without_leading_chrome(first + "\n\nMore.", [HEADLINE], []).startswith(first)


@pytest.mark.parametrize(
    "line",
    [
        "30. Januar 2024",
        "17:41 JST, October 13, 2024",
        "2025年1月14日 01時28分 (1月14日 01時40分更新)",
        "Freitag, 28.04.2023, 19:25",
    ],
)
def test_date_lines(line: str) -> None:
    assert is_date_line(line)


@pytest.mark.parametrize(
    "line", ["On 12 May 2024 the council met again to discuss the budget of the city.", "Am 12. Mai 2024 kam er."]
)
def test_a_sentence_with_a_date_is_not_a_date_line(line: str) -> None:
    assert not is_date_line(line)


@pytest.mark.parametrize("label", ["Article", "Main content", "In short:", "Lesedauer: 4 Minuten"])
def test_a_label_leading_the_text_is_dropped(label: str) -> None:
    text = f"{label}\n\n" + "\n\n".join(PARAGRAPHS)
    assert without_leading_chrome(text, [HEADLINE], []).startswith(PARAGRAPHS[0])


def test_share_buttons_leading_the_text_are_dropped() -> None:
    text = "- Share\n- Post\n- Bookmark\n\n" + "\n\n".join(PARAGRAPHS)
    assert without_leading_chrome(text, [HEADLINE], []).startswith(PARAGRAPHS[0])


def test_a_word_split_off_the_first_paragraph_by_inline_markup_stays() -> None:
    text = "Pakistan\n's army has started a new operation against militants in the north of the country.\n\nMore."
    assert without_leading_chrome(text, [HEADLINE], []) == text


def test_a_caption_with_its_credit_above_the_text_is_dropped() -> None:
    text = "Residents outside the town hall.\nImage: Jane Roe\n\n" + "\n\n".join(PARAGRAPHS)
    assert without_leading_chrome(text, [HEADLINE], []).startswith(PARAGRAPHS[0])


def test_leading_lines_are_dropped_in_a_whole_page() -> None:
    header = f"<p class='kicker'>Budget crisis</p><h1>{HEADLINE}</h1><p class='byline'>By Jane Roe</p>"
    body = page(header=header, paragraphs=[f"<span>{HEADLINE}</span>", *PARAGRAPHS])
    text = text_of(body)
    assert text.startswith(PARAGRAPHS[0]), text[:200]


# --- paragraphs split by inline markup ------------------------------------------------------------


def test_an_inline_comment_does_not_cut_a_paragraph() -> None:
    last = (
        "Prices have recovered <a href='/prices'>from the slump</a><!-- -->, but the effects of high interest "
        "rates and stubborn inflation have acted as a drag on the budget of the city this year."
    )
    text = text_of(page(header=f"<h1>{HEADLINE}</h1>", paragraphs=[*PARAGRAPHS, last]))
    assert text.endswith("a drag on the budget of the city this year.")
    assert "from the slump, but the effects" in text


# --- captions ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "picture",
    [
        "<figure><img src='/a.jpg' alt=''><figcaption><p>{caption}</p></figcaption></figure>",
        "<div class='image clearfix'><img src='/a.jpg' alt=''><div class='caption'><span>{caption}</span></div></div>",
        "<div class='post-img'><img src='/a.jpg' alt=''><p class='img-description'>{caption}</p></div>",
        "<div class='image_image-widget__LYZT4'><img src='/a.jpg' alt=''><p><span>{caption}</span></p></div>",
    ],
    ids=["figcaption", "caption-class", "img-description", "image-widget"],
)
def test_picture_captions_in_the_body_are_not_text(picture: str) -> None:
    caption = "Pictured from left, residents Anna Berg and Tom Lind outside the town hall on Tuesday evening."
    paragraphs = [PARAGRAPHS[0], picture.format(caption=caption), *PARAGRAPHS[1:]]
    body = page(header=f"<h1>{HEADLINE}</h1>", paragraphs=[]).replace(
        b"<div class='article-body'>",
        (
            "<div class='article-body'>" + "".join(p if p.startswith("<") else f"<p>{p}</p>" for p in paragraphs)
        ).encode(),
    )
    text = text_of(body)
    assert "Pictured from left" not in text
    assert PARAGRAPHS[-1][:40] in text


# --- calls to action ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "box",
    [
        "<div class='app-access-wall'><h2>Enjoying our latest content?</h2><p>Log in or create an account to continue reading.</p></div>",
        "<div class='namps-single-cta'><p>Stay informed with Example News, your source for credible journalism.</p></div>",
        "<div class='voc-modal-dropdown'><p>This feature is only for subscribers of Example News.</p></div>",
        "<aside class='newsletterSignup'><p>Get the latest news from Example News in your inbox every morning.</p></aside>",
        "<a href='/emails'><p class='LinkBannerCTA css-ucqz6o-StyledCTA'>Sign up for the Example News emails</p></a>",
        "<p class='Feedback content-width'>Found an error in Example News? Report it now.</p>",
    ],
    ids=["access-wall", "cta", "modal", "newsletter", "camel-case-cta", "feedback"],
)
def test_calls_to_action_in_the_article_are_not_text(box: str) -> None:
    text = text_of(page(header=f"<h1>{HEADLINE}</h1>", body_extra=box))
    assert "Example News" not in text
    assert PARAGRAPHS[-1][:40] in text


@pytest.mark.parametrize(
    "box",
    [
        "<section class='popular-articles'><h2>Popular</h2><div><h3><a href='/x'>Harbour reopens</a></h3>"
        "<p class='dek'>Example News readers liked this story about the harbour most this week.</p></div></section>",
        "<div class='read-next'><h3>Read next</h3><p>Example News: the harbour reopens after the storm.</p></div>",
    ],
    ids=["popular", "read-next"],
)
def test_boxes_of_other_stories_in_the_article_are_not_text(box: str) -> None:
    text = text_of(page(header=f"<h1>{HEADLINE}</h1>", body_extra=box))
    assert "Example News" not in text
    assert PARAGRAPHS[-1][:40] in text


def test_a_popular_box_outside_any_article_stays_in_the_page() -> None:
    import lxml.html

    from crawler.extraction.text import drop_non_body

    tree = lxml.html.document_fromstring(
        "<html><body><main><section class='popular-articles'><article><h2><a href='/a'>Harbour reopens</a></h2>"
        "</article><article><h2><a href='/b'>Bridge closed</a></h2></article></section></main></body></html>"
    )
    drop_non_body(tree)
    assert len(list(tree.iter("article"))) == 2  # a listing keeps its teasers for the classifier


def test_a_large_wrapper_named_after_the_paywall_keeps_the_body() -> None:
    long_paragraphs = [f"{number}. {paragraph}" for number in range(3) for paragraph in PARAGRAPHS]
    body = page(header=f"<h1>{HEADLINE}</h1>", paragraphs=long_paragraphs).replace(
        b"<div class='article-body'>", b"<div class='article-body subscription-wall-wrapper'>"
    )
    assert PARAGRAPHS[-1][:40] in text_of(body)


# --- lines that end the text but are not body ------------------------------------------------------


def test_a_dangling_label_a_related_link_list_and_a_signature_end_no_text() -> None:
    body = "\n\n".join(PARAGRAPHS)
    tail = "\n\nJane Roe\n\nRelated:\n- 19.03.2024 Harbour reopens\n- 05.03.2024 Bridge closed\n\nRead more:"
    assert without_trailing_chrome(body + tail, ["Jane Roe"]) == body


def test_a_closing_list_that_is_body_stays() -> None:
    body = (
        "\n\n".join(PARAGRAPHS) + "\n\nThe council will now:\n- cut the energy bill by a fifth,\n- sell two buildings."
    )
    assert without_trailing_chrome(body, []) == body


def test_a_long_cjk_line_naming_its_reporters_is_not_a_signature() -> None:
    line = "一方で、イスラエル軍は13日、ガザ北部の戦闘でイスラエル兵5人が死亡したと発表した。ガザでは約100人の人質が拘束されている。【エルサレム松岡大地】"
    assert not is_byline(line, ["松岡大地"])


# --- a second story appended ----------------------------------------------------------------------


def test_the_next_story_of_an_infinite_scroll_page_is_cut() -> None:
    next_story = (
        "<div class='under-article'><article><h1>Harbour reopens after storm damage repaired</h1>"
        "<p>The harbour reopened on Wednesday after three weeks of repairs to the quays and the breakwater, "
        "which the storm had damaged badly in the last days of April this year.</p>"
        "<p>Fishermen said they had lost a month of income and asked the city for help with their costs, "
        "which the harbour master promised to pass on to the council at its next meeting.</p></article></div>"
    )
    text = text_of(page(header=f"<h1>{HEADLINE}</h1>", after=next_story))
    assert PARAGRAPHS[-1][:40] in text
    assert "harbour" not in text.lower()


# --- placeholder and credit lines -----------------------------------------------------------------


def test_repeated_placeholders_and_credit_lines_are_dropped() -> None:
    placeholder = (
        "External content not available\nYour privacy settings block the loading and display of all external "
        "content (graphics, tables, subscription login) and social networks (YouTube, X, Facebook, Instagram)."
    )
    text = "\n\n".join(
        [
            PARAGRAPHS[0],
            placeholder,
            "Jane Roe/AFP via Getty Images",
            PARAGRAPHS[1],
            placeholder,
            PARAGRAPHS[2],
            placeholder,
        ]
    )
    cleaned = without_noise_lines(text)
    assert "External content" not in cleaned
    assert "Getty" not in cleaned
    assert cleaned.split("\n\n") == PARAGRAPHS[:3]


def test_a_video_teaser_with_its_date_and_running_time_is_dropped() -> None:
    teaser = "The foreign minister on the new sanctions against the regime. 18.04.2024 | 0:21 min"
    text = "\n\n".join([PARAGRAPHS[0], teaser, PARAGRAPHS[1]])
    assert without_noise_lines(text).split("\n\n") == PARAGRAPHS[:2]


# --- the real pages ---------------------------------------------------------------------------------


@pytest.mark.skipif(not (REALWORLD / "truth.jsonl").is_file(), reason="realworld fixture not in /work/shared")
def test_real_pages_start_with_their_standfirst() -> None:
    """On real pages whose standfirst trafilatura drops, it stands at the top of the text."""
    cases = 0
    for line in (REALWORLD / "truth.jsonl").read_text(encoding="utf-8").splitlines():
        truth = json.loads(line)
        if truth["id"] not in {
            "at_SalzburgerNachrichten_2025_06_05",
            "it_LaRepubblica_2025_01_05",
            "ch_SRF_2025_01_05",
        }:
            continue
        html = gzip.decompress((REALWORLD / "pages" / f"{truth['id']}.html.gz").read_bytes())
        text = extract_page(html, truth["url"], "text/html; charset=utf-8")["text"]
        assert " ".join(text.split())[:60] == " ".join(truth["summary"][0].split())[:60], truth["id"]
        cases += 1
    assert cases == 3


@pytest.mark.parametrize(
    "classes",
    [
        "",
        "article-lead",
        "Article__Lead",
        "c-SUBTITLE",
        "ArticleTeaser",
        "figure__caption",
        "NEWSLETTER-box",
        "ſubscribe",  # long s: matches "s" only case-insensitively, never after lower()
        "\u212aeyword",  # Kelvin sign
        "İntro",  # lower() gives "i̇ntro", two characters
        "text-sm md:text-lg leading-tight tracking-wide",
        "relatedStories readNext",
    ],
)
def test_class_hints_match_as_the_case_insensitive_patterns(classes: str) -> None:
    """The class hints test ASCII classes lower-cased without the I flag (faster); the result must be
    the case-insensitive pattern's on every class, ASCII or not."""
    assert has_hint(classes, LEAD_CLASS_HINT_RE, LEAD_CLASS_HINT_LOWER_RE) == bool(LEAD_CLASS_HINT_RE.search(classes))
    assert has_hint(classes, BOX_CLASS_HINT_RE, BOX_CLASS_HINT_LOWER_RE) == bool(BOX_CLASS_HINT_RE.search(classes))
