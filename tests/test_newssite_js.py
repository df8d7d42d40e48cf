"""``NewsSite(..., js_share=...)``: a share of the fixture site's articles served JavaScript-only.

The pages are fetched from the real server (``serve_site``) over HTTP. A JavaScript-only article has
its head as usual but no paragraph of its text in the HTML: the text is in a
``<script type="application/json">`` block that an inline script puts into an empty container.
``js_share=0`` (the default) must leave every page byte for byte as it was before the option existed.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import urllib.error
import urllib.request
from collections import Counter

import lxml.html
import pytest

from crawler.demo.server import Request
from tests.newssite import NewsSite, serve_site

# sha256 (first 16 hex digits) of NewsSite(60, seed=1)'s home page, sitemap index, RSS feed and every
# article, AMP and wire page, computed before js_share existed (see site_digest).
DIGEST_BEFORE_JS_SHARE = "cc3069581b608cdb"


def site_digest(site: NewsSite) -> str:
    model = site.model
    paths = ["/", "/sitemap_index.xml", "/feed/rss.xml"]
    paths += [a.path for a in model.articles]
    paths += [a.amp_path for a in model.articles if a.amp_path]
    paths += [c.path for c in model.wire_copies]
    digest = hashlib.sha256()
    for path in paths:
        reply = site.app(Request("GET", path, {}, "http://127.0.0.1:1"))
        digest.update(path.encode())
        digest.update(str(reply.status).encode())
        digest.update(reply.body)
    return digest.hexdigest()[:16]


def fetch(url: str) -> bytes:
    """The page's body; once more after the fixture's one-time 503 or 429."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.read()
    except urllib.error.HTTPError as error:
        if error.code not in (429, 503):
            raise
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def decoded(body: bytes) -> str:
    """As a browser decodes the fixture's pages: windows-1252 when its <meta> says so, else UTF-8."""
    return body.decode("cp1252" if b'<meta charset="windows-1252">' in body[:2048] else "utf-8")


def visible_paragraph_text(page: str) -> str:
    tree = lxml.html.document_fromstring(page)
    return "\n".join(" ".join(p.text_content().split()) for p in tree.iter("p"))


def json_blocks(page: str) -> list[object]:
    tree = lxml.html.document_fromstring(page)
    return [json.loads(s.text or "") for s in tree.xpath('//script[@type="application/json"]')]


def test_js_share_zero_serves_every_page_as_before() -> None:
    assert site_digest(NewsSite(60, seed=1)) == DIGEST_BEFORE_JS_SHARE
    assert site_digest(NewsSite(60, seed=1, js_share=0.0)) == DIGEST_BEFORE_JS_SHARE
    assert NewsSite(60, seed=1).js_article_urls("http://h") == []


def test_js_share_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="js_share"):
        NewsSite(60, seed=1, js_share=1.5)


@pytest.mark.slow
def test_js_share_serves_that_share_without_text_in_the_html() -> None:
    site = NewsSite(300, seed=2, js_share=0.12)
    plain = NewsSite(300, seed=2)
    with serve_site(site) as served:
        base = served.base_url
        js_urls = set(site.js_article_urls(base))
        expected = site.expected_articles(base)
        assert {e.url for e in expected} >= js_urls  # still expected: a crawl must archive them
        assert 0.10 <= len(js_urls) / len(expected) <= 0.14
        by_url = {a.url: a for a in expected}
        assert set(Counter(by_url[url].template for url in js_urls)) == {"wordpress", "portal", "minimal"}
        assert len(Counter(by_url[url].section for url in js_urls)) == 5

        without_text = 0
        for article in expected:
            body = fetch(article.url)
            page = decoded(body)
            shown = visible_paragraph_text(page)
            starts = [" ".join(p.split())[:60] for p in article.paragraphs]
            if article.url in js_urls:
                without_text += 1
                assert not any(start in shown for start in starts), article.url
                # The whole body region comes from the JSON: the text, then the template's in-body line.
                blocks = [b["paragraphs"] for b in json_blocks(page) if isinstance(b, dict) and "paragraphs" in b]
                assert len(blocks) == 1 and blocks[0][:-1] == article.paragraphs, article.url
                assert blocks[0][-1].split()[0] in ("Got", "Independent", "©"), article.url
                assert 'rel="amphtml"' not in page
                assert f"<title>{html.escape(article.title)}" in page, article.url  # the head as usual
            else:
                assert all(start in shown for start in starts), article.url
        assert without_text == len(js_urls)

    # Apart from the JavaScript articles themselves, the site is the one without js_share.
    assert [a.path for a in site.model.articles] == [a.path for a in plain.model.articles]
    for article in site.model.articles:
        if not article.js_only:
            mine = site.app(Request("GET", article.path, {}, "http://h")).body
            assert mine == plain.app(Request("GET", article.path, {}, "http://h")).body, article.path


def test_javascript_block_survives_windows_1252_and_script_endings() -> None:
    from tests.newssite.pages import javascript_body

    text = "Café </script><!-- “quoted” — and more"
    markup = javascript_body([text])
    assert markup.encode("cp1252")  # nothing a legacy page cannot carry
    block = re.search(r'<script type="application/json" id="article-data">(.*?)</script>', markup, re.S)
    assert block is not None
    assert json.loads(block.group(1)) == {"paragraphs": [text]}


def test_the_extractor_knows_every_javascript_only_article_for_a_shell() -> None:
    """What render_js = "auto" needs: every template's JavaScript-only page is a shell, including one whose
    chrome (masthead, tagline, headline, dateline, "Loading…") is as long as a short article."""
    from crawler.demo.server import Request
    from crawler.extraction.classify import looks_like_javascript_shell
    from crawler.extraction.extract import extract_page

    site = NewsSite(300, seed=2, js_share=0.12)
    base = "http://127.0.0.1:1"
    missed = []
    for article in (a for a in site.model.articles if a.js_only):
        reply = site.app(Request("GET", article.path, {}, base))
        if not looks_like_javascript_shell(
            extract_page(reply.body, base + article.path, reply.headers.get("Content-Type"))
        ):
            missed.append((article.template, article.path))
    assert missed == []
