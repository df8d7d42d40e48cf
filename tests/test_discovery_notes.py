"""Discovery notes, the pattern budget that gives pages back, and the links a WordPress post must not cost.

Plain functions and classes (crawler.discovery.notes, crawler.discovery.links), the news spider in
the test process (tests/inprocess.py) on the WordPress template of tests/newssite with the links a
real WordPress 6 site prints, and the archive's late-hints path.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from scrapy import Request

from archive import Archive
from crawler.discovery.links import PatternBudget, unwanted_feed_reason
from crawler.discovery.notes import DiscoveryNotes, merge_hints, shortlink_aliases, tracking_variant
from crawler.items import Fetch, PageItem, PageNotesItem
from crawler.sources.config import adhoc_source
from tests.inprocess import collect, news_crawler, response_to
from tests.newssite import NewsSite
from tests.newssite import pages as newssite_pages

SITE = "https://harbour.example"
POST = f"{SITE}/2024/05/17/harbour-wall-repairs-begin/"
NEWS_HINTS = {"title": "Harbour wall repairs begin", "published_at": "2024-05-17T08:00:00+02:00", "language": "en"}


# -- notes ----------------------------------------------------------------------------------------


def test_notes_merge_what_every_finder_said_and_report_what_comes_late() -> None:
    notes = DiscoveryNotes()
    assert not notes.note(POST, "link")  # a plain link first: nothing to say, and not parsed yet
    assert not notes.note(POST, "sitemap", NEWS_HINTS)
    assert not notes.note(POST, "feed", {"title": "Feed title", "authors": ["Ana Reporter"]})
    note = notes.take([POST])
    assert note.hints == {**NEWS_HINTS, "authors": ["Ana Reporter"]}  # the first finder's title wins
    assert note.found_by == ["link", "sitemap", "feed"]

    late = notes.note(POST, "sitemap", {"title": "Other", "tags": ["harbour"]})  # after the page was parsed
    assert late and late.hints == {"tags": ["harbour"]} and late.found_by == ["link", "sitemap", "feed"]
    assert not notes.note(POST, "link")  # nothing new
    other = f"{SITE}/story/other/"
    notes.note(other, "link")
    notes.take([other])
    late = notes.note(other, "feed", {})  # a feed that names a parsed page and says nothing new of it
    assert late and late.new_finder and late.found_by == ["link", "feed"]
    assert not notes.note(other, "feed", {})


def test_notes_are_bounded() -> None:
    notes = DiscoveryNotes(limit=3)
    for number in range(5):
        notes.note(f"{SITE}/story/{number}/", "link", {"title": str(number)})
    assert len(notes) == 3 and notes.get(f"{SITE}/story/0/") is None


def test_merge_hints_keeps_the_first_value_and_fills_blanks() -> None:
    assert merge_hints({"title": "A", "tags": []}, {"title": "B", "tags": ["x"], "language": ""}) == {
        "title": "A",
        "tags": ["x"],
    }


def test_tracking_variants_are_aliases_other_variants_are_not() -> None:
    assert (
        tracking_variant(f"{POST}?utm_source=rss&utm_medium=feed#comments", POST)
        == f"{POST}?utm_source=rss&utm_medium=feed"
    )
    assert tracking_variant(f"{POST}?fbclid=IwAR0x", POST) == f"{POST}?fbclid=IwAR0x"
    assert tracking_variant(f"{POST}?replytocom=7#respond", POST) == f"{POST}?replytocom=7"
    assert tracking_variant(f"{SITE}/story.jsp;jsessionid=0A1B?id=4", f"{SITE}/story.jsp?id=4")
    assert tracking_variant(f"{POST}#comments", POST) is None  # a fragment is the same URL
    assert tracking_variant(f"{SITE}/search?b=2&a=1", f"{SITE}/search?a=1&b=2") is None  # only the order differs


def test_shortlink_is_an_absolute_canonical_alias() -> None:
    assert shortlink_aliases("/?p=123", POST) == {f"{SITE}/?p=123": "shortlink"}
    assert shortlink_aliases("https://wp.me/p1a2b3-4x", POST) == {"https://wp.me/p1a2b3-4x": "shortlink"}
    assert shortlink_aliases("  ", POST) == {} and shortlink_aliases("mailto:a@b.example", POST) == {}
    assert shortlink_aliases(f"{SITE}/", POST) == {}  # a misconfigured template: the home page is no alias


# -- the pattern budget gives pages back for articles ---------------------------------------------


def test_a_pattern_whose_pages_are_articles_is_no_trap() -> None:
    budget = PatternBudget(3)
    stories = [f"{SITE}/story/{number}/" for number in range(1, 11)]
    allowed = [url for url in stories if budget.allow(url)]
    assert allowed == stories[:3]
    for url in stories[3:]:
        assert budget.hold(url, Request(url))
    released: list[str] = []
    for url in stories:  # each article gives its page back: one held link comes through
        if url in allowed or url in released:
            released += [request.url for request in budget.settle(url, new_article=True)]
    assert released == stories[3:]
    assert budget.articles["harbour.example/story/{n}/"] == 10
    assert not budget.exhausted()


def test_a_calendar_of_non_articles_stays_bounded_and_held_links_are_bounded() -> None:
    budget = PatternBudget(3, max_held=5)
    months = [f"{SITE}/calendar/{2000 + i // 12}/{i % 12 + 1:02d}/" for i in range(20)]
    allowed = [url for url in months if budget.allow(url)]
    held = [url for url in months[3:] if budget.hold(url, Request(url))]
    assert len(allowed) == 3 and len(held) == 5
    assert all(budget.settle(url, new_article=False) == [] for url in allowed)  # listings give nothing back
    assert budget.exhausted() == ["harbour.example/calendar/{n}/{n}/"]
    # A page requested for another reason (a sitemap) is not held any more, and settles nothing.
    budget.note(months[4])
    assert months[4] not in budget.held["harbour.example/calendar/{n}/{n}/"]
    assert budget.settle(months[4], new_article=True) == []


# -- links a WordPress post prints that are never articles -------------------------------------------

# What a WordPress 6 theme prints on a single post besides the newssite template: the site's and the
# post's comment feeds, the REST API and oEmbed alternates, RSD, a log-in widget, "Log in to Reply",
# a print link (WP-Print), a Jetpack e-mail share link, the trackback URL.
WORDPRESS_HEAD = """<link rel="alternate" type="application/rss+xml" title="Harbour Gazette &raquo; Feed" href="{site}/feed/">
<link rel="alternate" type="application/rss+xml" title="Harbour Gazette &raquo; Comments Feed" href="{site}/comments/feed/">
<link rel="alternate" type="application/rss+xml" title="Harbour Gazette &raquo; {title} Comments Feed" href="{url}feed/">
<link rel="https://api.w.org/" href="{site}/wp-json/">
<link rel="alternate" title="JSON" type="application/json" href="{site}/wp-json/wp/v2/posts/{pid}">
<link rel="EditURI" type="application/rsd+xml" title="RSD" href="{site}/xmlrpc.php?rsd">
<link rel="alternate" title="oEmbed (JSON)" type="application/json+oembed" href="{site}/wp-json/oembed/1.0/embed?url={url}">
</head>"""
WORDPRESS_BODY = """<section class="widget widget_meta"><h2>Meta</h2><ul>
<li><a href="{site}/wp-login.php">Log in</a></li><li><a href="{site}/feed/">Entries feed</a></li>
<li><a href="{site}/comments/feed/">Comments feed</a></li><li><a href="{site}/?feed=rss2">RSS</a></li></ul></section>
<p class="must-log-in">You must be <a href="{site}/wp-login.php?redirect_to={url}">logged in</a> to post a comment.</p>
<a class="comment-reply-login" href="{site}/wp-login.php?redirect_to={url}">Log in to Reply</a>
<a href="{url}print/" title="Print This Post">Print</a> <a href="{url}?print=1">Print (plugin)</a>
<a class="share-email" href="{url}?share=email&amp;nb=1">Email</a>
<a href="{url}trackback/" rel="trackback">Trackback URL</a>
<a href="{site}/wp-admin/post.php?post={pid}&amp;action=edit">Edit</a>
</body>"""


def wordpress_post() -> tuple[str, str, bytes]:
    """(url, shortlink, page) of a post of tests/newssite's WordPress template, with WordPress's own links."""
    site = NewsSite(n_articles=30, seed=2)
    article = next(a for a in site.model.articles if a.template == "wordpress")
    url = SITE + article.path
    page = newssite_pages.wordpress_article(site.model, SITE, article, site.paragraphs(article))
    values = {"site": SITE, "url": url, "title": article.title, "pid": article.article_id}
    page = page.replace("</head>", WORDPRESS_HEAD.format(**values), 1)
    page = page.replace("</body>", WORDPRESS_BODY.format(**values), 1)
    return url, f"{SITE}/?p={article.article_id}", page.encode("utf-8")


def test_a_wordpress_post_costs_no_login_comment_feed_print_share_or_api_request() -> None:
    crawler = news_crawler(source=adhoc_source(f"{SITE}/", render_js="never"))
    url, shortlink, page = wordpress_post()
    request = crawler.spider.page_request(url, "link")
    results = collect(crawler.spider.parse_page(response_to(request, page)))
    (item,) = [r for r in results if isinstance(r, PageItem)]
    pages = [r.url for r in results if isinstance(r, Request) and r.meta["kind"] == "page"]
    unwanted = ("wp-login", "wp-admin", "wp-json", "xmlrpc", "feed", "print", "share=", "trackback")
    assert pages and not [u for u in pages if any(word in u for word in unwanted)], pages
    # The site's own feeds are read as feeds; the comment feeds and the REST API entry are not read at all.
    feeds = [r for r in results if isinstance(r, Request) and r.meta["kind"] == "feed"]
    assert {r.url for r in feeds} == {f"{SITE}/feed/rss.xml", f"{SITE}/feed/atom.xml", f"{SITE}/feed/"}
    assert item.aliases[shortlink] == "shortlink"
    assert crawler.stats.get_value("newsarchive/skipped_unwanted_feed") == 3  # two comment feeds, the REST API entry


def test_unwanted_feed_links() -> None:
    assert unwanted_feed_reason(f"{POST}feed/", POST) == "comment feed"  # an article's own feed
    assert unwanted_feed_reason(f"{SITE}/comments/feed/", f"{SITE}/") == "comment feed"
    assert unwanted_feed_reason(f"{SITE}/wp-json/wp/v2/posts/12", POST) == "api"
    assert unwanted_feed_reason(f"{SITE}/?p=7&feed=rss2", POST, "Gazette » Reply Kommentar-Feed") == "comment feed"
    assert unwanted_feed_reason(f"{SITE}/feed/", POST, "Gazette » Feed") is None
    assert unwanted_feed_reason(f"{SITE}/category/politics/feed/", f"{SITE}/category/politics/") is None


# -- hints reach the page whichever request fetched it --------------------------------------------


def sitemap_response(crawler: Any, url: str) -> Any:
    request = crawler.spider._discovery_request(f"{SITE}/news-sitemap.xml", "sitemap", crawler.spider.parse_sitemap)
    body = f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>{url}</loc><news:news><news:publication><news:name>Harbour Gazette</news:name>
<news:language>en</news:language></news:publication><news:publication_date>2024-05-17T08:00:00+02:00</news:publication_date>
<news:title>Harbour wall repairs begin</news:title></news:news></url></urlset>""".encode()
    return response_to(request, body, "application/xml")


