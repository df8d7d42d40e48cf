"""Row-level operations on `crawl_runs` and `fetches`: opening a run, logging fetches, closing a run.

A run's counters are derived from its fetch rows when it finishes, so they always agree with
`fetches`; `extraction_failures` counts rejected fetches by their `reason_kind` (the kinds in
`NO_TEXT_KINDS`), never by the words of the reason. The Scrapy stats are stored whole as JSON
(`stats_json`). No settings.
"""

from __future__ import annotations

import json
import math
import os
import socket
from collections.abc import Mapping
from typing import Any

from sqlite_utils import Database

from .dates import parse_utc
from .models import NO_TEXT_KINDS, FetchOutcome, RunStatus
from .records import FETCH_COLUMNS, json_safe

# Scrapy's counter of requests actually sent (includes retries and robots.txt).
SCRAPY_REQUEST_COUNT = "downloader/request_count"
STATUS_COUNT_PREFIX = "downloader/response_status_count/"
# Answers a downloader middleware gave again from memory, by status (robots.txt: fetched once to obey
# it, handed to the spider's own robots.txt request). Scrapy's stats count such an answer as a
# response although nothing was downloaded; responses_NXX leave them out, so that responses add up
# to requests. crawler/middlewares/robots_txt.py writes them.
REUSED_STATUS_COUNT_PREFIX = "newsarchive/reused_response_status_count/"
# The crawler's counters of pages rendered in a browser, and of plain pages that needed it.
RENDERED_PAGES_STAT = "newsarchive/render/pages"
RENDERS_NEEDED_STAT = "newsarchive/render/needed"


def insert_run(db: Database, source: str, trigger: str, log_path: str | None, now: str) -> int:
    """Create a crawl_runs row in status "running" and return its id."""
    cursor = db.execute(
        "INSERT INTO crawl_runs (source, trigger, status, started_at, log_path, pid, hostname, browser_first)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, 0)",  # browser_first: set by mark_browser_first before the crawl starts
        [source, trigger, RunStatus.RUNNING, now, log_path, os.getpid(), socket.gethostname()],
    )
    return int(cursor.lastrowid)


def insert_fetch(
    db: Database,
    run_id: int,
    fetch_values: Mapping[str, Any],
    outcome: str,
    reason: str | None,
    article_id: int | None,
    reason_kind: str | None = None,
) -> None:
    """Append one fetch row (``elapsed_ms`` rounded to a whole millisecond: the column is an integer)."""
    names = ["run_id", *FETCH_COLUMNS, "outcome", "reason", "reason_kind", "article_id"]
    values = [run_id, *(fetch_values.get(name) for name in FETCH_COLUMNS), outcome, reason, reason_kind, article_id]
    elapsed = names.index("elapsed_ms")
    values[elapsed] = whole_ms(values[elapsed])
    db.execute(
        f"INSERT INTO fetches ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
        values,
    )


# A run's article and error counters, each the number of its fetch rows with one outcome.
OUTCOME_COUNTS: tuple[tuple[str, FetchOutcome], ...] = (
    ("articles_new", FetchOutcome.NEW),
    ("articles_unchanged", FetchOutcome.UNCHANGED),
    ("articles_updated", FetchOutcome.UPDATED),
    ("articles_duplicate", FetchOutcome.DUPLICATE),
    ("articles_rejected", FetchOutcome.REJECTED),
    ("errors", FetchOutcome.ERROR),
    ("not_modified", FetchOutcome.NOT_MODIFIED),
)


def counts_sql(table: str = "fetches") -> tuple[str, list[Any]]:
    """SELECT terms counting a run's fetch rows (pages, each OUTCOME_COUNTS column), with their parameters.

    Shared by the counts written when a run finishes and the live progress the reader shows, so the
    two always count alike.
    """
    terms = [f"count({table}.status) AS pages_fetched"]
    terms += [f"sum({table}.outcome = ?) AS {name}" for name, _ in OUTCOME_COUNTS]
    return ",\n       ".join(terms), [outcome for _, outcome in OUTCOME_COUNTS]


