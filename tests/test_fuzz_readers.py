"""Hostile, random and truncated input to the readers a crawl hands whatever a site sends.

The extraction entry point (``extract_page``, what each extraction worker runs on a page) never
raises: a page it cannot read gives empty fields and an ``error``. The feed and sitemap readers
raise only their documented error (``FeedError``, ``SitemapError``), which the news spider turns
into a fetch row with the reason (spiders/news.py ``parse_feed``/``parse_sitemap`` catch exactly
those); anything else would end the callback and leave no row. XML bombs, external entities, deep
nesting and gzip bombs cost bounded time and memory, and no local file shows up in what is read.
Real pages and feeds come from tests/golden and, where present, ../shared/fixtures.
"""

from __future__ import annotations

import functools
import gzip
import itertools
import json
import subprocess
import sys
import textwrap
import time
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.discovery.feeds import MAX_JSON_NESTING, Feed, FeedError, parse_feed
from crawler.discovery.sitemaps import MAX_ENTRIES, MAX_UNZIPPED_BYTES, Sitemap, SitemapError, parse_sitemap
from crawler.extraction.extract import HTML_MAX_DEPTH, extract_page
from crawler.extraction.fields import empty_fields

TESTS = Path(__file__).resolve().parent
GOLDEN = TESTS / "golden"
SHARED = TESTS.parents[1] / "shared" / "fixtures"
SHARED_FEEDS = SHARED / "feeds"
REALWORLD_PAGES = SHARED / "realworld" / "pages"
needs_shared = pytest.mark.skipif(
    not SHARED_FEEDS.is_dir() or not REALWORLD_PAGES.is_dir(),
    reason=f"real-world fixtures not present at {SHARED} (only in CI/dev checkouts)",
)

URL = "https://news.example/2025/06/03/harbour/"
# Examples per property: many for the cheap readers, fewer where one example parses a whole real page or feed.
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ_REAL = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ_SLOW = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])

PARAGRAPH = (
    "The harbour authority confirmed on Tuesday that the dredging of the eastern channel will begin in "
    "September, two years later than first promised to the fishing cooperative and the ferry operator. "
)
ARTICLE = "<article><h1>Dredging of eastern channel delayed</h1>" + f"<p>{PARAGRAPH * 2}</p>" * 4 + "</article>"


def page(body: str, head: str = "") -> bytes:
    return f"<!DOCTYPE html><html><head><title>Harbour</title>{head}</head><body>{body}</body></html>".encode()


@functools.cache
def golden_pages() -> tuple[bytes, ...]:
    return tuple(path.read_bytes() for path in sorted(GOLDEN.glob("*.html")))


@functools.cache
def realworld_pages() -> tuple[bytes, ...]:
    # Every fifth page: the variety of the set (137 sites) at a fifth of the reading.
    return tuple(gzip.decompress(path.read_bytes()) for path in sorted(REALWORLD_PAGES.glob("*.html.gz"))[::5])


def assert_extraction_result(fields: dict[str, Any]) -> None:
    """What every caller of extract_page relies on: every field, of its type."""
    assert set(empty_fields()) <= set(fields)
    assert isinstance(fields["text"], str)
    assert fields["word_count"] == len(fields["text"].split())
    assert isinstance(fields["authors"], list) and all(isinstance(a, str) for a in fields["authors"])
    assert fields["title"] is None or isinstance(fields["title"], str)
    assert "error" not in fields or isinstance(fields["error"], str)


# --- extraction -----------------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=4096))
def test_extraction_never_raises_on_random_bytes(body: bytes) -> None:
    assert_extraction_result(extract_page(body, URL))


@FUZZ
@given(st.text(alphabet=st.sampled_from("<>/=\"' !-abcdiv\x00&;#p\n"), max_size=2000))
def test_extraction_never_raises_on_random_markup(markup: str) -> None:
    assert_extraction_result(extract_page(markup.encode(), URL, "text/html; charset=utf-8"))


@FUZZ_SLOW
@given(data=st.data(), cut=st.floats(min_value=0.0, max_value=1.0))
def test_extraction_never_raises_on_truncated_golden_pages(data: st.DataObject, cut: float) -> None:
    body = data.draw(st.sampled_from(golden_pages()))
    assert_extraction_result(extract_page(body[: int(len(body) * cut)], URL))