def test_news_sitemap_hints_reach_a_page_a_link_requested_first() -> None:
    crawler = news_crawler(source=adhoc_source(f"{SITE}/", render_js="never"))
    spider = crawler.spider
    url, _, page = wordpress_post()
    request = spider.page_request(f"{url}?utm_source=homepage", "link")  # the link, first
    list(spider.parse_sitemap(sitemap_response(crawler, url)))  # its request is the dupefilter's to drop
    (item,) = [r for r in collect(spider.parse_page(response_to(request, page))) if isinstance(r, PageItem)]
    assert item.hints == {**NEWS_HINTS, "site_name": "Harbour Gazette", "found_by": ["link", "sitemap"]}
    assert item.aliases[f"{url}?utm_source=homepage"] == "tracking"


def test_news_sitemap_hints_for_a_page_parsed_already_come_as_page_notes() -> None:
    crawler = news_crawler(source=adhoc_source(f"{SITE}/", render_js="never"))
    spider = crawler.spider
    url, _, page = wordpress_post()
    (collect(spider.parse_page(response_to(spider.page_request(url, "link"), page))))
    notes = [r for r in spider.parse_sitemap(sitemap_response(crawler, url)) if isinstance(r, PageNotesItem)]
    assert [(n.url, n.hints["title"], n.hints["found_by"]) for n in notes] == [
        (url, "Harbour wall repairs begin", ["link", "sitemap"])
    ]


