"""Distributed crawls from the command line: ``crawl --distributed`` (the seeder), ``worker`` and ``writer``.

The seeder (:func:`run_distributed_crawl`) checks Redis (one error naming the URL, nothing starts),
creates each source's run row, puts the source's crawl state into Redis
(crawler.distributed.crawls.open_crawl), and starts, per source, the writer (the one process that
writes the archive; restarted if it dies, losing nothing: crawler.distributed.item_queue) and
``--processes`` local workers. ``newsarchive worker`` on any machine joins every open crawl of its
sources file's sources; ``newsarchive writer`` writes the crawls that have no live writer (the
seeder's machine died). Each process is ``python -m crawler.run.distributed_process`` (an argument
list, never a shell) in a session of its own. SIGTERM or Ctrl-C stops them cleanly. No settings of
its own; reference: docs/deployment.md.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from crawler.cli.errors import fail

POLL_S = 0.2
WRITER_RESTARTS = 10  # a writer that keeps dying is given up after this many restarts
WORKERS_END_S = 20.0  # after the writer ended, local workers get this long to stop by themselves


@dataclass
class Child:
    role: str
    source: str
    process: subprocess.Popen
    relay: threading.Thread | None = None


@dataclass
class SourceCrawl:
    source: str
    run_id: int
    writer: Child | None = None
    workers: list[Child] = field(default_factory=list)
    restarts: int = 0
    writer_done_at: float | None = None


def redis_url_of(config: Any, given: str | None) -> str:
    url = given or config.distributed.redis_url
    if not url:
        fail(
            "no Redis for a distributed crawl: add redis_url to the sources file's [distributed] table or pass --redis-url"
        )
    return url


def connect_or_fail(url: str) -> Any:
    from crawler.distributed.connection import RedisUnavailable, connect

    try:
        return connect(url)
    except RedisUnavailable as error:
        fail(str(error))


def process_spec(
    config: Any, source: str, db: str, role: str, url: str, settings: dict[str, Any], **fields: Any
) -> Any:
    from crawler.run.crawl_process import CrawlSpec

    return CrawlSpec(
        db=db,
        config=str(config.path),
        source=source,
        settings={
            **settings,
            "DISTRIBUTED_ROLE": role,
            "DISTRIBUTED_REDIS_URL": url,
            "DISTRIBUTED_KEY_PREFIX": config.distributed.key_prefix,
        },
        parent_pid=os.getpid(),
        **fields,
    )


def _relay(stream: Any, emit: Callable[[str], None]) -> None:
    for line in iter(stream.readline, ""):
        emit(line.rstrip("\n"))


def start_process(spec: Any, role: str, emit: Callable[[str], None]) -> Child:
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler.run.distributed_process", spec.to_json()],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    relay = threading.Thread(target=_relay, args=(process.stderr, emit), daemon=True)
    relay.start()
    return Child(role, spec.source, process, relay)


def stop_children(children: Sequence[Child], grace: float = 30.0) -> None:
    for child in children:
        if child.process.poll() is None:
            try:
                os.kill(child.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + grace
    for child in children:
        try:
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait()


def learned_boilerplate(archive: Any, source: str, settings: Any) -> list[str]:
    """The fingerprints of the lines the archive's counts call the source's boilerplate (none when
    ``BOILERPLATE_ENABLED`` is off): the workers sign texts cleaned of them from the first page."""
    from crawler.extraction.boilerplate import SiteBoilerplate

    if not settings.getbool("BOILERPLATE_ENABLED"):
        return []
    pages, lines = archive.source_boilerplate(source)
    model = SiteBoilerplate.restore(
        pages,
        lines,
        min_pages=settings.getint("BOILERPLATE_MIN_PAGES"),
        min_share=settings.getfloat("BOILERPLATE_MIN_SHARE"),
    )
    return model.learned_fingerprints()


def run_distributed_crawl(
    config: Any,
    names: Sequence[str],
    db: Path,
    redis_url: str | None,
    processes: int,
    settings: dict[str, Any],
    log_level: str,
    log_dir: Path,
    console: Any,
    trigger: str = "manual",
) -> Any:
    """Seed the named sources' crawls, write their archive, run ``processes`` local workers each; the report."""
    from archive import Archive, ArchiveReader
    from archive.models import RunStatus
    from crawler.cli.crawling import CrawlReport, stop_signals_caught
    from crawler.distributed.crawls import open_crawl
    from crawler.distributed.keys import Keys
    from crawler.ops.runlog import run_log_path
    from crawler.run.crawl_process import build_settings
    from crawler.run.liveness import abandon_stale_runs

    url = redis_url_of(config, redis_url)
    server = connect_or_fail(url)
    sources = config.select(names)
    crawl_settings = build_settings(settings)
    recrawl = crawl_settings.getbool("RECRAWL_ENABLED")
    crawls: list[SourceCrawl] = []
    learned: dict[str, list[str]] = {}
    with Archive(db) as archive:
        abandon_stale_runs(archive)
        for source in sources:
            run_id = archive.start_run(source.name, trigger=trigger)
            archive.set_run_process(run_id, os.getpid(), None)
            crawls.append(SourceCrawl(source.name, run_id))
            learned[source.name] = learned_boilerplate(archive, source.name, crawl_settings)
    for crawl in crawls:
        rows: list[dict[str, Any]] = []
        if recrawl:
            with ArchiveReader(db, check=False) as reader:
                rows = reader.crawl_state(crawl.source)
        keys = Keys(config.distributed.key_prefix, crawl.source)
        open_crawl(server, keys, crawl.run_id, str(db), rows, learned[crawl.source])

    def emitter(name: str, role: str) -> Callable[[str], None]:
        return lambda line: console.print(f"[{name} {role}] {line}", markup=False, highlight=False)

    def start_writer(crawl: SourceCrawl) -> None:
        log = run_log_path(log_dir, crawl.source, crawl.run_id, db)
        spec = process_spec(
            config,
            crawl.source,
            str(db),
            "writer",
            url,
            settings,
            trigger=trigger,
            run_id=crawl.run_id,
            log_level=log_level,
            log_file=str(log),
        )
        crawl.writer = start_process(spec, "writer", emitter(crawl.source, "writer"))

    received: list[str] = []
    with stop_signals_caught(received):
        for crawl in crawls:
            start_writer(crawl)
            for _ in range(processes):
                spec = process_spec(config, crawl.source, "", "worker", url, settings, log_level=log_level)
                crawl.workers.append(start_process(spec, "worker", emitter(crawl.source, "worker")))
        stopping = False
        while True:
            if received and not stopping:
                stopping = True
                console.print(f"Stopping ({received[0]}): finishing the pages in flight…")
                with Archive(db) as archive:
                    for crawl in crawls:
                        archive.request_stop(crawl.run_id, f"stopped by {received[0]} to newsarchive")
                stop_children([c for crawl in crawls for c in [*crawl.workers, crawl.writer] if c is not None])
            for crawl in crawls:
                writer = crawl.writer
                if writer is None or writer.process.poll() is None:
                    continue
                code = writer.process.returncode
                with Archive(db) as archive:
                    status = archive.run(crawl.run_id)["status"]
                if status == RunStatus.RUNNING and not stopping and crawl.restarts < WRITER_RESTARTS:
                    crawl.restarts += 1
                    console.print(f"[{crawl.source}] the writer ended ({code}); starting it again")
                    start_writer(crawl)
                    continue
                crawl.writer = None
                crawl.writer_done_at = time.monotonic()
            for crawl in crawls:
                if crawl.writer is None and crawl.writer_done_at is not None:
                    late = time.monotonic() - crawl.writer_done_at > WORKERS_END_S
                    if late:
                        stop_children(crawl.workers, grace=5.0)
            if all(
                crawl.writer is None and all(w.process.poll() is not None for w in crawl.workers) for crawl in crawls
            ):
                break
            time.sleep(POLL_S)
    runs = []
    with Archive(db) as archive:
        for crawl in crawls:
            run = archive.run(crawl.run_id)
            if run["status"] == RunStatus.RUNNING:
                status = RunStatus.INTERRUPTED if run.get("stop_requested") else RunStatus.FAILED
                reason = (
                    None if status == RunStatus.INTERRUPTED else "the distributed writer ended without recording an end"
                )
                run = archive.finish_run(crawl.run_id, status, reason=reason)
            runs.append(run)
    failed = [run for run in runs if run["status"] != RunStatus.SUCCEEDED]
    return CrawlReport(exit_code=1 if failed or received else 0, db=db, runs=runs)


