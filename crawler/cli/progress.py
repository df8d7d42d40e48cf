"""What a person watching a crawl sees: a live table while it runs, a summary when it ends.

Both are drawn from the archive, the single source of truth a crawl process writes (its
fetch rows are committed at least every ``ARCHIVE_COMMIT_INTERVAL`` seconds), read through
``archive.ArchiveReader`` (read-only), so the display needs nothing from inside the Scrapy process.
Uses rich (imported by the commands that draw, not by ``newsarchive --help``); on a non-terminal
only the summary is printed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from archive import ArchiveError
from archive.models import RunStatus

if TYPE_CHECKING:
    from archive import ArchiveReader

COLUMNS = (
    ("pages", "pages_fetched"),
    ("new", "articles_new"),
    ("unchanged", "articles_unchanged"),
    ("updated", "articles_updated"),
    ("not modified", "not_modified"),  # recurring runs: a 304, or the same bytes as last time
    ("duplicate", "articles_duplicate"),
    ("rejected", "articles_rejected"),
    ("errors", "errors"),
)


def live_runs(reader: ArchiveReader, run_ids: Sequence[int]) -> list[dict[str, Any]]:
    """These runs with their counts so far (the crawl processes are writing); [] when the archive
    cannot be read at this moment: the live table then shows nothing until the next refresh."""
    try:
        return reader.run_progress(run_ids)
    except ArchiveError:
        return []


def runs_table(runs: Iterable[Mapping[str, Any]], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("run", justify="right")
    table.add_column("source")
    table.add_column("status")
    for label, _ in COLUMNS:
        table.add_column(label, justify="right")
    table.add_column("time", justify="right")
    for run in runs:
        duration = run.get("duration_s")
        table.add_row(
            str(run.get("id") or run.get("run_id")),
            Text(str(run.get("source"))),  # names and titles are shown as written, never read as markup
            _styled_status(str(run.get("status"))),
            *(str(run.get(key) or 0) for _, key in COLUMNS),
            f"{duration:.1f}s" if isinstance(duration, (int, float)) else "",
        )
    return table


def _styled_status(status: str) -> str:
    colour = {RunStatus.SUCCEEDED: "green", RunStatus.FAILED: "red", RunStatus.RUNNING: "yellow"}.get(status)
    return f"[{colour}]{status}[/{colour}]" if colour else status


def articles_table(articles: Iterable[Mapping[str, Any]], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("id", justify="right")
    table.add_column("published")
    table.add_column("title")
    table.add_column("url", overflow="fold")
    for article in articles:
        table.add_row(
            str(article.get("id")),
            str(article.get("published_at") or ""),
            Text(str(article.get("title") or "")),
            Text(str(article.get("url"))),
        )
    return table


def progress_bar(label: str) -> Any:
    """A transient bar on stderr (done of total, time left) for a long command: export, reextract."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
