"""``newsarchive reextract``: the current extraction run again over the stored responses (WARC files),
without the network; what changed becomes a version of kind ``reextracted``.

A thin layer over crawler/reprocess/reextract.py, which says what is read, how it is judged and what
is written. The WARC folder is the archive's (``<archive stem>-warc`` beside it, crawler/warc/naming.py)
unless ``--warc-dir`` names another. The summary (pages read, articles changed by kind, unchanged,
no longer articles, missing WARC, pages/s) goes to stdout; ``--json`` prints it for programs.

Settings read: ``--config`` / ``--db`` as for ``history`` (crawler/cli/ops.py); the source's
``article_urls`` from the sources file; the crawl's extraction and boilerplate settings
(crawler/settings.py defaults). Exit codes: 0 done (also when nothing changed), 2 bad usage (a bad
date, no archive, no WARC folder while the archive has pointers).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from crawler.cli.ops import CONFIG_OPTION, DB_OPTION, archive_path, fail, load_optional_config

if TYPE_CHECKING:
    from crawler.reprocess.reextract import ReextractSummary

CHANGES_SHOWN = 20
FIELD_KINDS = ("body", "headline", "byline", "dates", "description", "correction")


@click.command()
@click.option("--source", help="Only this source's articles.")
@click.option("--since", help="Only pages fetched on or after this UTC date or time (2024-05-01, 2024-05-01T12:00Z).")
@click.option("--dry-run", is_flag=True, help="Write nothing; print what would change.")
@click.option("--workers", type=click.IntRange(min=1), help="Extraction processes (default: one per core).")
@click.option(
    "--warc-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The WARC folder (default: <archive name>-warc beside the archive).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON for machines.")
@click.option("--progress/--no-progress", default=None, help="Progress on stderr (default: on a terminal).")
@CONFIG_OPTION
@DB_OPTION
def reextract(
    source: str | None,
    since: str | None,
    dry_run: bool,
    workers: int | None,
    warc_dir: Path | None,
    as_json: bool,
    progress: bool | None,
    config_path: Path | None,
    db: Path | None,
) -> None:
    """Extract the stored pages again with the current rules, without the network.

    Every chosen article's stored response (the latest full page the crawls kept in the WARC files)
    is read back, extracted, classified and cleaned as a crawl would today, and saved the way every
    fetch is: a changed headline, byline, date, description or text becomes a new version whose
    change kinds include "reextracted" (not a change by the publisher); an unchanged result writes
    nothing; a page that is no longer judged an article is reported, never deleted. Each source
    gets a run with trigger "reextract". Articles archived before WARC files were written are
    counted as "missing WARC".

    \b
    Examples:
      newsarchive reextract --config sources.toml --dry-run
      newsarchive reextract --db data/archive.db --source example-news --since 2024-05-01
    """
    from archive import ArchiveError
    from archive.filters import unknown_source_note
    from archive.reader import open_read_only
    from crawler.reprocess.reextract import ReextractOptions, has_warc_pointers
    from crawler.reprocess.reextract import reextract as run_reextraction
    from crawler.settings import (
        BOILERPLATE_ENABLED,
        BOILERPLATE_MIN_PAGES,
        BOILERPLATE_MIN_SHARE,
        EXTRACT_MIN_TEXT_CHARS,
    )
    from crawler.warc.naming import warc_dir_for

    config = load_optional_config(config_path)
    path = archive_path(config, db)
    if not path.is_file():
        fail(f"no archive at {path}. Fix: give the archive a crawl wrote, with --db PATH or --config FILE.")
    folder = warc_dir if warc_dir is not None else warc_dir_for(path, "")
    check = open_read_only(path)
    try:
        note = unknown_source_note(check, source)
        pointers = (
            has_warc_pointers(check)
            and check.execute("SELECT 1 FROM fetches WHERE warc_file IS NOT NULL LIMIT 1").fetchone() is not None
        )
    finally:
        check.close()
    if pointers and not folder.is_dir():
        fail(
            f"the WARC folder {folder} does not exist, but archive {path} points into it. "
            "Fix: give the folder the crawls wrote with --warc-dir DIR."
        )
    patterns = {s.name: s.article_urls for s in config.sources} if config is not None else {}
    options = ReextractOptions(
        warc_dir=folder,
        source=source,
        since=since,
        dry_run=dry_run,
        workers=workers,
        min_text_chars=EXTRACT_MIN_TEXT_CHARS,
        article_patterns=patterns,
        boilerplate=BOILERPLATE_ENABLED,
        boilerplate_min_pages=BOILERPLATE_MIN_PAGES,
        boilerplate_min_share=BOILERPLATE_MIN_SHARE,
    )
    show_progress = sys.stderr.isatty() if progress is None else progress
    try:
        summary = _run(run_reextraction, path, options, show_progress)
    except ArchiveError as error:
        fail(str(error))
    if as_json:
        click.echo(json.dumps(summary.as_dict(), indent=2, ensure_ascii=False))
    else:
        _print_summary(summary, path)
    if note:
        click.echo(note, err=True)


def _run(run_reextraction: object, path: Path, options: object, show_progress: bool) -> ReextractSummary:
    if not show_progress:
        return run_reextraction(path, options)  # type: ignore[operator]
    from crawler.cli.progress import progress_bar

    with progress_bar("re-extracting") as bar:
        task = bar.add_task("reextract", total=None)
        return run_reextraction(  # type: ignore[operator]
            path, options, lambda done, total: bar.update(task, completed=done, total=total)
        )


def _print_summary(summary: ReextractSummary, path: Path) -> None:
    dry = "Dry run, nothing written: " if summary.dry_run else ""
    click.echo(
        f"{dry}re-extracted {summary.pages_read:,} stored page{'s' if summary.pages_read != 1 else ''} "
        f"of {summary.articles:,} article{'s' if summary.articles != 1 else ''} in {path} "
        f"in {summary.seconds:.1f} s ({summary.pages_per_second:.1f} pages/s)."
    )
    verb = "would change" if summary.dry_run else "changed"
    by_kind = ", ".join(f"{kind} {summary.kinds.get(kind, 0)}" for kind in FIELD_KINDS if summary.kinds.get(kind))
    click.echo(f"  {verb}: {summary.changed:,}" + (f" ({by_kind})" if by_kind else ""))
    click.echo(f"  unchanged: {summary.unchanged:,}")
    click.echo(f"  no longer articles: {len(summary.not_articles):,} (reported, not deleted)")
    click.echo(f"  missing WARC: {summary.missing_warc:,} (no stored response: archived before WARC files)")
    if summary.unreadable:
        click.echo(f"  unreadable records: {len(summary.unreadable):,}")
    if summary.runs:
        runs = ", ".join(f"{source} {run_id}" for source, run_id in summary.runs.items())
        click.echo(f"  runs (trigger reextract): {runs}")
    for article_id, url, kinds in summary.changes[:CHANGES_SHOWN]:
        click.echo(f"  {verb} {article_id} {url}: {', '.join(kinds)}")
    if len(summary.changes) > CHANGES_SHOWN:
        click.echo(f"  … and {len(summary.changes) - CHANGES_SHOWN:,} more (--json lists them all)")
    for article_id, url, reason in summary.not_articles[:CHANGES_SHOWN]:
        click.echo(f"  no longer an article {article_id} {url}: {reason}")
    for article_id, url, error in summary.unreadable[:CHANGES_SHOWN]:
        click.echo(f"  unreadable {article_id} {url}: {error}")
