"""Start, watch, stop and close crawl processes: shared by ``newsarchive crawl`` and the scheduler.

Each crawl gets its ``crawl_runs`` row before its process starts (so the parent knows the run id,
its log file, and can close the run whatever happens to the child), then runs as
``python -m crawler.run.crawl_process`` (an argument list, never a shell) in a session of its own,
with its own temp folder as ``TMPDIR`` (crawler.run.run_dir). :func:`close_run` decides the final
status from the run's row (what the child recorded, and ``stop_requested``, set by
:func:`mark_interrupted` when newsarchive stops a crawl on purpose) and how the process ended
(timed out, crashed); the child's exit code is recorded, never interpreted.

Stopping, the same for every parent: :func:`ask_to_stop` sends the crawl one SIGTERM (none when
the crawl got the signal itself: crawler.run.crawl_process); :func:`kill_crawl` stops it at once
(SIGKILL to the crawl process; its extraction workers, their forkserver and multiprocessing's
resource tracker follow within a second, the tracker removing the pool's semaphores as it goes;
whatever of its process group is left after ``HELPERS_GONE_S`` is killed too). Its own session
keeps a terminal's Ctrl-C or a signal to the parent's process group away from the crawl: the
parent decides, and the crawl never sees one signal twice. No settings of its own.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archive import Archive
from archive.models import RunStatus
from crawler.browser.learning import plan_rendering
from crawler.ops.runlog import run_log_path
from crawler.processes import group_has_processes
from crawler.run.crawl_process import CrawlSpec, build_settings
from crawler.run.liveness import abandon_stale_runs
from crawler.run.run_dir import add_owner, make_run_dir, remove_run_dir, stop_signal_received, sweep_run_dirs
from crawler.sources.ops_tables import RenderMode

logger = logging.getLogger(__name__)

# After SIGKILL of a crawl process, how long its helpers get to exit by themselves (they do within a
# second) before whatever is left of its process group is killed too.
HELPERS_GONE_S = 5.0


@dataclass
class CrawlChild:
    """A running crawl process and the run it fills."""

    source: str
    run_id: int
    process: subprocess.Popen
    log_path: Path | None
    relay: threading.Thread | None = None
    timed_out: bool = False
    run_dir: Path | None = None  # its temp folder, removed once the process has ended


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
    *,
    render_js: str,
) -> CrawlChild:
    """Create the run row, start its crawl process, and relay the process's stderr lines to ``emit``.

    First, ``running`` rows whose process is gone are recorded as ``abandoned`` (crawler.run.liveness),
    and run temp folders nobody uses any more are removed (crawler.run.run_dir): every command that
    crawls (``crawl``, ``demo``, ``schedule``) starts its crawls here.

    ``render_js``: the source's mode (``auto`` consults its earlier runs: crawler.browser.learning).
    The child gets a session of its own (see the module docstring). Settings read here
    (``RENDER_LEARN_SHARE``, ``RENDER_LEARN_MIN``, ``RENDER_REPROBE_RUNS``) come from
    :func:`build_settings` with the spec's overrides, as in the crawl process.
    """
    for stale in abandon_stale_runs(archive):
        logger.warning("run %s of %s marked abandoned: %s", stale["id"], stale["source"], stale["reason"])
    for folder in sweep_run_dirs():
        logger.info("removed %s: the temp folder of a crawl whose processes are gone", folder)
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
    log_path = run_log_path(log_dir, source, run_id, archive.path) if log_dir else None
    run_dir = make_run_dir(run_id)
    spec.run_id = run_id
    spec.log_file = str(log_path) if log_path else None
    spec.parent_pid = os.getpid()  # the crawl stops itself if this process dies (crawl_process)
    spec.run_dir = str(run_dir)
    try:
        process = subprocess.Popen(
            crawl_process_command(spec),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,
            env={**os.environ, "TMPDIR": str(run_dir)},  # every temp file of the crawl lands in its folder
        )
    except OSError as error:
        remove_run_dir(run_dir)
        archive.finish_run(run_id, RunStatus.FAILED, reason=f"the crawl process could not start: {error}")
        raise
    add_owner(run_dir, process.pid)  # the folder stays while the crawl runs, even if this process dies
    archive.set_run_process(run_id, process.pid, spec.log_file)
    relay = threading.Thread(target=_relay_lines, args=(process.stderr, emit), name=f"relay-{source}", daemon=True)
    relay.start()
    return CrawlChild(source=source, run_id=run_id, process=process, log_path=log_path, relay=relay, run_dir=run_dir)


def ask_to_stop(pid: int | None, run_dir: Path | None) -> bool:
    """Send the crawl process SIGTERM (a graceful stop) unless it already got a stop signal itself; True when sent.

    A signal to the parent's whole cgroup (systemd's default) reaches the crawl too: a second
    SIGTERM from here would read as a second signal, the forced stop. The crawl says it got one
    in its temp folder (crawler.run.run_dir); it also takes one arriving within a moment of the
    first for the same, so send this at once, before any other work.
    """
    if pid is None or stop_signal_received(run_dir):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    return True


def stop_crawl(child: CrawlChild, grace: float) -> None:
    """Ask the crawl to stop, then kill it (:func:`kill_crawl`) if it has not stopped after ``grace`` seconds.

    SIGTERM goes to the crawl process alone: Scrapy then finishes the pages in flight, flushes the
    archive and stops its extraction workers itself (signalling the whole group would kill those
    workers mid-page).
    """
    process = child.process
    if process.poll() is not None:
        return
    ask_to_stop(process.pid, child.run_dir)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        logger.warning("crawl of %s (run %s) did not stop within %.0fs: killing it", child.source, child.run_id, grace)
        kill_crawl(process.pid, reap=process.wait)


def kill_crawl(pid: int, reap: Callable[[], Any] | None = None, helpers_grace: float = HELPERS_GONE_S) -> None:
    """Stop a crawl at once: SIGKILL to its process, then to whatever of its process group is left after ``helpers_grace``.

    Its extraction workers, their forkserver and the resource tracker exit by themselves within a
    second once the crawl process is gone (crawler.extraction.pool), and the tracker removes the
    pool's semaphores from /dev/shm as it goes: killing them all at once would leave those behind.
    ``reap`` waits for the process (its parent's Popen.wait), so that its zombie leaves the group.
    """
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if reap is not None:
        reap()
    deadline = time.monotonic() + helpers_grace
    while group_has_processes(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if group_has_processes(pid):
        kill_process_group(pid)


def kill_process_group(pid: int) -> None:
    """SIGKILL every process left in the process group a crawl process ``pid`` led (it started one: its own session)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def close_run(archive: Archive, child: CrawlChild, max_runtime: float | None = None) -> dict[str, Any]:
    """Record the run's final status and the process's exit code, decided from the run's row.

    Timed out (the parent stopped it at ``max_runtime``), else interrupted (``stop_requested``),
    else what the child recorded; a row still "running" means the process died before it could
    record an end. Its temp folder goes (whatever the crawl and its browser left in it).
    """
    if child.relay is not None:
        child.relay.join(timeout=5)
    remove_run_dir(child.run_dir)
    exit_code = child.process.returncode
    run = archive.run(child.run_id)
    reason = run.get("reason")
    if child.timed_out:
        status = RunStatus.TIMED_OUT
        reason = timed_out_reason(max_runtime)
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


def timed_out_reason(max_runtime: float | None) -> str:
    """The reason of a run stopped at its source's ``max_runtime``."""
    return f"ran longer than max_runtime ({_duration(max_runtime)}); stopped"


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


def stop_reason(signal_name: str, command: str) -> str:
    """Why a run was interrupted, in words: the signal its supervisor ``command`` received."""
    if signal_name == "SIGINT":
        return f"stopped with Ctrl-C (SIGINT to {command})"
    return f"stopped by {signal_name} to {command}"


def forced_reason(reason: str) -> str:
    """The reason once a second signal stopped the run at once."""
    return f"{reason}; a second signal stopped it at once (pages in flight not archived)"
