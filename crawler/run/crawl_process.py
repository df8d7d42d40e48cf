"""The crawl process: one source's crawl with Scrapy, in a process of its own.

Scrapy's reactor cannot restart, so every crawl, manual (``newsarchive crawl``) or scheduled
(``newsarchive schedule``), runs in a child started as ``python -m crawler.run.crawl_process SPEC_JSON``
with an argument list, never a shell. The spec names the source (in a sources file, or an ad
hoc URL), the archive, the ``crawl_runs`` row the parent created for it, its log file and any
setting overrides. The crawl records its outcome in that row (the archive pipeline closes it);
the parent reads progress and the outcome from the archive, never from this process's exit code.
For a person running it by hand the exit code still says how it went, read back from the row:
0 when the crawl succeeded, 1 when it failed, 2 on a configuration error.

A crawl never runs on orphaned: the spec names its parent (``parent_pid``, set by the supervisor),
and when that process dies (``newsarchive crawl`` or the scheduler killed with SIGKILL) the crawl
stops itself as on SIGTERM (Scrapy finishes the pages in flight and closes the archive), then
records its run ``interrupted`` with the reason; after ``PARENT_GONE_GRACE_S`` a second SIGTERM
forces the stop, and ``PARENT_GONE_EXIT_S`` later the process exits whatever it is doing (the run
then stays ``running`` until the next crawl marks it ``abandoned``, as it does for a crawl whose
parent dies while it is still starting: SIGTERM before Scrapy runs simply ends the process). Its
extraction workers follow it (crawler.extraction.pool), and with them the forkserver and the
resource tracker.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archive.models import RunStatus, RunTrigger

if TYPE_CHECKING:
    from scrapy.settings import Settings

EXIT_OK, EXIT_CRAWL_FAILED, EXIT_CONFIG = 0, 1, 2
PARENT_GONE_GRACE_S = 15.0  # from the parent's death to the second SIGTERM (Scrapy's forced stop)
PARENT_GONE_EXIT_S = 10.0  # then to leaving the process, whatever it is doing
LOG_FORMAT = "%(asctime)s [%(name)s] %(levelname)s: %(message)s"


@dataclass
class CrawlSpec:
    """Everything a crawl process needs; JSON-serialisable so it can cross the process boundary."""

    db: str  # the archive
    config: str | None = None  # sources file, with ``source``
    source: str | None = None  # a source name in the sources file
    url: str | None = None  # or an ad hoc site URL
    source_overrides: dict[str, Any] = field(default_factory=dict)  # applied to an ad hoc source
    settings: dict[str, Any] = field(default_factory=dict)  # Scrapy setting overrides
    trigger: str = RunTrigger.MANUAL
    run_id: int | None = None  # the crawl_runs row to fill (None: the crawl creates one)
    log_level: str = "INFO"  # what reaches stderr
    log_file: str | None = None  # the run's own log, JSON lines (crawler.ops.runlog)
    parent_pid: int | None = None  # the supervising process: when it dies the crawl stops (None: by hand)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> CrawlSpec:
        return cls(**json.loads(text))


def resolve_source(spec: CrawlSpec) -> Any:
    """The SourceConfig to crawl; raises ConfigError."""
    from crawler.sources.config import ConfigError, ConfigProblem, adhoc_source, load_config

    if spec.url:
        return adhoc_source(spec.url, **spec.source_overrides)
    if spec.config and spec.source:
        return load_config(spec.config).source(spec.source)
    raise ConfigError(
        ConfigProblem(None, "nothing to crawl: the spec names neither a URL nor a source and sources file")
    )


def build_settings(overrides: Mapping[str, Any] | None = None) -> Settings:
    """Scrapy settings: every default from crawler.settings, then ``overrides`` at command-line priority.

    The one way settings are built, in the crawl process and in its parents (the CLI, the scheduler,
    doctor), so both sides read the same values.
    """
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    for name, value in (overrides or {}).items():
        settings.set(name, value, priority="cmdline")
    return settings


def crawl_settings(spec: CrawlSpec) -> Settings:
    """Scrapy settings for this process: our defaults, then the spec's overrides."""
    settings = build_settings()
    settings.set("ARCHIVE_DB", spec.db, priority="cmdline")
    settings.set("NEWSARCHIVE_RUN_TRIGGER", spec.trigger, priority="cmdline")
    settings.set("NEWSARCHIVE_RUN_ID", spec.run_id, priority="cmdline")
    settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")  # configure_logging's handlers instead
    for name, value in spec.settings.items():
        settings.set(name, value, priority="cmdline")
    return settings


def configure_logging(spec: CrawlSpec, source_name: str) -> None:
    """stderr at the spec's level for whoever watches; the run's log file, if any, at INFO for the record."""
    from crawler.ops.runlog import open_run_log

    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(spec.log_level.upper())
    console.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(console)
    if spec.log_file:
        root.addHandler(open_run_log(Path(spec.log_file), spec.run_id, source_name))


