"""A 10 GB gzip sitemap does not exhaust a crawl: refused at the limit, with a reason, in bounded memory.

A real local site lists, in its robots.txt, two sitemaps that inflate to 10 GB (one a raw
``.xml.gz`` file, one sent with ``Content-Encoding: gzip``) and one good sitemap. ``newsarchive
crawl`` runs as its own process; the proportional set size (PSS) of its whole process tree (the
command, the crawl process, its extraction workers) is sampled from /proc while it runs.
"""

from __future__ import annotations

import gzip
import sqlite3
import sys
from pathlib import Path

import pytest

from crawler.demo.server import Reply, Request, serve
from crawler.discovery.sitemaps import MAX_UNZIPPED_BYTES
from tests.process_memory import run_sampling_peak_pss

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

STORIES = {
    "/2025/06/03/dredging-delayed/": (
        "Dredging of the eastern channel delayed",
        "The harbour authority confirmed on Tuesday that the dredging of the eastern channel will begin in "
        "September, two years later than first promised to the fishing cooperative and the ferry operator. "
        "Engineers found that the silt holds more clay than the original survey suggested, so the barges "
        "must carry smaller loads and make more trips to the disposal site offshore.",
    ),
    "/2025/06/04/ferry-timetable/": (
        "Winter ferry timetable keeps the early crossing",
        "The island ferry will keep its six o'clock crossing through the winter after commuters collected "
        "more than two thousand signatures, the operator announced at a packed meeting in the town hall. "
        "The later sailings on Sundays will be cut instead, and the cafe on board closes from November.",
    ),
    "/2025/06/05/quay-repairs/": (
        "Quay repairs finished a month early",
        "Divers and masons finished rebuilding the collapsed section of the north quay a month ahead of "
        "schedule, thanks to a dry spring and a shipment of granite that arrived earlier than expected. "
        "Boats will be able to moor there again at all states of the tide from the first of July.",
    ),
}
ARTICLES = list(STORIES)
INFLATED_GB = 10
PEAK_PSS_LIMIT_MB = 600


def ten_gigabyte_sitemap(base: str) -> bytes:
    """A gzip sitemap inflating to INFLATED_GB: one real entry, then blank padding. One compressed MiB
    of blanks, repeated as gzip members (a gzip file may hold any number), so building it is cheap."""
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        f"<url><loc>{base}{ARTICLES[0]}</loc></url>\n"
    ).encode()
    mib_of_blanks = gzip.compress(b" " * (1024 * 1024), compresslevel=9)
    return gzip.compress(head) + mib_of_blanks * (INFLATED_GB * 1024)


def site(request: Request, bomb: bytes) -> Reply:
    base, path = request.base_url, request.path
    if path == "/robots.txt":
        lines = [
            f"Sitemap: {base}/sitemap-raw.xml.gz",
            f"Sitemap: {base}/sitemap-encoded.xml",
            f"Sitemap: {base}/sitemap.xml",
        ]
        return Reply(
            200, ("User-agent: *\nAllow: /\n" + "\n".join(lines) + "\n").encode(), {"content-type": "text/plain"}
        )
    if path == "/sitemap-raw.xml.gz":
        return Reply(200, bomb, {"content-type": "application/gzip"})
    if path == "/sitemap-encoded.xml":
        return Reply(200, bomb, {"content-type": "application/xml", "content-encoding": "gzip"})
    if path == "/sitemap.xml":
        urls = "".join(f"<url><loc>{base}{article}</loc></url>" for article in ARTICLES)
        body = f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
        return Reply(200, body.encode(), {"content-type": "application/xml"})
    if path == "/":
        links = "".join(f'<li><a href="{article}">Story</a></li>' for article in ARTICLES)
        return Reply(200, f"<html><head><title>Harbour</title></head><body><ul>{links}</ul></body></html>".encode())
    if path in STORIES:
        title, text = STORIES[path]
        paragraphs = "".join(f"<p>{sentence}.</p>" for sentence in text.split(". "))
        return Reply(
            200,
            f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            '<meta property="og:type" content="article"></head>'
            f"<body><article><h1>{title}</h1>{paragraphs}</article></body></html>".encode(),
        )
    return Reply(404, b"<html><body>Not found</body></html>")


def fetch(db: Path, url: str) -> sqlite3.Row:
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        (row,) = connection.execute("SELECT * FROM fetches WHERE url = ?", (url,)).fetchall()
        return row


def test_a_ten_gigabyte_gzip_sitemap_is_refused_in_bounded_memory_and_the_site_is_archived(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    holder: dict[str, bytes] = {}

    def app(request: Request) -> Reply:
        if "bomb" not in holder:
            holder["bomb"] = ten_gigabyte_sitemap(request.base_url)
        return site(request, holder["bomb"])

    with serve(app) as served:
        base = served.base_url
        command = [sys.executable, "-m", "crawler.cli", "crawl", base + "/", "--db", str(db), "--no-progress"]
        command += ["--delay", "0", "--workers", "1", "--render-js", "never"]
        completed, peak_mb = run_sampling_peak_pss(command, timeout=240)
        served_paths = served.paths()
    assert completed.returncode == 0, completed.stdout + completed.stderr
    print(f"peak PSS of the crawl's process tree: {peak_mb:.0f} MB (bomb: {len(holder['bomb']):,} bytes)")

    # Both 10 GB sitemaps were downloaded (10 MB each) and refused with a reason, each at its limit.
    assert served_paths.count("/sitemap-raw.xml.gz") == 1 and served_paths.count("/sitemap-encoded.xml") == 1
    raw = fetch(db, base + "/sitemap-raw.xml.gz")
    assert raw["outcome"] == "error" and raw["reason_kind"] == "unreadable_sitemap"
    assert f"gzip sitemap unpacks to more than {MAX_UNZIPPED_BYTES:,} bytes" in raw["reason"]
    encoded = fetch(db, base + "/sitemap-encoded.xml")
    assert (encoded["outcome"], encoded["reason_kind"]) == ("error", "too_large")
    # Scrapy's HttpCompressionMiddleware inflates in chunks and gives up at DOWNLOAD_MAXSIZE.
    assert "inflates past DOWNLOAD_MAXSIZE" in encoded["reason"] and "compression bomb" in encoded["reason"]
    print(f"reasons: {raw['reason']!r} ({raw['reason_kind']}); {encoded['reason']!r} ({encoded['reason_kind']})")

    # The rest of the site is archived.
    with sqlite3.connect(db) as connection:
        archived = {url for (url,) in connection.execute("SELECT url FROM articles")}
        (status,) = connection.execute("SELECT status FROM crawl_runs").fetchone()
    assert archived == {base + article for article in ARTICLES}
    assert status == "succeeded"

    # Never the 10 GB, nor the 50 MB limit held whole: the command, the crawl process and one worker.
    assert peak_mb < PEAK_PSS_LIMIT_MB
