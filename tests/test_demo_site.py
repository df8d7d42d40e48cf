"""The built-in demo news site: served over real HTTP on 127.0.0.1 and checked as a crawler sees it."""

from __future__ import annotations

import calendar
import json
import re
import urllib.error
import urllib.request
import urllib.robotparser
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from importlib.resources.abc import Traversable
from urllib.parse import urldefrag, urljoin, urlsplit

import feedparser
import lxml.etree
import lxml.html
import pytest

from crawler.demo import DEMO_SOURCE_NAME, serve_demo_site
from crawler.demo.app import DEMO_ARTICLES, demo_article_paths, site_root
from crawler.demo.server import LocalSite

SITEMAP_NS = {
    "sm": "http://www.sitemaps.org/schemas/sitemap/0.9",
    "news": "http://www.google.com/schemas/sitemap-news/0.9",
}
WORDPRESS_WIDGET_TEXTS = (
    "Leave a Reply",
    "Fill in your details below or click an icon to log in:",
    "You are commenting using your WordPress.com account.",
    "Log Out / Change )",
    "Connecting to %s",
)


@dataclass(frozen=True)
class Fetched:
    status: int
    content_type: str
    body: bytes
    location: str | None = None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def fetch(site: LocalSite, path_or_url: str) -> Fetched:
    url = path_or_url if path_or_url.startswith("http") else site.base_url + path_or_url
    try:
        with _OPENER.open(url, timeout=10) as response:
            return Fetched(response.status, response.headers["Content-Type"], response.read())
    except urllib.error.HTTPError as error:
        return Fetched(error.code, error.headers["Content-Type"], error.read(), error.headers.get("Location"))


@pytest.fixture(scope="module")
def site() -> Iterator[LocalSite]:
    with serve_demo_site() as local:
        yield local


def visible_text(html: bytes) -> str:
    tree = lxml.html.fromstring(html)
    for script in tree.xpath("//script|//style"):
        script.drop_tree()
    return re.sub(r"\s+", " ", tree.text_content().replace("\xa0", " "))


def body_paragraphs(tree: lxml.html.HtmlElement) -> list[str]:
    paragraphs = tree.xpath(
        "//div[contains(concat(' ', @class, ' '), ' article-body ') or contains(concat(' ', @class, ' '), ' entry-content ')]/p"
    )
    return [p.text_content().strip() for p in paragraphs]


def meta(tree: lxml.html.HtmlElement, prop: str) -> str | None:
    values = tree.xpath(f"//meta[@property='{prop}' or @name='{prop}']/@content")
    return values[0] if values else None


def same_site_links(site: LocalSite, page_url: str, html: bytes) -> set[str]:
    """Absolute same-host URLs of every <a href> on a page, fragments dropped, queries kept."""
    tree = lxml.html.fromstring(html)
    host = urlsplit(site.base_url).netloc
    links = set()
    for href in tree.xpath("//a/@href"):
        url = urldefrag(urljoin(page_url, href)).url
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.netloc == host:
            links.add(url)
    return links


def crawl_links(site: LocalSite) -> dict[str, Fetched]:
    """Every page reachable from the home page by following links (queries dropped), by path."""
    pages: dict[str, Fetched] = {}
    queue = ["/"]
    while queue:
        path = queue.pop()
        if path in pages:
            continue
        fetched = fetch(site, path)
        pages[path] = fetched
        if fetched.status == 200 and fetched.content_type.startswith("text/html"):
            for url in same_site_links(site, site.base_url + path, fetched.body):
                queue.append(urlsplit(url).path)
    return pages


def test_every_article_answers_with_its_title_metadata_and_canonical_link(site: LocalSite) -> None:
    assert demo_article_paths() == [article.path for article in DEMO_ARTICLES]
    assert len(DEMO_ARTICLES) == 8
    for article in DEMO_ARTICLES:
        fetched = fetch(site, article.path)
        assert fetched.status == 200, article.path
        assert fetched.content_type == "text/html; charset=utf-8"
        tree = lxml.html.fromstring(fetched.body)
        assert tree.xpath("string(//h1)").strip() == article.title
        assert tree.findtext(".//title").startswith(article.title)
        assert meta(tree, "og:title") == article.title
        assert tree.xpath("//link[@rel='canonical']/@href") == [site.base_url + article.path]
        assert meta(tree, "og:url") == site.base_url + article.path
        assert meta(tree, "og:type") == "article"
        published = meta(tree, "article:published_time")
        assert published == article.published
        assert datetime.fromisoformat(published).utcoffset() is not None
        assert tree.xpath("//*[contains(@class, 'byline')]//a | //*[contains(@class, 'byline')]//span"), article.path


