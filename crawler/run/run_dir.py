"""Each crawl's own temp folder: every temp file of the crawl process and of what it starts lands there.

multiprocessing (``pymp-*``: the forkserver's socket), Playwright (``playwright-artifacts-*``,
``playwright_chromiumdev_profile-*``) and Chromium (``org.chromium.Chromium.*``) make their temp
folders under ``TMPDIR``, and a crawl killed with SIGKILL leaves them behind. So the supervisor
(crawler.run.supervisor) makes one folder per run, ``newsarchive-PID-runID-XXXXXXXX`` in the
system temp folder (PID: the supervisor's), and starts the crawl process with ``TMPDIR`` set to it.
The crawl process removes it as it exits, the supervisor once more when the process has ended
(whatever ended it), and :func:`sweep_run_dirs`, run at the start of every crawl, removes those
whose processes are all gone (supervisor and crawl both killed with SIGKILL, a power loss).

Where: the system temp folder, unless a path that long would not fit the forkserver's socket
(``pymp-*/listener-*`` inside it: a Unix socket path holds at most ``SUN_PATH_MAX`` bytes; a
long ``TMPDIR``, as pytest's or macOS's, would break every extraction worker); then the first of
``/tmp``, ``/var/tmp``, ``/usr/tmp`` that can be written, as Python 3.12's multiprocessing does.

The folder's ``owners`` file lists the processes that use it, one ``PID START_TICKS`` a line (the
start tick so that a reused pid does not keep it): the supervisor, then the crawl process. The
crawl process writes ``stop-signal`` there when it gets SIGTERM or SIGINT, so that a supervisor
that got the same signal (one sent to a whole cgroup) does not send it a second one, which would
force the stop (crawler.run.crawl_process). No settings.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path

from crawler.processes import process_start_ticks, same_process_running

PREFIX = "newsarchive-"
NAME_PATTERN = re.compile(r"newsarchive-(\d+)-run(\d+)-[a-z0-9_]{8}")
OWNERS_FILE = "owners"
STOP_MARKER = "stop-signal"
# A folder without an owners file is being created (mkdtemp, then the file): left alone this long.
UNOWNED_GRACE_S = 60.0
SUN_PATH_MAX = 107  # bytes of a Unix socket path on Linux (108 with the final NUL)
# What multiprocessing puts under a run folder: "/pymp-XXXXXXXX/listener-XXXXXXXX" (the forkserver's socket).
FORKSERVER_SOCKET_TAIL = 32
LONGEST_NAME = len(f"{PREFIX}{2**22}-run{2**40}-XXXXXXXX")
SHORT_ROOTS = (Path("/tmp"), Path("/var/tmp"), Path("/usr/tmp"))


def fits_a_socket_path(root: Path) -> bool:
    """Whether a run folder in ``root`` leaves room for the forkserver's socket path inside it."""
    return len(os.fsencode(root)) + 1 + LONGEST_NAME + FORKSERVER_SOCKET_TAIL <= SUN_PATH_MAX


def temp_root(system_root: Path | None = None) -> Path:
    """Where run folders are made: the system temp folder (``TMPDIR``, else /tmp), unless it is too
    long a path (see the module docstring); then the first short one that can be written."""
    base = system_root or Path(tempfile.gettempdir())
    if fits_a_socket_path(base):
        return base
    for root in SHORT_ROOTS:
        if root.is_dir() and os.access(root, os.W_OK | os.X_OK):
            return root
    return base


def make_run_dir(run_id: int, root: Path | None = None) -> Path:
    """A new folder for run ``run_id``, owned by this process (the supervisor)."""
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-run{run_id}-", dir=root or temp_root()))
    add_owner(folder, os.getpid())
    return folder


def add_owner(folder: Path, pid: int) -> None:
    """Record that process ``pid`` uses ``folder`` (it is kept while one of its owners runs)."""
    ticks = process_start_ticks(pid)
    with open(folder / OWNERS_FILE, "a", encoding="ascii") as owners:
        owners.write(f"{pid} {'' if ticks is None else ticks}\n")


def owners(folder: Path) -> list[tuple[int, int | None]] | None:
    """The processes recorded as using ``folder`` (pid, start tick); None when it has no owners file."""
    try:
        lines = (folder / OWNERS_FILE).read_text(encoding="ascii").splitlines()
    except OSError:
        return None
    found: list[tuple[int, int | None]] = []
    for line in lines:
        parts = line.split()
        if parts and parts[0].isdigit():
            found.append((int(parts[0]), int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None))
    return found


def in_use(folder: Path, now: float | None = None) -> bool:
    """Whether a process that uses ``folder`` still runs (or it is too new to have an owners file yet)."""
    recorded = owners(folder)
    if not recorded:
        match = NAME_PATTERN.fullmatch(folder.name)
        if match and same_process_running(int(match[1]), None):
            return True  # its supervisor, named in the folder's name, is still there
        try:
            age = (now if now is not None else time.time()) - folder.stat().st_mtime
        except OSError:
            return False
        return age < UNOWNED_GRACE_S
    return any(same_process_running(pid, ticks) for pid, ticks in recorded)


def find_run_dir(run_id: int, supervisor_pid: int | None = None, root: Path | None = None) -> Path | None:
    """The folder this supervisor (default: this process) made for run ``run_id``, if it is still there."""
    pid = os.getpid() if supervisor_pid is None else supervisor_pid
    for folder in (root or temp_root()).glob(f"{PREFIX}{pid}-run{run_id}-*"):
        if NAME_PATTERN.fullmatch(folder.name):
            return folder
    return None


def remove_run_dir(folder: Path | str | None) -> None:
    """Remove a run folder and all in it; nothing when it is already gone."""
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def sweep_run_dirs(root: Path | None = None, now: float | None = None) -> list[Path]:
    """Remove the run folders in ``root`` (default: where :func:`temp_root` makes them) that no running process uses."""
    removed = []
    try:
        candidates = list((root or temp_root()).glob(f"{PREFIX}*-run*-*"))
    except OSError:
        return []
    for folder in candidates:
        if NAME_PATTERN.fullmatch(folder.name) and folder.is_dir() and not in_use(folder, now):
            remove_run_dir(folder)
            removed.append(folder)
    return removed


def mark_stop_signal(folder: Path, signal_name: str) -> None:
    """In the crawl process, on its first SIGTERM/SIGINT: say so, where its supervisor looks (cheap, no logging)."""
    try:
        with open(folder / STOP_MARKER, "w", encoding="ascii") as marker:
            marker.write(f"{signal_name}\n")
    except OSError:
        pass  # the folder is gone (its supervisor removed it): nobody will look


def stop_signal_received(folder: Path | None) -> bool:
    """Whether the crawl process using ``folder`` already got a stop signal (a supervisor then sends none)."""
    return folder is not None and (folder / STOP_MARKER).exists()
