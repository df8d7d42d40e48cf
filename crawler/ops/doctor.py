"""``newsarchive doctor``: is this machine ready to crawl? One check per thing that can be wrong.

:func:`run_checks` looks at the Python and its packages, the sources file, the archive (read only:
it is never created, migrated or changed here), the browser for JavaScript pages, and the folders
crawls write to (log files, the scheduler's job store). :func:`format_checks` prints them for a
person, each failure with its fix; :func:`exit_code` is 1 when a check that crawling needs failed.

The browser is needed only when a source has ``render_js = "always"``; otherwise a missing
browser is a warning ("auto" sources then use plain HTTP). Driven by the sources file, the
``NEWSARCHIVE_BROWSER`` environment variable and PATH; nothing else.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from archive.reader import ArchiveFacts

from crawler.sources.ops_tables import RenderMode

MIN_PYTHON = (3, 11)
CORE_PACKAGES = ("scrapy", "trafilatura", "sqlite-utils", "w3lib", "click")
RENDER_PACKAGES = ("scrapy-playwright", "playwright")
BROWSER_CHECK_TIMEOUT_S = 30.0
OK_MARK, FAIL_MARK, WARN_MARK = "✓", "✗", "!"


@dataclass(frozen=True)
class Check:
    """One verdict: ``ok`` or not, what was found, and how to fix it; ``required`` failures stop crawls."""

    name: str
    ok: bool
    detail: str
    fix: str | None = None
    required: bool = True


def _package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def check_python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    packages = {name: _package_version(name) for name in (*CORE_PACKAGES, *RENDER_PACKAGES)}
    found = ", ".join(f"{name} {packages[name]}" for name in packages if packages[name])
    detail = f"Python {version} ({sys.executable}); {found}"
    if sys.version_info[:2] < MIN_PYTHON:
        wanted = ".".join(map(str, MIN_PYTHON))
        return Check("python", False, detail, f"use Python {wanted} or newer (e.g. python{wanted} -m venv .venv)")
    missing = [name for name in CORE_PACKAGES if packages[name] is None]
    if missing:
        return Check(
            "python",
            False,
            f"{detail}; missing: {', '.join(missing)}",
            "install newsarchive into this Python: pip install -e . (from the repository)",
        )
    return Check("python", True, detail)


def check_sources(config_path: Path | None) -> tuple[Check, Any]:
    """The sources file's check and the loaded Config (None when there is no usable file)."""
    from crawler.sources.config import ConfigError, load_config

    if config_path is None:
        return Check(
            "sources file", True, "none given: only ad hoc crawls of URLs (pass --config sources.toml)", required=False
        ), None
    try:
        config = load_config(config_path)
    except ConfigError as error:
        problems = "\n".join(f"- {problem}" for problem in error.problems)
        count = len(error.problems)
        return Check(
            "sources file",
            False,
            f"{config_path}: {count} problem{'s' * (count != 1)}\n{problems}",
            "fix each problem listed (reference: docs/sources.md)",
        ), None
    modes = sorted({getattr(source, "render_js", RenderMode.AUTO) for source in config.sources})
    return Check(
        "sources file", True, f"{config_path}: {len(config.sources)} source(s), render_js {'/'.join(modes)}"
    ), config


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def _nearest_existing_folder(path: Path) -> Path:
    folder = path.absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _can_write_in(folder: Path) -> str | None:
    """None when a file can really be created in ``folder``; otherwise why not."""
    if not folder.is_dir():
        return f"{folder} is not a folder"
    try:
        handle, probe = tempfile.mkstemp(prefix=".newsarchive-doctor-", dir=folder)
    except OSError as error:
        return f"cannot create a file in {folder}: {error.strerror}"
    os.close(handle)
    os.unlink(probe)
    return None


