"""`newsarchive backup`: a consistent, checked copy of an archive that a crawl is writing to, and
`--check`, on real SQLite files written by archive.Archive in a real child process."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive import Archive, ArchiveReader
from archive.backup import BackupError, backup_archive, check_backup
from crawler.cli.main import main

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PAGE = 4096

# A crawl's writes, as the crawl process makes them: runs started and finished, each article saved with
# its fetch, listing pages recorded, committed in small batches. Prints the articles written so far.
WRITER = """
import os, sys
from archive import Archive
db, stop = sys.argv[1], sys.argv[2]
written = 0
with Archive(db, batch_size=3, max_batch_seconds=0.05) as archive:
    while not os.path.exists(stop):
        run_id = archive.start_run("writer")
        for _ in range(4):
            written += 1
            archive.save_article(
                run_id,
                {"url": f"https://writer.example/{written}", "title": f"Story {written}",
                 "text": f"Story number {written} about the ferry and the harbour wall."},
                {"status": 200},
            )
            archive.record_fetch(run_id, {"url": f"https://writer.example/list/{written}", "status": 200},
                                 "discovery", reason="listing page")
        archive.finish_run(run_id, "succeeded")
        print(written, flush=True)
"""


@pytest.fixture(scope="module")
def larger_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 articles (about 1.5 MB), made once: tests copy the file."""
    path = make_archive(tmp_path_factory.mktemp("larger") / "archive.db", articles=200)
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the file itself, ready to copy
    connection.close()
    return path


def copy_of(archive: Path, folder: Path) -> Path:
    copy = folder / "archive.db"
    shutil.copyfile(archive, copy)
    return copy


def make_archive(path: Path, articles: int = 40) -> Path:
    with Archive(path) as archive:
        run_id = archive.start_run("alpha")
        for number in range(articles):
            archive.save_article(
                run_id,
                {
                    "url": f"https://alpha.example/{number}",
                    "title": f"Harbour report {number}",
                    "text": f"Report {number}. " + "The quay was repaired and the ferry runs again. " * 40,
                },
                {"status": 200},
            )
        archive.finish_run(run_id, "succeeded")
    return path


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as connection:
        return list(connection.execute(sql))


def count(db: Path, table: str) -> int:
    return rows(db, f"SELECT count(*) FROM {table}")[0][0]


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def one_line(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    return lines[0]


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen]]:
    """An archive and a child process writing to it, as a crawl does, until the test ends."""
    db = make_archive(tmp_path / "archive.db")
    stop = tmp_path / "stop"
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), str(stop)], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip(), "the writer wrote nothing"
        yield db, process
    finally:
        stop.touch()
        process.wait(timeout=30)
    assert process.returncode == 0


def articles_written_so_far(db: Path) -> int:
    with ArchiveReader(db) as reader:
        return reader.query("SELECT count(*) AS n FROM articles")[0]["n"]


def test_a_backup_made_while_a_crawl_writes_is_one_consistent_snapshot(
    writer: tuple[Path, subprocess.Popen], tmp_path: Path
) -> None:
    db, _ = writer
    seen_during_copy: list[int] = []

    def slow_copy(pages_left: int, pages_total: int) -> None:
        # A few pages at a time, slowly: the writer commits many times while the copy is made.
        seen_during_copy.append(articles_written_so_far(db))
        time.sleep(0.002)

    report = backup_archive(db, tmp_path / "copy.db", pages_per_step=4, progress=slow_copy)

    assert seen_during_copy[-1] > seen_during_copy[0], "the writer was blocked while the copy was made"
    copy = tmp_path / "copy.db"
    assert report.path == copy and report.source == db
    assert rows(copy, "PRAGMA integrity_check") == [("ok",)]
    # The counts the backup reports are the copy's, and the archive has gone on growing since.
    assert {table: count(copy, table) for table in report.counts} == dict(report.counts)
    assert report.articles == count(copy, "articles") < count(db, "articles")
    # One moment of the archive: every article with the fetch that saved it, the search index matching
    # the articles, no run left half-written.
    assert count(copy, "articles") == rows(copy, "SELECT count(*) FROM fetches WHERE outcome = 'new'")[0][0]
    assert not rows(
        copy, "SELECT id FROM fetches WHERE article_id IS NOT NULL AND article_id NOT IN (SELECT id FROM articles)"
    )
    with sqlite3.connect(copy) as connection:
        connection.execute("INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')")
    # A single file: no -wal to carry along, and no temporary file left beside it.
    assert rows(copy, "PRAGMA journal_mode") == [("delete",)]
    assert sorted(path.name for path in tmp_path.iterdir() if "copy" in path.name) == ["copy.db"]