@needs_shared
@FUZZ_SLOW
@given(data=st.data(), cut=st.floats(min_value=0.0, max_value=1.0))
def test_extraction_never_raises_on_truncated_real_world_pages(data: st.DataObject, cut: float) -> None:
    body = data.draw(st.sampled_from(realworld_pages()))
    assert_extraction_result(extract_page(body[: int(len(body) * cut)], URL))


WRONG_CHARSETS = [
    "utf-16",
    "utf-32",
    "shift_jis",
    "iso-2022-jp",
    "utf-7",
    "koi8-r",
    "no-such-charset",
    "x-user-defined",
]


@FUZZ_SLOW
@given(data=st.data(), charset=st.sampled_from(WRONG_CHARSETS), in_meta=st.booleans())
def test_extraction_never_raises_on_a_wrong_charset(data: st.DataObject, charset: str, in_meta: bool) -> None:
    body = data.draw(st.sampled_from(golden_pages()))
    if in_meta:
        body = f'<meta charset="{charset}">'.encode() + body
    assert_extraction_result(extract_page(body, URL, None if in_meta else f"text/html; charset={charset}"))


def test_an_article_after_a_twelve_megabyte_attribute_is_read() -> None:
    # libxml2 stops at 10 MB in one attribute (or text, or comment) unless huge_tree: the article
    # after it was lost without a word.
    body = page(f'<div data-state="{"x" * 12_000_000}"></div>{ARTICLE}')
    fields = extract_page(body, URL)
    assert "error" not in fields
    assert fields["text"].startswith("The harbour authority confirmed")


def test_an_article_after_a_twelve_megabyte_inline_script_is_read() -> None:
    body = page(ARTICLE, head=f"<script>window.__STATE__ = '{'y' * 12_000_000}';</script>")
    fields = extract_page(body, URL)
    assert fields["title"] == "Dredging of eastern channel delayed"
    assert PARAGRAPH.strip() in fields["text"]


def test_an_article_inside_a_thousand_unclosed_divs_is_read() -> None:
    # Broken templates leave tags open; 256 deep was libxml2's limit without huge_tree.
    fields = extract_page(page("<div>" * 1000 + ARTICLE), URL)
    assert PARAGRAPH.strip() in fields["text"]


def test_a_page_nested_100k_deep_says_why_it_has_no_text() -> None:
    started = time.process_time()
    fields = extract_page(page("<div>" * 100_000 + ARTICLE + "</div>" * 100_000), URL)
    assert time.process_time() - started < 30
    assert fields["text"] == ""
    assert f"nests elements more than {HTML_MAX_DEPTH:,} deep" in fields["error"]


def test_nul_bytes_in_a_page_are_dropped_as_browsers_drop_them() -> None:
    body = page(ARTICLE).replace(b"harbour", b"harb\x00our").replace(b"<article>", b"\x00\x00<article>")
    fields = extract_page(body, URL)
    assert PARAGRAPH.strip() in fields["text"]
    assert "\ufffd" not in fields["text"] and "\x00" not in fields["text"]


# --- feeds ----------------------------------------------------------------------------------------

RSS = (
    b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
    b"<channel><title>Harbour News</title><link>https://news.example/</link><language>en</language>"
    + b"".join(
        b"<item><title>Story %d</title><link>https://news.example/2025/06/%02d/story/</link>"
        b"<pubDate>Tue, 03 Jun 2025 09:00:00 +0100</pubDate><dc:creator>Ola Brandt</dc:creator>"
        b"<category>Harbour</category><description>&lt;p&gt;Text %d&lt;/p&gt;</description></item>" % (n, n, n)
        for n in range(1, 8)
    )
    + b"</channel></rss>"
)
ATOM = (
    b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" xml:lang="de">'
    b"<title>Hafen</title><updated>2025-06-03T09:00:00Z</updated>"
    + b"".join(
        b'<entry><title>Eintrag %d</title><link rel="alternate" href="/2025/06/%02d/eintrag"/>'
        b"<id>urn:%d</id><updated>2025-06-03T09:00:00Z</updated><author><name>Kai</name></author></entry>" % (n, n, n)
        for n in range(1, 8)
    )
    + b"</feed>"
)
JSON_FEED = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Harbour",
        "items": [
            {
                "id": str(n),
                "url": f"https://news.example/2025/06/{n:02d}/item/",
                "title": f"Item {n}",
                "date_published": "2025-06-03T09:00:00+01:00",
                "authors": [{"name": "Ola Brandt"}],
                "tags": ["harbour"],
            }
            for n in range(1, 8)
        ],
    }
).encode()