def test_articles_are_real_prose_of_news_length(site: LocalSite) -> None:
    first_paragraphs = set()
    for article in DEMO_ARTICLES:
        tree = lxml.html.fromstring(fetch(site, article.path).body)
        paragraphs = body_paragraphs(tree)
        words = sum(len(p.split()) for p in paragraphs)
        assert 5 <= len(paragraphs) <= 9, (article.path, len(paragraphs))
        assert 400 <= words <= 800, (article.path, words)
        assert "Harbridge" in " ".join(paragraphs)
        first_paragraphs.add(paragraphs[0])
    assert len(first_paragraphs) == len(DEMO_ARTICLES)


def test_some_articles_carry_json_ld_news_article_matching_the_page(site: LocalSite) -> None:
    with_json_ld = 0
    for article in DEMO_ARTICLES:
        tree = lxml.html.fromstring(fetch(site, article.path).body)
        for block in tree.xpath("//script[@type='application/ld+json']/text()"):
            data = json.loads(block)
            assert data["@type"] == "NewsArticle"
            assert data["headline"] == article.title
            assert data["datePublished"] == article.published
            assert data["mainEntityOfPage"]["@id"] == site.base_url + article.path
            with_json_ld += 1
    assert 0 < with_json_ld < len(DEMO_ARTICLES)


def test_discovery_channels_links_sitemap_only_and_feed_only(site: LocalSite) -> None:
    pages = crawl_links(site)
    linked = {path for path in pages if path in demo_article_paths()}
    by_channel = {
        channel: {a.path for a in DEMO_ARTICLES if a.found_via == channel}
        for channel in ("links", "sitemap only", "feed only")
    }
    assert len(by_channel["sitemap only"]) == 1 and len(by_channel["feed only"]) == 1
    assert linked == by_channel["links"]

    sitemap = lxml.etree.fromstring(fetch(site, "/sitemap.xml").body)
    in_sitemap = {urlsplit(loc).path for loc in sitemap.xpath("//sm:loc/text()", namespaces=SITEMAP_NS)}
    feed = feedparser.parse(fetch(site, "/feed.xml").body)
    in_feed = {urlsplit(entry.link).path for entry in feed.entries}

    assert by_channel["sitemap only"] <= in_sitemap and not by_channel["sitemap only"] & in_feed
    assert by_channel["feed only"] <= in_feed and not by_channel["feed only"] & in_sitemap
    assert by_channel["links"] <= in_sitemap


def test_home_page_has_teasers_nav_cookie_banner_and_tracking_and_fragment_links(site: LocalSite) -> None:
    home = fetch(site, "/")
    tree = lxml.html.fromstring(home.body)
    assert tree.xpath("//*[@id='cookie-banner']")
    nav = set(tree.xpath("//nav//a/@href"))
    assert {"/news/", "/culture/", "/about/"} <= nav
    hrefs = tree.xpath("//a/@href")
    assert any(
        h.endswith("/?utm_source=newsletter&utm_medium=email") and h.split("?")[0] in demo_article_paths()
        for h in hrefs
    )
    assert any(h.endswith("/#comments") and h.split("#")[0] in demo_article_paths() for h in hrefs)
    assert len(tree.xpath("//article[contains(@class, 'teaser')]")) >= 5


def test_sections_pagination_tag_author_and_about_pages_exist(site: LocalSite) -> None:
    for path in ("/news/", "/news/page/2/", "/culture/", "/about/", "/tag/transport/", "/author/jane-okafor/"):
        fetched = fetch(site, path)
        assert fetched.status == 200, path
        assert "The Harbridge Courier" in visible_text(fetched.body)
    news = lxml.html.fromstring(fetch(site, "/news/").body)
    assert news.xpath("//a[@rel='next']/@href") == ["/news/page/2/"]
    page_two = lxml.html.fromstring(fetch(site, "/news/page/2/").body)
    assert page_two.xpath("//article[contains(@class, 'teaser')]//a/@href")
    author = lxml.html.fromstring(fetch(site, "/author/jane-okafor/").body)
    assert author.xpath("string(//h1)") == "Jane Okafor"


