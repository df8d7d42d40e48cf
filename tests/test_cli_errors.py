"""Every command, given a bad archive or a broken sources file, prints one line naming the file and the
fix and exits 2; `newsarchive --debug` shows the traceback too. Real files, through click's CliRunner.

The bad archives: missing (for the commands that read: the ones that write create it), not SQLite
(random bytes named .db), written by a newer newsarchive (an unknown schema migration), and read-only
(for the commands that write). Tests may run as root, for whom chmod makes nothing read-only, so the
read-only archive is one SQLite itself treats as read-only: its header's write version is above what
SQLite writes (byte 18 of the file). Writing to it fails with SQLite's own "attempt to write a readonly
database", as a file without write permission does for anyone else.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive import Archive
from crawler.cli.main import main

SOURCE = '[[sources]]\nname = "local"\nstart_urls = ["http://127.0.0.1:9/"]\n'


def missing(folder: Path) -> Path:
    return folder / "missing.db"


def corrupt(folder: Path) -> Path:
    path = folder / "random.db"
    path.write_bytes(os.urandom(16 * 1024))
    return path


def newer(folder: Path) -> Path:
    path = folder / "newer.db"
    with Archive(path):
        pass
    connection = sqlite3.connect(path)
    with connection:
        connection.execute("INSERT INTO schema_migrations VALUES (999, 'from the future', '2030-01-01T00:00:00Z')")
    # Into the file itself, and closed: a WAL left behind would be checkpointed by whoever closes the
    # file next, and the test would see its bytes change without any write of the command's.
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return path


def read_only(folder: Path) -> Path:
    path = folder / "readonly.db"
    with Archive(path) as archive:
        archive.finish_run(archive.start_run("local"), "succeeded")
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    header = bytearray(path.read_bytes())
    header[18] = 3  # file format write version 3: SQLite opens and reads the file, and refuses every write
    path.write_bytes(bytes(header))
    return path


def broken_sources(folder: Path) -> Path:
    path = folder / "broken.toml"
    path.write_text(SOURCE + 'max_pages = "many"\n')
    return path


@dataclass(frozen=True)
class Command:
    name: str
    args: Callable[[Path], list[str]]  # the command line for an archive (or, with --config, a sources file)
    writes: bool = False
    takes_config: bool = True


def sources_for(archive: Path) -> Path:
    """A sound sources file whose [archive] db is the given archive (schedule reads its archive from there)."""
    path = archive.parent / f"sources-{archive.stem}.toml"
    path.write_text(f'[archive]\ndb = "{archive}"\n\n[scheduler]\njobstore = "{archive.parent}/jobs.db"\n\n{SOURCE}')
    return path


COMMANDS = [
    Command("status", lambda db: ["status", "--db", str(db)]),
    Command("runs", lambda db: ["runs", "--db", str(db)]),
    Command("logs", lambda db: ["logs", "1", "--db", str(db)]),
    Command("history", lambda db: ["history", "1", "--db", str(db)]),
    Command("boilerplate", lambda db: ["boilerplate", "--db", str(db)]),
    Command("search", lambda db: ["search", "harbour", "--db", str(db)]),
    Command("show", lambda db: ["show", "1", "--db", str(db)]),
    Command("stats", lambda db: ["stats", "--db", str(db)]),
    Command("serve", lambda db: ["serve", "--port", "0", "--db", str(db)]),
    Command("export", lambda db: ["export", "--format", "csv", "-o", "-", "--db", str(db)]),
    Command("backup", lambda db: ["backup", str(db.parent / "copy.db"), "--db", str(db)]),
    Command("crawl", lambda db: ["crawl", "http://127.0.0.1:9/", "--no-progress", "--db", str(db)], writes=True),
    Command(
        "demo", lambda db: ["demo", "--port", "0", "--no-progress", "--db", str(db)], writes=True, takes_config=False
    ),
    Command("schedule", lambda db: ["schedule", "--config", str(sources_for(db))], writes=True),
]
CASES = [
    pytest.param(command, bad, id=f"{command.name}-{bad.__name__}")
    for command in COMMANDS
    for bad in (
        *((corrupt, newer, read_only) if command.writes else (missing, corrupt, newer)),
        *((broken_sources,) if command.takes_config else ()),
    )
]


def with_config(command: Command, sources: Path) -> list[str]:
    """The command's line with --config SOURCES in place of its archive."""
    args = command.args(sources.parent / "unused.db")
    if "--config" in args:
        args[args.index("--config") + 1] = str(sources)
        return args
    position = args.index("--db")
    return [*args[:position], "--config", str(sources)]


