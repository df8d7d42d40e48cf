"""Small facts about processes on this machine, shared by the extraction pool and run liveness.

Kept free of heavy imports: the read-only commands (status, runs, logs) import it through
crawler.run.liveness and must stay fast. No settings.
"""

from __future__ import annotations

import os


def pid_is_running(pid: int) -> bool:
    """Whether a process with this id exists on this machine (one of another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
