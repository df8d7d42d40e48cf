"""Online backups of an archive, and the check that a backup can be restored.

``backup_archive(source, dest)`` copies an archive while crawls write to it, with SQLite's online
backup API (``sqlite3.Connection.backup``), and checks the copy before it gets its final name;
``check_backup(path)`` runs the same check on any file (a backup before restoring it, or an archive).
Both return a `BackupReport` with the figures; a problem is a `BackupError` (an ArchiveError: what
failed, which file, the fix). ``newsarchive backup`` (crawler/cli/backup.py) is the command over them.

Consistent without stopping the crawls: archives are in WAL mode (every writer switches the file to
WAL when it opens it), and the source is read inside one read transaction, so the row counts taken
first and every page copied after them come from the same snapshot, while writers go on committing
to the WAL (a WAL reader never blocks a writer; the WAL only grows until the backup ends and a
checkpoint can pass it). Pages are copied PAGES_PER_STEP at a time so that Ctrl-C (and a progress
callback) are seen between steps. A file in another journal mode has no newsarchive writer (that
would have switched it to WAL); another program's writer waits for the copy (its busy timeout).

The copy is written beside the destination under a temporary name (``.NAME.PID.partial``), switched
to the rollback journal (one self-contained file: no -wal or -shm to carry along), checked (``PRAGMA
integrity_check``, the schema migrations, the row counts of COUNTED_TABLES equal to the source's at
the snapshot), flushed to disk and only then given its name, with a hard link that fails when the
name is taken: an existing file is never replaced unless ``force``, and a crash leaves at most the
temporary file, never a half backup under the final name.

No settings: ``pages_per_step`` and ``progress`` are arguments.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .connection import primary_code
from .migrations import MIGRATIONS
from .models import ArchiveError
from .reader import ArchiveReader

PAGES_PER_STEP = 4096  # 16 MB of 4 KB pages between two looks at Ctrl-C and the progress callback
COUNTED_TABLES = ("articles", "article_versions", "crawl_runs", "fetches")
PROBLEMS_SHOWN = 3  # integrity problems quoted in an error message
DATED_NAME = "{stem}-{moment:%Y-%m-%dT%H%M%SZ}.db"  # a backup's name inside a DEST folder

# SQLite primary result codes that mean the copy could not be written where it was asked to go.
_CANNOT_WRITE_CODES = frozenset(
    {sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM}
)
_DAMAGED_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


class BackupError(ArchiveError):
    """A backup that could not be made, or a file that failed its check; ``fix`` says what to do."""


@dataclass(frozen=True)
class BackupReport:
    """A checked file: the backup just made (``source`` set) or a file given to ``check_backup``."""

    path: Path
    size_bytes: int
    schema_version: int  # the highest schema migration the file has
    counts: Mapping[str, int]  # rows in each of COUNTED_TABLES
    seconds: float  # copying and checking, or checking alone
    source: Path | None = None

    @property
    def articles(self) -> int:
        return self.counts["articles"]

    @property
    def runs(self) -> int:
        return self.counts["crawl_runs"]


def backup_path(source: Path, dest: str | Path, moment: datetime) -> Path:
    """Where a backup goes: DEST itself, or in an existing folder a dated name (``archive-2026-11-30T151623Z.db``).

    A DEST written with a trailing slash is meant as a folder, and must exist.
    """
    text = str(dest)
    path = Path(dest)
    if path.is_dir():
        return path / DATED_NAME.format(stem=source.stem, moment=moment.astimezone(UTC))
    if text.endswith(("/", os.sep)):
        raise BackupError(
            f"The backup folder {path} does not exist.",
            f"create it (mkdir -p {path}), or give a file name for the backup.",
            path=path,
        )
    return path


def backup_archive(
    source: Path,
    dest: str | Path,
    *,
    force: bool = False,
    pages_per_step: int = PAGES_PER_STEP,
    progress: Callable[[int, int], None] | None = None,
    now: datetime | None = None,
) -> BackupReport:
    """Copy the archive at ``source`` to ``dest`` (a file, or an existing folder) while crawls may write to it.

    The copy is checked (see ``check_backup``) and its counts compared with the source's at the
    snapshot before it gets its name. ``progress(pages_left, pages_total)`` is called after each step.
    ArchiveError for a source that is missing, not an archive, damaged or newer than this newsarchive;
    BackupError for a destination that exists (without ``force``) or cannot be written, or a copy
    that fails its check (then nothing is left at ``dest``).
    """
    started = time.monotonic()
    source = Path(source)
    with ArchiveReader(source) as reader:  # missing, not an archive, newer: ArchiveError with the fix
        target = backup_path(source, dest, now or datetime.now(UTC))
        _refuse_target(source, target, force)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.partial")
        _remove(temporary)  # left by a crash of an earlier backup under this process id, if any
        try:
            snapshot = _copy(reader.db.conn, source, target, temporary, pages_per_step, progress)
            try:
                copy = _inspect(temporary)
            except _Unsound as unsound:  # the copy is page for page the archive: the archive is damaged
                raise _damaged_source(source, target, unsound.detail) from unsound
            if dict(copy.counts) != snapshot:
                raise BackupError(
                    f"The copy of {source} does not hold what the archive held at the snapshot "
                    f"(archive: {snapshot}; copy: {dict(copy.counts)}); no backup was written to {target}.",
                    "run the backup again; if it happens again, report it with both figures.",
                    path=source,
                )
            _flush(temporary)
            _move_into_place(temporary, target, force)
        except BaseException:
            _remove(temporary)
            raise
    return BackupReport(
        path=target,
        size_bytes=target.stat().st_size,
        schema_version=copy.schema_version,
        counts=copy.counts,
        seconds=time.monotonic() - started,
        source=source,
    )


def check_backup(path: Path) -> BackupReport:
    """Check that ``path`` can be restored as an archive: it opens, passes ``PRAGMA integrity_check``,
    has newsarchive's schema (not a newer one) and its tables can be counted. Read-only.

    BackupError naming the file and the fix when it cannot be.
    """
    started = time.monotonic()
    path = Path(path)
    if not path.exists():
        raise BackupError(
            f"No file at {path} to check.",
            "give the path of a backup (as `newsarchive backup` printed it) or of an archive.",
            path=path,
        )
    if not path.is_file():
        raise BackupError(f"{path} is not a file.", "give the path of a backup file, not a folder.", path=path)
    try:
        report = _inspect(path)
    except _Unsound as unsound:
        raise BackupError(f"{path} cannot be restored: {unsound.detail}.", unsound.fix, path=path) from unsound
    return BackupReport(
        path=path,
        size_bytes=report.size_bytes,
        schema_version=report.schema_version,
        counts=report.counts,
        seconds=time.monotonic() - started,
    )


# --- the copy -------------------------------------------------------------------------------------


def _refuse_target(source: Path, target: Path, force: bool) -> None:
    folder = target.parent
    if not folder.is_dir():
        raise BackupError(
            f"The folder {folder} for backup {target.name} does not exist.",
            f"create it (mkdir -p {folder}), or choose another DEST.",
            path=target,
        )
    if target.exists() and source.exists() and os.path.samefile(target, source):
        raise BackupError(
            f"{target} is the archive itself.", "give another file or a folder as DEST, e.g. backups/.", path=target
        )
    if force:
        return
    # A -wal or -shm left beside the name would be read as part of the new file: refused like the file itself.
    for taken in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
        if taken.exists():
            raise BackupError(
                f"{taken} already exists; a backup never overwrites a file.",
                "give another name or a folder as DEST (a folder gets a new dated name each time), "
                "or pass --force to replace it.",
                path=target,
            )


def _copy(
    connection: sqlite3.Connection,
    source: Path,
    target: Path,
    temporary: Path,
    pages_per_step: int,
    progress: Callable[[int, int], None] | None,
) -> dict[str, int]:
    """Copy the snapshot the source connection sees into ``temporary``; the source's counts at that snapshot."""
    try:
        destination = sqlite3.connect(str(temporary), isolation_level=None)
    except sqlite3.Error as error:
        raise _cannot_write(temporary, error) from error
    try:
        # One read transaction around the counts and every step: one snapshot; writers go on (WAL).
        connection.execute("BEGIN")
        try:
            snapshot = _counts(connection)
            # Always a callback: Python runs pending signal handlers (Ctrl-C) only when Python code runs.
            connection.backup(
                destination,
                pages=max(1, pages_per_step),
                progress=lambda _status, left, total: None if progress is None else progress(left, total),
            )
        finally:
            connection.execute("ROLLBACK")
        # The pages carry the source's WAL flag: back to a rollback journal, so the copy is one file.
        destination.execute("PRAGMA journal_mode = DELETE")
    except sqlite3.DatabaseError as error:
        code = primary_code(error)
        if code in _DAMAGED_CODES:
            raise _damaged_source(source, target, f"it is damaged ({error})") from error
        if code in _CANNOT_WRITE_CODES:
            raise _cannot_write(temporary, error) from error
        raise
    finally:
        destination.close()
    return snapshot


