"""WARC records of real crawls (``newsarchive crawl`` of the fixture news site), checked record by record
with warcio: every fetch with a status points at its record, the record holds what the page served,
a recrawl's 304s are revisits, a page rendered in the browser is a resource record of its DOM, and a
crawl killed with SIGKILL while writing leaves files the next crawl repairs."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from crawler.demo.server import serve
from crawler.run.crawl_process import CrawlSpec
from crawler.run.supervisor import crawl_process_command
from crawler.warc.capture import PROFILE_NOT_MODIFIED
from crawler.warc.reader import read_record, resolve_revisit
from tests.cli_crawl import crawl, write_config
from tests.jssite import expected_js_articles, js_site_app
from tests.newssite import NewsSite, serve_site
from tests.test_warc import read_to_end, warcio_check

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@dataclass
class Crawled:
    folder: Path
    db: Path
    warc_dir: Path
    served: dict[str, bytes]  # URL -> the body the site serves there (as of the crawls)

    def fetches(self, sql: str = "", params: tuple = ()) -> list[sqlite3.Row]:
        with sqlite3.connect(self.db) as connection:
            connection.row_factory = sqlite3.Row
            return connection.execute("SELECT * FROM fetches " + sql, params).fetchall()


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    folder = tmp_path_factory.mktemp("warc")
    site = NewsSite(n_articles=30, seed=11)
    with serve_site(site) as local:
        config = write_config(
            folder,
            f'start_urls = ["{local.base_url}/"]\ndownload_delay = 0.0\nconcurrency = 8\nrender_js = "never"\n',
        )
        crawl(config)
        crawl(config)  # the same pages again: conditional requests, 304s
        served = {}
        for (url,) in sqlite3.connect(folder / "archive.db").execute("SELECT DISTINCT final_url FROM fetches"):
            if url:
                with _urlopen(url) as answer:
                    served[url] = answer
    yield Crawled(folder, folder / "archive.db", folder / "archive-warc", served)


def _urlopen(url: str):
    """The body the site serves at ``url`` now (decoded, as Scrapy hands it on), or b"" for an error status."""
    import contextlib
    import urllib.error
    import urllib.request

    @contextlib.contextmanager
    def body() -> Iterator[bytes]:
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                yield answer.read()
        except urllib.error.HTTPError as error:
            yield error.read()

    return body()


def test_every_fetch_with_a_status_points_at_its_record(crawled: Crawled) -> None:
    rows = crawled.fetches("WHERE status IS NOT NULL")
    assert len(rows) > 60 and {row["run_id"] for row in rows} == {1, 2}
    assert [row["url"] for row in rows if row["warc_file"] is None] == []
    kinds: dict[tuple[int, str], int] = {}
    for row in rows:
        stored = read_record(crawled.warc_dir, row["warc_file"], row["warc_offset"], row["warc_length"])
        kinds[(row["run_id"], stored.kind)] = kinds.get((row["run_id"], stored.kind), 0) + 1
        assert stored.url == row["final_url"]
        assert stored.status == row["status"]
        assert row["warc_file"].startswith(f"fixture-{row['run_id']}-")
        if stored.warc_header("WARC-Truncated"):
            assert row["outcome"] == "skipped"  # not HTML: the download stopped at its headers
            assert crawled.served[row["final_url"]].startswith(stored.body)
        elif stored.kind == "response":
            assert len(stored.body) == row["bytes"]
            if row["status"] == 200:  # (a one-time 503 answers 200 now)
                assert stored.body == crawled.served[row["final_url"]], row["final_url"]
        else:
            original = resolve_revisit(crawled.warc_dir, stored)
            assert original is not None and original.kind == "response"
            assert original.body == crawled.served[row["final_url"]]
    assert kinds[(1, "response")] > 60 and (1, "revisit") not in kinds
    assert kinds[(2, "revisit")] >= 10  # the recrawl: 304s


def test_the_recrawls_304s_are_server_not_modified_revisits(crawled: Crawled) -> None:
    rows = crawled.fetches("WHERE run_id = 2 AND status = 304")
    assert len(rows) >= 10
    first_run = {row["url"]: row for row in crawled.fetches("WHERE run_id = 1 AND status = 200")}
    for row in rows:
        revisit = read_record(crawled.warc_dir, row["warc_file"], row["warc_offset"], row["warc_length"])
        assert revisit.kind == "revisit" and revisit.profile == PROFILE_NOT_MODIFIED
        before = first_run[row["url"]]
        original = read_record(crawled.warc_dir, before["warc_file"], before["warc_offset"], before["warc_length"])
        assert revisit.refers_to == (original.url, original.date)
        assert revisit.warc_header("WARC-Refers-To") == original.record_id


def test_every_file_passes_warcio_check(crawled: Crawled) -> None:
    files = sorted(crawled.warc_dir.iterdir())
    assert [path.name for path in files] == ["fixture-1-00001.warc.gz", "fixture-2-00001.warc.gz"]
    for path, answers in zip(files, ("response", "revisit")):  # the recrawl's pages and robots.txt: unchanged
        kinds = read_to_end(path)
        assert kinds[0] == "warcinfo" and {answers, "request", "metadata"} <= set(kinds)
        warcio_check(path)
    with sqlite3.connect(crawled.db) as connection:
        (stats,) = connection.execute("SELECT stats_json FROM crawl_runs WHERE id = 2").fetchone()
    assert '"newsarchive/warc/revisits"' in stats and '"newsarchive/warc/records"' in stats


@pytest.mark.browser
@pytest.mark.usefixtures("real_browser")
def test_a_rendered_page_is_a_resource_record_of_its_dom(tmp_path: Path) -> None:
    with serve(js_site_app(n_static=0, n_json=1, n_write=0, n_dom=0)) as site:
        ((url, paragraphs),) = expected_js_articles(site.base_url, n_json=1, n_write=0, n_dom=0).items()
        config = write_config(
            tmp_path, f'start_urls = ["{url}"]\nfollow_links = false\ndownload_delay = 0.0\nrender_js = "always"\n'
        )
        crawl(config)
    with sqlite3.connect(tmp_path / "archive.db") as connection:
        connection.row_factory = sqlite3.Row
        row = connection.execute("SELECT * FROM fetches WHERE url = ?", (url,)).fetchone()
    assert row["fetch_mode"] == "browser" and row["outcome"] == "new"
    warc_dir = tmp_path / "archive-warc"
    stored = read_record(warc_dir, row["warc_file"], row["warc_offset"], row["warc_length"])
    assert (stored.kind, stored.url, stored.fetch_mode) == ("resource", url, "browser")
    assert stored.header("Content-Type") == "text/html; charset=utf-8"
    dom = stored.body.decode("utf-8")
    assert all(paragraph[:60] in dom for paragraph in paragraphs)  # the text the script wrote
    (path,) = warc_dir.iterdir()
    warcio_check(path)
    from crawler.warc.reader import iter_records

    records = list(iter_records(path, all_kinds=True))
    (metadata,) = [
        record
        for record in records
        if record.kind == "metadata" and record.warc_header("WARC-Concurrent-To") == stored.record_id
    ]
    assert "fetch-mode: browser" in metadata.body.decode() and "rendered: " in metadata.body.decode()


def test_a_crawl_killed_while_writing_leaves_files_the_next_crawl_repairs(tmp_path: Path) -> None:
    site = NewsSite(n_articles=60, seed=5)
    db = tmp_path / "archive.db"
    warc_dir = tmp_path / "archive-warc"
    with serve_site(site) as local:
        spec = CrawlSpec(
            db=str(db),
            url=local.base_url + "/",
            source_overrides={"name": "crash", "download_delay": 0.0, "concurrency": 4},
            settings={"AUTOTHROTTLE_ENABLED": False, "WARC_MAX_SIZE": 60_000},
            log_level="ERROR",
        )
        process = subprocess.Popen(crawl_process_command(spec))
        deadline = time.monotonic() + 60
        # Killed while it writes a file, once the archive holds some of its pointers (commits come every
        # ARCHIVE_COMMIT_INTERVAL; a loaded machine may write three files before the first).
        while time.monotonic() < deadline and process.poll() is None:
            if _writing(warc_dir, files=3) and _pointers_committed(db):
                break
            time.sleep(0.01)
        assert process.poll() is None, "the crawl ended before it was killed"
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        left_open = [path.name for path in warc_dir.glob("*.open")]
        assert len(left_open) == 1  # killed with a file being written
        completed = subprocess.run(crawl_process_command(spec), timeout=120)
        assert completed.returncode == 0
    assert not list(warc_dir.glob("*.open"))
    for path in warc_dir.iterdir():
        read_to_end(path)
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        rows = connection.execute("SELECT * FROM fetches WHERE warc_file IS NOT NULL").fetchall()
        (stats,) = connection.execute("SELECT stats_json FROM crawl_runs WHERE id = 2").fetchone()
    assert {row["run_id"] for row in rows} == {1, 2}
    for row in rows:
        stored = read_record(warc_dir, row["warc_file"], row["warc_offset"], row["warc_length"])
        assert stored.url == row["final_url"]
    assert '"newsarchive/warc/recovered": 1' in stats
    killed = warc_dir / left_open[0].removesuffix(".open")
    warcio_check(killed)


def _pointers_committed(db: Path) -> bool:
    """The archive holds at least one fetch row with its WARC pointer (read beside the crawl: WAL)."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as connection:
            return (
                connection.execute("SELECT 1 FROM fetches WHERE warc_file IS NOT NULL LIMIT 1").fetchone() is not None
            )
    except sqlite3.Error:  # not created (or migrated) yet
        return False


