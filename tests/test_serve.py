"""``newsarchive serve``: Datasette over real HTTP on 127.0.0.1, the metadata it shows, a browser loading it.

The server is the real command (``python -m crawler.cli serve``) in a subprocess, on a free port,
over a small archive built with the library: search returns the right rows, the canned queries
answer, writes are refused, and a non-loopback host prints its warning. The schema descriptions it
shows must be current with docs/schema.md.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from archive import Archive
from archive.datasette_metadata import CANNED_QUERIES, DASHBOARD_NAME, datasette_metadata
from archive.schema_doc import DESCRIPTIONS_FILE, parse_schema_doc, render_descriptions
from crawler.cli.main import main
from crawler.cli.serve import exposure_warning, is_loopback

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SCHEMA_DOC = PROJECT_ROOT / "docs" / "schema.md"
START_TIMEOUT_S = 60


def body(topic: str, number: int) -> str:
    return "\n\n".join(
        f"Paragraph {paragraph} of story {number} about {topic}: the council met on Tuesday and the debate went on "
        f"for hours while residents {number} and {paragraph} waited outside the hall."
        for paragraph in range(4)
    )


def build_archive(path: Path) -> dict[str, int]:
    """Two sources, three days, one article in two versions, one alias, a rejected page, a failed run."""
    ids: dict[str, int] = {}
    with Archive(path) as archive:
        for source, topics in (("alpha", ["election", "harbour", "election"]), ("beta", ["weather", "zebra crossing"])):
            run_id = archive.start_run(source)
            for number, topic in enumerate(topics):
                url = f"https://{source}.example/news/{number}"
                result = archive.save_article(
                    run_id,
                    {
                        "url": url,
                        "source": source,
                        "title": f"{topic.title()} story {number}",
                        "text": body(topic, number),
                        "published_at": f"2024-05-{10 + number:02d}T08:00:00+02:00",
                        "language": "en" if source == "alpha" else "de",
                        "authors": ["Ada Reporter"],
                    },
                    {"url": url, "final_url": url, "status": 200, "found_by": "sitemap", "depth": 0},
                    aliases=[f"{url}?utm_source=feed"] if number == 0 else [],
                )
                ids[f"{source}/{number}"] = result.article_id
            archive.record_fetch(
                run_id,
                {"url": f"https://{source}.example/app", "status": 200},
                "rejected",
                reason="no article text (JavaScript app shell)",
                reason_kind="javascript_shell",
            )
            archive.finish_run(run_id, "succeeded")
        run_id = archive.start_run("alpha")
        url = "https://alpha.example/news/0"
        archive.save_article(
            run_id,
            {
                "url": url,
                "source": "alpha",
                "title": "Election story 0, corrected",
                "text": body("election", 0) + "\n\nCorrection: a fix.",
            },
            {"url": url, "status": 200, "found_by": "link", "referer": "https://alpha.example/"},
        )
        archive.finish_run(run_id, "failed")
        archive.set_source_health("alpha", False, ["the last run failed"], run_id)
    return ids


@pytest.fixture(scope="module")
def archive_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    path = tmp_path_factory.mktemp("serve") / "archive.db"
    return path, build_archive(path)


class Server:
    def __init__(self, process: subprocess.Popen[str], base: str, banner: str) -> None:
        self.process, self.base, self.banner = process, base, banner

    def get(self, path: str, **params: str) -> Any:
        url = self.base + path + ("?" + urllib.parse.urlencode(params) if params else "")
        with urllib.request.urlopen(url, timeout=30) as response:
            return json.loads(response.read())

    def status_of(self, path: str, method: str = "GET", data: bytes | None = None) -> int:
        request = urllib.request.Request(self.base + path, data=data, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code


def start_server(db: Path, stderr_path: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    """The real command in a subprocess; returns it with the first line it printed (its URL).

    Its stderr goes to a file, not a pipe: Datasette prints a traceback there for every refused query, and a
    pipe nobody reads fills up and blocks the server.
    """
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "crawler.cli", "serve", "--db", str(db), "--port", "0", *extra],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    assert process.stdout is not None
    line = process.stdout.readline()  # blocks until the banner (or the end of a failed process)
    if not line:
        process.wait(timeout=10)
        raise AssertionError(f"serve exited {process.returncode}: {stderr_path.read_text()}")
    return process, line


def stop(process: subprocess.Popen[str], signum: int = signal.SIGINT) -> int:
    process.send_signal(signum)  # SIGINT: as Ctrl-C
    try:
        return process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise


@pytest.fixture(scope="module")
def server(archive_db: tuple[Path, dict[str, int]]) -> Iterator[Server]:
    process, banner = start_server(archive_db[0], archive_db[0].with_name("serve.stderr"))
    match = re.search(r"(http://127\.0\.0\.1:\d+)/archive", banner)
    assert match, banner
    instance = Server(process, match.group(1), banner)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            instance.get("/-/versions.json")
            break
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline or process.poll() is not None:
                raise
            time.sleep(0.2)
    yield instance
    assert stop(process) == 0


# --- over real HTTP ----------------------------------------------------------------------------


def test_search_returns_the_matching_articles(server: Server, archive_db: tuple[Path, dict[str, int]]) -> None:
    ids = archive_db[1]
    rows = server.get("/archive/articles.json", _search="election", _shape="array", _col="title")
    assert sorted(row["id"] for row in rows) == sorted([ids["alpha/0"], ids["alpha/2"]])
    # Raw FTS5 syntax: a phrase, OR, a prefix.
    phrase = server.get("/archive/articles.json", _search='"zebra crossing"', _shape="array")
    assert [row["id"] for row in phrase] == [ids["beta/1"]]
    either = server.get("/archive/articles.json", _search="harbour OR weather", _shape="array")
    assert sorted(row["id"] for row in either) == sorted([ids["alpha/1"], ids["beta/0"]])
    prefix = server.get("/archive/articles.json", _search="zeb*", _shape="array")
    assert [row["id"] for row in prefix] == [ids["beta/1"]]


def test_facets_and_descriptions_are_served(server: Server) -> None:
    page = server.get("/archive/articles.json", _extra="facet_results")
    facets = page["facet_results"]
    assert {"source", "language", "published_at_utc"} <= set(facets)
    assert {item["value"]: item["count"] for item in facets["source"]["results"]} == {"alpha": 3, "beta": 2}
    months = facets["published_at_utc"]
    assert months["type"] == "month" and [(item["value"], item["count"]) for item in months["results"]] == [
        ("2024-05", 5)
    ]
    toggle = months["results"][0]["toggle_url"]
    assert "published_at_utc__startswith=2024-05" in toggle
    with urllib.request.urlopen(toggle, timeout=30) as response:
        assert json.loads(response.read())["filtered_table_rows_count"] == 5
    assert (
        server.get("/archive/articles.json", published_at_utc__startswith="2024-04")["filtered_table_rows_count"] == 0
    )
    with urllib.request.urlopen(server.base + "/archive/articles", timeout=30) as response:
        html = response.read().decode()
    assert "one row per distinct article" in html
    assert "normalised to UTC" in html  # a column description from docs/schema.md
    assert "published_at_utc (month)" in html and "2024-05" in html


def test_the_canned_queries_answer(server: Server, archive_db: tuple[Path, dict[str, int]]) -> None:
    ids = archive_db[1]
    per_day = server.get("/archive/articles_per_day_per_source.json", _shape="array")
    assert {"day": "2024-05-10", "source": "beta", "articles": 1} in per_day
    assert sum(row["articles"] for row in per_day) == 5
    only_beta = server.get("/archive/articles_per_day_per_source.json", source="beta", _shape="array")
    assert {row["source"] for row in only_beta} == {"beta"}
    newest = server.get("/archive/newest_articles.json", _shape="array")
    assert newest[0]["id"] == ids["alpha/2"] and len(newest) == 5
    provenance = server.get("/archive/provenance_of_article.json", id=str(ids["alpha/0"]), _shape="array")
    kinds = [row["what"] for row in provenance]
    # Oldest first: the article's row and its first fetch may be a millisecond apart either way.
    assert kinds.count("fetch") == 2 and "alias" in kinds and "version 1" in kinds and kinds.count("article") == 1
    assert any("found by sitemap" in row["detail"] for row in provenance)
    health = server.get("/archive/sources_by_extraction_health.json", _shape="array")
    assert [row["source"] for row in health] == ["alpha", "beta"]  # the unhealthy source first
    assert health[0]["healthy"] == 0 and health[0]["top_rejection"] == "javascript_shell"
    assert health[0]["extraction_failures"] == 1
    runs = server.get("/archive/runs_by_status_per_day.json", _shape="array")
    assert sum(row["runs"] for row in runs) == 3 and {row["status"] for row in runs} == {"succeeded", "failed"}


def test_writes_are_refused(server: Server, archive_db: tuple[Path, dict[str, int]]) -> None:
    insert = "INSERT INTO source_health (source, healthy) VALUES ('intruder', 1)"
    assert server.status_of("/archive.json?" + urllib.parse.urlencode({"sql": insert})) >= 400
    delete = "DELETE FROM articles"
    assert server.status_of("/archive.json?" + urllib.parse.urlencode({"sql": delete})) >= 400
    assert server.status_of("/archive/-/create", method="POST", data=b'{"table": "x", "rows": [{"a": 1}]}') >= 400
    assert server.status_of("/archive/articles/-/insert", method="POST", data=b'{"row": {"url": "x"}}') >= 400
    assert server.get("/archive.json", sql="SELECT count(*) AS n FROM articles", _shape="array") == [{"n": 5}]
    with Archive(archive_db[0]) as archive:
        assert archive.source_health("intruder") is None


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize(
    "path", ["/archive/articles/-/insert", "/archive/articles/1/-/delete", "/archive/articles/1/-/update", "/archive"]
)
def test_any_write_method_gets_a_short_405_and_no_traceback(
    server: Server, archive_db: tuple[Path, dict[str, int]], method: str, path: str
) -> None:
    request = urllib.request.Request(
        server.base + path,
        data=b'{"row": {"source": "x", "url": "y"}}',
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 405
    assert "read-only" in refused.value.read().decode() and "GET" in refused.value.headers["Allow"]
    stderr = archive_db[0].with_name("serve.stderr").read_text()
    assert "Traceback" not in stderr and "Error" not in stderr, stderr
    assert server.get("/archive.json", sql="SELECT count(*) AS n FROM articles", _shape="array") == [{"n": 5}]


def test_the_search_query_ranks_as_newsarchive_search_does(
    server: Server, archive_db: tuple[Path, dict[str, int]]
) -> None:
    """The table's search box filters (Datasette keeps the table's order); the canned query `search` ranks."""
    from archive import ArchiveReader
    from archive.filters import ArticleFilter
    from archive.research import search

    for query, source in (("election OR council", ""), ("council", "alpha"), ("story", ""), ('"zebra crossing"', "")):
        ranked = server.get("/archive/search.json", q=query, source=source, _shape="array")
        with ArchiveReader(archive_db[0]) as reader:
            expected = search(reader, query, ArticleFilter(source=source or None), limit=100)
        assert [row["id"] for row in ranked] == [hit["id"] for hit in expected], query
        assert all(row["score"] > 0 for row in ranked) and all("snippet" in row for row in ranked)
    assert [
        row["source"] for row in server.get("/archive/search.json", q="council", source="beta", _shape="array")
    ] == [
        "beta",
        "beta",
    ]
    with urllib.request.urlopen(server.base + "/archive", timeout=30) as response:
        database_page = response.read().decode()
    with urllib.request.urlopen(server.base + "/archive/articles", timeout=30) as response:
        articles_page = response.read().decode()
    assert 'href="/archive/search"' in database_page and 'href="/archive/search"' in articles_page
    assert "not by relevance" in articles_page


def test_a_malformed_search_gets_the_syntax_and_a_search_box(server: Server) -> None:
    from archive.datasette_metadata import SEARCH_PATH, templates_dir

    for path in ("/archive/articles?_search=%22harbour", "/archive/articles?_search=harbour+AND"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(server.base + path, timeout=30)
        page = refused.value.read().decode()
        assert refused.value.code == 400, path
        assert f'action="{SEARCH_PATH}"' in page and "quoted phrase" in page and 'href="/archive/articles"' in page
    # The ranked search's own page keeps its form and its syntax notes beside the error.
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(server.base + "/archive/search?q=%22harbour&source=", timeout=30)
    page = refused.value.read().decode()
    assert refused.value.code == 400 and 'name="q"' in page and "operators in capitals" in page
    assert f'"{SEARCH_PATH}"' in (Path(templates_dir()) / "400.html").read_text()


def test_column_descriptions_are_short_and_name_no_source_files(server: Server) -> None:
    from archive.datasette_metadata import EXTRA_CSS_URL, short_description

    with urllib.request.urlopen(server.base + "/archive/articles?_search=harbour", timeout=30) as response:
        html = response.read().decode()
    descriptions = re.search(r'<dl class="column-descriptions">(.*?)</dl>', html, flags=re.S).group(1)
    assert ".py" not in descriptions and "crawler/" not in descriptions
    assert EXTRA_CSS_URL.replace("&", "&amp;") in html or EXTRA_CSS_URL in html  # the compact, scrolled box
    assert short_description("a code (e.g. en, de-AT): declared (crawler/extraction/language.py). More words.") == (
        "a code (e.g. en, de-AT): declared"
    )


def test_the_dashboard_page_is_served(server: Server) -> None:
    with urllib.request.urlopen(f"{server.base}/-/dashboards/{DASHBOARD_NAME}", timeout=30) as response:
        html = response.read().decode()
    assert "Articles per day per source" in html and "Crawl runs by status" in html


def test_a_non_loopback_host_prints_a_warning(archive_db: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    process, banner = start_server(archive_db[0], tmp_path / "stderr", "--host", "0.0.0.0")
    try:
        assert "http://0.0.0.0:" in banner
    finally:
        try:
            stop(process)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"serve did not stop on Ctrl-C; its stderr: {(tmp_path / 'stderr').read_text()}"
            ) from None
    warning = (tmp_path / "stderr").read_text()
    assert "warning: serving on 0.0.0.0" in warning and "visible to every network" in warning, warning


def test_articles_archived_while_it_serves_are_found(tmp_path: Path) -> None:
    """Not `immutable=1`: the server reads the WAL, so what a crawl writes meanwhile shows up at once."""
    db = tmp_path / "live.db"
    build_archive(db)
    process, banner = start_server(db, tmp_path / "stderr")
    try:
        match = re.search(r"(http://127\.0\.0\.1:\d+)/archive", banner)
        assert match, banner
        live = Server(process, match.group(1), banner)
        assert live.get("/archive/articles.json", _search="lighthouse", _shape="array") == []
        with Archive(db) as archive:
            run_id = archive.start_run("alpha")
            url = "https://alpha.example/news/lighthouse"
            text = body("lighthouse", 9)
            archive.save_article(
                run_id, {"url": url, "source": "alpha", "title": "Lighthouse", "text": text}, {"url": url}
            )
            archive.commit()  # ends the write batch (archive/store.py); the writer stays open
            found = live.get("/archive/articles.json", _search="lighthouse", _shape="array")
            archive.finish_run(run_id, "succeeded")
        assert [row["url"] for row in found] == [url]
    finally:
        assert stop(process, signal.SIGTERM) == 0  # as a service manager stops it
    assert process.stdout is not None and process.stdout.read().strip() == "Stopped."


# --- without a server ----------------------------------------------------------------------------


def test_loopback_addresses_need_no_warning() -> None:
    for host in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"):
        assert is_loopback(host) and exposure_warning(host) is None, host
    for host in ("0.0.0.0", "::", "192.168.1.5", "example.org"):
        assert exposure_warning(host), host


def test_the_shipped_descriptions_are_current_with_the_schema_doc() -> None:
    shipped = (PROJECT_ROOT / "archive" / DESCRIPTIONS_FILE).read_text(encoding="utf-8")
    assert shipped == render_descriptions(SCHEMA_DOC.read_text(encoding="utf-8")), (
        "archive/schema_descriptions.json is stale: run `python -m archive.schema_doc`"
    )


def test_every_archive_column_has_a_description(tmp_path: Path) -> None:
    Archive(tmp_path / "a.db").close()
    tables = datasette_metadata()["databases"]["archive"]["tables"]
    with Archive(tmp_path / "a.db") as archive:
        names = [table for table in archive.db.table_names() if not table.startswith("articles_fts")]
        names += archive.db.view_names()  # the stable views (docs/schema.md, "Views")
        missing = [
            f"{table}.{column.name}"
            for table in names
            for column in (
                archive.db.table(table) if table in archive.db.table_names() else archive.db.view(table)
            ).columns
            if not tables.get(table, {}).get("columns", {}).get(column.name)
        ]
        undescribed = [
            table for table in names if table != "schema_migrations" and not tables[table].get("description")
        ]
    assert not missing and not undescribed, (missing, undescribed)


def test_the_parser_reads_multi_column_cells_and_shared_sections() -> None:
    parsed = parse_schema_doc(
        "## `a` and `b` — two tables\n\n`a`:\n\n| column | meaning |\n|---|---|\n| `x`, `y` | the `x` and y |\n\n"
        "`b` (primary key `z`):\n\n| column | type | meaning |\n|---|---|---|\n| `z` | TEXT | a \\| pipe |\n\n"
        "| kind | when |\n|---|---|\n| `k` | not a column |\n\n### What `f` does\n\nmore on b\n\n"
        "### `v` — a view\n\n| column | meaning |\n|---|---|\n| `w` | as in `b` |\n\n## `c`\n\nFirst paragraph\nwraps.\n\n| column | meaning |\n|--|--|\n"
    )
    assert parsed == {
        "a": {"description": "two tables", "columns": {"x": "the x and y", "y": "the x and y"}},
        "b": {"description": "two tables", "columns": {"z": "TEXT: a | pipe"}},
        "v": {"description": "a view", "columns": {"w": "as in b"}},
        "c": {"description": "First paragraph wraps.", "columns": {}},
    }


def test_every_canned_query_is_read_only_sql() -> None:
    for name, query in CANNED_QUERIES.items():
        assert not query.get("write"), name
        assert query["sql"].lstrip().upper().startswith(("SELECT", "WITH")), name


def test_a_missing_archive_is_one_clean_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "--db", str(tmp_path / "none.db"), "--port", "0"])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and "Traceback" not in result.output
    assert not (tmp_path / "none.db").exists()


def test_a_port_in_use_is_one_clean_line(archive_db: tuple[Path, dict[str, int]]) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "--db", str(archive_db[0]), "--port", str(port)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: cannot listen on 127.0.0.1:{port}") and "--port" in result.output
    assert "Traceback" not in result.output


def test_help_shows_examples() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0 and "Examples:" in result.output and "--host" in result.output


# --- in a real browser -----------------------------------------------------------------------------


@pytest.mark.browser
def test_the_search_page_and_the_dashboard_show_rows_and_charts_in_chromium(
    server: Server, real_browser: str, tmp_path: Path
) -> None:
    """What a researcher sees: a search result row, and the dashboard's charts drawn (Vega renders an svg/canvas)."""
    from playwright.sync_api import sync_playwright

    from crawler.browser.chromium import chromium_args

    search_shot, dashboard_shot = tmp_path / "search.png", tmp_path / "dashboard.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=real_browser, headless=True, args=chromium_args())
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{server.base}/archive/articles?_search=harbour", wait_until="networkidle")
            page.screenshot(path=search_shot, full_page=True)
            row = page.locator("table.rows-and-columns tbody tr")
            assert row.count() == 1 and row.first.is_visible(), f"no result row; screenshot: {search_shot}"
            # The first screen (1000 px) shows the search box and the first row begins on it, not only column descriptions.
            search_box = page.locator("form.filters input#_search").bounding_box()
            first_row = row.first.bounding_box()
            assert search_box and search_box["y"] + search_box["height"] < 1000, (
                f"{search_box}; screenshot: {search_shot}"
            )
            assert first_row and first_row["y"] < 1000, (
                f"first row below the fold: {first_row}; screenshot: {search_shot}"
            )
            assert "Harbour story 1" in row.first.inner_text(), f"screenshot: {search_shot}"

            page.goto(f"{server.base}/-/dashboards/{DASHBOARD_NAME}", wait_until="networkidle")
            charts = page.locator(".vega-embed canvas, .vega-embed svg.marks")
            try:
                charts.first.wait_for(state="visible", timeout=20_000)
            finally:
                page.screenshot(path=dashboard_shot, full_page=True)
            assert charts.count() >= 2, f"expected both charts drawn; screenshot: {dashboard_shot}"
            box = charts.first.bounding_box()
            assert box and box["width"] > 50 and box["height"] > 50, (
                f"chart too small: {box}; screenshot: {dashboard_shot}"
            )
        finally:
            browser.close()
    print(f"screenshots: {search_shot} {dashboard_shot}")