def _join_loop(
    config_path: Path, redis_url: str | None, processes: int, role: str, log_level: str, exit_when_idle: bool
) -> None:
    """``worker`` and ``writer``: join every open crawl of the sources file's sources, until stopped."""
    from crawler.cli.crawling import stop_signals_caught
    from crawler.distributed.connection import REDIS_DOWN, Outage
    from crawler.distributed.crawls import active_sources, crawl_info, is_done
    from crawler.distributed.keys import Keys
    from crawler.sources.config import load_config

    config = load_config(config_path)
    url = redis_url_of(config, redis_url)
    server = connect_or_fail(url)
    prefix = config.distributed.key_prefix
    names = {source.name for source in config.sources}
    children: dict[str, list[Child]] = {}
    outage = Outage(f"newsarchive {role}")
    received: list[str] = []
    joined = False  # --exit-when-idle waits for a first crawl to join

    def emit(name: str) -> Callable[[str], None]:
        return lambda line: click.echo(f"[{name} {role}] {line}", err=True)

    with stop_signals_caught(received):
        while not received:
            for name, running in list(children.items()):
                children[name] = [child for child in running if child.process.poll() is None]
                if not children[name]:
                    del children[name]
            try:
                active = [name for name in active_sources(server, prefix) if name in names]
                for name in active:
                    keys = Keys(prefix, name)
                    if name in children or is_done(server, keys):
                        continue
                    info = crawl_info(server, keys)
                    if role == "writer":
                        if server.exists(keys.writer_lock):
                            continue  # written by another writer (the seeder's)
                        spec = process_spec(
                            config,
                            name,
                            info["db"],
                            "writer",
                            url,
                            {},
                            run_id=int(info["run_id"]),
                            log_level=log_level,
                        )
                        children[name] = [start_process(spec, "writer", emit(name))]
                    else:
                        children[name] = [
                            start_process(
                                process_spec(config, name, "", "worker", url, {}, log_level=log_level),
                                "worker",
                                emit(name),
                            )
                            for _ in range(processes)
                        ]
                outage.succeeded()
            except REDIS_DOWN as error:
                time.sleep(outage.failed(error))
                continue
            joined = joined or bool(children)
            if exit_when_idle and joined and not children and not active:
                break
            time.sleep(1.0)
    stop_children([child for running in children.values() for child in running])


