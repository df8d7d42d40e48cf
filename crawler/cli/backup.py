"""``newsarchive backup DEST``: a consistent, checked copy of the archive while crawls write to it.

A thin layer over archive/backup.py: the copy is made with SQLite's online backup API from one
snapshot (crawls keep writing), checked (integrity, schema, row counts equal to the archive's at the
snapshot) and only then given its name; an existing file is never replaced without ``--force``.
``--check FILE`` runs the same check on a backup (before restoring it) or on any archive file.
Each prints one line: the file, its size, articles, runs, and how long it took.

Settings read: ``--config`` / ``--db`` as for ``status`` (crawler/cli/ops.py). Exit codes: 0 done,
2 bad usage, a missing or bad archive, a DEST that exists or cannot be written, a backup that fails
its check (crawler/cli/errors.py prints the line).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from crawler.cli.export import human_size
from crawler.cli.ops import CONFIG_OPTION, DB_OPTION, archive_path, load_optional_config
from crawler.cli.research import plural

if TYPE_CHECKING:
    from archive.backup import BackupReport


@click.command()
@click.argument("dest", required=False)
@click.option(
    "--check",
    "check_file",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="Check FILE (a backup, or an archive) instead of making a backup: integrity, schema, row counts.",
)
@click.option("--force", is_flag=True, help="Replace DEST when it exists (without it no file is ever overwritten).")
@CONFIG_OPTION
@DB_OPTION
def backup(dest: str | None, check_file: Path | None, force: bool, config_path: Path | None, db: Path | None) -> None:
    """Copy the archive to DEST while crawls write to it, check the copy, and print one line about it.

    DEST is a file, or an existing folder (the backup is then named after the archive and the UTC
    time, e.g. archive-2026-11-30T151623Z.db). The copy is one snapshot of the archive, checked
    before it gets its name. Restore: stop the scheduler, copy the backup over the archive (and
    delete the archive's -wal and -shm files), run newsarchive doctor.

    \b
    Examples:
      newsarchive backup backups/ --config sources.toml      # backups/archive-2026-11-30T151623Z.db
      newsarchive backup /mnt/usb/news.db --db data/archive.db
      newsarchive backup --check backups/archive-2026-11-30T151623Z.db
    """
    from archive.backup import backup_archive, check_backup

    if check_file is not None:
        if dest is not None:
            raise click.UsageError("give DEST to make a backup, or --check FILE to check one, not both")
        report = check_backup(check_file)
        click.echo(f"{report.path}: sound, can be restored: {figures(report)}, checked in {report.seconds:.1f} s")
        return
    if dest is None:
        raise click.UsageError("give DEST (a file, or a folder such as backups/), or --check FILE")
    source = archive_path(load_optional_config(config_path), db)
    report = backup_archive(source, dest, force=force)
    click.echo(f"Backed up {source} to {report.path}: {figures(report)}, {report.seconds:.1f} s")


def figures(report: BackupReport) -> str:
    """The figures of the summary line, e.g. "163.8 kB, 1,234 articles, 56 runs, schema 15, integrity ok"."""
    return (
        f"{human_size(report.size_bytes)}, {plural(report.articles, 'article')}, {plural(report.runs, 'run')}, "
        f"schema {report.schema_version}, integrity ok"
    )
