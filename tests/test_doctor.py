"""crawler.ops.doctor: the readiness checks on real sources files, real archives and the real browser."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from archive import Archive
from archive.migrations import MIGRATIONS
from crawler.ops import doctor
from crawler.ops.doctor import Check, exit_code, format_checks
from crawler.run.crawl_process import build_settings
from tests.jssite import JsArticle

WITH_BROWSER = dict(os.environ)
NO_BROWSER = {"PATH": ""}


def run_checks(config: Path | None, db: Path | None, environ: dict[str, str]) -> list[Check]:
    return doctor.run_checks(config, db, environ, build_settings())


def write_sources(folder: Path, render_js: str = "auto", extra: str = "") -> Path:
    path = folder / "sources.toml"
    path.write_text(f"""
[archive]
db = "data/archive.db"

[scheduler]
log_dir = "run-logs"
jobstore = "state/scheduler.db"

[[sources]]
name = "lantern"
start_urls = ["https://lantern.example/"]
render_js = "{render_js}"
{extra}
""")
    return path


def make_archive(db: Path, articles: int) -> None:
    with Archive(db) as archive:
        run_id = archive.start_run("lantern")
        for number in range(1, articles + 1):
            story = JsArticle("static", number)
            url = f"https://lantern.example/static/{number}/"
            archive.save_article(
                run_id,
                {"url": url, "title": story.title, "text": "\n".join(story.paragraphs())},
                {"url": url, "status": 200},
            )
        archive.finish_run(run_id, "succeeded")


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


@pytest.mark.browser
def test_a_good_setup_passes_every_check(tmp_path: Path, real_browser: str) -> None:
    config = write_sources(tmp_path, render_js="always")
    make_archive(tmp_path / "data" / "archive.db", articles=3)
    checks = run_checks(config, None, WITH_BROWSER)
    named = by_name(checks)
    assert list(named) == ["python", "sources file", "archive", "browser", "log folder", "jobstore folder"]
    assert all(check.ok for check in checks), format_checks(checks)
    assert exit_code(checks) == 0
    archive = named["archive"].detail
    assert "3 articles" in archive and f"schema {len(MIGRATIONS)}/{len(MIGRATIONS)} migrations" in archive
    assert "journal wal" in archive and "integrity ok" in archive
    assert named["browser"].required and named["browser"].detail.startswith("Chromium ")
    assert str(tmp_path / "run-logs") in named["log folder"].detail
    assert str(tmp_path / "state") in named["jobstore folder"].detail
    report = format_checks(checks)
    assert report.splitlines()[-1] == "Ready to crawl."
    assert all(line.startswith("✓ ") for line in report.splitlines()[:-1])


def test_doctor_never_changes_the_archive(tmp_path: Path) -> None:
    config = write_sources(tmp_path)
    db = tmp_path / "data" / "archive.db"
    make_archive(db, articles=2)
    before = db.read_bytes()
    run_checks(config, None, NO_BROWSER)
    assert db.read_bytes() == before


def test_a_missing_archive_is_fine_and_says_where_it_will_be(tmp_path: Path) -> None:
    db = tmp_path / "new" / "archive.db"
    checks = run_checks(None, db, NO_BROWSER)
    archive = by_name(checks)["archive"]
    assert archive.ok and f"will be created at {db}" in archive.detail
    assert not db.exists() and not db.parent.exists()


def test_a_broken_sources_file_lists_every_problem(tmp_path: Path) -> None:
    config = write_sources(tmp_path, extra='colour = "blue"\nfeeds = ["not a url"]')
    checks = run_checks(config, None, NO_BROWSER)
    sources = by_name(checks)["sources file"]
    assert not sources.ok and sources.required
    assert "2 problems" in sources.detail
    assert "colour" in sources.detail and "not a url" in sources.detail
    assert exit_code(checks) == 1
    report = format_checks(checks)
    assert "✗ sources file:" in report and "fix: fix each problem listed" in report
    assert report.splitlines()[-1].startswith("1 problem to fix before crawling")


def test_a_file_that_is_not_an_archive_fails_with_the_fix(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    db.write_bytes(b"this is not SQLite at all\n" * 200)
    checks = run_checks(None, db, NO_BROWSER)
    archive = by_name(checks)["archive"]
    assert not archive.ok and archive.required
    assert str(db) in archive.detail and "not a SQLite database or is corrupt" in archive.detail
    assert archive.fix is not None and ".recover" in archive.fix
    assert exit_code(checks) == 1


def test_an_archive_with_damaged_pages_fails(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    make_archive(db, articles=3)
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    data = bytearray(db.read_bytes())
    for page in range(2, pages):  # keep page 1 (the header) so the file still looks like SQLite
        start = page * page_size
        data[start + 8 : start + 64] = b"\xa5" * 56
    db.write_bytes(bytes(data))
    archive = by_name(run_checks(None, db, NO_BROWSER))["archive"]
    assert not archive.ok and archive.required
    assert str(db) in archive.detail
    assert archive.fix is not None and "recover" in archive.fix
    assert "integrity check failed" in archive.detail or "corrupt" in archive.detail


def test_an_archive_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    make_archive(db, articles=1)
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO schema_migrations (id, name, applied_at) VALUES (99, 'future', '2030-01-01')")
    conn.close()
    archive = by_name(run_checks(None, db, NO_BROWSER))["archive"]
    assert not archive.ok and "[99]" in archive.detail and archive.fix == "upgrade newsarchive to open this archive"


def test_no_browser_is_a_warning_for_auto_sources(tmp_path: Path) -> None:
    config = write_sources(tmp_path, render_js="auto")
    checks = run_checks(config, None, NO_BROWSER)
    browser = by_name(checks)["browser"]
    assert not browser.ok and not browser.required
    assert "auto sources will use plain HTTP" in browser.detail.replace('"auto"', "auto")
    assert browser.fix is not None and "apt-get install chromium" in browser.fix
    assert exit_code(checks) == 0
    report = format_checks(checks)
    assert "! browser: no Chrome or Chromium found" in report
    assert report.splitlines()[-1] == "Ready to crawl, with 1 warning."


def test_no_browser_fails_when_a_source_must_always_render(tmp_path: Path) -> None:
    config = write_sources(tmp_path, render_js="always")
    checks = run_checks(config, None, NO_BROWSER)
    browser = by_name(checks)["browser"]
    assert not browser.ok and browser.required
    assert "lantern" in browser.detail
    assert exit_code(checks) == 1
    assert "✗ browser:" in format_checks(checks)


def test_a_wrong_browser_in_the_environment_is_named(tmp_path: Path) -> None:
    checks = run_checks(None, tmp_path / "archive.db", {"PATH": "", "NEWSARCHIVE_BROWSER": str(tmp_path / "chrome")})
    browser = by_name(checks)["browser"]
    assert not browser.ok and "Environment variable NEWSARCHIVE_BROWSER" in browser.detail
    assert "Fix" not in browser.detail and browser.fix is not None and "full path" in browser.fix


def test_a_program_that_is_not_a_browser_fails_the_browser_check(tmp_path: Path) -> None:
    checks = run_checks(None, tmp_path / "archive.db", {"PATH": "", "NEWSARCHIVE_BROWSER": "/bin/true"})
    browser = by_name(checks)["browser"]
    assert not browser.ok and "/bin/true is not a working headless Chrome/Chromium" in browser.detail
    assert "Fix" not in browser.detail and browser.fix is not None and "apt-get install chromium" in browser.fix


def test_never_rendering_sources_do_not_need_a_browser(tmp_path: Path) -> None:
    config = write_sources(tmp_path, render_js="never")
    browser = by_name(run_checks(config, None, NO_BROWSER))["browser"]
    assert browser.ok and not browser.required


def test_a_log_folder_that_cannot_exist_fails(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the archive's folder should be")
    checks = run_checks(None, blocker / "archive.db", NO_BROWSER)
    named = by_name(checks)
    assert not named["log folder"].ok and "is not a folder" in named["log folder"].detail
    assert not named["archive"].ok and "cannot be created" in named["archive"].detail
    assert exit_code(checks) == 1


def test_an_archive_that_refuses_writes_fails_with_the_fix(tmp_path: Path) -> None:
    """A read-only archive (here: SQLite's write-version header byte, which makes SQLite read the file
    but refuse every write, as a read-only file or mount does; chmod does not bind root)."""
    db = tmp_path / "archive.db"
    make_archive(db, articles=1)
    with db.open("r+b") as handle:
        handle.seek(18)
        handle.write(bytes([3]))
    before = db.read_bytes()
    archive = by_name(run_checks(None, db, NO_BROWSER))["archive"]
    assert not archive.ok and "cannot be written" in archive.detail and "writable" in archive.fix
    assert db.read_bytes() == before
