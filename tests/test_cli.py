"""The newsarchive command line, through click's CliRunner (crawls run in a real child process)."""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli.main import main
from crawler.demo import serve_demo_site
from crawler.demo.app import demo_article_paths

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def rows(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(db) as connection:
        return list(connection.execute(sql, params))


@pytest.mark.parametrize("command", [[], *[[name] for name in main.commands]])
def test_every_command_has_help_with_an_example(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output
    assert "newsarchive " in result.output


def test_crawl_without_target_explains_what_to_give() -> None:
    result = CliRunner().invoke(main, ["crawl"])
    assert result.exit_code == 2
    assert "give a site URL or --config" in result.output


def test_source_names_need_a_config() -> None:
    result = CliRunner().invoke(main, ["crawl", "example"])
    assert result.exit_code == 2
    assert "need --config" in result.output


def test_broken_sources_file_names_file_source_and_field_and_crawls_nothing(tmp_path: Path) -> None:
    config = tmp_path / "sources.toml"
    config.write_text(
        '[archive]\ndb = "out.db"\n\n[[sources]]\nname = "local"\nstart_urls = ["http://127.0.0.1:9/"]\n'
        'max_pages = "many"\n'
    )
    result = CliRunner().invoke(main, ["crawl", "--config", str(config)])
    assert result.exit_code == 2
    assert "sources.toml" in result.output
    assert "source 'local'" in result.output
    assert "max_pages" in result.output
    assert not (tmp_path / "out.db").exists()


def test_a_config_error_keeps_its_brackets(tmp_path: Path) -> None:
    """Error messages quote TOML tables ("[sourcez]", "[[sources]]"): printed as written, not read as markup."""
    config = tmp_path / "sources.toml"
    config.write_text('[sourcez]\nname = "local"\n')
    result = CliRunner().invoke(main, ["crawl", "--config", str(config)])
    assert result.exit_code == 2
    assert "unknown table [sourcez]" in result.output
    assert "add a [[sources]] table" in result.output


def test_a_crawl_url_with_a_password_is_refused_before_anything_starts(tmp_path: Path) -> None:
    db = tmp_path / "out.db"
    result = CliRunner().invoke(main, ["crawl", "https://reader:hunter2@127.0.0.1:9/", "--db", str(db)])
    assert result.exit_code == 2
    assert "carries a user name or password" in result.output and "https://***@127.0.0.1:9/" in result.output
    assert "hunter2" not in result.output
    assert not db.exists()


def test_a_corrupt_archive_is_one_line_with_the_fix_not_a_traceback(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    db.write_bytes(b"not a database " * 200)
    for command in (["crawl", "http://127.0.0.1:9/", "--db", str(db)], ["demo", "--db", str(db), "--port", "0"]):
        result = CliRunner().invoke(main, [*command, "--no-progress"])
        assert result.exit_code == 2, result.output
        assert "is not a SQLite database or is corrupt" in result.output and ".recover" in result.output
        assert "error: Archive " in result.output and "Traceback" not in result.output
    assert db.read_bytes() == b"not a database " * 200  # untouched


def test_titles_and_urls_in_the_crawl_summary_are_shown_as_written() -> None:
    from rich.console import Console

    from crawler.cli.progress import articles_table, runs_table

    console = Console(width=200, record=True, highlight=False)
    console.print(
        articles_table([{"id": 1, "title": "[update] Storm [b]hits[/b]", "url": "https://n.example/[a]"}], "t")
    )
    console.print(runs_table([{"id": 1, "source": "[red]news", "status": "succeeded"}], "t"))
    shown = console.export_text()
    assert "[update] Storm [b]hits[/b]" in shown and "https://n.example/[a]" in shown and "[red]news" in shown


def test_unknown_source_name_lists_the_known_ones(tmp_path: Path) -> None:
    config = tmp_path / "sources.toml"
    config.write_text('[[sources]]\nname = "local"\nstart_urls = ["http://127.0.0.1:9/"]\n')
    result = CliRunner().invoke(main, ["crawl", "nosuch", "--config", str(config)])
    assert result.exit_code == 2
    assert "nosuch" in result.output and "local" in result.output


@pytest.mark.e2e
@pytest.mark.slow
def test_demo_archives_every_demo_article_once(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    result = CliRunner().invoke(main, ["demo", "--db", str(db), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "Crawl summary" in result.output
    archived = rows(db, "SELECT url, title FROM articles")
    paths = sorted("/" + url.split("/", 3)[3] for url, _ in archived)
    assert paths == sorted(demo_article_paths())
    for _, title in archived:
        assert title in result.output  # the command prints what it archived
    (status,) = rows(db, "SELECT status FROM crawl_runs")[0]
    assert status == "succeeded"
    # The crawl's stderr (WARNING and above) is shown: a demo that goes well says nothing alarming,
    # in particular not that the browser middleware is off (the demo renders nothing, on purpose).
    assert "WARNING" not in result.output, result.output


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.e2e
@pytest.mark.slow
def test_a_second_demo_run_is_a_clean_recrawl_of_the_same_site(tmp_path: Path) -> None:
    """The demo site keeps its port (so its URLs) from run to run: run 2 finds the same articles, no errors."""
    db = tmp_path / "demo.db"
    port = str(free_port())
    for _ in (1, 2):
        result = CliRunner().invoke(main, ["demo", "--db", str(db), "--port", port, "--no-progress"])
        assert result.exit_code == 0, result.output
        assert "Traceback" not in result.output and "ERROR" not in result.output, result.output
    runs = rows(db, "SELECT id, status, errors, articles_new, articles_duplicate FROM crawl_runs ORDER BY id")
    assert [run[:3] for run in runs] == [(1, "succeeded", 0), (2, "succeeded", 0)]
    assert runs[1][3:] == (0, 0)  # nothing new, nothing archived again as a copy
    assert len(rows(db, "SELECT id FROM articles")) == len(demo_article_paths())
    assert all(url.startswith(f"http://127.0.0.1:{port}/") for (url,) in rows(db, "SELECT url FROM articles"))
    aliases = rows(db, "SELECT url, reason FROM url_aliases")
    assert aliases and not [alias for alias in aliases if alias[1] == "duplicate"], aliases
    (requests, responses_2xx, responses_4xx, browser_first) = rows(
        db, "SELECT requests, responses_2xx, responses_4xx, browser_first FROM crawl_runs WHERE id = 1"
    )[0]
    assert responses_2xx + responses_4xx <= requests and browser_first == 0


def test_demo_on_a_busy_port_says_which_option_to_change(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(main, ["demo", "--db", str(tmp_path / "demo.db"), "--port", str(port)])
    assert result.exit_code == 2, result.output
    assert f"port {port} is busy" in result.output and "--port" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "demo.db").exists()


def test_a_crawl_that_renders_nothing_logs_no_warning_for_the_render_middleware(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Scrapy logs "Disabled X: message" at WARNING when NotConfigured carries a message in its args; ours does not."""
    from scrapy.core.downloader.middleware import DownloaderMiddlewareManager
    from scrapy.exceptions import NotConfigured

    from crawler.middlewares.render_pages import RenderPagesMiddleware
    from tests.inprocess import component_crawler

    def crawler(rendering: bool):
        middleware = "crawler.middlewares.render_pages.RenderPagesMiddleware"
        return component_crawler(
            DOWNLOADER_MIDDLEWARES_BASE={},
            DOWNLOADER_MIDDLEWARES={middleware: 950},
            NEWSARCHIVE_RENDER_ENABLED=rendering,
        )

    for rendering in (False, True):
        caplog.clear()
        with caplog.at_level(logging.DEBUG):
            manager = DownloaderMiddlewareManager.from_crawler(crawler(rendering))
        assert len(manager.middlewares) == (1 if rendering else 0)
        assert not [record for record in caplog.records if record.levelno >= logging.WARNING], caplog.text
        if not rendering:
            assert "no source of this crawl renders pages in a browser" in caplog.text  # said, at DEBUG
    # Whoever catches the exception still reads why.
    with pytest.raises(NotConfigured, match="no source of this crawl renders pages in a browser"):
        RenderPagesMiddleware.from_crawler(crawler(False))


@pytest.mark.e2e
@pytest.mark.slow
def test_dead_server_fails_the_run_and_says_so(tmp_path: Path) -> None:
    db = tmp_path / "dead.db"
    with serve_demo_site() as site:
        dead_url = site.base_url + "/"
    # The server is gone: nothing listens on that port any more.
    result = CliRunner().invoke(main, ["crawl", dead_url, "--db", str(db), "--no-progress", "-s", "RETRY_TIMES=0"])
    assert result.exit_code == 1
    assert "failed" in result.output
    errors = rows(db, "SELECT reason FROM fetches WHERE outcome = 'error'")
    assert errors and all("Connection" in reason or "refused" in reason.lower() for (reason,) in errors)


@pytest.mark.e2e
@pytest.mark.slow
def test_scrapy_crawl_news_from_the_project_root(tmp_path: Path) -> None:
    db = tmp_path / "scrapy.db"
    with serve_demo_site() as site:
        config = tmp_path / "sources.toml"
        config.write_text(
            f'[archive]\ndb = "{db.name}"\n\n[[sources]]\nname = "harbridge"\n'
            f'start_urls = ["{site.base_url}/"]\ndownload_delay = 0.0\nconcurrency = 4\n'
        )
        environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "scrapy",
                "crawl",
                "news",
                "-a",
                "source=harbridge",
                "-a",
                f"config={config}",
                "-s",
                "LOG_LEVEL=WARNING",
            ],
            cwd=PROJECT_ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert completed.returncode == 0, completed.stderr
    sources = rows(db, "SELECT DISTINCT source FROM articles")
    assert sources == [("harbridge",)]
    assert len(rows(db, "SELECT id FROM articles")) == len(demo_article_paths())
