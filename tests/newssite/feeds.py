"""Machine-readable files of the fixture news site: RSS, Atom, sitemaps, robots.txt, PDFs, JPEGs.

Feeds carry the newest ``FEED_ITEMS`` articles that are linked everywhere; article sitemaps carry
every article except the links-only ones, ``SITEMAP_URLS_PER_FILE`` a file (by a slot each article
keeps across epochs, so removals leave gaps rather than shifting later files), each URL with its
``<lastmod>``; the index gives each sub-sitemap a ``<lastmod>`` too; the news sitemap the
newest ``NEWS_SITEMAP_ITEMS``. ``LastmodStyle`` prints ``<lastmod>`` the broken ways real sites do. ``/sitemaps/archive-index.xml`` is a deliberate loop: an index that
lists the main index and itself.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from email.utils import format_datetime
from enum import StrEnum
from xml.sax.saxutils import escape

from tests.newssite import model as m
from tests.newssite.model import SiteModel

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
# The smallest baseline JPEG browsers accept (1x1 pixel); image bytes are never inspected.
TINY_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////"
    "////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA="
)


# "In the future" for every clock these tests will ever run on.
FUTURE_TIME = datetime(2099, 1, 1, tzinfo=UTC)
MALFORMED_LASTMODS = ("31/12/2023 10:00", "2024-13-45T25:61:00Z", "last tuesday")


class LastmodStyle(StrEnum):
    ISO = "iso"  # W3C datetime, what the protocol asks for
    DATE_ONLY = "date-only"  # 2024-06-28: allowed, but the time of day is lost
    MALFORMED = "malformed"  # not a date at all, in several ways
    FUTURE = "future"  # FUTURE_TIME
    MIXED = "mixed"  # malformed, date-only and future in turn


def format_lastmod(moment: datetime, style: LastmodStyle, position: int = 0) -> str:
    if style is LastmodStyle.MIXED:
        style = (LastmodStyle.MALFORMED, LastmodStyle.DATE_ONLY, LastmodStyle.FUTURE)[position % 3]
    if style is LastmodStyle.DATE_ONLY:
        return moment.date().isoformat()
    if style is LastmodStyle.MALFORMED:
        return MALFORMED_LASTMODS[position % len(MALFORMED_LASTMODS)]
    if style is LastmodStyle.FUTURE:
        return FUTURE_TIME.isoformat()
    return moment.isoformat()


def robots_txt(base: str) -> str:
    disallow = "".join(f"Disallow: {prefix}\n" for prefix in m.DISALLOWED_PREFIXES)
    return f"User-agent: *\n{disallow}\nSitemap: {base}/sitemap_index.xml\n"


def rss_feed(site: SiteModel, base: str) -> str:
    items = []
    for position, article in enumerate(site.feed_articles):
        creators = "".join(f"<dc:creator>{escape(a.name)}</dc:creator>" for a in article.authors)
        categories = f"<category>{escape(article.section[1])}</category>" + "".join(
            f"<category>{escape(t.name)}</category>" for t in article.tags
        )
        items.append(
            f"<item><title>{escape(article.title)}</title>"
            f"<link>{escape(base + m.feed_link(article, position))}</link>{creators}"
            f"<pubDate>{format_datetime(article.published)}</pubDate>{categories}"
            f'<guid isPermaLink="false">{base}/?p={article.article_id}</guid>'
            f"<description>{escape(article.summary)}</description></item>"
        )
    newest = site.feed_articles[0].published
    return (
        XML_DECLARATION
        + '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
        f"<channel><title>{escape(m.SITE_NAME)}</title>"
        f'<atom:link href="{base}/feed/rss.xml" rel="self" type="application/rss+xml"/>'
        f"<link>{base}/</link><description>{escape(m.SITE_TAGLINE)}</description>"
        f"<lastBuildDate>{format_datetime(newest)}</lastBuildDate><language>en</language>"
        "<generator>https://wordpress.org/?v=6.4.2</generator>\n" + "\n".join(items) + "\n</channel></rss>\n"
    )


def atom_feed(site: SiteModel, base: str) -> str:
    entries = []
    for position, article in enumerate(site.feed_articles):
        authors = "".join(f"<author><name>{escape(a.name)}</name></author>" for a in article.authors)
        categories = "".join(f'<category term="{escape(t.name)}"/>' for t in article.tags)
        updated = article.modified or article.published
        entries.append(
            f"<entry><title>{escape(article.title)}</title>"
            f'<link rel="alternate" type="text/html" href="{escape(base + m.feed_link(article, position))}"/>'
            f"<id>tag:harbour-gazette.example,{article.published:%Y-%m-%d}:{article.article_id}</id>"
            f"<published>{article.published.isoformat()}</published><updated>{updated.isoformat()}</updated>"
            f'{authors}<category term="{escape(article.section[1])}"/>{categories}'
            f"<summary>{escape(article.summary)}</summary></entry>"
        )
    newest = site.feed_articles[0]
    return (
        XML_DECLARATION + '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">\n'
        f"<title>{escape(m.SITE_NAME)}</title><subtitle>{escape(m.SITE_TAGLINE)}</subtitle>"
        f'<link rel="alternate" type="text/html" href="{base}/"/>'
        f'<link rel="self" type="application/atom+xml" href="{base}/feed/atom.xml"/>'
        f"<id>{base}/</id><updated>{(newest.modified or newest.published).isoformat()}</updated>\n"
        + "\n".join(entries)
        + "\n</feed>\n"
    )


def article_sitemap_count(site: SiteModel) -> int:
    last_slot = max(site.sitemap_slots.values(), default=0)
    return max(1, last_slot // m.SITEMAP_URLS_PER_FILE + 1)


def sitemap_index_paths(site: SiteModel) -> list[str]:
    paths = [f"/sitemaps/articles-{n}.xml" for n in range(1, article_sitemap_count(site) + 1)]
    return [*paths, "/sitemaps/news.xml", "/sitemaps/pages.xml", "/sitemaps/archive-index.xml"]


def sitemap_index(
    site: SiteModel, base: str, lastmods: dict[str, datetime] | None = None, style: LastmodStyle = LastmodStyle.ISO
) -> str:
    """The index; ``lastmods`` (path -> time) adds a ``<lastmod>`` to the sub-sitemaps it names."""
    lastmods = lastmods or {}
    entries = []
    for position, path in enumerate(sitemap_index_paths(site)):
        moment = lastmods.get(path)
        entries.append((base + path, format_lastmod(moment, style, position) if moment else None))
    return _index_xml(entries)


def archive_sitemap_index(base: str) -> str:
    return _index_xml([(f"{base}/sitemap_index.xml", None), (f"{base}/sitemaps/archive-index.xml", None)])


def _index_xml(entries: list[tuple[str, str | None]]) -> str:
    body = "".join(
        f"<sitemap><loc>{escape(loc)}</loc>{f'<lastmod>{escape(lastmod)}</lastmod>' if lastmod else ''}</sitemap>\n"
        for loc, lastmod in entries
    )
    return (
        XML_DECLARATION
        + '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        + body
        + "</sitemapindex>\n"
    )


def article_sitemap(site: SiteModel, base: str, number: int, style: LastmodStyle = LastmodStyle.ISO) -> str | None:
    if not 1 <= number <= article_sitemap_count(site):
        return None
    start = (number - 1) * m.SITEMAP_URLS_PER_FILE
    in_file = [
        a for a in site.sitemap_articles if start <= site.sitemap_slots[a.article_id] < start + m.SITEMAP_URLS_PER_FILE
    ]
    urls = "".join(
        f"<url><loc>{escape(base + a.path)}</loc>"
        f"<lastmod>{escape(format_lastmod(a.modified or a.published, style, position))}</lastmod></url>\n"
        for position, a in enumerate(in_file)
    )
    return XML_DECLARATION + '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n' + urls + "</urlset>\n"


def news_sitemap(site: SiteModel, base: str) -> str:
    newest = site.sitemap_articles[::-1][: m.NEWS_SITEMAP_ITEMS]
    urls = "".join(
        f"<url><loc>{escape(base + a.path)}</loc><news:news><news:publication>"
        f"<news:name>{escape(m.SITE_NAME)}</news:name><news:language>{a.language}</news:language>"
        f"</news:publication><news:publication_date>{a.published.isoformat()}</news:publication_date>"
        f"<news:title>{escape(a.title)}</news:title>"
        f"<news:keywords>{escape(', '.join(t.name for t in a.tags))}</news:keywords></news:news></url>\n"
        for a in newest
    )
    return (
        XML_DECLARATION + '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n' + urls + "</urlset>\n"
    )


def pages_sitemap(base: str) -> str:
    paths = ["/"] + [f"/section/{slug}/" for slug, _ in (*m.SECTIONS, m.WIRE_SECTION)] + ["/about/", "/contact/"]
    urls = "".join(f"<url><loc>{base}{path}</loc><changefreq>hourly</changefreq></url>\n" for path in paths)
    return XML_DECLARATION + '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n' + urls + "</urlset>\n"


def pdf_document(title: str, lines: list[str]) -> bytes:
    """A small, valid one-page PDF showing ``lines`` (ASCII), with a correct xref table."""
    text_ops = ["BT", "/F1 18 Tf", "72 760 Td", f"({title}) Tj", "/F1 11 Tf"]
    for line in lines:
        text_ops += ["0 -22 Td", f"({line}) Tj"]
    text_ops.append("ET")
    stream = "\n".join(text_ops).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref_at)
    return bytes(out)


def annual_report_pdf(year: int) -> bytes:
    return pdf_document(
        f"Harbour Gazette Foundation - Annual report {year}",
        [
            f"Print circulation {year}: {41000 - (year - 2020) * 1300} copies.",
            f"Digital subscribers {year}: {18000 + (year - 2020) * 2400}.",
            "All profits were reinvested in the newsroom.",
        ],
    )


def survey_pdf(part: int) -> bytes:
    return pdf_document(
        f"Reader survey 2023 - part {part}",
        [
            "1,204 readers took part in the survey.",
            "Most read section: Politics. Most wanted: more local sport.",
        ],
    )