def run_counts(db: Database, run_id: int) -> dict[str, int]:
    """The run's counters, computed from its fetch rows."""
    counts, parameters = counts_sql()
    no_text = ", ".join("?" for _ in NO_TEXT_KINDS)
    row = db.execute(
        f"""
        SELECT count(*) AS fetch_rows,
               {counts},
               sum(outcome = ? AND reason_kind IN ({no_text})) AS extraction_failures
        FROM fetches WHERE run_id = ?
        """,
        [*parameters, FetchOutcome.REJECTED, *NO_TEXT_KINDS, run_id],
    )
    names = [column[0] for column in row.description]
    return {name: int(value or 0) for name, value in zip(names, row.fetchone())}


def whole_ms(value: Any) -> int | None:
    """Milliseconds as a whole number, rounded half up (4.5 -> 5); None stays None."""
    if value is None or isinstance(value, int):
        return value
    return math.floor(float(value) + 0.5)


def responses_by_class(stats: Mapping[str, Any] | None) -> dict[str, int]:
    """responses_2xx … responses_5xx from Scrapy's downloader/response_status_count/NNN stats.

    Answers reused from memory (:data:`REUSED_STATUS_COUNT_PREFIX`) are not downloads: left out.
    """
    classes = {f"responses_{digit}xx": 0 for digit in "2345"}
    for key, value in (stats or {}).items():
        for prefix, sign in ((STATUS_COUNT_PREFIX, 1), (REUSED_STATUS_COUNT_PREFIX, -1)):
            if key.startswith(prefix) and isinstance(value, int):
                column = f"responses_{key[len(prefix) :][:1]}xx"
                if column in classes:
                    classes[column] += sign * value
    return {column: max(count, 0) for column, count in classes.items()}


def finish_run_row(
    db: Database,
    run_id: int,
    started_at: str,
    status: str,
    stats: Mapping[str, Any] | None,
    exit_code: int | None,
    now: str,
    reason: str | None = None,
) -> None:
    """Close the run: counters from fetches, duration, status, stats JSON, exit code.

    Without ``stats`` (the scheduler closing a run its crawl process could not), the stats
    already recorded are kept. A run closed again (its parent recording the exit code once every
    crawl of a command has ended) keeps the end its crawl recorded: ``finished_at`` and ``duration_s``
    are the crawl's own, not the moment the slowest crawl beside it ended. An abandoned run (its
    process died unseen, found later) ends at its last fetch, not when it was found.
    """
    counts = run_counts(db, run_id)
    fetch_rows = counts.pop("fetch_rows")
    recorded = db.execute("SELECT requests, finished_at FROM crawl_runs WHERE id = ?", [run_id]).fetchone()
    requests = fetch_rows
    if stats and isinstance(stats.get(SCRAPY_REQUEST_COUNT), int):
        requests = stats[SCRAPY_REQUEST_COUNT]
    elif stats is None:
        requests = recorded[0] if recorded and recorded[0] is not None else fetch_rows
    if recorded and recorded[1]:
        now = recorded[1]
    elif status == RunStatus.ABANDONED:
        now = last_activity(db, run_id) or started_at
    duration_s = round((parse_utc(now) - parse_utc(started_at)).total_seconds(), 3)
    updates: dict[str, Any] = dict(
        counts,
        requests=requests,
        status=status,
        finished_at=now,
        duration_s=duration_s,
        exit_code=exit_code,
    )
    if reason is not None:  # a reason already recorded (e.g. why the run was interrupted) is kept otherwise
        updates["reason"] = reason
    if stats is not None:
        updates["stats_json"] = json.dumps(json_safe(stats), ensure_ascii=False, sort_keys=True)
        updates.update(responses_by_class(stats))
        updates["pages_rendered"] = int(stats.get(RENDERED_PAGES_STAT) or 0)
        updates["renders_needed"] = int(stats.get(RENDERS_NEEDED_STAT) or 0)
    assignments = ", ".join(f"{name} = ?" for name in updates)
    db.execute(f"UPDATE crawl_runs SET {assignments} WHERE id = ?", [*updates.values(), run_id])


def last_activity(db: Database, run_id: int) -> str | None:
    """When the run last recorded a fetch (None: it recorded none)."""
    row = db.execute("SELECT max(fetched_at) FROM fetches WHERE run_id = ?", [run_id]).fetchone()
    return row[0] if row else None


def mark_stop_requested(db: Database, run_id: int, reason: str) -> None:
    """The run is being stopped on purpose (not the source's fault), and why, in words."""
    db.execute("UPDATE crawl_runs SET stop_requested = 1, reason = ? WHERE id = ?", [reason, run_id])