@functools.cache
def feed_documents() -> tuple[bytes, ...]:
    shared = ()
    if SHARED_FEEDS.is_dir():
        shared = tuple(path.read_bytes() for path in sorted(SHARED_FEEDS.glob("*")) if "sitemap" not in path.name)
    return (RSS, ATOM, JSON_FEED, *[doc for doc in shared if doc.lstrip()[:1] in (b"<", b"{")])


def read_feed(body: bytes, content_type: str | None = None) -> Feed | None:
    """parse_feed as the spider calls it: FeedError is the caller's to record; anything else fails the test."""
    try:
        feed = parse_feed(body, "https://news.example/feed", content_type)
    except FeedError as error:
        assert str(error)  # the reason the fetch row gets
        return None
    assert feed.kind in ("rss", "atom", "json")
    assert feed.title is None or isinstance(feed.title, str)
    for entry in feed.entries:
        assert isinstance(entry.url, str) and entry.url
        for value in (entry.title, entry.published, entry.updated, entry.language):
            assert value is None or isinstance(value, str)
        assert all(isinstance(name, str) for name in (*entry.authors, *entry.tags))
        urljoin("https://news.example/feed", entry.url)  # what the spider does with it next
        entry.hints()
    return feed


@FUZZ
@given(st.binary(max_size=4096))
def test_feed_reader_raises_only_feed_error_on_random_bytes(body: bytes) -> None:
    read_feed(body)


@FUZZ_REAL
@given(data=st.data(), cut=st.floats(min_value=0.0, max_value=1.0))
def test_feed_reader_raises_only_feed_error_on_truncated_feeds(data: st.DataObject, cut: float) -> None:
    body = data.draw(st.sampled_from(feed_documents()))
    read_feed(body[: int(len(body) * cut)])


@FUZZ_REAL
@given(data=st.data(), position=st.floats(min_value=0.0, max_value=1.0), junk=st.binary(min_size=1, max_size=64))
def test_feed_reader_raises_only_feed_error_on_corrupted_feeds(
    data: st.DataObject, position: float, junk: bytes
) -> None:
    body = data.draw(st.sampled_from(feed_documents()))
    at = int(len(body) * position)
    read_feed(body[:at] + junk + body[at + len(junk) :])


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
ITEM_KEYS = ["url", "external_url", "title", "date_published", "date_modified", "authors", "author", "tags", "language"]


@FUZZ
@given(
    items=st.lists(st.dictionaries(st.sampled_from(ITEM_KEYS), JSON_VALUES, max_size=6) | JSON_VALUES, max_size=5),
    title=JSON_VALUES,
    language=JSON_VALUES,
)
def test_a_json_feed_of_wrongly_typed_values_gives_typed_entries(items: list[Any], title: Any, language: Any) -> None:
    read_feed(json.dumps({"title": title, "language": language, "items": items}).encode())


def test_json_feed_items_with_unparseable_links_are_skipped_not_fatal() -> None:
    body = json.dumps({"items": [{"url": "http://[oops/"}, {"url": "https://news.example/a"}]}).encode()
    assert [entry.url for entry in read_feed(body).entries] == ["https://news.example/a"]


def test_rss_items_with_unparseable_links_are_skipped_not_fatal() -> None:
    body = RSS.replace(b"https://news.example/2025/06/01/story/", b"http://[oops/")
    feed = read_feed(body)
    assert len(feed.entries) == 6 and all("oops" not in entry.url for entry in feed.entries)


def test_a_json_feed_with_a_byte_order_mark_is_read_as_json() -> None:
    feed = read_feed(b"\xef\xbb\xbf" + JSON_FEED)
    assert feed.kind == "json" and len(feed.entries) == 7


