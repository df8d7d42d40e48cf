"""URL rules: real-world examples plus hypothesis properties of canonicalize_url."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archive.tracking import TRACKING_PARAMETERS, is_tracking_parameter
from crawler.discovery.urls import (
    canonicalize_url,
    is_on_hosts,
    looks_like_non_html,
    never_article_reason,
    strip_amp,
    url_pattern,
)

# --- canonicalize_url: real-world examples ------------------------------------------------------


@pytest.mark.parametrize(
    "url, canonical",
    [
        # newsletter and social links to one article
        (
            "https://www.theguardian.com/world/2024/may/17/story?utm_source=twitter&utm_medium=social&CMP=share_btn_tw",
            "https://www.theguardian.com/world/2024/may/17/story?CMP=share_btn_tw",
        ),
        (
            "https://www.nytimes.com/2024/05/17/us/politics/budget.html?smid=tw-share&fbclid=IwAR0abc",
            "https://www.nytimes.com/2024/05/17/us/politics/budget.html",
        ),
        (
            "https://edition.cnn.com/2024/05/17/world/story/index.html?cmpid=org=cnn~source=twitter&gclid=Cj0K",
            "https://edition.cnn.com/2024/05/17/world/story/index.html",
        ),
        (
            "https://news.example/a?mc_cid=1f2e&mc_eid=9a8b&_ga=2.1.2&igshid=MzRl&yclid=77&ref_src=twsrc%5Etfw&msclkid=x&dclid=y",
            "https://news.example/a",
        ),
        ("https://news.example/a?UTM_Source=x&pk_campaign=y&mtm_kwd=z&id=7", "https://news.example/a?id=7"),
        # case, default ports, fragments
        (
            "HTTPS://News.Example:443/Politics/Budget-Vote.HTML#comments",
            "https://news.example/Politics/Budget-Vote.HTML",
        ),
        ("http://news.example:80/", "http://news.example/"),
        ("http://news.example:8080/a", "http://news.example:8080/a"),
        ("https://news.example:80/a", "https://news.example:80/a"),
        ("https://news.example", "https://news.example/"),
        ("https://news.example./a", "https://news.example/a"),
        # session ids, in the query and as path parameters
        ("https://news.example/story.jsp;jsessionid=0A1B2C3D?id=5", "https://news.example/story.jsp?id=5"),
        (
            "https://news.example/section;JSESSIONID=abc/story?PHPSESSID=x&sid=9&sessionid=1",
            "https://news.example/section/story",
        ),
        # WordPress comment and share links, AMP flag
        ("https://blog.example/2024/05/post/?replytocom=123#respond", "https://blog.example/2024/05/post/"),
        ("https://blog.example/2024/05/post/?share=facebook&nb=1", "https://blog.example/2024/05/post/?nb=1"),
        (
            "https://blog.example/2024/05/post/?like_comment=42&_wpnonce=abc",
            "https://blog.example/2024/05/post/?_wpnonce=abc",
        ),
        ("https://news.example/story?amp", "https://news.example/story"),
        ("https://news.example/story?amp=", "https://news.example/story"),
        # sorting, percent-encoding and dot segments (w3lib)
        ("https://news.example/search?q=b&page=2&q=a", "https://news.example/search?page=2&q=a&q=b"),
        ("https://news.example/r%c3%a9sum%c3%a9?q=caf%c3%a9", "https://news.example/r%C3%A9sum%C3%A9?q=caf%C3%A9"),
        ("https://news.example/résumé", "https://news.example/r%C3%A9sum%C3%A9"),
        ("https://news.example/a/./b/../c/", "https://news.example/a/c/"),
        ("https://news.example/search?q=two words", "https://news.example/search?q=two+words"),
        # trailing slash and path case are kept
        ("https://news.example/Story", "https://news.example/Story"),
        ("https://news.example/Story/", "https://news.example/Story/"),
        # IDN hosts become punycode
        ("https://Bücher.example/neu", "https://xn--bcher-kva.example/neu"),
        ("https://пример.рф/новости", "https://xn--e1afmkfd.xn--p1ai/%D0%BD%D0%BE%D0%B2%D0%BE%D1%81%D1%82%D0%B8"),
        # IPv6 and the test server
        ("http://[::1]:80/a", "http://[::1]/a"),
        ("http://127.0.0.1:43123/a?b=1#x", "http://127.0.0.1:43123/a?b=1"),
        # a user name and password never reach the archive or the logs
        ("https://reader:hunter2@News.example:443/a", "https://news.example/a"),
        ("https://reader@news.example/a", "https://news.example/a"),
    ],
)
def test_canonicalize_real_world_urls(url, canonical):
    assert canonicalize_url(url) == canonical


@pytest.mark.parametrize(
    "url",
    ["ftp://news.example/a", "mailto:desk@news.example", "/relative/path", "https:///no-host", "javascript:void(0)"],
)
def test_canonicalize_refuses_what_is_not_an_http_url(url):
    with pytest.raises(ValueError, match="not an absolute http"):
        canonicalize_url(url)


def test_ref_and_content_ids_are_kept():
    # `ref`, `cid`, `source` and `id` carry content on some sites; only known trackers go
    url = "https://news.example/a?cid=5&id=1&ref=main&source=wire"
    assert canonicalize_url(url) == "https://news.example/a?cid=5&id=1&ref=main&source=wire"


# --- canonicalize_url: properties ----------------------------------------------------------------

LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)
IDN_LABEL = st.sampled_from(["bücher", "münchen", "пример", "例え", "straße"])
SEGMENT = st.lists(
    # raw whitespace is left out: a URL's surrounding whitespace is stripped, so a raw trailing
    # space would only survive when more query follows; "%20" and "+" cover spaces
    st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), blacklist_characters="/?#;%\\")
    | st.sampled_from(["%20", "%2F", "%C3%A9", "%e2%82%ac", "-", "_", "~", ".", ";jsessionid=A1"]),
    max_size=6,
).map("".join)
SAFE_KEY = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=8).filter(
    lambda key: not is_tracking_parameter(key) and key != "amp"
)
VALUE = st.lists(
    st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), blacklist_characters="&#=%")
    | st.sampled_from(["%26", "%3D", "+", "%20", "%e9"]),
    max_size=6,
).map("".join)
TRACKING_KEY = st.sampled_from(sorted(TRACKING_PARAMETERS)) | LABEL.map(lambda suffix: "utm_" + suffix)


def random_case(draw, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.upper() if flip else c for c, flip in zip(text, flips))


@st.composite
def hosts(draw) -> str:
    labels = draw(st.lists(LABEL | IDN_LABEL, min_size=1, max_size=3))
    host = ".".join([*labels, draw(st.sampled_from(["example", "com", "de", "co.uk"]))])
    if draw(st.booleans()):
        host = "www." + host
    return random_case(draw, host)


@st.composite
def urls(draw) -> tuple[str, str, int | None, list[str]]:
    """(URL without query/fragment, expected host, expected port, query parts) of a random URL."""
    scheme = random_case(draw, draw(st.sampled_from(["http", "https"])))
    host = draw(hosts())
    port = draw(st.sampled_from(["", ":80", ":443", ":8080"]))
    segments = draw(st.lists(SEGMENT, max_size=4))
    path = "/".join(["", *segments]) if segments or draw(st.booleans()) else ""
    params = draw(st.lists(st.tuples(SAFE_KEY, VALUE), max_size=5))
    query_parts = [f"{key}={value}" for key, value in params]
    expected_host = host.lower().encode("idna").decode("ascii")
    default_port = ":80" if scheme.lower() == "http" else ":443"
    expected_port = None if port in ("", default_port) else int(port[1:])
    return f"{scheme}://{host}{port}{path}", expected_host, expected_port, query_parts


def with_query(base: str, parts: list[str], fragment: str = "") -> str:
    query = "?" + "&".join(parts) if parts else ""
    return base + query + (f"#{fragment}" if fragment else "")


@settings(max_examples=300, deadline=None)
@given(urls())
def test_canonicalize_is_idempotent_and_gives_a_valid_url_on_the_same_host(generated):
    base, expected_host, expected_port, query_parts = generated
    canonical = canonicalize_url(with_query(base, query_parts))
    assert canonicalize_url(canonical) == canonical
    parts = urlsplit(canonical)
    assert parts.scheme in ("http", "https")
    assert parts.hostname == expected_host
    assert parts.fragment == "" and "#" not in canonical
    assert parts.port == expected_port
    assert not any(character.isspace() or ord(character) > 127 for character in canonical)


@settings(max_examples=200, deadline=None)
@given(
    urls(),
    st.lists(st.tuples(TRACKING_KEY, VALUE), min_size=1, max_size=4),
    st.randoms(use_true_random=False),
    st.text(max_size=10),
)
def test_tracking_parameters_and_fragments_never_change_the_result(generated, tracking, rnd, fragment):
    base, _, _, query_parts = generated
    noisy_parts = list(query_parts)
    for key, value in tracking:
        noisy_parts.insert(rnd.randint(0, len(noisy_parts)), f"{random_case_plain(rnd, key)}={value}")
    assert canonicalize_url(with_query(base, noisy_parts, fragment.replace("#", ""))) == canonicalize_url(
        with_query(base, query_parts)
    )


def random_case_plain(rnd, text: str) -> str:
    return "".join(c.upper() if rnd.random() < 0.3 else c for c in text)


@settings(max_examples=200, deadline=None)
@given(urls(), st.randoms(use_true_random=False))
def test_query_order_never_changes_the_result(generated, rnd):
    base, _, _, query_parts = generated
    shuffled = list(query_parts)
    rnd.shuffle(shuffled)
    assert canonicalize_url(with_query(base, shuffled)) == canonicalize_url(with_query(base, query_parts))


# --- strip_amp -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "amp_url, canonical",
    [
        ("https://blog.example/2024/05/post-title/amp/", "https://blog.example/2024/05/post-title/"),
        ("https://blog.example/2024/05/post-title/amp", "https://blog.example/2024/05/post-title"),
        ("https://news.example/story?amp", "https://news.example/story"),
        ("https://news.example/story?amp=1&page=2", "https://news.example/story?page=2"),
        ("https://news.example/politics/story?outputType=amp", "https://news.example/politics/story"),
        ("https://amp.theguardian.com/world/2024/may/17/story", "https://theguardian.com/world/2024/may/17/story"),
        ("https://news.example/amp/world/story-123", "https://news.example/world/story-123"),
        (
            "https://edition.cnn.com/2024/05/17/world/story/index.amp.html",
            "https://edition.cnn.com/2024/05/17/world/story/index.html",
        ),
        (
            "https://news-example.cdn.ampproject.org/c/s/news.example/world/story/amp/",
            "https://news.example/world/story/",
        ),
        (
            "https://news-example.cdn.ampproject.org/v/news.example/story?amp_js_v=0.1",
            "http://news.example/story?amp_js_v=0.1",
        ),
    ],
)
def test_strip_amp_finds_the_canonical_page(amp_url, canonical):
    assert strip_amp(amp_url) == canonical


@pytest.mark.parametrize(
    "url",
    [
        "https://news.example/world/story-123",
        "https://news.example/tags/amp/energy",  # "amp" in the middle is a tag, not an AMP marker
        "https://news.example/story?amp=0",
        "https://amp.example/story",  # the site itself is called amp
        "https://news.example/amplifier-review",
        "https://news.example/",
    ],
)
def test_strip_amp_leaves_other_urls_alone(url):
    assert strip_amp(url) == url


def test_strip_amp_then_canonicalize_merges_amp_and_regular_links():
    regular = canonicalize_url("https://www.news.example/world/story/?utm_source=rss")
    for amp in (
        "https://www.news.example/world/story/amp/?utm_source=rss",
        "https://www.news.example/world/story/?amp=1",
    ):
        assert canonicalize_url(strip_amp(amp)) == regular


# --- url_pattern ---------------------------------------------------------------------------------


def test_url_pattern_groups_calendar_and_pagination_traps():
    days = {url_pattern(f"https://news.example/calendar/2024/{month:02d}/") for month in range(1, 13)}
    assert days == {"news.example/calendar/{n}/{n}/"}
    pages = {url_pattern(f"https://news.example/search?q=x{n}&page={n}&utm_source=a") for n in range(50)}
    assert pages == {"news.example/search?page&q"}
    assert url_pattern("https://news.example/search?page=2&q=x") == url_pattern(
        "https://News.Example/search?q=y&page=3#top"
    )


def test_url_pattern_keeps_different_pages_apart():
    patterns = {
        url_pattern("https://news.example/world/story-2024"),
        url_pattern("https://news.example/world/story-2025"),
        url_pattern("https://news.example/world/2024"),
        url_pattern("https://other.example/world/2024"),
        url_pattern("http://127.0.0.1:8001/world/2024"),
        url_pattern("https://news.example/world/2024?view=1"),
    }
    assert len(patterns) == 6
    assert "127.0.0.1:8001/world/{n}" in patterns


# --- is_on_hosts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, hosts, expected",
    [
        ("https://news.example/a", {"news.example"}, True),
        ("https://www.news.example/a", {"news.example"}, True),
        ("https://news.example/a", {"www.news.example"}, True),
        ("https://live.news.example/a", {"news.example"}, True),
        ("https://WWW.News.Example./a", {"news.example"}, True),
        ("http://news.example:8080/a", {"news.example"}, True),
        ("https://badnews.example/a", {"news.example"}, False),
        ("https://news.example.evil.test/a", {"news.example"}, False),
        ("https://example/a", {"news.example"}, False),
        ("https://bücher.example/a", {"xn--bcher-kva.example"}, True),
        ("https://xn--bcher-kva.example/a", {"bücher.example"}, True),
        ("/relative", {"news.example"}, False),
        ("https://news.example/a", set(), False),
        ("http://127.0.0.1:5000/a", {"127.0.0.1"}, True),
    ],
)
def test_is_on_hosts(url, hosts, expected):
    assert is_on_hosts(url, hosts) is expected


# --- looks_like_non_html -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://news.example/report.pdf",
        "https://news.example/files/Report.PDF?download=1",
        "https://cdn.news.example/img/photo.jpg",
        "https://cdn.news.example/img/photo.webp",
        "https://cdn.news.example/video/clip.mp4",
        "https://cdn.news.example/pod/episode.mp3",
        "https://news.example/data/archive.zip",
        "https://news.example/data/dump.tar.gz",
        "https://news.example/budget.xlsx",
        "https://news.example/slides.pptx",
        "https://news.example/letter.docx",
        "https://news.example/static/site.css",
        "https://news.example/static/app.js",
        "https://news.example/fonts/serif.woff2",
        "https://news.example/fonts/sans.ttf",
    ],
)
def test_non_html_files_are_recognised(url):
    assert looks_like_non_html(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://news.example/",
        "https://news.example/world/story-123",
        "https://news.example/story.html",
        "https://news.example/index.php?id=5",
        "https://news.example/article.aspx",
        "https://news.example/v1.2/story",
        "https://news.example/search?format=pdf",
        "https://news.example/photos.jpg/gallery",
        "https://news.example/.pdf",
    ],
)
def test_pages_are_not_taken_for_files(url):
    assert not looks_like_non_html(url)


# --- never_article_reason ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://news.example/wp-login.php?redirect_to=https%3A%2F%2Fnews.example%2F2024%2F05%2Fa%2F", "login"),
        ("https://news.example/wp-login.php?action=lostpassword", "login"),
        ("https://news.example/blog/wp-login.php", "login"),
        ("https://news.example/wp-admin/", "admin"),
        ("https://news.example/wp-admin/post-new.php", "admin"),
        ("https://news.example/xmlrpc.php?rsd", "xmlrpc"),
        ("https://news.example/wp-json/wp/v2/posts/12", "api"),
        ("https://news.example/comments/feed/", "comment feed"),
        ("https://news.example/2024/05/17/harbour-wall/feed/", "feed of a page"),
        ("https://news.example/category/politics/feed/atom/", "feed of a page"),
        # the site's feed is a discovery document, read when a page names it in <link rel=alternate>;
        # fetched as a page, it would be a wasted request (and its URL then never read as a feed)
        ("https://news.example/feed/", "site feed"),
        ("https://news.example/?feed=rss2", "site feed"),
        ("https://news.example/?feed=comments-rss2", "comment feed"),
        ("https://news.example/?feed=rss2&p=123", "site feed"),
        ("https://news.example/wp-content/uploads/2024/05/gallery/", "wordpress files"),
        ("https://news.example/2024/05/17/harbour-wall/trackback/", "trackback"),
        ("https://news.example/2024/05/17/harbour-wall/?print=1", "print"),
        ("https://news.example/2024/05/17/harbour-wall/print/", "print"),
        ("https://news.example/story/123?output=print", "print"),
        ("https://news.example/share?url=https%3A%2F%2Fnews.example%2Fa", "share"),
        ("https://www.facebook.com/sharer.php?u=https%3A%2F%2Fnews.example%2Fa", "share"),
        ("https://www.facebook.com/sharer/sharer.php?u=x", "share"),
        ("https://twitter.com/intent/tweet?text=x", "share"),
        ("https://news.example/cdn-cgi/l/email-protection#a1b2", "email protection"),
    ],
)
def test_links_that_are_never_articles(url, reason):
    assert never_article_reason(canonicalize_url(url)) == reason


@pytest.mark.parametrize(
    "url",
    [
        "https://news.example/",
        "https://news.example/2024/05/17/printing-press-closes/",
        "https://news.example/news/print-edition-ends",
        "https://news.example/sharepoint-outage-hits-council/",
        "https://news.example/feedback-on-the-new-bridge/",
        "https://news.example/2024/05/17/harbour-wall/?amp",  # AMP copies are handled by strip_amp
        "https://news.example/2024/05/17/harbour-wall/amp/",
        "https://news.example/?p=123",
        "https://news.example/page/2/?paged=2",
        # canonicalize_url reduces these to the article itself, which is fetched once
        "https://news.example/2024/05/17/harbour-wall/?replytocom=12#respond",
        "https://news.example/2024/05/17/harbour-wall/?share=twitter",
    ],
)
def test_pages_that_may_be_articles_are_not_never_articles(url):
    assert never_article_reason(canonicalize_url(url)) is None
