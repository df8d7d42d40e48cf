"""`crawl_state`: what the crawler knows of each URL of a source, across runs and processes.

One row per (source, URL) the crawler fetched or found: how it was found (`found_by`, `hops`,
`listed_in` - the sitemap that listed it), the last fetch (time, run, HTTP status, outcome), the
validators for conditional requests (`etag`, `last_modified`), the hash of the raw body, when the
extracted content last changed, how many fetches in a row found it unchanged, when it is next due,
and `removed_at` for a page that went away. A row whose `fetched_at` is NULL is part of the
*frontier*: found, not fetched yet; the next run fetches it first (a run killed half way leaves
its frontier here).

Plain functions over a sqlite-utils `Database`, called by `Archive` inside its write batches (so
several crawl processes can share a file) and by readers. The crawler decides the values (the
revisit policy is the crawler's, crawler.discovery.recrawl); this module only stores and loads
them. No settings drive it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from sqlite_utils import Database

from .models import ArchiveError, UrlKind

# Columns a caller may set (the key columns source and url aside).
STATE_COLUMNS: tuple[str, ...] = (
    "kind",
    "found_by",
    "hops",
    "listed_in",
    "hints",
    "signal",
    "discovered_at",
    "discovered_run_id",
    "fetched_at",
    "fetch_run_id",
    "status",
    "outcome",
    "etag",
    "last_modified",
    "body_hash",
    "article_id",
    "published_at",
    "content_changed_at",
    "unchanged_count",
    "next_due_at",
    "removed_at",
)
# Set when a row is first written, never overwritten by a later fetch.
_FIRST_FOUND = ("discovered_at", "discovered_run_id")
_KINDS = frozenset(UrlKind)


def _checked(values: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(values) - set(STATE_COLUMNS))
    if unknown:
        raise ArchiveError(f"crawl_state has no column(s) {', '.join(unknown)}; known: {', '.join(STATE_COLUMNS)}")
    if "kind" in values and values["kind"] not in _KINDS:
        raise ArchiveError(f"crawl_state kind must be one of {', '.join(UrlKind)}, got {values['kind']!r}")
    return dict(values)


def add_to_frontier(db: Database, source: str, run_id: int, entries: Iterable[Mapping[str, Any]], now: str) -> int:
    """Found URLs the archive does not know yet become frontier rows; of a known URL only a missing
    ``listed_in`` is filled in.

    Each entry has ``url`` and ``kind`` and may have ``found_by``, ``hops``, ``listed_in``,
    ``hints`` (JSON text) and ``signal``. Returns how many rows were added.
    """
    added = 0
    for entry in entries:
        values = _checked({key: value for key, value in entry.items() if key != "url"})
        values.setdefault("discovered_at", now)
        values["discovered_run_id"] = run_id
        names = ["source", "url", *values]
        cursor = db.execute(
            f"INSERT INTO crawl_state ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"
            # Found again (by a sitemap, after a link): remember the sitemap that lists it.
            " ON CONFLICT (source, url) DO UPDATE SET listed_in = COALESCE(crawl_state.listed_in, excluded.listed_in)",
            [source, entry["url"], *values.values()],
        )
        added += cursor.rowcount
    return added  # (rows filled in count too: SQLite reports an upsert's update as a change)


def record_state(db: Database, source: str, url: str, values: Mapping[str, Any], run_id: int, now: str) -> None:
    """Write what a fetch of ``url`` taught us: the given columns replace the stored ones.

    A URL never seen before gets a row (``kind`` is then required); how it was first found and
    when stay as first recorded.
    """
    values = _checked(values)
    insert = {"discovered_at": now, "discovered_run_id": run_id, **values}
    if "kind" not in insert:
        raise ArchiveError(f"crawl_state row for {url} needs a kind the first time it is written")
    names = ["source", "url", *insert]
    updates = [name for name in values if name not in _FIRST_FOUND]
    assignments = ", ".join(f"{name} = excluded.{name}" for name in updates) or "url = url"
    db.execute(
        f"INSERT INTO crawl_state ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"
        f" ON CONFLICT (source, url) DO UPDATE SET {assignments}",
        [source, url, *insert.values()],
    )


def mark_article_removed(db: Database, article_id: int, status: int | None, when: str) -> bool:
    """The article went away (404, 410, a redirect to the home page): set removed_at once; never delete it.

    True when it was not marked removed before.
    """
    cursor = db.execute(
        "UPDATE articles SET removed_at = ?, removed_status = ? WHERE id = ? AND removed_at IS NULL",
        [when, status, article_id],
    )
    return cursor.rowcount > 0


def load_state(db: Database, source: str) -> Iterator[dict[str, Any]]:
    """Every crawl_state row of ``source`` (the crawler loads them once per run), with ``title``: the
    archived article's current headline, where the URL is one."""
    columns = ", ".join(f"s.{name}" for name in ("url", *STATE_COLUMNS))
    cursor = db.execute(
        f"SELECT {columns}, a.title AS title FROM crawl_state s LEFT JOIN articles a ON a.id = s.article_id"
        " WHERE s.source = ?",
        [source],
    )
    names = [column[0] for column in cursor.description]
    for row in cursor:
        yield dict(zip(names, row))


def load_frontier(db: Database, source: str, after: str, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` frontier rows of ``source`` (found, never fetched) whose URL sorts after ``after``,
    in URL order: a crawl reads its spilled frontier back a page at a time."""
    columns = ", ".join(("url", "kind", "found_by", "hops", "listed_in", "hints", "signal"))
    cursor = db.execute(
        f"SELECT {columns} FROM crawl_state WHERE source = ? AND fetched_at IS NULL AND url > ? ORDER BY url LIMIT ?",
        [source, after, limit],
    )
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor]
