"""Open an archive file as a sqlite-utils Database set up for several concurrent crawl processes.

Settings applied to every connection: WAL journal (readers never block the writer),
`busy_timeout` of BUSY_TIMEOUT_S seconds (a writer waits for another process's short write
transaction instead of failing with "database is locked"), `synchronous=NORMAL` (safe with
WAL, much cheaper than FULL), foreign keys enforced. The connection is in autocommit mode
(`isolation_level=None`); the Archive class opens its own `BEGIN IMMEDIATE` write transactions.

`describe_database_error` turns a SQLite error into an ArchiveError naming the file and the fix;
`check_writable` finds a read-only archive before a command starts writing to it.
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
            f"Cannot create the folder {path.parent} for archive {path}: {error}.",
            "choose a writable location for the archive file.",
            path=path,
        ) from error
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except sqlite3.Error as error:
        raise ArchiveError(
            f"Cannot open archive {path}: {error}.", "check the path exists and is readable and writable.", path=path
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
            if primary_code(error) not in _BUSY_CODES or time.monotonic() >= deadline:
                raise
            time.sleep(WAL_SWITCH_RETRY_S)


# SQLite's primary result codes (https://sqlite.org/rescode.html), read from the error itself.
_CORRUPT_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
_CANNOT_WRITE_CODES = frozenset({sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN})


def check_writable(db: Database, path: Path) -> None:
    """Raise an ArchiveError naming the file and the fix when the archive cannot be written.

    Opening a read-only file (its permissions, a read-only mount) succeeds and reads work; only the
    first write fails. So this takes the write lock, rewrites the header's user_version with its own
    value (a real page write, refused on a read-only file) and rolls back: nothing changes in the file.
    """
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(f"PRAGMA user_version = {int(version)}")
        finally:
            if db.conn.in_transaction:  # SQLite may have rolled back already after a failed write
                db.execute("ROLLBACK")
    except sqlite3.DatabaseError as error:
        raise describe_database_error(path, error) from error


def primary_code(error: sqlite3.Error) -> int | None:
    """The primary SQLite result code of an error (extended codes carry it in their low byte)."""
    code = getattr(error, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def _sqlite_error(error: BaseException) -> sqlite3.Error | None:
    """The SQLite error behind ``error`` (itself, or the one an ArchiveError describes), if any."""
    for candidate in (error, error.__cause__):
        if isinstance(candidate, sqlite3.Error):
            return candidate
    return None


def is_unwritable(error: BaseException) -> bool:
    """Whether a write failed because of the file itself (damaged, full disk, disk error, read-only),
    which retrying cannot fix, as opposed to a lock another writer holds for a while."""
    cause = _sqlite_error(error)
    if cause is None:
        return False
    code = primary_code(cause)
    return code in _CORRUPT_CODES or code in _CANNOT_WRITE_CODES or code in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR)


def is_busy(error: BaseException) -> bool:
    """Whether a write failed because another process held the archive's write lock past the busy timeout."""
    cause = _sqlite_error(error)
    return cause is not None and primary_code(cause) in _BUSY_CODES


def set_busy_timeout(db: Database, seconds: float) -> None:
    """How long this connection's writes wait for another process's write lock before SQLITE_BUSY."""
    db.conn.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")


def describe_database_error(path: Path, error: sqlite3.Error, waited: float = BUSY_TIMEOUT_S) -> ArchiveError:
    """An ArchiveError naming the file, what SQLite said, and the fix, from the error's result code
    (``waited``: the connection's busy timeout, for a locked file)."""
    message = str(error)
    code = primary_code(error)
    if code in _CORRUPT_CODES:
        return ArchiveError(
            f"Archive {path} is not a SQLite database or is corrupt ({message}).",
            "if --db (or [archive] db) names the wrong file, point it at your archive; if this is your archive, "
            "restore your latest backup over it (docs/operations.md, Backups) or salvage what is left with "
            f"`sqlite3 {path} .recover | sqlite3 recovered.db`.",
            path=path,
        )
    if code == sqlite3.SQLITE_FULL:
        return ArchiveError(
            f"Archive {path} cannot grow: the disk is full ({message}).",
            "free space on that disk (old run logs, exports, backups), then run the command again.",
            path=path,
        )
    if code == sqlite3.SQLITE_IOERR:
        return ArchiveError(
            f"Archive {path} could not be read or written: the disk failed ({message}).",
            f"check the disk (dmesg, df), then `newsarchive doctor --db {path}`; if the archive is damaged, "
            "restore your latest backup over it (docs/operations.md, Backups).",
            path=path,
        )
    if code in _BUSY_CODES:
        return ArchiveError(
            f"Archive {path} is locked by another process ({message}; waited up to {waited:g} s).",
            "look for a stuck process holding the file open (e.g. `fuser` on it) or a "
            "long-running write in another tool, and stop it.",
            path=path,
        )
    if code in _CANNOT_WRITE_CODES:
        return ArchiveError(
            f"Archive {path} cannot be written ({message}).",
            "make the file and its folder writable (SQLite also needs to create the -wal and -shm files next to it).",
            path=path,
        )
    return ArchiveError(f"Archive {path}: SQLite error ({message}).", path=path)
