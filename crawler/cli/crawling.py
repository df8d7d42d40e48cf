"""Crawls in the foreground (``newsarchive crawl``, ``newsarchive demo``): one process each, live progress.

The crawl processes are started, stopped and closed by crawler.run.supervisor, exactly as the
scheduler does; this module only waits for them, draws the live table (from the archive, which
the crawls write) and turns Ctrl-C into a clean stop.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archive import Archive, ArchiveReader
from archive.models import RunStatus
from crawler.cli.progress import live_runs, runs_table
from crawler.run.crawl_process import CrawlSpec
from crawler.run.supervisor import CrawlChild, close_run, mark_interrupted, start_crawl

REFRESH_SECONDS = 0.5
LIVE_READ_TIMEOUT_S = 1.0  # a refresh that cannot read at once is skipped, not waited for


@dataclass
class CrawlReport:
    exit_code: int
    db: Path
    runs: list[dict[str, Any]] = field(default_factory=list)


def run_crawls(
    specs: Sequence[tuple[str, CrawlSpec, str]],
    db: Path,
    log_dir: Path | None,
    console: Any,
    live: bool,
) -> CrawlReport:
    """Run crawls (one process each, in parallel) to their end; live progress on a terminal.

    Ctrl-C reaches the children too (same process group): Scrapy finishes the pages in flight.
    """
    children: list[CrawlChild] = []
    with Archive(db) as archive:
        for source, spec, render_js in specs:

            def emit(line, name=source):
                return console.print(f"[{name}] {line}", markup=False, highlight=False)

            children.append(start_crawl(archive, spec, source, log_dir, emit, render_js=render_js))
    run_ids = [child.run_id for child in children]
    try:
        if live:
            from rich.live import Live

            with (
                ArchiveReader(db, timeout=LIVE_READ_TIMEOUT_S) as reader,
                Live(console=console, refresh_per_second=4, transient=True) as display,
            ):
                while any(child.process.poll() is None for child in children):
                    display.update(runs_table(live_runs(reader, run_ids), "Crawling…"))
                    time.sleep(REFRESH_SECONDS)
        for child in children:
            child.process.wait()
    except KeyboardInterrupt:
        console.print("Stopping: finishing pages in flight (Ctrl-C again to force)…")
        with Archive(db) as archive:
            for child in children:
                mark_interrupted(archive, child.run_id, "stopped with Ctrl-C")
        try:
            for child in children:
                child.process.wait()
        except KeyboardInterrupt:
            for child in children:
                child.process.kill()
                child.process.wait()
    with Archive(db) as archive:
        runs = [close_run(archive, child) for child in children]
    failed = [run for run in runs if run["status"] != RunStatus.SUCCEEDED]
    return CrawlReport(exit_code=1 if failed else 0, db=db, runs=runs)
