"""``newsarchive export``: a filtered dataset out of the archive, as JSON lines, CSV or Parquet.

A thin layer over archive/export.py, which defines the columns and their types per format (listed
in docs/research.md, "Export"), streams the rows and writes them. The filters are search's
(archive/filters.py): they choose articles; ``--table versions`` and ``fetches`` export the rows of
the chosen articles; ``--table runs`` takes ``--source`` only.

A file is written beside its destination under a temporary name and moved into place when
complete, so an interrupted export never leaves a truncated file that looks finished. ``-o -``
writes JSON lines or CSV to stdout (Parquet needs a seekable file). A progress bar (rich, on stderr)
is shown only when stderr is a terminal and the output is a file; a one-line summary always goes to
stderr.

Settings read: ``--config`` / ``--db`` as for ``history`` (crawler/cli/ops.py). Read-only through
``archive.ArchiveReader``. Exit codes: 0 exported (also zero rows), 2 bad usage (a bad date or
query, a filter that does not apply, a missing output folder, Parquet to stdout, the archive itself
as the output, no archive).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import click

from archive import ArchiveError
from archive import export as library
from archive.export import FORMATS, TABLES
from archive.filters import ArticleFilter, unknown_source_note
from crawler.cli.ops import CONFIG_OPTION, DB_OPTION, archive_path, fail, load_optional_config, open_existing_archive

STDOUT = "-"
WARC_FORMATS = ("warc", "wacz")  # crawler/reprocess/warc_export.py
PROGRESS_EVERY = 1000  # rows between progress bar updates


def human_size(size: int) -> str:
    """A size for people: "812 bytes", "12.3 MB" (decimal units)."""
    if size < 1000:
        return f"{size} bytes"
    value, unit = size / 1e3, "kB"
    for bigger in ("MB", "GB"):
        if value < 1000:
            break
        value, unit = value / 1e3, bigger
    return f"{value:.1f} {unit}"


def _write(rows: Iterable[Mapping[str, Any]], output_format: str, table: str, target: IO[bytes]) -> int:
    if output_format == "parquet":
        return library.write_parquet(rows, target, table)
    # newline="": the csv module writes its own line ends; JSON lines end in "\n" either way.
    text = io.TextIOWrapper(target, encoding="utf-8", newline="", write_through=False)
    try:
        if output_format == "csv":
            return library.write_csv(rows, text, table)
        return library.write_jsonl(rows, text)
    finally:
        text.flush()
        text.detach()  # the caller owns the byte stream (stdout, or the file it closes)


def _counted(rows: Iterator[dict[str, Any]], advance: Any) -> Iterator[dict[str, Any]]:
    pending = 0
    for row in rows:
        yield row
        pending += 1
        if pending == PROGRESS_EVERY:
            advance(pending)
            pending = 0
    advance(pending)


def _check_output(output: str, output_format: str) -> Path | None:
    """The output file (None for stdout); exit 2 for Parquet to stdout or a missing folder."""
    if output == STDOUT:
        if output_format == "parquet":
            fail(
                "Parquet cannot be written to stdout (-o -): it needs a file. Fix: give a file, e.g. -o articles.parquet."
            )
        return None
    path = Path(output)
    folder = path.parent
    if not folder.is_dir():
        fail(f"the output folder {folder} does not exist. Fix: create it (mkdir -p {folder}) or choose another -o.")
    if path.is_dir():
        fail(f"-o {path} is a folder. Fix: name a file in it, e.g. -o {path / ('export.' + output_format)}.")
    return path


@click.command()
@click.option(
    "--format",
    "output_format",
    type=click.Choice((*FORMATS, *WARC_FORMATS)),
    required=True,
    help="jsonl, csv or parquet (typed); warc or wacz: the stored responses of the chosen fetches.",
)
@click.option(
    "--table",
    type=click.Choice(list(TABLES)),
    default="articles",
    show_default=True,
    help="articles; versions (earlier contents of changed articles); fetches; runs (crawl runs).",
)
@click.option("--source", help="Only this source's articles (runs: this source's runs).")
@click.option("--since", help="Published on or after this UTC date or time (2024-05-01, 2024-05-01T12:00Z).")
@click.option("--until", help="Published on or before this UTC date (the whole day) or time.")
@click.option("--language", help="Language code; 'de' also matches 'de-AT'.")
@click.option("--author", help="One of the authors, whole name, any case.")
@click.option("--query", help='Full-text filter over title and text (FTS5: words, "a phrase", elect*, a OR b).')
@click.option(
    "-o",
    "--output",
    required=True,
    metavar="FILE",
    help="File to write (replaced when complete); - writes jsonl or csv to stdout.",
)
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: on a terminal).")
@click.option(
    "--warc-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="warc/wacz: the WARC folder (default: <archive name>-warc beside the archive).",
)
@CONFIG_OPTION
@DB_OPTION
def export(
    output_format: str,
    table: str,
    source: str | None,
    since: str | None,
    until: str | None,
    language: str | None,
    author: str | None,
    query: str | None,
    output: str,
    progress: bool | None,
    warc_dir: Path | None,
    config_path: Path | None,
    db: Path | None,
) -> None:
    """Export articles (or versions, fetches, runs) as JSON lines, CSV or Parquet, streaming.

    The filters are those of search: they choose articles, and --table versions / fetches export
    the rows of those articles (fetches of other pages only without filters); --table runs takes
    --source only. Column names and types are stable and listed in docs/research.md (Export):
    lists are JSON arrays in jsonl, JSON text in a CSV cell, list<string> in Parquet; timestamps
    are ISO 8601 UTC text, timestamp[ms, UTC] in Parquet. Memory stays flat however large the
    archive.

    \b
    Examples:
      newsarchive export --format parquet -o articles.parquet --config sources.toml
      newsarchive export --format csv --source example-news --since 2024-05-01 -o may.csv
      newsarchive export --format jsonl --query '"climate change"' --language en -o - | head
      newsarchive export --format parquet --table versions --source example-news -o versions.parquet
      newsarchive export --format csv --table runs --db data/archive.db -o runs.csv
      newsarchive export --format wacz --source example-news --since 2024-05-01 -o may.wacz

    --format warc writes the chosen fetches' stored records (request, response or revisit and the
    response it refers to, metadata) copied from the crawls' WARC files into one .warc.gz; --format
    wacz packs them with their CDXJ index and a pages list (ReplayWeb.page opens it).
    """
    selection = ArticleFilter(source=source, since=since, until=until, language=language, author=author, query=query)
    if output_format in WARC_FORMATS:
        _export_warc(output_format, table, selection, output, warc_dir, config_path, db)
        return
    path = _check_output(output, output_format)
    config = load_optional_config(config_path)
    source_path = archive_path(config, db)
    if path is not None and path.resolve() == source_path.resolve():
        fail(f"-o {path} is the archive itself. Fix: write the export to another file, e.g. -o export.{output_format}.")
    with open_existing_archive(source_path) as archive:
        try:
            library.check_filter(TABLES[table], selection)
            total = None
            show_progress = path is not None and (sys.stderr.isatty() if progress is None else progress)
            if show_progress:
                total = library.count_rows(archive, table, selection)
            # Closed before the archive is, whatever happens (its cursor belongs to the archive's connection).
            with contextlib.closing(library.iter_rows(archive, table, selection)) as rows:
                # The first row is read before anything is written: a malformed query fails with no output.
                first = next(rows, None)
                count = _export(
                    itertools.chain([] if first is None else [first], rows), output_format, table, path, total
                )
            note = unknown_source_note(archive.db, source, "runs" if table == "runs" else "articles")
        except ArchiveError as error:
            fail(str(error))
    where = "stdout" if path is None else f"{path} ({human_size(path.stat().st_size)})"
    click.echo(f"Exported {count:,} row{'s' if count != 1 else ''} of {table} as {output_format} to {where}.", err=True)
    if note:
        click.echo(note, err=True)


def _export(
    rows: Iterator[dict[str, Any]], output_format: str, table: str, path: Path | None, total: int | None
) -> int:
    if path is None:
        sys.stdout.flush()
        stdout = sys.stdout.buffer
        try:
            count = _write(rows, output_format, table, stdout)
            stdout.flush()
        except BrokenPipeError:
            # The reader went away (`| head`): what it wanted was written; stop quietly.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(0)
        return count
    temporary = path.with_name(f".{path.name}.partial")
    try:
        with temporary.open("wb") as target:
            if total is None:
                count = _write(rows, output_format, table, target)
            else:
                from crawler.cli.progress import progress_bar

                with progress_bar(f"exporting {table}") as bar:
                    task = bar.add_task("export", total=total)
                    count = _write(_counted(rows, lambda n: bar.advance(task, n)), output_format, table, target)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return count


def _export_warc(
    output_format: str,
    table: str,
    selection: ArticleFilter,
    output: str,
    warc_dir: Path | None,
    config_path: Path | None,
    db: Path | None,
) -> None:
    """--format warc|wacz: the chosen fetches' stored records (crawler/reprocess/warc_export.py)."""
    from crawler.reprocess.warc_export import write_wacz_file, write_warc_file
    from crawler.warc.naming import warc_dir_for

    if table != "articles":
        fail(f"--table {table} does not apply to --format {output_format}. Fix: leave --table out.")
    if output == STDOUT:
        fail(f"--format {output_format} needs a file, not stdout (-o -). Fix: e.g. -o export.{output_format}.gz.")
    path = _check_output(output, output_format)
    config = load_optional_config(config_path)
    source_path = archive_path(config, db)
    folder = warc_dir if warc_dir is not None else warc_dir_for(source_path, "")
    with open_existing_archive(source_path) as archive:
        if "warc_file" not in {row[1] for row in archive.db.execute("PRAGMA table_info(fetches)")}:
            fail(f"archive {source_path} has no WARC pointers (it predates WARC files). Fix: crawl into it again.")
        if not folder.is_dir():
            fail(f"the WARC folder {folder} does not exist. Fix: give the folder the crawls wrote with --warc-dir DIR.")
        try:
            library.check_filter(TABLES["fetches"], selection)
            if output_format == "warc":
                result = write_warc_file(archive.db, folder, selection, path)
            else:
                title = f"newsarchive export of {source_path.name}"
                result = write_wacz_file(archive.db, folder, selection, path, title)
            note = unknown_source_note(archive.db, selection.source)
        except ArchiveError as error:
            fail(str(error))
        except RuntimeError as error:
            fail(f"{error}. Fix: check the wacz package is installed (pip install wacz==0.6.0).")
    click.echo(
        f"Exported {result.answers:,} stored page{'s' if result.answers != 1 else ''} "
        f"({result.records:,} WARC records, {result.originals:,} revisit originals) as {output_format} "
        f"to {path} ({human_size(path.stat().st_size)}).",
        err=True,
    )
    for missing in result.missing[:5]:
        click.echo(f"note: not exported, its record cannot be read: {missing}", err=True)
    if note:
        click.echo(note, err=True)