CONFIG_OPTION = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("sources.toml"),
    show_default=True,
    help="Sources file: its [distributed] table names the Redis; its sources are the crawls joined.",
)
REDIS_OPTION = click.option("--redis-url", help="Redis URL (overrides the sources file's [distributed] redis_url).")
LOG_OPTION = click.option(
    "--log-level",
    type=click.Choice(("DEBUG", "INFO", "WARNING", "ERROR"), case_sensitive=False),
    default="WARNING",
    show_default=True,
    help="Log messages of the processes shown on stderr.",
)
IDLE_OPTION = click.option(
    "--exit-when-idle",
    is_flag=True,
    help="Exit once the crawls it joined are over and no other is open (waits for a first one).",
)


@click.command()
@CONFIG_OPTION
@REDIS_OPTION
@click.option(
    "--processes", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes per crawl."
)
@LOG_OPTION
@IDLE_OPTION
def worker(config_path: Path, redis_url: str | None, processes: int, log_level: str, exit_when_idle: bool) -> None:
    """Join the distributed crawls of the sources file's sources: fetch and extract, never write the archive.

    Runs until stopped (SIGTERM or Ctrl-C: pages in flight are finished), taking every crawl that
    `newsarchive crawl --distributed` opens.

    \b
    Example:
      newsarchive worker --config sources.toml --processes 4
    """
    _join_loop(config_path, redis_url, processes, "worker", log_level, exit_when_idle)


@click.command()
@CONFIG_OPTION
@REDIS_OPTION
@LOG_OPTION
@IDLE_OPTION
def writer(config_path: Path, redis_url: str | None, log_level: str, exit_when_idle: bool) -> None:
    """Write the archive of distributed crawls that have no writer (the seeding machine went away).

    The seeding `newsarchive crawl --distributed` is normally the writer itself.

    \b
    Example:
      newsarchive writer --config sources.toml
    """
    _join_loop(config_path, redis_url, 1, "writer", log_level, exit_when_idle)


def distributed_status(config: Any, redis_url: str | None = None) -> list[dict[str, Any]] | None:
    """Each open distributed crawl's progress, for `newsarchive status`; None without a [distributed] Redis."""
    from crawler.distributed.connection import REDIS_DOWN, client
    from crawler.distributed.crawls import active_sources, progress
    from crawler.distributed.keys import Keys

    url = redis_url or config.distributed.redis_url
    if not url:
        return None
    server = client(url)
    try:
        prefix = config.distributed.key_prefix
        return [progress(server, Keys(prefix, name)) for name in active_sources(server, prefix)]
    except REDIS_DOWN:
        return None
