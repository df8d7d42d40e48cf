"""What starting costs: which heavy libraries a bare import loads, checked in a fresh Python each time.

`import archive` must not load datasketch, scipy or numpy (MinHash code imports them when it
computes a signature); `import crawler.cli.main` (all `newsarchive --help` needs) must not load
Scrapy, Twisted, scipy or rich. An honest check of sys.modules, not a timing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from archive import Archive
from crawler.cli.main import main

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MINHASH_LIBRARIES = {"datasketch", "scipy", "numpy"}
CRAWL_LIBRARIES = {"scrapy", "twisted", "scrapy_playwright", "playwright", "trafilatura"}


def top_level_modules_after(code: str) -> set[str]:
    """Top-level packages in sys.modules after running `code` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    return {name.split(".")[0] for name in json.loads(result.stdout.splitlines()[-1])}


def test_import_archive_loads_no_minhash_libraries() -> None:
    loaded = top_level_modules_after("import archive\nfrom archive import ArchiveError, SaveResult, to_utc_iso")
    assert not loaded & MINHASH_LIBRARIES, loaded & MINHASH_LIBRARIES


def test_reading_and_writing_without_a_signature_load_no_datasketch(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    with Archive(db) as archive:
        run_id = archive.start_run("alpha")
        archive.finish_run(run_id, "succeeded")
    code = f"""
from archive import Archive, ArchiveReader
with ArchiveReader({str(db)!r}) as reader:
    assert reader.runs()[0]["status"] == "succeeded"
with Archive({str(db)!r}) as archive:
    run_id = archive.start_run("alpha")
    # Too short to compare for near duplicates: no MinHash is computed.
    archive.save_article(run_id, {{"url": "https://alpha.example/a", "text": "A short notice."}}, {{"status": 200}})
"""
    # numpy may come with sqlite-utils (it imports numpy when installed); scipy comes only with datasketch.
    assert not top_level_modules_after(code) & {"datasketch", "scipy"}


def test_a_long_article_still_gets_its_signature(tmp_path: Path) -> None:
    """The lazy imports are still made where a MinHash is computed."""
    with Archive(tmp_path / "archive.db") as archive:
        run_id = archive.start_run("alpha")
        text = " ".join(f"word{number}" for number in range(80))
        result = archive.save_article(run_id, {"url": "https://alpha.example/a", "text": text}, {"status": 200})
        (count,) = archive.db.execute(
            "SELECT count(*) FROM article_minhashes WHERE article_id = ?", [result.article_id]
        ).fetchone()
    assert count == 1


def test_computing_a_signature_loads_neither_datasketch_nor_scipy(tmp_path: Path) -> None:
    """archive.minhash computes datasketch's values with numpy alone (scipy: ~55 MB and ~1 s per process)."""
    code = f"""
from archive import Archive
with Archive({str(tmp_path / "archive.db")!r}) as archive:
    run_id = archive.start_run("alpha")
    text = " ".join(f"word{{number}}" for number in range(80))
    result = archive.save_article(run_id, {{"url": "https://alpha.example/a", "text": text}}, {{"status": 200}})
    assert archive.db.execute("SELECT count(*) FROM article_minhashes").fetchone()[0] == 1
"""
    assert not top_level_modules_after(code) & {"datasketch", "scipy"}


def test_the_command_line_module_loads_neither_scrapy_nor_rich_nor_minhash_libraries() -> None:
    loaded = top_level_modules_after("import crawler.cli.main")
    assert not loaded & (CRAWL_LIBRARIES | MINHASH_LIBRARIES | {"rich", "apscheduler"}), loaded


def test_loading_a_sources_file_loads_no_crawl_library() -> None:
    # status, runs, logs and doctor read the sources file: that must not cost a Scrapy start.
    loaded = top_level_modules_after("from crawler.sources.config import load_config, adhoc_source")
    assert not loaded & (CRAWL_LIBRARIES | MINHASH_LIBRARIES), loaded & (CRAWL_LIBRARIES | MINHASH_LIBRARIES)


def test_help_still_lists_every_command() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    listed = {line.split()[0] for line in result.output.split("Commands:")[1].splitlines() if line.strip()}
    assert listed == {
        "backup",
        "boilerplate",
        "crawl",
        "demo",
        "doctor",
        "export",
        "history",
        "logs",
        "reextract",
        "runs",
        "schedule",
        "search",
        "serve",
        "show",
        "stats",
        "status",
        "worker",
        "writer",
    }


def test_the_help_text_default_archive_is_the_sources_file_default() -> None:
    from crawler.sources.config import DEFAULT_ARCHIVE_DB as SOURCES_DEFAULT

    for command in ("crawl", "status", "runs"):
        help_text = " ".join(CliRunner().invoke(main, [command, "--help"]).output.split())  # as if unwrapped
        assert f"else {SOURCES_DEFAULT})" in help_text


def test_read_commands_load_neither_pandas_nor_numpy_nor_pyarrow(tmp_path: Path) -> None:
    """sqlite-utils imports pandas and numpy when installed (half a second); the command line hides them
    from it (archive/lean_imports.py): search, show, stats and a CSV export need neither."""
    db = tmp_path / "archive.db"
    with Archive(db) as archive:
        run_id = archive.start_run("alpha")
        archive.save_article(
            run_id, {"url": "https://alpha.example/a", "title": "Harbour", "text": "Harbour wall."}, {}
        )
        archive.finish_run(run_id, "succeeded")
    for command in (["search", "harbour"], ["show", "1"], ["stats"], ["export", "--format", "csv", "-o", "-"]):
        code = f"from crawler.cli.main import main\nmain({[*command, '--db', str(db)]!r}, standalone_mode=False)"
        loaded = top_level_modules_after(code)
        assert not loaded & {"pandas", "numpy", "pyarrow", *CRAWL_LIBRARIES}, (command, loaded & {"pandas", "numpy"})


def test_pandas_and_numpy_still_import_after_the_lean_import() -> None:
    loaded = top_level_modules_after(
        "from archive.lean_imports import import_sqlite_utils_lean\nimport_sqlite_utils_lean()\n"
        "import sqlite_utils, pandas, numpy\nassert pandas.DataFrame({'a': [1]}).shape == (1, 1)"
    )
    assert {"sqlite_utils", "pandas", "numpy"} <= loaded


def test_the_crawl_process_loads_neither_the_extractor_nor_pandas() -> None:
    """The crawl process sends pages to the extraction workers; importing trafilatura (~25 MB) or
    pandas through sqlite-utils (~60 MB where installed) would cost it that memory for the whole crawl."""
    loaded = top_level_modules_after(
        "from crawler.run import crawl_process\n"
        "from archive.lean_imports import import_sqlite_utils_lean\nimport_sqlite_utils_lean()\n"
        "import spiders.news, pipelines.archive, pipelines.extract, pipelines.signature, pipelines.boilerplate\n"
        "import crawler.middlewares.render_pages, crawler.extraction.pool, spiders.reading"
    )
    assert "scrapy" in loaded
    assert not loaded & {"trafilatura", "pandas", "justext", "htmldate", "py3langid"}, loaded
