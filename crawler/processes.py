"""Small facts about processes on this machine, shared by the extraction pool, run liveness and run folders.

Kept free of heavy imports: the read-only commands (status, runs, logs) import it through
crawler.run.liveness and must stay fast. No settings.
"""

from __future__ import annotations

import os
from pathlib import Path


def pid_is_running(pid: int) -> bool:
    """Whether a process with this id runs on this machine (one of another user's counts; a zombie,
    dead but not yet reaped by its parent, does not: it will never record anything again)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not is_zombie(pid)


def is_zombie(pid: int) -> bool:
    """Whether process ``pid`` has ended and only waits to be reaped (Linux: /proc; elsewhere False)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state in ("Z", "X")


def process_start_ticks(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks after boot (``/proc/PID/stat`` field 22); None when
    it is gone or /proc cannot say. With the pid it names one process for good: a later process
    that reuses the pid starts at another tick."""
    try:
        # The command name (field 2) may hold spaces and parentheses: split after its last ")".
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def same_process_running(pid: int, start_ticks: int | None) -> bool:
    """Whether the process ``pid`` that started at ``start_ticks`` still runs (not a later one with its pid).

    ``start_ticks`` None, or /proc unreadable: the pid alone decides.
    """
    if not pid_is_running(pid):
        return False
    if start_ticks is None:
        return True
    now = process_start_ticks(pid)
    return now is None or now == start_ticks


def group_has_processes(pgid: int) -> bool:
    """Whether any process (a zombie not yet reaped included) is still in process group ``pgid``."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
