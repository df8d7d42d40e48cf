"""``newsarchive export --format warc|wacz``, and a replay check of what the crawl wrote.

The fixture news site is crawled once by the real CLI (with its WARC files). Every WARC file passes
``warcio check``; the export is indexed with cdxj-indexer and a tiny replay server (here, on
127.0.0.1) serves an archived article from the index: the same bytes the site served. The WACZ
passes the wacz package's own validator.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import urllib.request
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator

from crawler.cli.main import main
from tests.newssite import NewsSite, serve_site
from tests.warc_archive import CrawledArchive, crawl_fixture_site

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrawledArchive]:
    folder = tmp_path_factory.mktemp("warc-export")
    with serve_site(NewsSite(n_articles=40, seed=3)) as local:
        yield crawl_fixture_site(folder, local.base_url)  # the site stays up: replay is compared with it


def warcio_check(*paths: Path) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("warcio")), "check", *map(str, paths)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def export(crawled: CrawledArchive, *args: str) -> str:
    result = CliRunner().invoke(main, ["export", "--db", str(crawled.db), *args])
    assert result.exit_code == 0, result.output
    return result.output


def records(path: Path) -> list[tuple[str, dict[str, str]]]:
    with path.open("rb") as handle:
        return [(record.rec_type, dict(record.rec_headers.headers)) for record in ArchiveIterator(handle)]


def test_every_stored_warc_file_passes_warcio_check(crawled: CrawledArchive) -> None:
    files = sorted(crawled.warc_dir.glob("*.warc.gz"))
    assert files
    warcio_check(*files)


def test_warc_export_holds_the_chosen_fetches_and_replays_byte_for_byte(
    crawled: CrawledArchive, tmp_path: Path
) -> None:
    out = tmp_path / "fixture.warc.gz"
    summary = export(crawled, "--format", "warc", "--source", "fixture", "-o", str(out))
    assert "stored pages" in summary
    warcio_check(out)
    found = records(out)
    assert found[0][0] == "warcinfo"
    ids = {headers["WARC-Record-ID"] for _, headers in found}
    assert len(ids) == len(found)  # each record once
    answers = [headers for kind, headers in found if kind in ("response", "resource", "revisit")]
    for kind, headers in found:
        if kind in ("request", "metadata"):
            assert headers["WARC-Concurrent-To"] in ids
        if kind == "revisit":
            assert headers["WARC-Refers-To"] in ids  # the original travels with it
    with sqlite3.connect(crawled.db) as connection:
        article_urls = {row[0] for row in connection.execute("SELECT url FROM articles")}
    assert article_urls <= {headers["WARC-Target-URI"] for headers in answers}

    # Index the export with cdxj-indexer and replay an article from it over HTTP.
    index = tmp_path / "index.cdxj"
    indexed = subprocess.run(
        [str(Path(sys.executable).with_name("cdxj-indexer")), "-o", str(index), str(out)],
        capture_output=True,
        text=True,
    )
    assert indexed.returncode == 0, indexed.stderr
    entries = [json.loads(line.split(" ", 2)[2]) for line in index.read_text().splitlines()]
    article = sorted(article_urls)[0]
    with replay_server(out, entries) as replay_base:
        replayed = urllib.request.urlopen(f"{replay_base}/{article}").read()
    live = urllib.request.urlopen(article).read()
    assert replayed == live and len(live) > 1000


class ReplayHandler(BaseHTTPRequestHandler):
    """GET /<archived URL>: the payload of that URL's response record, looked up in the CDXJ index."""

    warc: Path
    entries: list[dict[str, str]]

    def do_GET(self) -> None:
        url = self.path[1:]
        entry = next((e for e in self.entries if e["url"] == url and e.get("mime") != "warc/revisit"), None)
        if entry is None:
            self.send_error(404)
            return
        with self.warc.open("rb") as handle:
            handle.seek(int(entry["offset"]))
            record = next(iter(ArchiveIterator(handle)))
            body = record.content_stream().read()
            content_type = record.http_headers.get_header("Content-Type") or "text/html"
        self.send_response(int(entry["status"]))
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class replay_server:
    def __init__(self, warc: Path, entries: list[dict[str, str]]) -> None:
        handler = type("Handler", (ReplayHandler,), {"warc": warc, "entries": entries})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def test_wacz_export_is_valid_with_its_pages_and_index(crawled: CrawledArchive, tmp_path: Path) -> None:
    out = tmp_path / "fixture.wacz"
    export(crawled, "--format", "wacz", "--source", "fixture", "-o", str(out))
    validated = subprocess.run(
        [sys.executable, "-m", "wacz", "validate", "-f", str(out)], capture_output=True, text=True
    )
    assert validated.returncode == 0 and "Validation succeeded" in validated.stdout, validated.stdout
    with zipfile.ZipFile(out) as package:
        names = set(package.namelist())
        assert {"datapackage.json", "pages/pages.jsonl", "indexes/index.cdx.gz"} <= names
        assert any(name.startswith("archive/") and name.endswith(".warc.gz") for name in names)
        pages = [json.loads(line) for line in package.read("pages/pages.jsonl").decode().splitlines()[1:]]
    with sqlite3.connect(crawled.db) as connection:
        titles = {row[0] for row in connection.execute("SELECT title FROM articles")}
    assert titles <= {page["title"] for page in pages}


def test_warc_export_errors_are_one_line(crawled: CrawledArchive, tmp_path: Path) -> None:
    runner = CliRunner()
    to_stdout = runner.invoke(main, ["export", "--db", str(crawled.db), "--format", "warc", "-o", "-"])
    assert to_stdout.exit_code == 2 and "needs a file" in to_stdout.output and "Fix:" in to_stdout.output
    no_folder = runner.invoke(
        main,
        [
            "export",
            "--db",
            str(crawled.db),
            "--format",
            "wacz",
            "-o",
            str(tmp_path / "x.wacz"),
            "--warc-dir",
            str(tmp_path / "gone"),
        ],
    )
    assert no_folder.exit_code == 2 and "WARC folder" in no_folder.output
    table = runner.invoke(
        main,
        ["export", "--db", str(crawled.db), "--format", "warc", "--table", "runs", "-o", str(tmp_path / "y.warc.gz")],
    )
    assert table.exit_code == 2 and "--table runs" in table.output
