"""How every ``newsarchive`` command reports a problem the user can fix: one line on stderr, exit 2.

Bad input (a sources file with errors, an option that cannot apply) and a bad archive (missing for
a command that reads, not SQLite or damaged, written by a newer newsarchive, read-only for a
command that writes) are not bugs: the command prints one line, ``error: …``, naming the file and
the fix, and exits 2 without a traceback. The archive library's ArchiveError and the sources file's
ConfigError carry that line; a bare ``sqlite3.DatabaseError`` (from code that reads the file
directly) is described here with the archive the command was using (``note_archive``).
``newsarchive --debug`` prints the traceback before the line, for a bug report. Anything else is a
bug and keeps its traceback.

``NewsarchiveGroup`` catches these errors for every command at once; ``fail`` is how a command
reports a problem it finds itself. Only click and sqlite3 are imported up front: this module is loaded for
``newsarchive --help``.
"""

from __future__ import annotations

import sqlite3
import sys
import traceback
from pathlib import Path
from typing import Any, NoReturn

import click

EXIT_BAD_INPUT = 2
ARCHIVE_KEY = "newsarchive.archive"  # click's ctx.meta (shared by a command's context and its group's)
# SQLite's primary result codes that say something about the file (damaged, locked, unwritable, disk), not the SQL.
_FILE_PROBLEM_CODES = frozenset(
    {
        sqlite3.SQLITE_CORRUPT,
        sqlite3.SQLITE_NOTADB,
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_PERM,
    }
)


def debug_requested() -> bool:
    """Whether ``newsarchive --debug`` was given (False outside a command)."""
    context = click.get_current_context(silent=True)
    return context is not None and bool(context.find_root().params.get("debug"))


def fail(message: str, exit_code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print ``error: MESSAGE`` on stderr and exit; with --debug, the traceback being handled first."""
    if debug_requested() and sys.exc_info()[1] is not None:
        click.echo(traceback.format_exc().rstrip(), err=True)
    click.echo(f"error: {message}", err=True)
    sys.exit(exit_code)


def note_archive(path: Path) -> Path:
    """Remember the archive this command uses, so that a bare SQLite error can name it; returns ``path``."""
    context = click.get_current_context(silent=True)
    if context is not None:
        context.meta[ARCHIVE_KEY] = path
    return path


def message_for(error: BaseException, archive: Path | None) -> str | None:
    """The line to print for an error the user can fix, or None for anything else (a bug)."""
    from archive.models import ArchiveError
    from crawler.sources.config import ConfigError

    if isinstance(error, ArchiveError):
        return " ".join(str(error).split())
    if isinstance(error, ConfigError):
        return str(error)  # one line per problem, each naming the file
    if isinstance(error, sqlite3.DatabaseError) and not isinstance(error, sqlite3.ProgrammingError):
        from archive.connection import describe_database_error, primary_code

        if primary_code(error) not in _FILE_PROBLEM_CODES:
            return None  # a statement this newsarchive got wrong: a bug, shown with its traceback
        if archive is None:
            return f"SQLite error ({error}); run the command again with `newsarchive --debug …` to see where."
        return " ".join(str(describe_database_error(archive, error)).split())
    return None


class NewsarchiveGroup(click.Group):
    """The ``newsarchive`` group: an error the user can fix, from any command, is one line and exit 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as error:  # click's own exceptions and bugs are re-raised unchanged
            message = message_for(error, ctx.meta.get(ARCHIVE_KEY))
            if message is None:
                raise
            fail(message)
