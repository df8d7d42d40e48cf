"""Is the process behind a ``running`` crawl run still there? One decision, for writers and readers.

A crawl killed with SIGKILL, by the OOM killer or a power loss leaves its ``crawl_runs`` row
``running``: nobody was left to close it. :func:`stale_run_reason` decides, from the row alone
(its ``pid``, ``hostname`` and ``started_at``) and this machine's process table, whether such a row
is stale, and says why in words. Both paths use it:

- every command that opens the archive for writing (``newsarchive crawl``, ``demo``, ``schedule``)
  calls :func:`abandon_stale_runs`, which records those rows as ``abandoned`` with that reason;
- the read-only commands (``status``, ``runs``, ``logs``) pass it to ``archive.ArchiveReader``
  (``stale_reason=``), which shows such a row as ``abandoned`` without writing the file.

A process that has exited but waits to be reaped (a zombie) is gone (crawler.processes.pid_is_running).
A run recorded by another machine is kept running: its processes cannot be seen from here. A PID
the system has since given to another process does not keep a dead run alive: the process's start
time (``/proc/PID/stat`` field 22, clock ticks after boot, plus the boot time from ``/proc/stat``)
must not be later than the run's ``started_at`` plus :data:`START_SLACK_S` (the crawl process of a
supervised run starts just after its row is created; one run by hand creates its row itself, after
it started). Linux only for the start time; where ``/proc`` cannot be read, the PID alone decides.
The start time is computed against the wall clock: a clock stepped forward by more than the slack
while a run goes would make that run look stale (no column records the process itself). No settings.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archive.dates import parse_utc
from archive.models import RunStatus
from crawler.processes import pid_is_running, process_start_ticks

if TYPE_CHECKING:
    from archive import Archive

# How much later than its run's started_at the run's process may have started (Popen after the row,
# on a loaded machine); a process started later than that holds a reused PID.
START_SLACK_S = 60.0


def _boot_time() -> float:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise OSError("/proc/stat has no btime line")


def process_started_at(pid: int) -> datetime | None:
    """When process ``pid`` started (UTC), from /proc; None when it is gone or /proc cannot say."""
    ticks = process_start_ticks(pid)
    if ticks is None:
        return None
    try:
        return datetime.fromtimestamp(_boot_time() + ticks / os.sysconf("SC_CLK_TCK"), UTC)
    except (OSError, ValueError):
        return None


def stale_run_reason(
    run: Mapping[str, Any],
    *,
    this_host: str | None = None,
    pid_exists: Callable[[int], bool] = pid_is_running,
    started_at_of: Callable[[int], datetime | None] = process_started_at,
) -> str | None:
    """Why this ``running`` row is stale (its process is gone, it was never closed), or None when it is not.

    None for any other status, for a run of another machine, and for a run whose process is there
    (started no later than the run's ``started_at`` + :data:`START_SLACK_S`). ``this_host`` defaults
    to this machine's name; ``pid_exists`` and ``started_at_of`` ask the system (tests give values).
    """
    if run.get("status") != RunStatus.RUNNING:
        return None
    here = this_host if this_host is not None else socket.gethostname()
    hostname = run.get("hostname")
    if hostname and hostname != here:
        return None
    pid = run.get("pid")
    who = f"pid {pid} on {hostname or here}"
    if pid is None:
        return "the run records no crawl process and is not running; it was never closed"
    if not pid_exists(pid):
        return f"the crawl process ({who}) is gone; it was never closed"
    started = started_at_of(pid)
    run_started = parse_utc(run["started_at"]) if run.get("started_at") else None
    if started is not None and run_started is not None and started > run_started + timedelta(seconds=START_SLACK_S):
        return (
            f"the crawl process ({who}) is gone (that pid now belongs to a process started at "
            f"{started.strftime('%Y-%m-%dT%H:%M:%SZ')}, after the run began); it was never closed"
        )
    return None


def abandon_stale_runs(
    archive: Archive, stale_reason: Callable[[Mapping[str, Any]], str | None] = stale_run_reason
) -> list[dict[str, Any]]:
    """Record every stale ``running`` row as ``abandoned``, with the reason; returns the rows as now recorded."""
    abandoned = []
    for run in archive.runs_with_status(RunStatus.RUNNING):
        reason = stale_reason(run)
        if reason is not None:
            abandoned.append(archive.finish_run(run["id"], RunStatus.ABANDONED, reason=reason))
    return abandoned
