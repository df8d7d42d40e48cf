"""The ``newsarchive`` command line: a thin layer over the crawl process and the archive.

Every command's help shows an example. Exit codes: 0 success, 1 a crawl failed, 2 bad usage,
a broken sources file or a bad archive: one line naming the file and the fix, the traceback only
with ``newsarchive --debug`` (crawler/cli/errors.py, one place for every command).

Only click and plain-Python modules (the sources file's field specs, for the defaults in help texts)
are imported up front: rich, the archive, the crawl runner, Scrapy and the scheduler are imported
inside the commands that use them, so ``newsarchive --help`` and a mistyped command answer at once
(tests/test_startup.py checks it).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from crawler.cli.backup import backup
from crawler.cli.boilerplate import boilerplate
from crawler.cli.distributed import worker, writer
from crawler.cli.errors import NewsarchiveGroup, note_archive
from crawler.cli.export import export
from crawler.cli.history import history
from crawler.cli.ops import DEFAULT_ARCHIVE_DB, logs, runs, status
from crawler.cli.reextract import reextract
from crawler.cli.research import search, show, stats
from crawler.cli.serve import serve
from crawler.demo import DEMO_PORT  # a plain constant (crawler.demo needs only the standard library)
from crawler.sources.config import source_default  # no Scrapy either: the sources file is plain Python
from crawler.sources.ops_tables import RenderMode

if TYPE_CHECKING:
    from rich.console import Console

    from crawler.cli.crawling import CrawlReport

ARTICLES_SHOWN = 20
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _console() -> Console:
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal:
        # Piped or logged output: wide enough that the summary's columns keep their names.
        console = Console(highlight=False, width=max(console.width, 200))
    return console


def _parse_settings(pairs: tuple[str, ...]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE (e.g. -s DOWNLOAD_TIMEOUT=10)", param_hint="-s")
        settings[name.strip()] = value
    return settings


def _show_report(console: Console, report: CrawlReport, articles_shown: int) -> None:
    from archive import ArchiveReader
    from crawler.cli.progress import articles_table, runs_table

    if not report.runs:
        console.print("[red]No crawl run was recorded[/red] (see the messages above).")
        return
    console.print(runs_table(report.runs, f"Crawl summary: {report.db}"))
    with ArchiveReader(report.db) as archive:
        for run in report.runs:
            articles = archive.run_articles(run["id"], limit=articles_shown or None)
            if articles:
                total = run.get("articles_new") or len(articles)
                shown = f" (first {len(articles)})" if total > len(articles) else ""
                console.print(articles_table(articles, f"New articles from {run['source']}, run {run['id']}{shown}"))


def _check_archive_writable(path: Path) -> None:
    """Create or migrate the archive and make sure it can be written, before anything starts.

    ArchiveError (corrupt, newer than this newsarchive, read-only) goes to the group: one line, exit 2.
    """
    from archive import Archive
    from archive.connection import check_writable

    with Archive(note_archive(path)) as archive:
        check_writable(archive.db, path)


@click.group(cls=NewsarchiveGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="newsarchive")
@click.option("--debug", is_flag=True, help="On an error, print the traceback too (for a bug report).")
def main(debug: bool) -> None:
    """newsarchive: crawl news sites into a research-grade SQLite archive.

    \b
    Examples:
      newsarchive demo                                  # crawl the built-in demo site
      newsarchive crawl https://news.example/ --db archive.db
      newsarchive crawl --config sources.toml           # every source, once, now
      newsarchive crawl example --config sources.toml   # one source
      newsarchive schedule --config sources.toml        # every source on its schedule, for months
      newsarchive status --config sources.toml          # what ran, what failed; exit 1 if unhealthy
      newsarchive doctor --config sources.toml          # browser, archive and config checks
      newsarchive backup backups/ --config sources.toml # a checked copy, while crawls run
      newsarchive --debug status                        # an error with its traceback
    """
    from archive.lean_imports import import_sqlite_utils_lean

    # Before any command: sqlite-utils would import pandas and numpy (half a second) for nothing here.
    import_sqlite_utils_lean()


@main.command()
@click.argument("targets", nargs=-1)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Sources file (TOML). TARGETS are then source names; none means all.",
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"SQLite archive (default: the sources file's [archive] db, else {DEFAULT_ARCHIVE_DB}).",
)
@click.option(
    "--max-pages",
    type=click.IntRange(min=1),
    help=f"Page budget for ad hoc URLs (default {source_default('max_pages')}).",
)
@click.option(
    "--delay",
    type=click.FloatRange(min=0),
    help=f"Seconds between requests to one host, ad hoc URLs (default {source_default('download_delay')}).",
)
@click.option("--workers", type=click.IntRange(min=1), help="Extraction processes (default: one per core).")
@click.option(
    "--render-js",
    type=click.Choice([mode.value for mode in RenderMode]),  # values: click matches Enum members by name
    help=f"Browser rendering for ad hoc URLs (default {source_default('render_js')}). auto: only the pages that "
    "turn out to need it.",
)
@click.option(
    "-s",
    "--set",
    "setting_pairs",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a Scrapy/newsarchive setting; repeatable.",
)
@click.option("--progress/--no-progress", default=None, help="Live progress (default: on a terminal).")
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    default="WARNING",
    show_default=True,
    help="Crawl log messages shown on stderr.",
)
@click.option(
    "--log-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Per-run log files go to LOG_DIR/SOURCE/RUN_ID.jsonl (default: the sources file's "
    "[scheduler] log_dir, else logs/ beside the archive).",
)
@click.option(
    "--distributed",
    is_flag=True,
    help="Crawl through Redis ([distributed] in the sources file): seed the crawl, write the archive, run "
    "--processes local workers; `newsarchive worker` elsewhere joins (docs/deployment.md).",
)
@click.option("--redis-url", help="With --distributed: the Redis URL (overrides [distributed] redis_url).")
@click.option(
    "--processes",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="With --distributed: local worker processes per source (0: seed and write only).",
)
def crawl(
    targets: tuple[str, ...],
    config_path: Path | None,
    db: Path | None,
    max_pages: int | None,
    delay: float | None,
    workers: int | None,
    render_js: str | None,
    setting_pairs: tuple[str, ...],
    progress: bool | None,
    log_level: str,
    log_dir: Path | None,
    distributed: bool,
    redis_url: str | None,
    processes: int,
) -> None:
    """Crawl sources once, now, and archive their articles.

    TARGETS are site URLs (crawled ad hoc, no config needed) or, with --config, source names.

    \b
    Examples:
      newsarchive crawl https://news.example/ --db archive.db
      newsarchive crawl --config sources.toml
      newsarchive crawl example other --config sources.toml -s DOWNLOAD_TIMEOUT=10
    """
    from crawler.cli.crawling import run_crawls
    from crawler.run.crawl_process import CrawlSpec
    from crawler.sources.config import adhoc_name, adhoc_source, load_config

    console = _console()
    urls = [target for target in targets if "://" in target]
    names = [target for target in targets if "://" not in target]
    if names and not config_path:
        raise click.UsageError(f"{names[0]!r} is not a URL; source names need --config sources.toml")
    if not urls and not config_path:
        raise click.UsageError("give a site URL or --config sources.toml (or try: newsarchive demo)")
    archive_db, sources, config_log_dir = db, [], None
    if config_path:
        config = load_config(config_path)  # ConfigError: one line per problem, exit 2 (crawler/cli/errors.py)
        sources = [(source.name, source.render_js) for source in config.select(names)]
        archive_db = archive_db or config.archive.db
        config_log_dir = config.scheduler.log_dir
    archive_db = Path(archive_db or DEFAULT_ARCHIVE_DB)
    overrides: dict[str, Any] = {}
    if max_pages is not None:
        overrides["max_pages"] = max_pages
    if delay is not None:
        overrides["download_delay"] = delay
    if render_js is not None:
        overrides["render_js"] = render_js
    for url in urls:  # checked here, like a sources file, before any crawl starts
        adhoc_source(url, **overrides)
    _check_archive_writable(archive_db)  # and the archive too
    settings = _parse_settings(setting_pairs)
    if distributed:
        if urls or not config_path:
            raise click.UsageError("--distributed crawls the sources of a sources file: give --config (no URLs)")
        from crawler.cli.distributed import run_distributed_crawl

        if workers:
            settings.setdefault("EXTRACT_WORKERS", workers)
        report = run_distributed_crawl(
            config,
            names,
            archive_db,
            redis_url,
            processes,
            settings,
            log_level,
            log_dir or config_log_dir or archive_db.parent / "logs",
            console,
            trigger=str(settings.get("NEWSARCHIVE_RUN_TRIGGER") or "manual"),  # the scheduler's runs: schedule
        )
        _show_report(console, report, ARTICLES_SHOWN)
        sys.exit(report.exit_code)
    crawls = len(sources) + len(urls)
    settings.setdefault("EXTRACT_WORKERS", workers or max(1, (os.cpu_count() or 1) // crawls))
    common = {"db": str(archive_db), "settings": settings, "log_level": log_level}
    specs = [(name, CrawlSpec(config=str(config_path), source=name, **common), mode) for name, mode in sources]
    specs += [
        (
            overrides.get("name") or adhoc_name(url),
            CrawlSpec(url=url, source_overrides=overrides, **common),
            overrides.get("render_js", source_default("render_js")),
        )
        for url in urls
    ]
    report = run_crawls(
        specs,
        archive_db,
        log_dir or config_log_dir or archive_db.parent / "logs",
        console,
        live=console.is_terminal if progress is None else progress,
    )
    _show_report(console, report, ARTICLES_SHOWN)
    sys.exit(report.exit_code)


@main.command()
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("data/demo.db"),
    show_default=True,
    help="SQLite archive to write.",
)
@click.option(
    "--port",
    type=click.IntRange(min=0, max=65535),
    default=DEMO_PORT,
    show_default=True,
    help="Port of the demo site on 127.0.0.1. Keep it the same for every run into one archive: "
    "the site's URLs include it, and a rerun then only recrawls what is new.",
)
@click.option("--progress/--no-progress", default=None, help="Live progress (default: on a terminal).")
def demo(db: Path, port: int, progress: bool | None) -> None:
    """Crawl the built-in demo news site (served on 127.0.0.1, no internet needed) into an archive.

    Running it again into the same archive is an incremental recrawl of the same site (same port,
    same URLs): nothing is archived twice.

    \b
    Example:
      newsarchive demo && newsarchive search 'harbour OR ferry' --db data/demo.db
    """
    import errno
    from contextlib import ExitStack

    from crawler.cli.crawling import run_crawls
    from crawler.demo import DEMO_SOURCE_NAME, serve_demo_site
    from crawler.run.crawl_process import CrawlSpec

    console = _console()
    with ExitStack() as stack:
        try:
            site = stack.enter_context(serve_demo_site(port=port))
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
            raise click.UsageError(
                f"port {port} is busy (another newsarchive demo, or another program): free it, or pick another "
                "with --port N (a new port means new URLs: use a new --db with it)"
            ) from None
        _check_archive_writable(db)  # after the port (a busy one creates no archive), before anything is said
        console.print(f"Demo news site served at {site.base_url}/ ; crawling it into {db} …")
        spec = CrawlSpec(
            db=str(db),
            url=site.base_url + "/",
            # The demo site is static: no browser needed, none started.
            source_overrides={
                "name": DEMO_SOURCE_NAME,
                "download_delay": 0.0,
                "concurrency": 4,
                "render_js": RenderMode.NEVER,
            },
            settings={"AUTOTHROTTLE_ENABLED": False},
            log_level="WARNING",
        )
        report = run_crawls(
            [(DEMO_SOURCE_NAME, spec, RenderMode.NEVER)],
            db,
            db.parent / "logs",
            console,
            live=console.is_terminal if progress is None else progress,
        )
    _show_report(console, report, articles_shown=0)
    console.print(f"Explore it: newsarchive search harbour --db {db}   (or: newsarchive serve --db {db})")
    sys.exit(report.exit_code)


# Commands defined in their own modules (crawler/cli/ops.py, history.py, boilerplate.py, research.py, export.py,
# serve.py, backup.py, reextract.py).
main.add_command(status)
main.add_command(runs)
main.add_command(logs)
main.add_command(history)
main.add_command(boilerplate)
main.add_command(search)
main.add_command(show)
main.add_command(stats)
main.add_command(serve)
main.add_command(export)
main.add_command(backup)
main.add_command(worker)
main.add_command(writer)
main.add_command(reextract)


@main.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Sources file to check (default: sources.toml here, if there is one).",
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Archive to check (default: the sources file's [archive] db).",
)
def doctor(config_path: Path | None, db: Path | None) -> None:
    """Check the browser, the archive and the sources file, and say what is missing and how to fix it.

    Exits 1 when something required is missing (e.g. no browser while a source has
    render_js = "always").

    \b
    Example:
      newsarchive doctor --config sources.toml
    """
    from crawler.ops.doctor import exit_code, format_checks, run_checks
    from crawler.run.crawl_process import build_settings

    if config_path is None and Path("sources.toml").exists():
        config_path = Path("sources.toml")
    checks = run_checks(config_path, db, os.environ, build_settings())
    click.echo(format_checks(checks))
    sys.exit(exit_code(checks))


@main.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("sources.toml"),
    show_default=True,
    help="Sources file with schedules.",
)
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    default="INFO",
    show_default=True,
    help="Scheduler messages shown on stdout (each run also has its own log file).",
)
def schedule(config_path: Path, log_level: str) -> None:
    """Run every source's crawls on its schedule, in the foreground, until stopped.

    Logs to stdout; SIGTERM or Ctrl-C stops it cleanly (running crawls get [scheduler]
    shutdown_grace to finish), SIGHUP re-reads the sources file. Runs, skips and failures are
    recorded in the archive: see `newsarchive status`, `runs` and `logs`.

    \b
    Example:
      newsarchive schedule --config sources.toml
    """
    import scheduler as scheduler_service  # the top of the dependency chain: loaded only for this command

    service = scheduler_service.CrawlScheduler(config_path)  # ConfigError: one line per problem, exit 2
    # A bad archive is one line and exit 2 now, not a scheduler that starts and fails every run.
    _check_archive_writable(service.config.archive.db)
    scheduler_service.configure_console_logging(log_level)
    sys.exit(service.run_forever())


if __name__ == "__main__":
    main()