def check_archive(db: Path) -> Check:
    """Open an existing archive read-only (archive.ArchiveReader) and report its schema, integrity, journal mode and size."""
    from archive import ArchiveError, ArchiveReader

    if not db.exists():
        folder = _nearest_existing_folder(db.parent)
        problem = _can_write_in(folder)
        if problem:
            return Check(
                "archive",
                False,
                f"{db} does not exist and cannot be created: {problem}",
                "choose a writable location with --db or [archive] db in the sources file",
            )
        return Check("archive", True, f"{db} does not exist yet: it will be created at {db.absolute()}")
    if db.is_dir():
        return Check(
            "archive",
            False,
            f"{db} is a folder, not an archive file",
            "point --db (or [archive] db) at a file, e.g. data/archive.db",
        )
    try:
        with ArchiveReader(db, timeout=5, check=False) as reader:
            described = _describe_archive(db, reader.facts(), reader.integrity_problems())
    except ArchiveError as error:
        return Check("archive", False, error.problem, error.fix)
    refused = _write_refused(db) if described.ok else None
    return described if refused is None else Check("archive", False, refused.problem, refused.fix)


def _write_refused(db: Path) -> Any:
    """The ArchiveError a crawl would meet writing ``db`` (read-only file or mount), None when it can write.

    Nothing changes in the file (archive.connection.check_writable rolls back); a lock another writer
    holds (a crawl running) is no problem of the file's."""
    import sqlite3

    from sqlite_utils import Database

    from archive import ArchiveError
    from archive.connection import check_writable, is_busy

    connection = sqlite3.connect(str(db), timeout=2, isolation_level=None)
    try:
        check_writable(Database(connection), db)
    except ArchiveError as error:
        return None if is_busy(error) else error
    finally:
        connection.close()
    return None


def _describe_archive(db: Path, facts: ArchiveFacts, integrity_problems: Sequence[str]) -> Check:
    """The verdict on an archive from its facts and SQLite's quick_check findings."""
    tables, applied, known = facts.tables, facts.applied, facts.known
    summary = [
        f"{db}: {facts.articles} articles, {_human_size(facts.size_bytes)}",
        f"schema {len(applied & known)}/{len(known)} migrations",
        f"journal {facts.journal_mode}",
    ]
    if integrity_problems:
        shown = "; ".join(integrity_problems[:5])
        return Check(
            "archive",
            False,
            f"{', '.join(summary)}; integrity check failed: {shown}",
            f"salvage it: sqlite3 {db} .recover | sqlite3 recovered.db, then use recovered.db",
        )
    newer = sorted(applied - known)
    if newer:
        return Check(
            "archive",
            False,
            f"{', '.join(summary)}; migrations {newer} come from a newer newsarchive",
            "upgrade newsarchive to open this archive",
        )
    if tables and "schema_migrations" not in tables:
        return Check(
            "archive",
            False,
            f"{db} is a SQLite file but not a newsarchive archive (tables: {', '.join(sorted(tables)[:6])})",
            "point --db at a newsarchive archive, or at a new file",
        )
    notes = []
    pending = sorted(known - applied)
    if pending:
        notes.append(f"migrations {pending} will be applied at the next crawl")
    if facts.journal_mode != "wal":
        notes.append("it switches to WAL at the next crawl")
    return Check("archive", True, ", ".join(summary) + (f" ({'; '.join(notes)})" if notes else "") + ", integrity ok")