@pytest.mark.parametrize(("command", "bad"), CASES)
def test_a_bad_archive_or_sources_file_is_one_line_with_the_file_and_the_fix(
    command: Command, bad: Callable[[Path], Path], tmp_path: Path
) -> None:
    made = bad(tmp_path)
    args = with_config(command, made) if bad is broken_sources else command.args(made)
    before = made.read_bytes() if made.exists() else None

    result = CliRunner().invoke(main, args)

    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    line = lines[0]
    assert line.startswith("error: ") and made.name in line, line
    if bad is broken_sources:
        assert "field 'max_pages'" in line
    else:
        assert " Fix: " in line, line
    # Nothing was created or changed: no archive where there was none, no backup, the bad file as it was.
    assert made.exists() == (before is not None) and (before is None or made.read_bytes() == before)
    assert not (tmp_path / "copy.db").exists()

    debug = CliRunner().invoke(main, ["--debug", *args])
    assert debug.exit_code == 2
    assert "Traceback (most recent call last)" in debug.output
    assert debug.output.strip().splitlines()[-1] == line


def test_each_kind_of_bad_archive_says_what_is_wrong(tmp_path: Path) -> None:
    said = {
        bad.__name__: CliRunner().invoke(main, ["runs", "--db", str(bad(tmp_path))]).output
        for bad in (missing, corrupt, newer)
    }
    assert "does not exist" in said["missing"] and "newsarchive crawl" in said["missing"]
    assert "is not a SQLite database or is corrupt" in said["corrupt"]
    assert "restore your latest backup" in said["corrupt"] and ".recover" in said["corrupt"]
    assert "written by a newer version" in said["newer"] and "upgrade newsarchive" in said["newer"]
    unwritable = read_only(tmp_path)
    refused = CliRunner().invoke(main, ["crawl", "http://127.0.0.1:9/", "--db", str(unwritable)]).output
    assert "cannot be written (attempt to write a readonly database)" in refused and "writable" in refused
    # Reading it is fine: only writing is refused.
    assert CliRunner().invoke(main, ["runs", "--db", str(unwritable)]).exit_code == 0


def test_a_damaged_archive_read_directly_is_described_with_its_file(tmp_path: Path) -> None:
    """A SQLite error raised past the archive library (export reads rows itself) is still one line naming the file."""
    db = tmp_path / "archive.db"
    with Archive(db) as archive:
        run_id = archive.start_run("alpha")
        for number in range(300):
            text = f"Report {number}. " + "The quay was repaired and the ferry runs again. " * 40
            archive.save_article(run_id, {"url": f"https://a.example/{number}", "title": "Quay", "text": text}, {})
    connection = sqlite3.connect(db)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.execute("PRAGMA journal_mode = DELETE")
    connection.close()
    data = bytearray(db.read_bytes())
    middle = len(data) // 2 // 4096 * 4096
    data[middle : middle + 8 * 4096] = b"\xff" * (8 * 4096)
    db.write_bytes(bytes(data))
    result = CliRunner().invoke(
        main, ["export", "--format", "jsonl", "-o", str(tmp_path / "out.jsonl"), "--db", str(db)]
    )
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith(f"error: Archive {db} is not a SQLite database or is corrupt") and "Fix: " in line
    assert not (tmp_path / "out.jsonl").exists()


def test_doctor_reports_a_bad_archive_among_its_checks_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """doctor is the diagnosis, not a command that stops at the first problem: every check, the archive's
    with its file and fix, and exit 1 (not ready to crawl)."""
    monkeypatch.setenv("NEWSARCHIVE_BROWSER", str(tmp_path / "no-browser"))  # no browser launch: a fast test
    for bad in (corrupt, newer):
        made = bad(tmp_path)
        result = CliRunner().invoke(main, ["doctor", "--db", str(made)])
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
        archive_line = next(line for line in result.output.splitlines() if line.startswith("✗ archive:"))
        assert made.name in archive_line
    broken = CliRunner().invoke(main, ["doctor", "--config", str(broken_sources(tmp_path))])
    assert broken.exit_code == 1 and "field 'max_pages'" in broken.output and "Traceback" not in broken.output


def test_a_bug_keeps_its_traceback(tmp_path: Path) -> None:
    """Only errors the user can fix become one line: anything else is left for click and Python to show."""
    from crawler.cli.errors import message_for

    assert message_for(ZeroDivisionError("division by zero"), tmp_path / "archive.db") is None
    assert message_for(sqlite3.OperationalError("no such column: x"), tmp_path / "archive.db") is None
    assert message_for(sqlite3.ProgrammingError("Cannot operate on a closed database."), None) is None