def test_wordpress_post_has_reader_comments_and_the_comment_form_widget(site: LocalSite) -> None:
    (post,) = [a for a in DEMO_ARTICLES if a.has_comments]
    fetched = fetch(site, post.path)
    tree = lxml.html.fromstring(fetched.body)
    assert len(tree.xpath("//ol[contains(@class, 'comment-list')]//li[contains(@class, 'comment')]")) >= 3
    assert tree.xpath("//*[@id='comments']") and tree.xpath("//*[@id='respond']")
    text = visible_text(fetched.body)
    for widget_text in WORDPRESS_WIDGET_TEXTS:
        assert widget_text in text, widget_text
    # Reader comments sit outside the article body, as on a real WordPress post.
    comments = [div.text_content().strip() for div in tree.xpath("//div[contains(@class, 'comment-content')]")]
    body = " ".join(body_paragraphs(tree))
    assert comments and not any(comment in body for comment in comments)


def test_amp_copy_points_back_to_its_article(site: LocalSite) -> None:
    (article,) = [a for a in DEMO_ARTICLES if a.amp_path]
    assert article.amp_path == article.path + "amp/"
    page = lxml.html.fromstring(fetch(site, article.path).body)
    assert page.xpath("//link[@rel='amphtml']/@href") == [site.base_url + article.amp_path]
    amp = fetch(site, article.amp_path)
    assert amp.status == 200
    amp_tree = lxml.html.fromstring(amp.body)
    assert amp_tree.xpath("//link[@rel='canonical']/@href") == [site.base_url + article.path]
    assert amp_tree.xpath("string(//h1)") == article.title
    assert body_paragraphs(amp_tree) == body_paragraphs(page)


def test_robots_txt_disallows_admin_and_names_both_sitemaps(site: LocalSite) -> None:
    fetched = fetch(site, "/robots.txt")
    assert fetched.status == 200 and fetched.content_type.startswith("text/plain")
    parser = urllib.robotparser.RobotFileParser()
    parser.parse(fetched.text.splitlines())
    assert not parser.can_fetch("newsarchive", site.base_url + "/admin/")
    assert all(parser.can_fetch("newsarchive", site.base_url + path) for path in demo_article_paths())
    assert parser.site_maps() == [site.base_url + "/sitemap.xml", site.base_url + "/news-sitemap.xml"]
    # The disallowed area is real and linked, so obeying robots.txt is visible in a crawl.
    assert "/admin/" in crawl_links(site)


def test_sitemap_lists_articles_with_lastmod(site: LocalSite) -> None:
    fetched = fetch(site, "/sitemap.xml")
    assert fetched.status == 200 and fetched.content_type.startswith("application/xml")
    tree = lxml.etree.fromstring(fetched.body)
    entries = tree.xpath("/sm:urlset/sm:url", namespaces=SITEMAP_NS)
    article_paths = set()
    for entry in entries:
        loc = entry.findtext("sm:loc", namespaces=SITEMAP_NS)
        lastmod = entry.findtext("sm:lastmod", namespaces=SITEMAP_NS)
        assert loc.startswith(site.base_url + "/")
        assert datetime.fromisoformat(lastmod).utcoffset() is not None
        assert fetch(site, loc).status == 200, loc
        if urlsplit(loc).path in demo_article_paths():
            article_paths.add(urlsplit(loc).path)
    assert article_paths == {a.path for a in DEMO_ARTICLES if a.found_via != "feed only"}


def test_news_sitemap_has_google_news_fields_for_the_newest_three(site: LocalSite) -> None:
    fetched = fetch(site, "/news-sitemap.xml")
    assert fetched.content_type.startswith("application/xml")
    tree = lxml.etree.fromstring(fetched.body)
    entries = tree.xpath("/sm:urlset/sm:url", namespaces=SITEMAP_NS)
    by_path = {a.path: a for a in DEMO_ARTICLES}
    in_sitemap = sorted((a for a in DEMO_ARTICLES if a.found_via != "feed only"), key=lambda a: a.published)
    listed = []
    for entry in entries:
        path = urlsplit(entry.findtext("sm:loc", namespaces=SITEMAP_NS)).path
        news = entry.find("news:news", namespaces=SITEMAP_NS)
        assert news.findtext("news:publication/news:name", namespaces=SITEMAP_NS) == "The Harbridge Courier"
        assert news.findtext("news:publication/news:language", namespaces=SITEMAP_NS) == "en"
        assert news.findtext("news:publication_date", namespaces=SITEMAP_NS) == by_path[path].published
        assert news.findtext("news:title", namespaces=SITEMAP_NS) == by_path[path].title
        listed.append(path)
    assert listed == [a.path for a in reversed(in_sitemap[-3:])]