def test_the_command_backs_up_a_live_archive_into_a_folder_with_one_line(
    writer: tuple[Path, subprocess.Popen], tmp_path: Path
) -> None:
    db, _ = writer
    folder = tmp_path / "backups"
    folder.mkdir()
    result = invoke("backup", str(folder), "--db", str(db))
    assert result.exit_code == 0, result.output
    line = one_line(result.output)
    (made,) = folder.iterdir()
    assert re.fullmatch(r"archive-\d{4}-\d\d-\d\dT\d{6}Z\.db", made.name), made.name
    articles, runs = count(made, "articles"), count(made, "crawl_runs")
    assert line.startswith(f"Backed up {db} to {made}: ")
    assert f"{articles} articles, {runs} runs," in line and "integrity ok" in line
    assert re.search(r"\d+(\.\d)? (bytes|kB|MB)", line) and re.search(r", \d+\.\d s$", line), line
    checked = invoke("backup", "--check", str(made))
    assert checked.exit_code == 0, checked.output
    assert f"{articles} articles, {runs} runs" in one_line(checked.output)


def test_a_backup_never_overwrites_a_file_unless_forced(tmp_path: Path) -> None:
    db = make_archive(tmp_path / "archive.db")
    dest = tmp_path / "news.db"
    dest.write_bytes(b"an earlier backup, to keep")
    refused = invoke("backup", str(dest), "--db", str(db))
    assert refused.exit_code == 2
    line = one_line(refused.output)
    assert line.startswith("error: ") and str(dest) in line and "--force" in line and "Traceback" not in line
    assert dest.read_bytes() == b"an earlier backup, to keep"
    assert [path.name for path in tmp_path.iterdir() if "news" in path.name] == ["news.db"]  # no temporary left

    forced = invoke("backup", str(dest), "--db", str(db), "--force")
    assert forced.exit_code == 0, forced.output
    assert count(dest, "articles") == 40


def test_the_archive_itself_is_never_a_destination(tmp_path: Path) -> None:
    db = make_archive(tmp_path / "archive.db")
    before = count(db, "articles")
    result = invoke("backup", str(db), "--db", str(db), "--force")
    assert result.exit_code == 2
    assert "is the archive itself" in one_line(result.output)
    assert count(db, "articles") == before


def test_a_folder_that_does_not_exist_is_named(tmp_path: Path) -> None:
    db = make_archive(tmp_path / "archive.db")
    for dest in (f"{tmp_path}/backups/", f"{tmp_path}/backups/news.db"):
        result = invoke("backup", dest, "--db", str(db))
        assert result.exit_code == 2
        line = one_line(result.output)
        assert f"{tmp_path}/backups" in line and "mkdir -p" in line
    assert not (tmp_path / "backups").exists()


def test_a_missing_archive_is_one_line_and_no_backup(tmp_path: Path) -> None:
    result = invoke("backup", str(tmp_path / "copy.db"), "--db", str(tmp_path / "nothing.db"))
    assert result.exit_code == 2
    line = one_line(result.output)
    assert line.startswith("error: No archive at ") and "nothing.db" in line and "Traceback" not in line
    assert sorted(tmp_path.iterdir()) == []


