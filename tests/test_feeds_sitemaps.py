"""Feed and sitemap readers on real published documents (../shared/fixtures) and on edge cases."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from crawler.discovery.feeds import FeedError, parse_feed, parse_localised_date
from crawler.discovery.sitemaps import SitemapError, parse_sitemap, sitemaps_from_robots

SHARED_FEEDS = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "feeds"
needs_shared = pytest.mark.skipif(
    not SHARED_FEEDS.is_dir(),
    reason=f"real-world feed fixtures not present at {SHARED_FEEDS} (only in CI/dev checkouts)",
)


def shared(name: str) -> bytes:
    return (SHARED_FEEDS / name).read_bytes()


@needs_shared
@pytest.mark.parametrize(
    ("name", "kind", "entries", "first_title_start"),
    [
        ("guardian-us_2018.rss", "rss", 55, "Trump State of the Union"),
        ("heise-developer_2016.atom", "atom", 15, "Java-Anwendungsserver"),
        ("uol-noticias_2018.rss", "rss", 15, "Ibope: Bolsonaro perde"),
        ("npr-technology_2021.feed.json", "json", 25, "Keller Rinaudo"),
    ],
)
def test_real_feeds_parse(name: str, kind: str, entries: int, first_title_start: str) -> None:
    feed = parse_feed(shared(name), "https://feeds.example/feed")
    assert feed.kind == kind
    assert len(feed.entries) == entries
    assert feed.entries[0].title.startswith(first_title_start)
    assert all(entry.url.startswith("http") for entry in feed.entries)
    assert all(entry.published for entry in feed.entries)


@needs_shared
def test_latin1_feed_without_declaration_has_correct_text_and_utc_dates() -> None:
    feed = parse_feed(shared("uol-noticias_2018.rss"), "https://noticias.example/")
    assert "simulações" in feed.entries[0].title
    # Portuguese RFC 822 dates ("Seg, 24 Set 2018 19:42:40 -0300") become UTC.
    assert feed.entries[0].published == "2018-09-24T22:42:40Z"


@needs_shared
def test_news_sitemap_keeps_news_fields() -> None:
    sitemap = parse_sitemap(shared("shinpaideshou-wordpress_2017.news-sitemap.xml"))
    assert sitemap.kind == "urlset" and len(sitemap.entries) == 3
    hints = sitemap.entries[0].hints()
    assert hints["title"] == "Job Opening: Reischauer Policy Research Fellow"
    assert hints["published_at"] == "2017-04-25T10:00:36+00:00"
    assert hints["language"] == "en"
    assert "research fellow" in hints["tags"]


@needs_shared
def test_article_sitemap_with_images_and_video_blocks() -> None:
    sitemap = parse_sitemap(shared("hebdenbridgetimes_2015.sitemap.xml"))
    assert len(sitemap.entries) == 74
    assert all(entry.url.startswith("http://www.hebdenbridgetimes.co.uk/") for entry in sitemap.entries)
    assert sitemap.entries[0].lastmod == "2015-05-03T18:51:50+01:00"


def test_gzipped_sitemap_index() -> None:
    index = (
        b'<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<sitemap><loc>https://n.example/a.xml.gz</loc><lastmod>2024-01-01</lastmod></sitemap></sitemapindex>"
    )
    sitemap = parse_sitemap(gzip.compress(index))
    assert sitemap.kind == "index"
    assert [entry.url for entry in sitemap.entries] == ["https://n.example/a.xml.gz"]


def test_html_is_neither_feed_nor_sitemap() -> None:
    page = b"<html><head><title>x</title></head><body><p>Not a feed</p></body></html>"
    with pytest.raises(SitemapError):
        parse_sitemap(page)
    with pytest.raises(FeedError):
        parse_feed(page, "https://n.example/")


def test_a_json_feed_nested_beyond_the_stack_is_an_unreadable_feed_not_a_crash() -> None:
    deep = b'{"items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(FeedError, match="nested too deeply"):
        parse_feed(deep, "https://n.example/feed.json")


def test_a_gzip_bomb_sitemap_is_refused_at_the_protocols_limit() -> None:
    import gzip
    import resource

    from crawler.discovery.sitemaps import MAX_UNZIPPED_BYTES

    bomb = gzip.compress(b"<urlset>" + b" " * (MAX_UNZIPPED_BYTES + 10) + b"</urlset>", compresslevel=9)
    assert len(bomb) < MAX_UNZIPPED_BYTES // 500  # ~50 KB that would unpack to 50 MB and beyond
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(SitemapError, match="sitemap protocol's limit"):
        parse_sitemap(bomb)
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 2 * MAX_UNZIPPED_BYTES // 1024  # never more than the limit (plus the read's copy)


def test_robots_sitemap_lines() -> None:
    robots = "User-agent: *\nDisallow: /private/\nSitemap: https://n.example/s1.xml\nsitemap:https://n.example/s2.xml\n"
    assert sitemaps_from_robots(robots) == ["https://n.example/s1.xml", "https://n.example/s2.xml"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Seg, 24 Set 2018 19:42:40 -0300", "2018-09-24T22:42:40Z"),
        ("Mo, 3 Dez 2018 08:00:00 +0100", "2018-12-03T07:00:00Z"),
        ("lun., 5 févr. 2018 10:00:00 +0100", "2018-02-05T09:00:00Z"),
        ("not a date", None),
    ],
)
def test_localised_rfc822_dates(text: str, expected: str | None) -> None:
    assert parse_localised_date(text) == expected