def test_feed_is_rss_2_with_the_latest_six(site: LocalSite) -> None:
    fetched = fetch(site, "/feed.xml")
    assert fetched.content_type.startswith("application/rss+xml")
    feed = feedparser.parse(fetched.body)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "rss20"
    assert feed.feed.title == "The Harbridge Courier"
    by_path = {a.path: a for a in DEMO_ARTICLES}
    in_feed = sorted((a for a in DEMO_ARTICLES if a.found_via != "sitemap only"), key=lambda a: a.published)
    assert [urlsplit(e.link).path for e in feed.entries] == [a.path for a in reversed(in_feed[-6:])]
    for entry in feed.entries:
        article = by_path[urlsplit(entry.link).path]
        assert entry.link.startswith(site.base_url + "/")
        assert entry.title == article.title
        assert calendar.timegm(entry.published_parsed) == datetime.fromisoformat(article.published).timestamp()


def test_every_page_advertises_the_feed_and_no_placeholder_survives(site: LocalSite) -> None:
    served = 0
    for resource in _walk(site_root()):
        fetched = fetch(site, resource)
        served += 1
        assert b"{{BASE}}" not in fetched.body, resource
        if resource.endswith(".html"):
            tree = lxml.html.fromstring(fetched.body)
            feeds = tree.xpath("//link[@rel='alternate' and @type='application/rss+xml']/@href")
            assert feeds == [site.base_url + "/feed.xml"], resource
    assert served >= 25


def test_static_content_types_redirects_and_not_found(site: LocalSite) -> None:
    assert fetch(site, "/static/courier.css").content_type.startswith("text/css")
    assert fetch(site, "/static/favicon.svg").content_type == "image/svg+xml"
    moved = fetch(site, "/culture")
    assert moved.status == 301 and moved.location == site.base_url + "/culture/"
    for missing in ("/letters/", "/2025/01/01/no-such-story/", "/404.html", "/../pyproject.toml", "/%2e%2e/app.py"):
        fetched = fetch(site, missing)
        assert fetched.status == 404, missing
        assert fetched.content_type.startswith("text/html")
        assert "Page not found" in visible_text(fetched.body)
    tracked = fetch(site, demo_article_paths()[-2] + "?utm_source=newsletter&utm_medium=email")
    assert tracked.status == 200 and tracked.body == fetch(site, demo_article_paths()[-2]).body


def test_the_site_links_only_to_pages_it_has(site: LocalSite) -> None:
    """A bundled demo whose crawl reports an error looks broken: every same-site link answers 200."""
    broken = {path: fetched.status for path, fetched in crawl_links(site).items() if fetched.status != 200}
    assert not broken, broken


def test_site_is_fictional_and_the_source_is_named_demo(site: LocalSite) -> None:
    assert DEMO_SOURCE_NAME == "demo"
    about = visible_text(fetch(site, "/about/").body)
    assert "fictional" in about and "invented" in about


def test_server_records_hits_and_two_demo_sites_run_side_by_side() -> None:
    with serve_demo_site() as first, serve_demo_site() as second:
        assert first.base_url != second.base_url
        assert fetch(first, "/robots.txt").status == 200
        assert fetch(second, "/robots.txt").text.count(second.base_url) == 2
        assert first.paths() == ["/robots.txt"]


def test_static_site_ships_as_package_data() -> None:
    root = site_root()
    names = set(_walk(root))
    for expected in ("/index.html", "/robots.txt", "/sitemap.xml", "/news-sitemap.xml", "/feed.xml", "/404.html"):
        assert expected in names
    for article in DEMO_ARTICLES:
        assert article.path + "index.html" in names


def _walk(node: Traversable, prefix: str = "") -> Iterator[str]:
    """URL path of every file under a Traversable, e.g. "/news/index.html"."""
    for child in node.iterdir():
        path = f"{prefix}/{child.name}"
        if child.is_dir():
            yield from _walk(child, path)
        else:
            yield path