@pytest.mark.parametrize("depth", [MAX_JSON_NESTING + 1, 1_000, 100_000, 1_000_000])
def test_deeply_nested_json_feed_is_refused_cheaply(depth: int) -> None:
    body = b'{"items": [{"url": "https://news.example/a", "x": ' + b"[" * depth + b"]" * depth + b"}]}"
    started = time.process_time()
    with pytest.raises(FeedError, match="nested too deeply"):
        parse_feed(body, "https://news.example/feed.json")
    assert time.process_time() - started < 1.0


def test_brackets_inside_json_strings_do_not_count_as_nesting() -> None:
    title = '[{"' * 500 + '\\"]}' * 100
    body = json.dumps({"items": [{"url": "https://news.example/a", "title": title}]}).encode()
    assert read_feed(body).entries[0].title == title


def test_an_rss_feed_nested_100k_deep_is_read_in_bounded_time() -> None:
    nest = b"<x>" * 100_000 + b"</x>" * 100_000
    started = time.process_time()
    feed = read_feed(RSS.replace(b"<channel>", b"<channel>" + nest))
    assert time.process_time() - started < 1.0
    assert feed is None  # 200,000 tags: past MAX_FEED_TAGS, refused before feedparser starts


def test_an_rss_feed_nested_a_thousand_deep_still_gives_its_items() -> None:
    nest = b"<x>" * 1_000 + b"</x>" * 1_000
    feed = read_feed(RSS.replace(b"<channel>", b"<channel>" + nest))
    assert len(feed.entries) == 7


def billion_laughs(root: bytes) -> bytes:
    entities = b'<!ENTITY lol0 "lol">' + b"".join(
        b'<!ENTITY lol%d "%s">' % (level, b"&lol%d;" % (level - 1) * 10) for level in range(1, 10)
    )
    return b'<?xml version="1.0"?><!DOCTYPE %s [%s]>' % (root, entities)


def test_a_billion_laughs_feed_is_not_expanded() -> None:
    body = billion_laughs(b"rss") + RSS.split(b"?>", 1)[1].replace(b"<title>Story 1</title>", b"<title>&lol9;</title>")
    started = time.process_time()
    feed = read_feed(body)
    assert time.process_time() - started < 10
    texts = [feed.title or "", *(entry.title or "" for entry in feed.entries)] if feed else []
    assert all(len(text) < 1000 for text in texts)


def local_secret(tmp_path: Path) -> Path:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-6f1c2a")
    return secret


def test_feed_external_entities_are_never_resolved(tmp_path: Path) -> None:
    secret = local_secret(tmp_path)
    doctype = b'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "%s">]>' % secret.as_uri().encode()
    body = (
        RSS.replace(b"?>", b"?>" + doctype, 1)
        .replace(b"<title>Story 1</title>", b"<title>&xxe;</title>")
        .replace(b"/2025/06/02/story/", b"/2025/06/02/&xxe;/")
    )
    feed = read_feed(body)
    assert "TOP-SECRET" not in repr(feed)


def test_a_feed_of_hundreds_of_thousands_of_tags_is_refused_before_parsing() -> None:
    body = RSS.replace(b"</channel>", b"<x/>" * 1_000_000 + b"</channel>")
    started = time.process_time()
    with pytest.raises(FeedError, match="markup tags"):
        parse_feed(body, "https://news.example/feed")
    assert time.process_time() - started < 1.0


# --- sitemaps -------------------------------------------------------------------------------------

SITEMAP_HEAD = b'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n'


def sitemap_entry(n: int) -> bytes:
    return (
        b"<url><loc>https://news.example/2025/06/%06d/story/</loc><lastmod>2025-06-03T09:00:00Z</lastmod>"
        b"<news:news><news:publication><news:name>Harbour</news:name><news:language>en</news:language>"
        b"</news:publication><news:title>Story %d</news:title></news:news></url>\n" % (n, n)
    )


def sitemap(count: int) -> bytes:
    return SITEMAP_HEAD + b"".join(sitemap_entry(n) for n in range(count)) + b"</urlset>\n"


@functools.cache
def sitemap_documents() -> tuple[bytes, ...]:
    index = (
        b'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + b"".join(b"<sitemap><loc>https://news.example/s%d.xml</loc></sitemap>" % n for n in range(5))
        + b"</sitemapindex>"
    )
    shared = (
        tuple(path.read_bytes() for path in sorted(SHARED_FEEDS.glob("*sitemap*"))) if SHARED_FEEDS.is_dir() else ()
    )
    return (sitemap(20), index, *shared)