def browser_problem(source: Any, settings: Any) -> Exception | None:
    """Why this source cannot be crawled at all without a browser (a BrowserMissing), or None."""
    from crawler.browser.render_settings import BrowserMissing, apply_render_settings
    from crawler.sources.ops_tables import RenderMode

    if source.render_js != RenderMode.ALWAYS:
        return None
    try:
        apply_render_settings(settings.copy(), source)
    except BrowserMissing as error:
        return error
    return None


def ensure_run(spec: CrawlSpec, source_name: str) -> int:
    """The run's crawl_runs row: the parent's, or one created here (a spec run by hand names none)."""
    from archive import Archive
    from crawler.run.liveness import abandon_stale_runs

    if spec.run_id is None:
        with Archive(spec.db) as archive:
            abandon_stale_runs(archive)  # as every command that crawls does (crawler.run.liveness)
            spec.run_id = archive.start_run(source_name, trigger=spec.trigger)
    return spec.run_id


def record_failure(spec: CrawlSpec, run_id: int, reason: str) -> None:
    """A crawl that cannot start still gets a run row that says why."""
    from archive import Archive

    with Archive(spec.db) as archive:
        archive.finish_run(run_id, RunStatus.FAILED, reason=reason)


def recorded_exit_code(spec: CrawlSpec, run_id: int) -> int:
    """This process's exit code, read back from the outcome the crawl recorded in its run row."""
    from archive import Archive

    with Archive(spec.db) as archive:
        status = archive.run(run_id)["status"]
    return EXIT_OK if status == RunStatus.SUCCEEDED else EXIT_CRAWL_FAILED


def stop_when_parent_dies(parent_pid: int, parent_gone: threading.Event) -> None:
    """Watch the parent; when it is gone, set ``parent_gone`` and stop this crawl (see the module docstring)."""
    from crawler.extraction.pool import watch_process

    def stop() -> None:
        parent_gone.set()
        logger = logging.getLogger(__name__)
        logger.warning("the parent process (pid %s) is gone: stopping the crawl", parent_pid)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stderr.fileno())  # stderr was a pipe to the dead parent
        os.close(devnull)
        os.kill(os.getpid(), signal.SIGTERM)  # Scrapy's graceful stop
        time.sleep(PARENT_GONE_GRACE_S)
        logger.warning("still running %.0fs after the parent died: forcing the stop", PARENT_GONE_GRACE_S)
        os.kill(os.getpid(), signal.SIGTERM)  # a second signal: Scrapy stops at once
        time.sleep(PARENT_GONE_EXIT_S)
        os._exit(EXIT_CRAWL_FAILED)

    if os.getppid() != parent_pid:  # it died before this process could watch it
        threading.Thread(target=stop, name="parent-gone", daemon=True).start()
    else:
        watch_process(parent_pid, stop, name="watch-parent")


def record_parent_gone(spec: CrawlSpec, run_id: int) -> None:
    """The crawl stopped because its parent died: not the source's fault, so ``interrupted``, and why."""
    from archive import Archive

    with Archive(spec.db) as archive:
        archive.finish_run(
            run_id,
            RunStatus.INTERRUPTED,
            reason=f"its parent process (pid {spec.parent_pid}, which started the crawl) died; the crawl stopped itself",
        )


def run(spec: CrawlSpec) -> int:
    from archive.lean_imports import import_sqlite_utils_lean

    # Before anything imports sqlite-utils: pandas (where installed) would cost this process ~60 MB
    # for the whole crawl. numpy comes when a signature is first compared.
    import_sqlite_utils_lean()
    from scrapy.crawler import CrawlerProcess

    from crawler.sources.config import ConfigError
    from spiders.news import NewsSpider

    parent_gone = threading.Event()
    if spec.parent_pid is not None:
        stop_when_parent_dies(spec.parent_pid, parent_gone)
    try:
        source = resolve_source(spec)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    run_id = ensure_run(spec, source.name)
    configure_logging(spec, source.name)
    settings = crawl_settings(spec)
    problem = browser_problem(source, settings)
    if problem:
        logging.getLogger(__name__).error("%s", problem, extra={"event": "browser_missing"})
        record_failure(spec, run_id, str(problem))
        return EXIT_CRAWL_FAILED
    process = CrawlerProcess(settings)
    process.crawl(process.create_crawler(NewsSpider), source=source)
    process.start()
    if parent_gone.is_set():
        record_parent_gone(spec, run_id)
    return recorded_exit_code(spec, run_id)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m crawler.run.crawl_process SPEC_JSON", file=sys.stderr)
        return EXIT_CONFIG
    return run(CrawlSpec.from_json(args[0]))


if __name__ == "__main__":
    sys.exit(main())
