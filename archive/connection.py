"""Open an archive file as a sqlite-utils Database set up for several concurrent crawl processes.

Settings applied to every connection: WAL journal (readers never block the writer),
`busy_timeout` of BUSY_TIMEOUT_S seconds (a writer waits for another process's short write
transaction instead of failing with "database is locked"), `synchronous=NORMAL` (safe with
WAL, much cheaper than FULL), foreign keys enforced. The connection is in autocommit mode
(`isolation_level=None`); the Archive class opens its own `BEGIN IMMEDIATE` write transactions.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from sqlite_utils import Database

from .models import ArchiveError

BUSY_TIMEOUT_S = 30.0
WAL_SWITCH_RETRY_S = 0.01


def open_database(path: Path) -> Database:
    """Open (creating the file and any missing folders) and configure the archive at `path`."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ArchiveError(
            f"Cannot create the folder {path.parent} for archive {path}: {error}. "
            "Fix: choose a writable location for the archive file."
        ) from error
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except sqlite3.Error as error:
        raise ArchiveError(
            f"Cannot open archive {path}: {error}. Fix: check the path exists and is readable and writable."
        ) from error
    try:
        db = Database(conn)
        db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        # Reading the schema is the first real file access: a non-SQLite file fails here.
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        _switch_to_wal(db)
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as error:
        conn.close()
        raise describe_database_error(path, error) from error
    return db


def _switch_to_wal(db: Database) -> None:
    # Switching a fresh file to WAL needs an exclusive lock, and SQLite answers "database is
    # locked" at once (without the busy handler) when another process opening the same new
    # file holds a lock at that moment, so retry here until the busy timeout.
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            if db.journal_mode != "wal":
                db.enable_wal()
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
            time.sleep(WAL_SWITCH_RETRY_S)


def describe_database_error(path: Path, error: sqlite3.Error) -> ArchiveError:
    """An ArchiveError naming the file and the fix for a low-level SQLite error."""
    message = str(error)
    if "not a database" in message or "malformed" in message or "corrupt" in message:
        return ArchiveError(
            f"Archive {path} is not a SQLite database or is corrupt ({message}). "
            "Fix: point the crawler at another archive file, or move this file aside so a fresh "
            f"archive is created; to salvage a damaged archive run `sqlite3 {path} .recover | sqlite3 recovered.db`."
        )
    if "locked" in message or "busy" in message:
        return ArchiveError(
            f"Archive {path} is locked by another process ({message}; waited up to {BUSY_TIMEOUT_S:.0f} s). "
            "Fix: look for a stuck process holding the file open (e.g. `fuser` on it) or a "
            "long-running write in another tool, and stop it."
        )
    if "readonly" in message or "unable to open" in message:
        return ArchiveError(
            f"Archive {path} cannot be written ({message}). Fix: make the file and its folder "
            "writable (SQLite also needs to create the -wal and -shm files next to it)."
        )
    return ArchiveError(f"Archive {path}: SQLite error ({message}).")