def _writing(warc_dir: Path, files: int) -> bool:
    """The crawl has rotated past ``files - 1`` files and has written some records into the next (a file
    killed before its first whole record is removed by the recovery, not repaired)."""
    if not warc_dir.is_dir() or len(list(warc_dir.iterdir())) < files:
        return False
    try:
        return any(path.stat().st_size >= 8192 for path in warc_dir.glob("*.open"))
    except FileNotFoundError:  # renamed at a rotation while we looked
        return False


def test_show_names_the_warc_record_of_each_fetch_and_version(crawled: Crawled) -> None:
    from click.testing import CliRunner

    from crawler.cli.main import main

    (row,) = crawled.fetches("WHERE outcome = 'new' ORDER BY id LIMIT 1")
    result = CliRunner().invoke(main, ["show", str(row["article_id"]), "--db", str(crawled.db)])
    assert result.exit_code == 0, result.output
    assert f"200 new  WARC {row['warc_file']}:{row['warc_offset']}" in result.output
    assert "version 1 (current)  from " in result.output
    assert result.output.count(f"WARC {row['warc_file']}:{row['warc_offset']}") == 2  # the fetch, and version 1
    result = CliRunner().invoke(main, ["show", str(row["article_id"]), "--db", str(crawled.db), "--format", "json"])
    (version,) = json.loads(result.output)["versions"]
    assert version["response"] == {
        "id": row["id"],
        "warc_file": row["warc_file"],
        "warc_offset": row["warc_offset"],
        "warc_length": row["warc_length"],
    }
    fetches = json.loads(result.output)["provenance"]["fetches"]
    assert (fetches[0]["warc_file"], fetches[0]["warc_offset"], fetches[0]["warc_length"]) == (
        row["warc_file"],
        row["warc_offset"],
        row["warc_length"],
    )
