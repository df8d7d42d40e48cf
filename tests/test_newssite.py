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
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import urldefrag, urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import feedparser
import lxml.etree
import lxml.html
import pytest

from tests.newssite import (
    MALFORMED_LASTMODS,
    EditKind,
    ExpectedArticle,
    LastmodStyle,
    Misbehaviour,
    NewsSite,
    RemovalKind,
    serve_site,
)

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


# --- Epochs, validators, 304s and request counters -----------------------------------------


def fetch_with(url: str, method: str = "GET", **headers: str) -> Fetched:
    """One request with extra headers (``if_none_match="..."`` becomes ``If-None-Match``)."""
    request = urllib.request.Request(url, method=method)
    for name, value in headers.items():
        request.add_header(name.replace("_", "-").title(), value)
    try:
        with _OPENER.open(request, timeout=10) as response:
            return Fetched(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
    except urllib.error.HTTPError as error:
        return Fetched(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def sitemap_entries(body: bytes) -> dict[str, str | None]:
    """loc -> lastmod (None when absent) of a sitemap or a sitemap index."""
    tree = lxml.etree.fromstring(body)
    entries = tree.xpath("//sm:url | //sm:sitemap", namespaces=SITEMAP_NS)
    return {
        entry.xpath("sm:loc/text()", namespaces=SITEMAP_NS)[0]: next(
            iter(entry.xpath("sm:lastmod/text()", namespaces=SITEMAP_NS)), None
        )
        for entry in entries
    }


def test_epochs_are_deterministic_from_the_seed() -> None:
    stepped = NewsSite(200, seed=4)
    stepped.advance()
    stepped.advance()
    direct = NewsSite(200, seed=4, epoch=2)
    other = NewsSite(200, seed=5, epoch=2)
    assert stepped.epoch == direct.epoch == 2
    assert stepped.history == direct.history
    assert [c.edited_ids() for c in other.history] != [c.edited_ids() for c in direct.history]
    base = "http://127.0.0.1:1"
    assert stepped.expected_articles(base) == direct.expected_articles(base)
    assert stepped.alias_urls(base) == direct.alias_urls(base)
    assert direct.changes(2).time - direct.changes(1).time == timedelta(days=7)
    with pytest.raises(ValueError, match=r"epochs 1\.\.2"):
        direct.changes(3)
    edited = direct.changes(2).edits[0].path
    with serve_site(stepped) as one, serve_site(direct) as two:
        for path in ("/", "/feed/atom.xml", "/sitemaps/articles-1.xml", "/sitemap_index.xml", edited):
            assert fetch(one.base_url + path).body.replace(one.base_url.encode(), b"") == fetch(
                two.base_url + path
            ).body.replace(two.base_url.encode(), b"")


def test_an_epoch_edits_removes_and_adds_the_stated_fractions() -> None:
    site = NewsSite(1000, seed=2)
    before = {a.article_id: a for a in site.model.articles}
    paragraphs_before = {i: site.paragraphs(a) for i, a in before.items()}
    changes = site.advance()
    after = {a.article_id: a for a in site.model.articles}

    assert len(changes.edited_ids()) == 50  # 5 % of 1,000
    assert len(changes.edited_ids(EditKind.MARKUP)) == 10  # 1 %
    assert len(changes.removals) == 20  # 2 %
    assert len(changes.added) == 100  # 10 %
    assert len(changes.volatile) == 1
    kinds = Counter(e.kind for e in changes.edits)
    assert kinds == {EditKind.BODY: 25, EditKind.CORRECTION: 13, EditKind.HEADLINE: 12, EditKind.MARKUP: 10}
    assert Counter(r.kind for r in changes.removals) == {
        RemovalKind.NOT_FOUND: 10,
        RemovalKind.GONE: 5,
        RemovalKind.REDIRECT_HOME: 5,
    }
    groups = [
        set(changes.edited_ids(*EditKind)),
        set(changes.removed_ids()),
        set(changes.added),
        set(changes.volatile),
        set(changes.unchanged),
    ]
    assert sum(len(g) for g in groups) == len(set().union(*groups)) == 1100  # disjoint, all accounted for
    assert set(after) == set(before) - set(changes.removed_ids()) | set(changes.added)
    removed_urls = site.removed_urls("http://h")
    assert {u: r.status for u, r in removed_urls.items()} == {"http://h" + r.path: r.status for r in changes.removals}
    assert len(site.expected_articles("http://h")) == 1000 - 20 + 100

    for edit in changes.edits:
        old, new = before[edit.article_id], after[edit.article_id]
        assert new.path == old.path and edit.old_title == old.title and edit.new_title == new.title
        assert list(edit.old_paragraphs) == paragraphs_before[edit.article_id]
        assert list(edit.new_paragraphs) == site.paragraphs(new)
        if edit.kind is EditKind.MARKUP:
            assert (new.title, new.modified, site.paragraphs(new)) == (
                old.title,
                old.modified,
                paragraphs_before[old.article_id],
            )
            assert edit.change_kinds == ()
            continue
        assert new.modified == changes.time
        assert ("dates" in edit.change_kinds) == (new.template != "minimal")
        if edit.kind is EditKind.HEADLINE:
            assert new.title != old.title and edit.new_paragraphs == edit.old_paragraphs
            assert set(edit.change_kinds) - {"dates"} == {"headline"}
        elif edit.kind is EditKind.CORRECTION:
            assert new.title == old.title and edit.new_paragraphs[:-1] == edit.old_paragraphs
            assert re.match(r"(Correction|Korrektur|Rectificatif) ?:", edit.new_paragraphs[-1])
            assert "correction" in edit.change_kinds
        else:
            assert new.title == old.title and len(edit.new_paragraphs) == len(edit.old_paragraphs)
            assert sum(a != b for a, b in zip(edit.old_paragraphs, edit.new_paragraphs)) == 1
            assert set(edit.change_kinds) - {"dates"} == {"body"}
    previous_time = site.models[0].epoch_time
    for article_id in changes.added:
        article = after[article_id]
        assert previous_time < article.published <= changes.time and article.modified is None
        assert article.reach == "everywhere" and article.born_epoch == 1

    # A small site still has every kind of change at least once.
    small = NewsSite(60, seed=1).advance()
    assert {e.kind for e in small.edits} == set(EditKind)
    assert {r.kind for r in small.removals} == set(RemovalKind)
    assert small.added and small.volatile


def test_unchanged_pages_are_byte_identical_across_epochs() -> None:
    site = NewsSite(300, seed=6)
    with serve_site(site) as local:
        base = local.base_url
        paths = [a.path for a in site.model.articles if not a.path.startswith(("/flaky/", "/busy/"))]
        paths += [a.amp_path for a in site.model.articles if a.amp_path and not a.path.startswith("/busy/")]
        first = {path: fetch(base + path) for path in paths}
        pages_map = fetch(base + "/sitemaps/pages.xml")
        changes = site.advance()
        second = {path: fetch(base + path) for path in paths}

        by_id = {a.article_id: a for a in site.models[0].articles}
        unchanged = {by_id[i].path for i in changes.unchanged}
        unchanged |= {by_id[i].amp_path for i in changes.unchanged if by_id[i].amp_path}
        for path in paths:
            if path in unchanged:
                assert second[path].body == first[path].body, path
                assert second[path].headers["etag"] == first[path].headers["etag"], path
                assert second[path].headers["last-modified"] == first[path].headers["last-modified"], path
        for edit in changes.edits:
            assert second[edit.path].status == 200 and second[edit.path].body != first[edit.path].body
            text = visible_text(page_text(second[edit.path]))
            assert edit.new_title in text and all(p in text for p in edit.new_paragraphs)
            if edit.kind is EditKind.MARKUP:
                assert visible_text(page_text(first[edit.path])).split() == text.split()
                assert second[edit.path].headers["last-modified"] == first[edit.path].headers["last-modified"]
            else:
                assert second[edit.path].headers["last-modified"] == http_date(changes.time)
                # The minimal template never prints a modified time, so it has no "dates" change.
                shows_dates = by_id[edit.article_id].template != "minimal"
                assert (changes.time.isoformat() in page_text(second[edit.path])) == shows_dates
                assert ("dates" in edit.change_kinds) == shows_dates
        for removal in changes.removals:
            answer = second[removal.path]
            assert answer.status == removal.status and "etag" not in answer.headers
            if removal.kind is RemovalKind.REDIRECT_HOME:
                assert answer.headers["location"] == base + "/"
        # Pages that did not change keep their validators; the others carry the epoch's time.
        fresh_map = fetch_with(base + "/sitemaps/pages.xml", if_none_match=pages_map.headers["etag"])
        assert fresh_map.status == 304 and fresh_map.headers["last-modified"] == http_date(site.models[0].epoch_time)
        assert fetch(base + "/about/").headers["last-modified"] == http_date(changes.time)  # its sidebar moved on

        # New articles are served and listed in feeds, sitemaps and section pages.
        rss = fetch(base + "/feed/rss.xml").body.decode()
        listed = set(sitemap_entries(fetch(base + "/sitemaps/articles-1.xml").body))
        sections = "".join(page_text(fetch(u)) for u in site.non_article_urls(base) if "/section/" in u)
        for article_id in changes.added:
            article = site.model.by_id[article_id]
            assert fetch(base + article.path).status == 200
            assert base + article.path in listed and f'href="{article.path}"' in sections
        assert any(site.model.by_id[i].path in rss for i in changes.added)
        assert not any(base + r.path in listed for r in changes.removals)

        # The volatile page: other bytes on every fetch, the same text.
        volatile = site.model.by_id[changes.volatile[0]].path
        one, two = fetch(base + volatile), fetch(base + volatile)
        assert one.body != two.body and one.headers["etag"] != two.headers["etag"]
        assert re.sub(r"<!--.*?-->|<meta name=\"request-id\"[^>]*>", "", page_text(one)) == re.sub(
            r"<!--.*?-->|<meta name=\"request-id\"[^>]*>", "", page_text(two)
        )
        assert one.body.replace(b"\n", b"") != first[volatile].body.replace(b"\n", b"")

        # Every alias of the new epoch still shows a live article.
        aliases = site.alias_urls(base)
        current = {a.url for a in site.expected_articles(base)}
        assert set(aliases.values()) <= current


def test_validators_and_304_answers() -> None:
    site = NewsSite(60, seed=1)
    with serve_site(site) as local:
        base = local.base_url
        article = next(a for a in site.model.articles if a.modified and a.path.count("/") == 5)
        url = base + article.path
        plain = fetch(url)
        etag, last_modified = plain.headers["etag"], plain.headers["last-modified"]
        assert re.fullmatch(r'"[0-9a-f]{32}"', etag)  # strong: no W/
        assert last_modified == http_date(article.modified)
        assert fetch(url).headers["etag"] == etag

        mark = local.log.mark()
        not_modified = fetch_with(url, if_none_match=etag)
        assert (not_modified.status, not_modified.body) == (304, b"")
        assert not_modified.headers["etag"] == etag
        assert fetch_with(url, if_none_match=f'"other", W/{etag}').status == 304
        assert fetch_with(url, if_none_match="*").status == 304
        assert fetch_with(url, if_modified_since=last_modified).status == 304
        assert fetch_with(url, if_modified_since=http_date(article.modified + timedelta(days=1))).status == 304
        assert fetch_with(url, if_modified_since=http_date(article.modified - timedelta(seconds=1))).status == 200
        assert fetch_with(url, if_modified_since="not a date").status == 200
        # If-None-Match decides when both are sent (RFC 9110): a stale ETag means 200.
        assert fetch_with(url, if_none_match='"stale"', if_modified_since=last_modified).status == 200
        assert fetch_with(url, "HEAD", if_none_match=etag).status == 304

        counts = local.log.counts(since=mark)
        assert (counts.requests, counts.conditional, counts.not_modified) == (9, 9, 6)
        assert counts.bytes_sent == 3 * len(plain.body)  # HEAD and 304s send no body
        assert counts.statuses == {304: 6, 200: 3}
        records = local.log.since(mark)
        assert records[0].if_none_match == etag and records[0].if_modified_since is None
        assert records[0].path == article.path and records[0].epoch == 0

        home = fetch(base + "/")
        assert home.headers["last-modified"] == http_date(site.model.epoch_time)
        assert fetch_with(base + "/", if_none_match=home.headers["etag"]).status == 304
        assert "etag" not in fetch(base + "/nothing-here/").headers
        assert "etag" not in fetch(base + "/loop/a").headers

        site.advance()
        changed_home = fetch_with(base + "/", if_none_match=home.headers["etag"])
        assert changed_home.status == 200 and changed_home.headers["last-modified"] == http_date(site.model.epoch_time)
        assert fetch_with(base + "/", if_modified_since=home.headers["last-modified"]).status == 200
        assert local.log.since(mark)[-1].epoch == 1
        total = local.log.counts()
        # The log records an answer before it is sent, the server's hits after: wait for the last one.
        deadline = time.monotonic() + 5
        while len(local.hits) < total.requests and time.monotonic() < deadline:
            time.sleep(0.01)
        assert total.requests == len(local.hits) == len(local.paths())
        # The same answers; not necessarily in the same order: a hit is recorded once its answer was
        # sent, and the client's next request can be logged before that.
        assert sorted((r.method, r.path, r.status) for r in local.log.since()) == sorted(
            (h.method, h.path, h.status) for h in local.hits
        )


def test_sitemaps_carry_lastmod_per_url_and_per_sub_sitemap() -> None:
    site = NewsSite(1200, seed=3)
    with serve_site(site) as local:
        base = local.base_url
        index = sitemap_entries(fetch(base + "/sitemap_index.xml").body)
        subs = [loc for loc in index if "/articles-" in loc]
        assert len(subs) == 3 and index[base + "/sitemaps/archive-index.xml"] == site.model.epoch_time.isoformat()
        assert all(lastmod == site.model.epoch_time.isoformat() for lastmod in index.values())
        first = {loc: sitemap_entries(fetch(loc).body) for loc in subs}
        for article in site.model.sitemap_articles:
            lastmods = [entries[base + article.path] for entries in first.values() if base + article.path in entries]
            assert lastmods == [(article.modified or article.published).isoformat()]

        changes = site.advance()
        index_after = sitemap_entries(fetch(base + "/sitemap_index.xml").body)
        after = {loc: sitemap_entries(fetch(loc).body) for loc in index_after if "/articles-" in loc}
        removed = {base + r.path for r in changes.removals}
        for loc, entries in first.items():
            # Removals leave gaps; nothing moves to another file.
            assert set(entries) - removed <= set(after[loc]), loc
            expected = changes.time.isoformat() if after[loc] != entries else site.models[0].epoch_time.isoformat()
            assert index_after[loc] == expected
        assert index_after[base + "/sitemaps/pages.xml"] == site.models[0].epoch_time.isoformat()
        everything = {url: lastmod for entries in after.values() for url, lastmod in entries.items()}
        for edit in changes.edits:
            if site.model.by_path[edit.path].in_sitemaps:
                expected = changes.time if edit.kind is not EditKind.MARKUP else edit.old_modified
                assert everything[base + edit.path] == (expected or site.model.by_path[edit.path].published).isoformat()
        assert {base + site.model.by_id[i].path for i in changes.added} <= set(everything)
        assert not removed & set(everything)


def test_advancing_on_the_real_clock() -> None:
    site = NewsSite(60, seed=9)
    now = datetime.now(UTC)
    changes = site.advance(at=now)
    assert changes.time == now.replace(microsecond=0)
    assert all(e.new_modified == changes.time for e in changes.edits if e.kind is not EditKind.MARKUP)
    assert all(site.models[0].epoch_time < site.model.by_id[i].published <= changes.time for i in changes.added)
    with pytest.raises(ValueError, match="pass a later time"):
        site.advance(at=now - timedelta(days=1))
    assert site.epoch == 1


def test_misbehaviour_switches() -> None:
    article_site = NewsSite(60, seed=1)
    article = next(a for a in article_site.model.articles if a.path.count("/") == 5)
    wrong = NewsSite(60, seed=1, misbehaviour=Misbehaviour(wrong_etag=True, future_last_modified=True))
    with serve_site(wrong) as local:
        url = local.base_url + article.path
        one, two = fetch(url), fetch(url)
        assert one.body == two.body and one.headers["etag"] != two.headers["etag"]
        assert fetch_with(url, if_none_match=two.headers["etag"]).status == 200
        assert one.headers["last-modified"] == "Thu, 01 Jan 2099 00:00:00 GMT"
        # A server that believes its future date: If-Modified-Since with it is "not modified".
        assert fetch_with(url, if_modified_since=one.headers["last-modified"]).status == 304

    rude = NewsSite(60, seed=1, misbehaviour=Misbehaviour(unconditional_304=frozenset({article.path, "/"})))
    with serve_site(rude) as local:
        answer = fetch(local.base_url + article.path)
        assert (answer.status, answer.body) == (304, b"")
        assert fetch(local.base_url + "/").status == 304
        assert fetch(local.base_url + "/about/").status == 200
        assert local.log.counts().not_modified == 2 and local.log.counts().conditional == 0

    patterns = {
        LastmodStyle.DATE_ONLY: r"\d{4}-\d\d-\d\d",
        LastmodStyle.FUTURE: r"2099-01-01T00:00:00\+00:00",
        LastmodStyle.MALFORMED: "|".join(re.escape(v) for v in MALFORMED_LASTMODS),
    }
    for style in (*patterns, LastmodStyle.MIXED):
        site = NewsSite(60, seed=1, misbehaviour=Misbehaviour(sitemap_lastmod=style))
        with serve_site(site) as local:
            urls = sitemap_entries(fetch(local.base_url + "/sitemaps/articles-1.xml").body)
            index = sitemap_entries(fetch(local.base_url + "/sitemap_index.xml").body)
        values = [v for v in [*urls.values(), *index.values()] if v is not None]
        assert len(values) == len(urls) + len(index)
        if style is LastmodStyle.MIXED:
            for kind, pattern in patterns.items():
                assert any(re.fullmatch(pattern, v) for v in values), kind
        else:
            assert all(re.fullmatch(patterns[style], v) for v in values), style
    # The same site without the switch is unaffected: the switch is per site.
    assert not article_site.misbehaviour.wrong_etag


def test_a_removed_article_comes_back_as_it_was() -> None:
    site = NewsSite(100, seed=8)
    with serve_site(site) as local:
        base = local.base_url
        before = {a.article_id: fetch(base + a.path) for a in site.model.articles if a.path.count("/") == 5}
        first = site.advance()
        assert first.restored == ()
        second = site.advance()
        (back,) = second.restored
        assert back in first.removed_ids()
        article = site.model.by_id[back]
        again = fetch(base + article.path)
        assert again.status == 200 and again.body == before[back].body
        assert again.headers["etag"] == before[back].headers["etag"]
        assert base + article.path in {a.url for a in site.expected_articles(base)}
        assert base + article.path not in site.removed_urls(base)
        assert len(site.removed_urls(base)) == len(first.removals) + len(second.removals) - 1
        if article.in_sitemaps:
            maps = [loc for loc in sitemap_entries(fetch(base + "/sitemap_index.xml").body) if "/articles-" in loc]
            assert any(base + article.path in sitemap_entries(fetch(loc).body) for loc in maps)
    assert NewsSite(100, seed=8, epoch=2).changes(2).restored == second.restored