def damage_middle(path: Path) -> None:
    """Overwrite eight whole pages in the middle of the file, as a bad disk block would."""
    data = bytearray(path.read_bytes())
    start = (len(data) // PAGE // 2) * PAGE
    data[start : start + 8 * PAGE] = b"\xff" * (8 * PAGE)
    path.write_bytes(bytes(data))


def truncate_half(path: Path) -> None:
    """Cut the file in half, as an interrupted copy would."""
    with path.open("r+b") as file:
        file.truncate(path.stat().st_size // 2)


@pytest.mark.parametrize("damage", [damage_middle, truncate_half], ids=["overwritten", "truncated"])
def test_check_refuses_a_damaged_backup_in_one_line(tmp_path: Path, damage, larger_archive: Path) -> None:
    db = copy_of(larger_archive, tmp_path)
    backup = tmp_path / "backup.db"
    assert invoke("backup", str(backup), "--db", str(db)).exit_code == 0
    assert invoke("backup", "--check", str(backup)).exit_code == 0
    damage(backup)
    result = invoke("backup", "--check", str(backup))
    assert result.exit_code == 2, result.output
    line = one_line(result.output)
    assert line.startswith(f"error: {backup} cannot be restored: it is damaged"), line
    assert "restore an older backup" in line and ".recover" in line and "Traceback" not in line
    debug = invoke("--debug", "backup", "--check", str(backup))
    assert debug.exit_code == 2 and "Traceback (most recent call last)" in debug.output
    assert debug.output.strip().splitlines()[-1] == line


def test_check_names_a_file_that_is_no_archive(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
    result = invoke("backup", "--check", str(other))
    assert result.exit_code == 2
    assert "not a newsarchive archive" in one_line(result.output)
    missing = invoke("backup", "--check", str(tmp_path / "gone.db"))
    assert missing.exit_code == 2 and "No file at" in one_line(missing.output)


def test_a_backup_killed_halfway_leaves_no_file_under_the_final_name(tmp_path: Path, larger_archive: Path) -> None:
    """SIGKILL while copying: nothing named like a finished backup, only the temporary file."""
    db = copy_of(larger_archive, tmp_path)
    dest = tmp_path / "backup.db"
    code = f"""
import time
from pathlib import Path
from archive.backup import backup_archive
def slowly(left, total):
    print(left, total, flush=True)
    time.sleep(0.5)
backup_archive(Path({str(db)!r}), Path({str(dest)!r}), pages_per_step=1, progress=slowly)
"""
    process = subprocess.Popen([sys.executable, "-c", code], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    left, total = map(int, process.stdout.readline().split())
    assert 0 < left < total  # stopped in the middle of the copy
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert not dest.exists()
    leftovers = [path.name for path in tmp_path.iterdir() if "backup" in path.name]
    assert leftovers and all(name.startswith(".backup.db.") and ".partial" in name for name in leftovers)
    # The next backup is not disturbed by what the killed one left.
    result = invoke("backup", str(dest), "--db", str(db))
    assert result.exit_code == 0, result.output
    assert check_backup(dest).articles == 200


def test_a_restored_backup_is_the_archive_again(tmp_path: Path) -> None:
    """As docs/operations.md says: with no crawl running, copy the backup over the archive and its
    -wal and -shm files, then use it; the next crawl writes to it as before."""
    db = make_archive(tmp_path / "archive.db")
    backup = tmp_path / "backup.db"
    assert invoke("backup", str(backup), "--db", str(db)).exit_code == 0
    with Archive(db) as archive:  # written to after the backup: these rows are lost by the restore
        run_id = archive.start_run("alpha")
        archive.finish_run(run_id, "failed", reason="after the backup")
    for companion in (Path(f"{db}-wal"), Path(f"{db}-shm")):
        companion.unlink(missing_ok=True)
    db.write_bytes(backup.read_bytes())

    status = invoke("runs", "--db", str(db), "--json")
    assert status.exit_code == 0, status.output
    assert '"status": "succeeded"' in status.output and "after the backup" not in status.output
    with Archive(db) as archive:
        archive.finish_run(archive.start_run("alpha"), "succeeded")
    assert count(db, "crawl_runs") == 2 and rows(db, "PRAGMA journal_mode") == [("wal",)]


def test_backup_errors_carry_the_file_and_the_fix(tmp_path: Path) -> None:
    db = make_archive(tmp_path / "archive.db")
    (tmp_path / "taken.db").write_bytes(b"x")
    with pytest.raises(BackupError) as raised:
        backup_archive(db, tmp_path / "taken.db")
    assert raised.value.path == tmp_path / "taken.db" and "--force" in (raised.value.fix or "")
    report = backup_archive(db, tmp_path)
    assert report.path.parent == tmp_path and report.path.name.startswith("archive-")
    assert check_backup(report.path).counts == report.counts
    assert os.path.getsize(report.path) == report.size_bytes


def test_ctrl_c_during_the_copy_leaves_nothing(tmp_path: Path, larger_archive: Path) -> None:
    db = copy_of(larger_archive, tmp_path)

    def interrupt(pages_left: int, pages_total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        backup_archive(db, tmp_path / "backup.db", pages_per_step=1, progress=interrupt)
    assert [path.name for path in tmp_path.iterdir() if "backup" in path.name] == []
