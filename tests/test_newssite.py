"""Tests for the fixture news site in ``tests/newssite``: it must be a trustworthy yardstick.

Everything runs against the real server (``serve_site``) on 127.0.0.1 over HTTP. A small
breadth-first crawl in this file (links, feeds, sitemaps, robots.txt) checks that the site's own
answers (``expected_articles``, ``alias_urls``, ``non_article_urls``) match what is actually served.
"""

from __future__ import annotations

import html
import re
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import urldefrag, urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import feedparser
import lxml.etree
import lxml.html
import pytest

from tests.newssite import ExpectedArticle, NewsSite, serve_site

SITEMAP_NS = {
    "sm": "http://www.sitemaps.org/schemas/sitemap/0.9",
    "news": "http://www.google.com/schemas/sitemap-news/0.9",
}


@dataclass(frozen=True)
class Fetched:
    status: int
    headers: dict[str, str]
    body: bytes


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects())


def fetch(url: str, method: str = "GET") -> Fetched:
    """One request, redirects not followed, error statuses returned rather than raised."""
    request = urllib.request.Request(url, method=method)
    try:
        with _OPENER.open(request, timeout=10) as response:
            return Fetched(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
    except urllib.error.HTTPError as error:
        return Fetched(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())


def fetch_with_retry(url: str) -> Fetched:
    """Like a polite crawler: one retry after a 503/429 that asks for it."""
    first = fetch(url)
    if first.status in (429, 503) and "retry-after" in first.headers:
        return fetch(url)
    return first


def page_text(fetched: Fetched) -> str:
    """The page as a reader's browser decodes it: header charset, else <meta charset>, else UTF-8."""
    header_charset = re.search(r"charset=([\w-]+)", fetched.headers.get("content-type", ""))
    meta_charset = re.search(rb'<meta charset="([\w-]+)"', fetched.body[:2048])
    charset = (
        header_charset.group(1)
        if header_charset
        else meta_charset.group(1).decode("ascii")
        if meta_charset
        else "utf-8"
    )
    return fetched.body.decode(charset)


def visible_text(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def canonical_of(markup: str) -> str | None:
    match = re.search(r'<link rel="canonical" href="([^"]+)"', markup)
    return html.unescape(match.group(1)) if match else None


@pytest.fixture(scope="module")
def small_site() -> NewsSite:
    return NewsSite(n_articles=60, seed=1)


@pytest.fixture(scope="module")
def served(small_site: NewsSite):
    with serve_site(small_site) as local:
        yield local


# --- A small reference crawl ---------------------------------------------------------------


@dataclass
class CrawlResult:
    pages: dict[str, Fetched] = field(default_factory=dict)  # defragmented URL -> answer
    links: dict[str, set[str]] = field(default_factory=dict)  # raw link target -> pages linking it
    sitemap_urls: set[str] = field(default_factory=set)
    sitemap_files: list[str] = field(default_factory=list)
    feed_urls: set[str] = field(default_factory=set)


def _html_links(page_url: str, markup: str) -> list[str]:
    document = lxml.html.fromstring(markup)
    hrefs = document.xpath("//a/@href") + document.xpath("//link[@rel='next' or @rel='prev' or @rel='amphtml']/@href")
    return [urljoin(page_url, href) for href in hrefs if not href.startswith(("javascript:", "mailto:"))]


def crawl(base: str) -> CrawlResult:
    """Follow links from the home page, plus sitemaps from robots.txt and both feeds."""
    result = CrawlResult()
    robots = RobotFileParser()
    robots_txt = fetch(base + "/robots.txt").body.decode("utf-8")
    robots.parse(robots_txt.splitlines())
    sitemap_queue = [line.split(":", 1)[1].strip() for line in robots_txt.splitlines() if line.startswith("Sitemap:")]
    while sitemap_queue:
        sitemap_url = sitemap_queue.pop()
        if sitemap_url in result.sitemap_files:
            continue  # the archive index lists itself and the main index again
        result.sitemap_files.append(sitemap_url)
        tree = lxml.etree.fromstring(fetch(sitemap_url).body)
        sitemap_queue += tree.xpath("//sm:sitemap/sm:loc/text()", namespaces=SITEMAP_NS)
        result.sitemap_urls.update(tree.xpath("//sm:url/sm:loc/text()", namespaces=SITEMAP_NS))
    for feed in ("/feed/rss.xml", "/feed/atom.xml"):
        parsed = feedparser.parse(fetch(base + feed).body)
        result.feed_urls.update(entry.link for entry in parsed.entries)

    queue = deque([base + "/"])
    seen = {base + "/"}
    while queue:
        url = queue.popleft()
        answer = fetch_with_retry(url)
        result.pages[url] = answer
        targets: list[str] = []
        if answer.status in (301, 302):
            targets = [answer.headers["location"]]
        elif answer.status == 200 and answer.headers["content-type"].startswith("text/html"):
            targets = _html_links(url, page_text(answer))
        for target in targets:
            if not target.startswith(base + "/"):
                continue
            result.links.setdefault(target, set()).add(url)
            page = urldefrag(target).url
            # The calendar is endless: a crawler takes the sidebar's month and goes no further.
            if "/calendar/" in page and "/calendar/" in url:
                continue
            if page not in seen and robots.can_fetch("*", page):
                seen.add(page)
                queue.append(page)
    return result


@pytest.fixture(scope="module")
def crawled(served) -> CrawlResult:
    return crawl(served.base_url)


# --- Tests ---------------------------------------------------------------------------------


def test_same_seed_gives_the_same_site() -> None:
    first, second, other = NewsSite(60, seed=7), NewsSite(60, seed=7), NewsSite(60, seed=8)
    base = "http://127.0.0.1:1"
    assert first.expected_articles(base) == second.expected_articles(base)
    assert first.alias_urls(base) == second.alias_urls(base)
    assert first.expected_articles(base) != other.expected_articles(base)
    with serve_site(first) as one, serve_site(second) as two:
        for path in ("/", "/feed/rss.xml", "/sitemaps/news.xml", first.expected_articles(base)[10].url[len(base) :]):
            assert fetch(one.base_url + path).body.replace(one.base_url.encode(), b"") == fetch(
                two.base_url + path
            ).body.replace(two.base_url.encode(), b"")


def test_articles_are_realistic(small_site: NewsSite) -> None:
    articles = small_site.expected_articles("http://h")
    assert len(articles) == 60
    assert {a.template for a in articles} == {"wordpress", "portal", "minimal"}
    assert {a.language for a in articles} == {"en", "de", "fr"}
    assert {a.encoding for a in articles} == {"utf-8", "windows-1252", "utf-8-undeclared"}
    for article in articles:
        assert 5 <= len(article.paragraphs) <= 12, article.url
        assert all(40 <= len(p.split()) <= 120 for p in article.paragraphs), article.url
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", article.published_at)
        assert article.authors and article.tags and article.section
        assert "lorem" not in " ".join(article.paragraphs).lower()
    prose = " ".join(p for a in articles for p in a.paragraphs)
    assert all(char in prose for char in "’“”–é€")


def test_every_expected_article_is_served_with_200(small_site: NewsSite, served) -> None:
    for article in small_site.expected_articles(served.base_url):
        answer = fetch_with_retry(article.url)
        assert answer.status == 200, article.url
        text = visible_text(page_text(answer))
        assert article.title in text, article.url
        assert all(paragraph in text for paragraph in article.paragraphs), article.url
        assert canonical_of(page_text(answer)) == article.url


def test_feeds_parse_and_point_at_articles(small_site: NewsSite, served) -> None:
    base = served.base_url
    expected = {a.url: a for a in small_site.expected_articles(base)}
    aliases = small_site.alias_urls(base)
    for path in ("/feed/rss.xml", "/feed/atom.xml"):
        parsed = feedparser.parse(fetch(base + path).body)
        assert not parsed.bozo, (path, parsed.get("bozo_exception"))
        assert len(parsed.entries) == 30
        assert any("utm_source=rss" in entry.link for entry in parsed.entries)
        for entry in parsed.entries:
            article = expected[aliases.get(entry.link, entry.link)]
            assert entry.title == article.title
            assert entry.author and entry.published_parsed and entry.summary
            assert {t.term for t in entry.tags} >= set(article.tags)


def test_sitemaps_are_well_formed_and_list_only_real_urls(small_site: NewsSite, crawled: CrawlResult, served) -> None:
    base = served.base_url
    assert base + "/sitemaps/archive-index.xml" in crawled.sitemap_files
    known = {a.url for a in small_site.expected_articles(base)} | set(small_site.non_article_urls(base))
    assert crawled.sitemap_urls <= known
    for url in crawled.sitemap_urls:
        assert fetch_with_retry(url).status == 200, url
    news = lxml.etree.fromstring(fetch(base + "/sitemaps/news.xml").body)
    entries = news.xpath("//sm:url", namespaces=SITEMAP_NS)
    assert len(entries) == 50
    for entry in entries:
        assert entry.xpath("news:news/news:publication/news:name/text()", namespaces=SITEMAP_NS)
        assert entry.xpath("news:news/news:publication_date/text()", namespaces=SITEMAP_NS)
        assert entry.xpath("news:news/news:title/text()", namespaces=SITEMAP_NS)


def test_windows_1252_pages_decode_with_their_meta_charset(small_site: NewsSite, served) -> None:
    legacy = [a for a in small_site.expected_articles(served.base_url) if a.encoding != "utf-8"]
    assert {a.encoding for a in legacy} == {"windows-1252", "utf-8-undeclared"}
    for article in legacy:
        answer = fetch(article.url)
        assert answer.headers["content-type"] == "text/html"  # no charset in HTTP
        if article.encoding == "windows-1252":
            assert b'<meta charset="windows-1252">' in answer.body
            assert b"\x80" in answer.body and b"\x92" in answer.body  # € and ’ as cp1252 bytes
            with pytest.raises(UnicodeDecodeError):
                answer.body.decode("utf-8")
            text = visible_text(answer.body.decode("cp1252"))
        else:
            assert b"charset" not in answer.body
            text = visible_text(answer.body.decode("utf-8"))
        assert all(paragraph in text for paragraph in article.paragraphs)
        assert any(char in "".join(article.paragraphs) for char in "’“”€é")


def test_expected_articles_exclude_private_app_shell_and_duplicates(
    small_site: NewsSite,
    served,
) -> None:
    base = served.base_url
    urls = [a.url for a in small_site.expected_articles(base)]
    aliases = small_site.alias_urls(base)
    assert len(urls) == len(set(urls))
    assert not set(urls) & set(aliases)
    assert not set(urls) & set(small_site.non_article_urls(base))
    assert all("?" not in url and "#" not in url for url in urls)
    for prefix in ("/private/", "/live/", "/wire/", "/amp/"):
        assert not any(prefix in url for url in urls), prefix
    assert small_site.disallowed_prefixes() == ["/private/"]
    robots = fetch(base + "/robots.txt").body.decode()
    assert "Disallow: /private/" in robots and f"Sitemap: {base}/sitemap_index.xml" in robots
    home = page_text(fetch(base + "/"))
    private_links = re.findall(r'href="(/private/[^"]+)"', home)
    assert len(private_links) == 3
    assert all(fetch(base + link).status == 200 for link in private_links)
    live = page_text(fetch(base + "/live/election-night-results/"))
    assert '<div id="app"></div>' in live and "Loading…" in live


def test_aliases_show_the_same_article(small_site: NewsSite, served) -> None:
    base = served.base_url
    expected = {a.url: a for a in small_site.expected_articles(base)}
    aliases = small_site.alias_urls(base)
    kinds = {
        "utm_": 0,
        "fbclid": 0,
        "gclid": 0,
        "#comments": 0,
        "replytocom": 0,
        "share=": 0,
        "/amp/": 0,
        "/?p=": 0,
        "/wire/": 0,
    }
    for alias, target in aliases.items():
        assert target in expected, alias
        kinds.update({k: v + 1 for k, v in kinds.items() if k in alias})
        answer = fetch_with_retry(urldefrag(alias).url)
        if "/?p=" in alias:
            assert (answer.status, answer.headers["location"]) == (301, target)
            continue
        assert answer.status == 200, alias
        markup = page_text(answer)
        text = visible_text(markup)
        assert all(paragraph in text for paragraph in expected[target].paragraphs), alias
        if "/wire/" in alias:
            assert canonical_of(markup) == urldefrag(alias).url  # a copy that does not admit it
        else:
            assert canonical_of(markup) == target, alias
        if "/amp/" in alias:
            assert "<html amp" in markup
    assert all(count > 0 for count in kinds.values()), kinds


def test_crawl_reaches_every_article_in_the_intended_ways(small_site: NewsSite, crawled: CrawlResult, served) -> None:
    base = served.base_url
    expected = {a.url for a in small_site.expected_articles(base)}
    aliases = small_site.alias_urls(base)
    non_articles = set(small_site.non_article_urls(base))
    linked_to: dict[str, set[str]] = {}
    for target, sources in crawled.links.items():
        page = aliases.get(target, aliases.get(urldefrag(target).url, urldefrag(target).url))
        linked_to.setdefault(page, set()).update(source for source in sources if aliases.get(source, source) != page)
    assert expected <= set(linked_to) | crawled.sitemap_urls

    feed_targets = {aliases.get(url, url) for url in crawled.feed_urls}
    for article in small_site.model.articles:
        url = base + article.path
        if article.reach == "sitemap-only":
            assert url in crawled.sitemap_urls and not linked_to.get(url) and url not in feed_targets
        elif article.reach == "links-only":
            assert linked_to.get(url) and url not in crawled.sitemap_urls and url not in feed_targets
    section_teasers = [
        urljoin(url, html.unescape(href))
        for url in non_articles
        if "/section/" in url and "/section/wire/" not in url
        for href in re.findall(r'<h2 class="teaser__title"><a href="([^"]+)"', page_text(crawled.pages[url]))
    ]
    for article in small_site.model.articles:
        listed = section_teasers.count(base + article.path)
        assert listed == (0 if article.reach == "sitemap-only" else 1), article.path
    assert any(a.reach == "sitemap-only" for a in small_site.model.articles)
    assert any(a.reach == "links-only" for a in small_site.model.articles)

    # Every HTML page the crawl met is accounted for: an article, a known alias, or a non-article.
    for url, answer in crawled.pages.items():
        if answer.status != 200 or not answer.headers["content-type"].startswith("text/html"):
            continue
        assert url in expected or url in aliases or url in non_articles or "/calendar/" in url, url
    assert not any("/private/" in url for url in crawled.pages)
    statuses = {urlsplit(url).path: answer.status for url, answer in crawled.pages.items()}
    assert statuses["/loop/a"] == 302 and statuses["/loop/b"] == 302
    assert 404 in statuses.values()
    assert small_site.non_article_urls(base)[0] == base + "/"
    assert non_articles <= set(crawled.pages)


def test_one_time_failures_reset_for_each_server(small_site: NewsSite) -> None:
    busy = next(a.path for a in small_site.model.articles if a.path.startswith("/busy/"))
    for _ in range(2):
        with serve_site(small_site) as local:
            assert fetch(local.base_url + "/flaky/", "HEAD").status == 503  # HEAD does not use it up
            flaky = fetch(local.base_url + "/flaky/")
            assert (flaky.status, flaky.headers["retry-after"]) == (503, "1")
            assert fetch(local.base_url + "/flaky/").status == 200
            assert fetch(local.base_url + busy).status == 429
            assert fetch(local.base_url + busy).status == 200


def test_non_html_resources_and_traps(served) -> None:
    base = served.base_url
    report = fetch(base + "/files/report-2022.pdf")
    assert report.headers["content-type"] == "application/pdf" and report.body.startswith(b"%PDF-1.4")
    assert report.body.rstrip().endswith(b"%%EOF")
    download = fetch(base + "/download/1")
    assert download.headers["content-type"] == "application/pdf" and download.body.startswith(b"%PDF")
    image = fetch(base + "/img/7.jpg")
    assert image.headers["content-type"] == "image/jpeg" and image.body.startswith(b"\xff\xd8")
    head = fetch(base + "/", "HEAD")
    assert head.status == 200 and head.body == b"" and int(head.headers["content-length"]) > 1000
    ancient = page_text(fetch(base + "/calendar/1850/01/"))
    assert 'href="/calendar/1849/12/"' in ancient and 'href="/calendar/1850/02/"' in ancient
    assert fetch(base + "/section/politics/page/99/").status == 404


def test_large_site_builds_quickly_and_paginates() -> None:
    started = time.perf_counter()
    site = NewsSite(n_articles=2500, seed=3)
    assert time.perf_counter() - started < 20
    with serve_site(site) as local:
        index = lxml.etree.fromstring(fetch(local.base_url + "/sitemap_index.xml").body)
        article_maps = [loc for loc in index.xpath("//sm:loc/text()", namespaces=SITEMAP_NS) if "/articles-" in loc]
        assert len(article_maps) == 5
        first_map = lxml.etree.fromstring(fetch(article_maps[0]).body)
        assert len(first_map.xpath("//sm:url", namespaces=SITEMAP_NS)) == 500
        second_page = page_text(fetch(local.base_url + "/section/sport/page/2/"))
        assert '<link rel="next"' in second_page and "Older posts" in second_page
        assert second_page.count('<article class="teaser">') == 10


def test_too_small_site_is_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="n_articles >= 20"):
        NewsSite(n_articles=5)


def test_expected_article_is_a_frozen_record(small_site: NewsSite) -> None:
    article = small_site.expected_articles("http://h")[0]
    assert isinstance(article, ExpectedArticle)
    with pytest.raises(AttributeError):
        article.title = "changed"  # type: ignore[misc]