def read_sitemap(body: bytes, **limits: int) -> Sitemap | None:
    """parse_sitemap as the spider calls it: SitemapError is the caller's to record; anything else fails."""
    try:
        result = parse_sitemap(body, **limits)
    except SitemapError as error:
        assert str(error)
        return None
    assert result.kind in ("urlset", "index")
    for entry in result.entries:
        assert isinstance(entry.url, str) and entry.url
        urljoin("https://news.example/sitemap.xml", entry.url)  # what the spider does with each entry
        assert all(isinstance(value, str) for value in entry.news.values())
        entry.hints()
    return result


@FUZZ
@given(st.binary(max_size=4096))
def test_sitemap_reader_raises_only_sitemap_error_on_random_bytes(body: bytes) -> None:
    read_sitemap(body)
    read_sitemap(gzip.compress(body))


@FUZZ
@given(data=st.data(), cut=st.floats(min_value=0.0, max_value=1.0), gzipped=st.booleans())
def test_a_truncated_sitemap_gives_a_prefix_of_its_entries(data: st.DataObject, cut: float, gzipped: bool) -> None:
    whole = data.draw(st.sampled_from(sitemap_documents()))
    full = [entry.url for entry in parse_sitemap(whole).entries]
    body = gzip.compress(whole) if gzipped else whole
    result = read_sitemap(body[: int(len(body) * cut)])
    if result is not None:
        urls = [entry.url for entry in result.entries]
        # The last one may be cut inside its <loc>; every one before it is whole and in order.
        assert urls[:-1] == full[: max(len(urls) - 1, 0)]


@FUZZ
@given(data=st.data(), position=st.floats(min_value=0.0, max_value=1.0), junk=st.binary(min_size=1, max_size=64))
def test_sitemap_reader_raises_only_sitemap_error_on_corrupted_sitemaps(
    data: st.DataObject, position: float, junk: bytes
) -> None:
    body = data.draw(st.sampled_from(sitemap_documents()))
    for document in (body, gzip.compress(body)):
        at = int(len(document) * position)
        read_sitemap(document[:at] + junk + document[at + len(junk) :])


@FUZZ
@given(count=st.integers(min_value=0, max_value=60), cuts=st.lists(st.floats(min_value=0.0, max_value=1.0), max_size=6))
def test_a_sitemap_in_any_number_of_gzip_members_reads_as_the_plain_one(count: int, cuts: list[float]) -> None:
    whole = sitemap(count)
    positions = sorted({0, *(int(len(whole) * cut) for cut in cuts), len(whole)})
    members = b"".join(gzip.compress(whole[a:b]) for a, b in itertools.pairwise(positions))
    assert parse_sitemap(members) == parse_sitemap(whole)
    assert len(parse_sitemap(whole).entries) == count


def test_sitemap_entries_whose_loc_is_no_url_are_skipped() -> None:
    body = SITEMAP_HEAD + b"<url><loc>http://[oops/</loc></url>" + sitemap_entry(1) + b"</urlset>"
    assert [entry.url for entry in read_sitemap(body).entries] == ["https://news.example/2025/06/000001/story/"]


def test_sitemap_external_entities_are_never_resolved(tmp_path: Path) -> None:
    secret = local_secret(tmp_path)
    body = (
        b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY xxe SYSTEM "%s">]>'
        % secret.as_uri().encode()
        + b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://news.example/&xxe;</loc>'
        b"<news:news xmlns:news='http://www.google.com/schemas/sitemap-news/0.9'><news:title>&xxe;</news:title>"
        b"</news:news></url></urlset>"
    )
    assert "TOP-SECRET" not in repr(read_sitemap(body))


def test_a_billion_laughs_sitemap_is_not_expanded() -> None:
    body = billion_laughs(b"urlset") + b"<urlset><url><loc>https://news.example/&lol9;</loc></url></urlset>"
    started = time.process_time()
    result = read_sitemap(body)
    assert time.process_time() - started < 2
    assert result is None or all(len(entry.url) < 1000 for entry in result.entries)


