"""Bad pages do not break a crawl: each gets a clear reason, and everything else is archived."""

from __future__ import annotations

import functools
import socket
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli.main import main
from crawler.demo.server import Reply, Request, serve
from tests.cli_crawl import write_config

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PARAGRAPHS = [
    "The harbour authority confirmed on Tuesday that the dredging of the eastern channel will begin in "
    "September, two years later than first promised to the fishing cooperative and the ferry operator.",
    "Engineers found that the silt in the channel holds more clay than the original survey suggested, "
    "which means the barges must carry smaller loads and make more trips to the disposal site offshore.",
    "The cooperative’s chair, Maren Holt, said the delay had cost her members “a whole season” of "
    "landings at the east quay, where boats can now only moor for three hours either side of high tide.",
    "The authority says the work will take eleven weeks and that the channel will stay open to the ferry "
    "throughout, with a pilot boat guiding vessels past the dredger during the busiest crossings.",
]


def article_page(title: str, charset_meta: str = '<meta charset="utf-8">', padding: str = "") -> str:
    # Each page leads with its own paragraph, so no two pages are exact copies of one another.
    lead = f"<p>This report, “{title}”, was filed from the harbour office late on Monday evening.</p>"
    body = lead + "".join(f"<p>{paragraph}</p>" for paragraph in PARAGRAPHS)
    return (
        f'<!DOCTYPE html><html lang="en"><head>{charset_meta}<title>{title}</title>'
        f'<meta property="og:type" content="article">'
        f'<meta property="article:published_time" content="2025-06-03T09:00:00+01:00"></head>'
        f"<body><article><h1>{title}</h1><p class=byline>By Ola Brandt</p>{body}</article>{padding}</body></html>"
    )


def bad_site(request: Request, refused_url: str = "") -> Reply:
    path = request.path
    if path == "/robots.txt":
        return Reply(404, b"", {"content-type": "text/plain"})
    if path == "/":
        links = "".join(
            f'<li><a href="{p}">{p}</a></li>'
            for p in (
                "/2025/06/03/six-megabytes/",
                "/2025/06/03/garbage/",
                "/2025/06/03/wrong-charset/",
                "/2025/06/03/empty/",
                "/2025/06/03/too-large/",
                "/2025/06/03/fine/",
                "/2025/06/03/endless-redirects/",
                *([refused_url] if refused_url else []),
            )
        )
        return Reply(200, f"<html><head><title>Home</title></head><body><ul>{links}</ul></body></html>".encode())
    if path == "/2025/06/03/six-megabytes/":
        # A real failure mode: megabytes of inline state and tracking scripts around a normal article.
        blob = "<script>window.__STATE__ = " + ('{"k": "' + "x" * 1000 + '"},') * 6000 + "null;</script>"
        return Reply(200, article_page("Dredging of eastern channel delayed", padding=blob).encode())
    if path == "/2025/06/03/garbage/":
        return Reply(200, bytes(range(256)) * 50, {"content-type": "text/html"})
    if path == "/2025/06/03/wrong-charset/":
        # The header claims UTF-8; the bytes are windows-1252, as the meta tag says.
        page = article_page("Ferry timetable “unchanged” for winter", '<meta charset="windows-1252">')
        return Reply(200, page.encode("cp1252"), {"content-type": "text/html; charset=utf-8"})
    if path == "/2025/06/03/empty/":
        return Reply(200, b"")
    if path == "/2025/06/03/too-large/":
        return Reply(200, article_page("Too large", padding="<!--" + "y" * (9 * 1024 * 1024) + "-->").encode())
    if path == "/2025/06/03/fine/":
        return Reply(200, article_page("Quay repairs finished early").encode())
    if path == "/2025/06/03/endless-redirects/" or path.startswith("/hop/"):
        hop = int(path.rsplit("/", 1)[-1]) + 1 if path.startswith("/hop/") else 1
        return Reply(302, b"", {"location": f"/hop/{hop}"})
    return Reply(404, b"<html><body>Not found</body></html>")


