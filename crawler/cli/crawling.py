"""Crawls in the foreground (``newsarchive crawl``, ``newsarchive demo``): one process each, live progress.

The crawl processes are started, stopped and closed by crawler.run.supervisor, exactly as the
scheduler does; this module waits for them, draws the live table (from the archive, which the
crawls write), closes each run as soon as its process ends (so each gets its own end), and turns
SIGTERM and SIGINT (Ctrl-C) into a clean stop:

- the first signal asks every crawl to stop (one SIGTERM each, sent at once): Scrapy finishes the
  pages in flight, everything fetched is archived, and the runs are recorded ``interrupted`` with
  the signal as the reason. The crawls run in sessions of their own, so a signal to this
  command's process group (Ctrl-C at the terminal, ``kill -TERM -PGID``) reaches them only
  through here, once;
- a second signal, however soon, stops them at once (crawler.run.supervisor.kill_crawl), the runs
  still ``interrupted``, the reason saying so.

No settings of its own.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archive import Archive, ArchiveReader
from archive.models import RunStatus
from crawler.cli.progress import live_runs, runs_table
from crawler.run.crawl_process import CrawlSpec
from crawler.run.supervisor import (
    CrawlChild,
    ask_to_stop,
    close_run,
    forced_reason,
    kill_crawl,
    mark_interrupted,
    start_crawl,
    stop_reason,
)

REFRESH_SECONDS = 0.5
POLL_SECONDS = 0.1  # how soon a signal or a crawl's end is acted on
LIVE_READ_TIMEOUT_S = 1.0  # a refresh that cannot read at once is skipped, not waited for
COMMAND = "newsarchive"  # in the reason of an interrupted run: "stopped by SIGTERM to newsarchive"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@dataclass
class CrawlReport:
    exit_code: int
    db: Path
    runs: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def stop_signals_caught(received: list[str]) -> Iterator[None]:
    """While crawls run, SIGTERM and SIGINT are appended to ``received`` (by name) for the wait loop
    instead of ending the command; the previous handlers come back after. Outside the main thread
    (where Python delivers no signal) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def note(signum: int, frame: object) -> None:
        received.append(signal.Signals(signum).name)  # only this: the loop acts, outside the handler

    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    for signum in STOP_SIGNALS:
        signal.signal(signum, note)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def act_on_signals(db: Path, running: Sequence[CrawlChild], received: Sequence[str], acted: int, console: Any) -> int:
    """Carry out the signals not yet acted on (``received[acted:]``); returns how many are acted on now."""
    if acted == 0 and received:
        reason = stop_reason(received[0], COMMAND)
        for child in running:  # at once, before any archive write (see supervisor.ask_to_stop)
            ask_to_stop(child.process.pid, child.run_dir)
        console.print(f"Stopping ({received[0]}): finishing the pages in flight (send it again to stop at once)…")
        with Archive(db) as archive:
            for child in running:
                mark_interrupted(archive, child.run_id, reason)
        acted = 1
    if acted < len(received):
        console.print(f"Stopping at once ({received[acted]} again).")
        for child in running:
            kill_crawl(child.process.pid, reap=child.process.wait)
        with Archive(db) as archive:
            for child in running:
                mark_interrupted(archive, child.run_id, forced_reason(stop_reason(received[0], COMMAND)))
        acted = len(received)
    return acted


def wait_for_crawls(
    children: Sequence[CrawlChild], db: Path, console: Any, live: bool, received: list[str]
) -> dict[int, dict[str, Any]]:
    """Wait until every crawl has ended, acting on signals and closing each run as its process ends;
    the closed runs by run id."""
    closed: dict[int, dict[str, Any]] = {}
    acted = 0
    run_ids = [child.run_id for child in children]
    with _live_display(db, console, live) as show:
        next_refresh = 0.0
        while True:
            running = [child for child in children if child.run_id not in closed]
            if acted < len(received):
                acted = act_on_signals(db, running, received, acted, console)
            for child in running:
                if child.process.poll() is not None:
                    with Archive(db) as archive:
                        closed[child.run_id] = close_run(archive, child)
            if len(closed) == len(children):
                return closed
            if show is not None and time.monotonic() >= next_refresh:
                show(run_ids)
                next_refresh = time.monotonic() + REFRESH_SECONDS
            time.sleep(POLL_SECONDS)


@contextmanager
def _live_display(db: Path, console: Any, live: bool) -> Iterator[Any]:
    """A function that redraws the live table of these runs, or None without live progress."""
    if not live:
        yield None
        return
    from rich.live import Live

    with (
        ArchiveReader(db, timeout=LIVE_READ_TIMEOUT_S) as reader,
        Live(console=console, refresh_per_second=4, transient=True) as display,
    ):
        yield lambda run_ids: display.update(runs_table(live_runs(reader, run_ids), "Crawling…"))


def run_crawls(
    specs: Sequence[tuple[str, CrawlSpec, str]],
    db: Path,
    log_dir: Path | None,
    console: Any,
    live: bool,
) -> CrawlReport:
    """Run crawls (one process each, in parallel) to their end; live progress on a terminal.

    SIGTERM or Ctrl-C stops them cleanly, a second one at once (see the module docstring); a crawl
    not yet started when the first comes is not started.
    """
    children: list[CrawlChild] = []
    received: list[str] = []
    with stop_signals_caught(received):
        with Archive(db) as archive:
            for source, spec, render_js in specs:
                if received:
                    break

                def emit(line, name=source):
                    return console.print(f"[{name}] {line}", markup=False, highlight=False)

                children.append(start_crawl(archive, spec, source, log_dir, emit, render_js=render_js))
        closed = wait_for_crawls(children, db, console, live, received)
    runs = [closed[child.run_id] for child in children]
    failed = [run for run in runs if run["status"] != RunStatus.SUCCEEDED]
    return CrawlReport(exit_code=1 if failed or received else 0, db=db, runs=runs)
