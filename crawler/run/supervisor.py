"""Start, watch, stop and close crawl processes: shared by ``newsarchive crawl`` and the scheduler.

Each crawl gets its ``crawl_runs`` row before its process starts (so the parent knows the run id,
its log file, and can close the run whatever happens to the child), then runs as
``python -m crawler.run.crawl_process`` (an argument list, never a shell). :func:`close_run` decides the
final status from the run's row (what the child recorded, and ``stop_requested``, set by
:func:`mark_interrupted` when newsarchive stops a crawl on purpose) and how the process ended
(timed out, crashed); the child's exit code is recorded, never interpreted.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archive import Archive
from archive.models import RunStatus
from crawler.browser.learning import plan_rendering
from crawler.ops.runlog import run_log_path
from crawler.run.crawl_process import CrawlSpec, build_settings
from crawler.run.liveness import abandon_stale_runs
from crawler.sources.ops_tables import RenderMode

logger = logging.getLogger(__name__)


@dataclass
class CrawlChild:
    """A running crawl process and the run it fills."""

    source: str
    run_id: int
    process: subprocess.Popen
    log_path: Path | None
    relay: threading.Thread | None = None
    timed_out: bool = False


def crawl_process_command(spec: CrawlSpec) -> list[str]:
    return [sys.executable, "-m", "crawler.run.crawl_process", spec.to_json()]


def _relay_lines(stream: Any, emit: Callable[[str], None]) -> None:
    for line in iter(stream.readline, ""):
        emit(line.rstrip("\n"))


def start_crawl(
    archive: Archive,
    spec: CrawlSpec,
    source: str,
    log_dir: Path | None,
    emit: Callable[[str], None],
    own_session: bool = False,
    *,
    render_js: str,
) -> CrawlChild:
    """Create the run row, start its crawl process, and relay the process's stderr lines to ``emit``.

    First, ``running`` rows whose process is gone are recorded as ``abandoned`` (crawler.run.liveness):
    every command that crawls (``crawl``, ``demo``, ``schedule``) starts its crawls here.

    ``render_js``: the source's mode (``auto`` consults its earlier runs: crawler.browser.learning).
    ``own_session``: the child gets its own process group (the scheduler stops it itself);
    otherwise Ctrl-C at the terminal reaches it directly and Scrapy stops gracefully. Settings read
    here (``RENDER_LEARN_SHARE``, ``RENDER_LEARN_MIN``, ``RENDER_REPROBE_RUNS``) come from
    :func:`build_settings` with the spec's overrides, as in the crawl process.
    """
    for stale in abandon_stale_runs(archive):
        logger.warning("run %s of %s marked abandoned: %s", stale["id"], stale["source"], stale["reason"])
    settings = build_settings(spec.settings)  # the same values the crawl process will read
    plan = plan_rendering(
        archive.source_runs(source, 20, include_skipped=False) if render_js == RenderMode.AUTO else [],
        settings.getfloat("RENDER_LEARN_SHARE"),
        settings.getint("RENDER_LEARN_MIN"),
        settings.getint("RENDER_REPROBE_RUNS"),
    )
    if plan.browser_first:
        spec.settings["NEWSARCHIVE_RENDER_FIRST"] = True
    run_id = archive.start_run(source, trigger=spec.trigger)
    if plan.browser_first:
        archive.mark_browser_first(run_id)
    if plan.why:
        logger.info("run %s of %s: %s", run_id, source, plan.why)
    log_path = run_log_path(log_dir, source, run_id) if log_dir else None
    spec.run_id = run_id
    spec.log_file = str(log_path) if log_path else None
    spec.parent_pid = os.getpid()  # the crawl stops itself if this process dies (crawl_process)
    process = subprocess.Popen(
        crawl_process_command(spec),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=own_session,
    )
    archive.set_run_process(run_id, process.pid, spec.log_file)
    relay = threading.Thread(target=_relay_lines, args=(process.stderr, emit), name=f"relay-{source}", daemon=True)
    relay.start()
    return CrawlChild(source=source, run_id=run_id, process=process, log_path=log_path, relay=relay)


def stop_crawl(child: CrawlChild, grace: float) -> None:
    """Ask the crawl to stop, then kill what is left of it after ``grace`` seconds.

    SIGTERM goes to the crawl process alone: Scrapy then finishes the pages in flight, flushes the
    archive and stops its extraction workers itself (signalling the whole group would kill those
    workers mid-page). SIGKILL, if it comes to that, goes to the whole process group.
    """
    process = child.process
    if process.poll() is not None:
        return
    try:
        process.terminate()
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        logger.warning("crawl of %s (run %s) did not stop within %.0fs: killing it", child.source, child.run_id, grace)
        kill_process_group(process.pid)
        process.wait()


def kill_process_group(pid: int) -> None:
    """SIGKILL a crawl process and everything it started (extraction workers), if it leads a group."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def close_run(archive: Archive, child: CrawlChild, max_runtime: float | None = None) -> dict[str, Any]:
    """Record the run's final status and the process's exit code, decided from the run's row.

    Timed out (the parent stopped it at ``max_runtime``), else interrupted (``stop_requested``),
    else what the child recorded; a row still "running" means the process died before it could
    record an end.
    """
    if child.relay is not None:
        child.relay.join(timeout=5)
    exit_code = child.process.returncode
    run = archive.run(child.run_id)
    reason = run.get("reason")
    if child.timed_out:
        status = RunStatus.TIMED_OUT
        reason = f"ran longer than max_runtime ({_duration(max_runtime)}); stopped"
    elif run.get("stop_requested"):
        status = RunStatus.INTERRUPTED
    elif run["status"] == RunStatus.RUNNING:
        status = RunStatus.FAILED
        how = f"killed by signal {-exit_code}" if exit_code is not None and exit_code < 0 else f"exit code {exit_code}"
        reason = f"the crawl process ended ({how}) without recording an end; see its log"
    else:
        status = RunStatus(run["status"])
        if status == RunStatus.FAILED and not reason:
            reason = _failure_reason(run)
    return archive.finish_run(child.run_id, status, exit_code=exit_code, reason=reason)


def _failure_reason(run: dict[str, Any]) -> str:
    if not run.get("responses_2xx"):
        return "no page answered (is the site up? see the run's errors: newsarchive runs --failed)"
    return "the crawl stopped abnormally; see its log"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def mark_interrupted(archive: Archive, run_id: int, why: str) -> None:
    """Note on the run, before stopping it, that it is stopped on purpose (not the source's fault), and why."""
    archive.request_stop(run_id, why)