def closed_port() -> int:
    """A local port nothing listens on (bound, then released): connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    folder = tmp_path_factory.mktemp("bad")
    db = folder / "archive.db"
    dead_port = closed_port()
    refused = f"http://127.0.0.1:{dead_port}/2025/06/03/refused/"
    with serve(functools.partial(bad_site, refused_url=refused)) as site:
        # The dead server is a host of the source (allowed_hosts): the network boundary lets the crawl try it.
        config = write_config(
            folder,
            f'start_urls = ["{site.base_url}/"]\nallowed_hosts = ["127.0.0.1:{dead_port}"]\ndownload_delay = 0\n',
        )
        result = CliRunner().invoke(
            main,
            [
                "crawl",
                "--config",
                str(config),
                "--no-progress",
                "-s",
                "DOWNLOAD_MAXSIZE=8388608",
                "-s",
                "REDIRECT_MAX_TIMES=3",
            ],
        )
    return db, result.output, site.base_url


def fetch_of(db: Path, url: str) -> sqlite3.Row:
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        (row,) = connection.execute("SELECT * FROM fetches WHERE url = ?", (url,)).fetchall()
        return row


def article(db: Path, url: str) -> sqlite3.Row | None:
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        return connection.execute("SELECT * FROM articles WHERE url = ?", (url,)).fetchone()


def test_crawl_succeeds_and_archives_the_good_pages(crawled: tuple[Path, str, str]) -> None:
    db, output, base = crawled
    assert "succeeded" in output
    assert article(db, base + "/2025/06/03/fine/")["title"] == "Quay repairs finished early"


def test_six_megabyte_page_is_archived_whole(crawled: tuple[Path, str, str]) -> None:
    db, _, base = crawled
    row = article(db, base + "/2025/06/03/six-megabytes/")
    assert row is not None
    assert all(paragraph in row["text"] for paragraph in PARAGRAPHS)
    assert "__STATE__" not in row["text"]


def test_wrong_charset_header_still_gives_correct_text(crawled: tuple[Path, str, str]) -> None:
    db, _, base = crawled
    row = article(db, base + "/2025/06/03/wrong-charset/")
    assert row is not None
    assert row["title"] == "Ferry timetable “unchanged” for winter"
    assert "cooperative’s chair" in row["text"] and "\ufffd" not in row["text"]


@pytest.mark.parametrize("path", ["/2025/06/03/garbage/", "/2025/06/03/empty/"])
def test_unreadable_pages_are_rejected_with_a_reason(crawled: tuple[Path, str, str], path: str) -> None:
    db, _, base = crawled
    fetch = fetch_of(db, base + path)
    assert fetch["outcome"] == "rejected"
    assert fetch["reason"].startswith("no article text")
    assert article(db, base + path) is None


def test_oversized_page_names_the_setting_to_raise(crawled: tuple[Path, str, str]) -> None:
    db, _, base = crawled
    fetch = fetch_of(db, base + "/2025/06/03/too-large/")
    assert fetch["outcome"] == "error"
    assert "DOWNLOAD_MAXSIZE" in fetch["reason"]
    assert fetch["reason_kind"] == "too_large"


@pytest.mark.parametrize("path", ["/2025/06/03/garbage/", "/2025/06/03/empty/"])
def test_pages_without_text_count_as_extraction_failures(crawled: tuple[Path, str, str], path: str) -> None:
    db, _, base = crawled
    assert fetch_of(db, base + path)["reason_kind"] in ("no_text", "extraction_failed")
    with sqlite3.connect(db) as connection:
        (failures,) = connection.execute("SELECT extraction_failures FROM crawl_runs").fetchone()
    assert failures == 3  # these two, and the home page (a bare list of links)


def test_failures_carry_their_kind(crawled: tuple[Path, str, str]) -> None:
    db, _, base = crawled
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        rows = [
            dict(row) for row in connection.execute("SELECT * FROM fetches WHERE outcome IN ('error', 'discovery')")
        ]
    by_kind = {row["reason_kind"]: row for row in rows}
    # A redirect chain longer than REDIRECT_MAX_TIMES: told by RedirectMiddleware's own request meta.
    redirects = by_kind["too_many_redirects"]
    assert redirects["outcome"] == "error" and "/hop/" in redirects["url"]
    assert redirects["reason"].startswith("too many redirects (a redirect loop?)")
    # Nothing listens: told by the exception's class, not its message.
    refused = by_kind["connection_failed"]
    assert (
        refused["outcome"] == "error" and refused["url"].endswith("/2025/06/03/refused/") and refused["status"] is None
    )
    # robots.txt answered 404: a discovery, with the status's kind.
    assert by_kind["http_status"]["url"] == base + "/robots.txt" and by_kind["http_status"]["outcome"] == "discovery"
