"""What a person watching a crawl sees: a live table while it runs, a summary when it ends.

Both are drawn from the archive, the single source of truth a crawl process writes (its
fetch rows are committed at least every ``ARCHIVE_COMMIT_INTERVAL`` seconds), so the display
needs nothing from inside the Scrapy process. Uses rich; on a non-terminal only the summary
is printed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.table import Table

from archive.models import RunStatus

COLUMNS = (
    ("pages", "pages_fetched"),
    ("new", "articles_new"),
    ("unchanged", "articles_unchanged"),
    ("updated", "articles_updated"),
    ("duplicate", "articles_duplicate"),
    ("rejected", "articles_rejected"),
    ("errors", "errors"),
)

_LIVE_QUERY = """
SELECT r.id AS run_id, r.source, r.status, r.started_at,
       (julianday(COALESCE(r.finished_at, strftime('%Y-%m-%dT%H:%M:%fZ','now'))) - julianday(r.started_at)) * 86400.0
           AS duration_s,
       SUM(f.status IS NOT NULL) AS pages_fetched,
       SUM(f.outcome = 'new') AS articles_new,
       SUM(f.outcome = 'unchanged') AS articles_unchanged,
       SUM(f.outcome = 'updated') AS articles_updated,
       SUM(f.outcome = 'duplicate') AS articles_duplicate,
       SUM(f.outcome = 'rejected') AS articles_rejected,
       SUM(f.outcome = 'error') AS errors
FROM crawl_runs r LEFT JOIN fetches f ON f.run_id = r.id
WHERE r.id IN ({placeholders})
GROUP BY r.id ORDER BY r.id
"""


def live_runs(db_path: str | Path, run_ids: Sequence[int]) -> list[dict[str, Any]]:
    """These runs with their counts so far (read-only: the crawl processes are writing)."""
    path = Path(db_path)
    if not path.exists():
        return []
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error:
        return []
    try:
        connection.row_factory = sqlite3.Row
        query = _LIVE_QUERY.format(placeholders=", ".join("?" for _ in run_ids) or "NULL")
        return [dict(row) for row in connection.execute(query, list(run_ids))]
    except sqlite3.Error:
        return []  # the schema may not exist yet in the first second of a new archive
    finally:
        connection.close()


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
            str(run.get("source")),
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
            str(article.get("title") or ""),
            str(article.get("url")),
        )
    return table