def test_archive_adds_late_hints_without_a_version(tmp_path: Path) -> None:
    with Archive(tmp_path / "a.db") as archive:
        run_id = archive.start_run("harbour")
        text = "The harbour wall is being repaired. " * 20
        saved = archive.save_article(
            run_id,
            {
                "url": POST,
                "title": "Harbour wall",
                "text": text,
                "hints": {"title": "Feed title", "found_by": ["link"]},
            },
            {"url": POST, "status": 200},
        )
        archive.add_hints(
            run_id,
            saved.article_id,
            {"title": "News title", "tags": ["harbour"], "found_by": ["link", "sitemap"]},
            {"published_at": NEWS_HINTS["published_at"], "title": "News title"},
        )
        row = archive.find_article(POST)
    # Stored keys win, but the finders add up.
    assert json.loads(row["hints"]) == {"title": "Feed title", "tags": ["harbour"], "found_by": ["link", "sitemap"]}
    assert row["published_at"] == NEWS_HINTS["published_at"] and row["published_at_utc"] == "2024-05-17T06:00:00Z"
    assert row["title"] == "Harbour wall" and row["version"] == 1  # a known value is kept; no version


def test_new_articles_give_back_their_page_and_their_listing_page() -> None:
    """Budget 2: pages 1-2 of a section are allowed, 3-4 held; each page's new article gives back the
    article's page and its listing page's, so the held pages come through; a repeated text gives nothing."""
    crawler = news_crawler({"DISCOVERY_PATTERN_BUDGET": 2}, source=adhoc_source(f"{SITE}/", render_js="never"))
    crawler.engine = released = SimpleNamespace(requests=[])
    released.crawl = released.requests.append
    spider = crawler.spider
    listing = [f"{SITE}/section/news/page/{n}/" for n in range(1, 5)]
    assert [spider.page_request(url, "link", budgeted=True) is not None for url in listing] == [
        True,
        True,
        False,
        False,
    ]

    def article(number: int, text: str) -> PageItem:
        url = f"{SITE}/story/{number}/"
        assert spider.page_request(url, "link", budgeted=True, referer=listing[0]) is not None
        fetch = Fetch(url=url, referer=listing[0])
        return PageItem("s", fetch, b"", is_article=True, fields={"text": text})

    spider.page_settled(article(1, "First story text."))
    assert [r.url for r in released.requests] == [listing[2]]  # the listing page gave its page back
    spider.page_settled(article(2, "First story text."))  # a copy: nothing
    assert len(released.requests) == 1