def test_a_sitemap_nested_100k_deep_is_read_in_bounded_time() -> None:
    body = SITEMAP_HEAD + sitemap_entry(1) + b"<x>" * 100_000 + b"</x>" * 100_000 + sitemap_entry(2) + b"</urlset>"
    started = time.process_time()
    result = read_sitemap(body)
    assert time.process_time() - started < 2
    assert [entry.url for entry in result.entries][:1] == ["https://news.example/2025/06/000001/story/"]


def test_a_sitemap_of_millions_of_tags_is_refused() -> None:
    body = SITEMAP_HEAD + b"<x/>" * 3_000_000 + b"</urlset>"
    started = time.process_time()
    with pytest.raises(SitemapError, match="markup tags"):
        parse_sitemap(body, max_tags=100_000)
    assert time.process_time() - started < 1


def test_a_sitemap_within_the_tag_limit_is_read_whole() -> None:
    assert len(parse_sitemap(sitemap(500), max_tags=500 * 16 + 10).entries) == 500  # 16 tags an entry


def test_a_sitemap_listing_more_than_max_entries_is_read_up_to_them() -> None:
    assert MAX_ENTRIES == 50_000  # the sitemap protocol's limit
    result = parse_sitemap(gzip.compress(sitemap(1_000)), max_entries=300)
    assert len(result.entries) == 300 and result.truncated
    assert result.entries[-1].hints()["title"] == "Story 299"
    assert not parse_sitemap(sitemap(300), max_entries=300).truncated


def test_an_html_page_is_refused_at_its_root_element() -> None:
    with pytest.raises(SitemapError, match=r"root element is <html>"):
        parse_sitemap(gzip.compress(page(ARTICLE * 1000)))


# A script run in its own process: its peak RSS (ru_maxrss) before and after reading the bomb.
BOMB_SCRIPT = textwrap.dedent(
    """
    import json, resource, sys, time, zlib
    from crawler.discovery.sitemaps import SitemapError, parse_sitemap

    def peak_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    body = open(sys.argv[1], "rb").read()
    before, started = peak_mb(), time.process_time()
    try:
        result = parse_sitemap(body)
        outcome = f"read: {len(result.entries)} entries, truncated={result.truncated}"
    except SitemapError as error:
        outcome = f"refused: {error}"
    print(json.dumps({"outcome": outcome, "grew_mb": peak_mb() - before, "seconds": time.process_time() - started}))
    """
)


def padding_bomb(gigabytes: int) -> bytes:
    """A gzip sitemap that inflates to ``gigabytes`` GB: one real entry, then whitespace. Built from one
    compressed MiB repeated as gzip members (a gzip file may hold any number of them), so it is cheap."""
    mib_of_blanks = gzip.compress(b" " * (1024 * 1024), compresslevel=9)
    return gzip.compress(SITEMAP_HEAD + sitemap_entry(1)) + mib_of_blanks * (gigabytes * 1024)


def single_member_bomb(gigabytes: int) -> bytes:
    """The same in one gzip member: deflate blocks each flushed whole, so one block's bytes repeat."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(SITEMAP_HEAD + sitemap_entry(1)) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(b" " * (1024 * 1024)) + compressor.flush(zlib.Z_FULL_FLUSH)
    # The header; the CRC and length trailer is never reached: reading stops at the limit.
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + head + block * (gigabytes * 1024)


@pytest.mark.parametrize("bomb", [padding_bomb, single_member_bomb])
def test_a_ten_gigabyte_gzip_sitemap_is_refused_at_the_limit_in_bounded_memory(tmp_path: Path, bomb) -> None:
    path = tmp_path / "bomb.xml.gz"
    path.write_bytes(bomb(10))
    assert path.stat().st_size < 16 * 1024 * 1024  # under DOWNLOAD_MAXSIZE: it would be downloaded whole
    completed = subprocess.run(
        [sys.executable, "-c", BOMB_SCRIPT, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=TESTS.parent,
    )
    report = json.loads(completed.stdout)
    assert report["outcome"].startswith("refused: gzip sitemap unpacks to more than")
    assert f"{MAX_UNZIPPED_BYTES:,} bytes" in report["outcome"]
    assert report["grew_mb"] < 32, report  # never the 50 MB it inflates, let alone 10 GB
    assert report["seconds"] < 20, report