def _counts(connection: sqlite3.Connection) -> dict[str, int]:
    return {table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in COUNTED_TABLES}


def _flush(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _move_into_place(temporary: Path, target: Path, force: bool) -> None:
    """Give the checked copy its name: replacing a file only with ``force``, atomically either way."""
    if force:
        for companion in (Path(f"{target}-wal"), Path(f"{target}-shm")):
            companion.unlink(missing_ok=True)  # the old file's: they would be read as part of the new one
        os.replace(temporary, target)
    else:
        try:
            os.link(temporary, target)  # fails if the name was taken meanwhile: never overwrites
        except FileExistsError:
            raise BackupError(
                f"{target} appeared while the backup was made; a backup never overwrites a file.",
                "give another name or a folder as DEST, or pass --force to replace it.",
                path=target,
            ) from None
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                raise
            # A file system without hard links (FAT, some network shares): checked, then renamed.
            if target.exists():
                raise BackupError(
                    f"{target} appeared while the backup was made; a backup never overwrites a file.",
                    "give another name or a folder as DEST, or pass --force to replace it.",
                    path=target,
                ) from None
            os.replace(temporary, target)
        else:
            temporary.unlink()
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the new name itself survives a power cut
    finally:
        os.close(folder)


def _remove(temporary: Path) -> None:
    for path in (temporary, Path(f"{temporary}-journal"), Path(f"{temporary}-wal"), Path(f"{temporary}-shm")):
        path.unlink(missing_ok=True)


# --- the check ------------------------------------------------------------------------------------


class _Unsound(Exception):
    """What is wrong with a file's content, said for a backup being checked or for the archive it was copied from."""

    def __init__(self, detail: str, fix: str) -> None:
        self.detail = " ".join(detail.split())
        self.fix = fix
        super().__init__(self.detail)


_RESTORE_ANOTHER = "restore an older backup instead, or make a new one from the archive (newsarchive backup DEST)"


def _inspect(path: Path) -> BackupReport:
    """Integrity, schema and counts of the file at ``path``, read-only; _Unsound when it is not a sound archive."""
    try:
        connection = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error as error:
        raise _Unsound(f"it cannot be opened ({error})", "make the file readable for this user.") from error
    try:
        problems = [row[0] for row in connection.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise _Unsound(
                f"it is damaged (SQLite's integrity check found {_problems(problems)})",
                f"{_RESTORE_ANOTHER}; to salvage what is left of it: `sqlite3 {path} .recover | sqlite3 recovered.db`.",
            )
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "schema_migrations" not in tables:
            raise _Unsound(
                "it is a SQLite file but not a newsarchive archive (no schema_migrations table)",
                "give a backup that `newsarchive backup` made, or an archive.",
            )
        applied = {row[0] for row in connection.execute("SELECT id FROM schema_migrations")}
        newer = sorted(applied - {migration.number for migration in MIGRATIONS})
        if newer:
            raise _Unsound(
                f"a newer newsarchive wrote it (schema migrations {newer} are unknown to this version)",
                "upgrade newsarchive to restore or read it.",
            )
        missing = [table for table in COUNTED_TABLES if table not in tables]
        if missing:
            raise _Unsound(f"it lacks the table{'s' * (len(missing) > 1)} {', '.join(missing)}", f"{_RESTORE_ANOTHER}.")
        counts = _counts(connection)
    except sqlite3.DatabaseError as error:
        if primary_code(error) in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_READONLY):
            raise _Unsound(
                f"it cannot be read here ({error})",
                "make the file readable for this user (a file in WAL mode also needs its folder writable, "
                "or its -shm file present).",
            ) from error
        raise _Unsound(
            f"it is damaged or not a SQLite file ({error})",
            f"{_RESTORE_ANOTHER}; to salvage what is left of it: `sqlite3 {path} .recover | sqlite3 recovered.db`.",
        ) from error
    finally:
        connection.close()
    return BackupReport(
        path=path,
        size_bytes=path.stat().st_size,
        schema_version=max(applied, default=0),
        counts=counts,
        seconds=0.0,
    )


def _problems(problems: list[str]) -> str:
    shown = "; ".join(problems[:PROBLEMS_SHOWN])
    more = f" and {len(problems) - PROBLEMS_SHOWN} more" if len(problems) > PROBLEMS_SHOWN else ""
    count = len(problems)
    return f"{count} problem{'s' * (count != 1)}: {shown}{more}"


def _damaged_source(source: Path, target: Path, detail: str) -> BackupError:
    return BackupError(
        f"The copy of archive {source} failed its check: {detail}; the copy is page for page the archive, so "
        f"the archive is damaged. No backup was written to {target}.",
        f"see what is wrong with `newsarchive doctor --db {source}`, then restore your latest backup over the "
        f"archive or salvage it: `sqlite3 {source} .recover | sqlite3 recovered.db`.",
        path=source,
    )


def _cannot_write(temporary: Path, error: sqlite3.Error) -> BackupError:
    folder = temporary.parent
    return BackupError(
        f"Cannot write the backup in {folder} ({error}).",
        "make that folder writable and make room on its disk, or choose another DEST.",
        path=folder,
    )