def check_browser_ready(config: Any, environ: Mapping[str, str], settings: Any) -> Check:
    """Find and really launch the browser; required only when a source must always render."""
    from crawler.browser.chromium import INSTALL_HINT, check_browser
    from crawler.browser.render_settings import RenderSettings, SettingError

    sources = config.sources if config is not None else ()
    modes = [getattr(source, "render_js", RenderMode.AUTO) for source in sources]
    always = [source.name for source, mode in zip(sources, modes) if mode == RenderMode.ALWAYS]
    if sources and all(mode == RenderMode.NEVER for mode in modes):
        return Check("browser", True, 'not needed: every source has render_js = "never"', required=False)
    required = bool(always)
    needed_by = f' (needed by render_js = "always" sources: {", ".join(always)})' if always else ""
    try:
        render = RenderSettings.from_settings(settings, environ)
    except SettingError as error:
        return Check("browser", False, f"{error.problem.rstrip('.')}{needed_by}", error.fix.rstrip("."), required)
    if render.executable_path is None:
        fallback = "" if required else '; "auto" sources will use plain HTTP and miss pages that need JavaScript'
        return Check("browser", False, f"no Chrome or Chromium found{needed_by}{fallback}", INSTALL_HINT, required)
    result = check_browser(render.executable_path, BROWSER_CHECK_TIMEOUT_S)
    if result.ok:
        return Check("browser", True, f"{result.detail}, starts headless and runs JavaScript", required=required)
    return Check("browser", False, result.detail + needed_by, result.fix or INSTALL_HINT, required)


def check_writable_folder(name: str, folder: Path, purpose: str) -> Check:
    existing = _nearest_existing_folder(folder)
    problem = _can_write_in(existing)
    if problem:
        return Check(
            name,
            False,
            f"{folder} ({purpose}): {problem}",
            f"make {existing} writable for this user, or choose another folder in the sources file",
        )
    state = "writable" if existing == folder.absolute() else f"will be created (inside writable {existing})"
    return Check(name, True, f"{folder}: {state}")


def run_checks(config_path: Path | None, db: Path | None, environ: Mapping[str, str], settings: Any) -> list[Check]:
    """Every check, in the order a person would fix them; ``db`` overrides the sources file's archive.

    ``settings``: the crawl's Scrapy settings (crawler.run.crawl_process.build_settings), for the
    browser settings; ``environ``: where the browser is looked for.
    """
    from crawler.sources.config import DEFAULT_ARCHIVE_DB

    checks = [check_python()]
    sources_check, config = check_sources(config_path)
    checks.append(sources_check)
    archive_db = Path(db or (config.archive.db if config is not None else DEFAULT_ARCHIVE_DB))
    checks.append(check_archive(archive_db))
    checks.append(check_browser_ready(config, environ, settings))
    log_dir = config.scheduler.log_dir if config is not None else archive_db.parent / "logs"
    checks.append(check_writable_folder("log folder", log_dir, "per-run log files"))
    if config is not None:
        jobstore = config.scheduler.jobstore
        checks.append(check_writable_folder("jobstore folder", jobstore.parent, f"the scheduler's {jobstore.name}"))
    return checks


def format_checks(checks: Sequence[Check]) -> str:
    """One line per check (✓ ok, ✗ failed, ! failed but not needed), details indented, then the fix."""
    lines = []
    for check in checks:
        mark = OK_MARK if check.ok else (FAIL_MARK if check.required else WARN_MARK)
        first, *rest = check.detail.splitlines() or [""]
        lines.append(f"{mark} {check.name}: {first}")
        lines.extend(f"    {line}" for line in rest)
        if not check.ok and check.fix:
            lines.append(f"    fix: {check.fix}")
    failed = sum(1 for check in checks if not check.ok and check.required)
    warned = sum(1 for check in checks if not check.ok and not check.required)
    if failed:
        lines.append(
            f"{failed} problem{'s' * (failed != 1)} to fix before crawling"
            + (f", {warned} warning{'s' * (warned != 1)}" if warned else "")
            + "."
        )
    elif warned:
        lines.append(f"Ready to crawl, with {warned} warning{'s' * (warned != 1)}.")
    else:
        lines.append("Ready to crawl.")
    return "\n".join(lines)


def exit_code(checks: Sequence[Check]) -> int:
    """1 when a required check failed, else 0 (warnings do not count)."""
    return 1 if any(not check.ok and check.required for check in checks) else 0
