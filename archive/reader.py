"""`ArchiveReader`: the read side of an archive file, which never creates, migrates or writes it.

Everything that only looks at an archive reads through this class: ``newsarchive status``, ``runs``,
``logs`` and ``history`` (``article`` and ``versions``), the live table of a crawl in the foreground,
``newsarchive doctor`` and the scheduler while it waits for runs to end. The file is opened with SQLite's read-only URI mode
(``mode=ro``) and ``PRAGMA query_only``, so no statement can change it; a missing file is an
ArchiveError (never a new empty archive), and so is a file that is not a newsarchive archive or
was written by a newer newsarchive.

Reading while crawls write: archives are in WAL mode, so a reader sees the last committed state at
once and neither waits for nor blocks the writers (a crawl commits at least every
``ARCHIVE_COMMIT_INTERVAL`` seconds). To read a WAL file SQLite needs its ``-wal`` and ``-shm``
companions, and creates them (empty) when no writer has the file open; they hold no data and the
next writer uses them. The archive file itself is never touched.

Older archives are read as they are, never migrated: a column that a later migration added reads
as None in every row (that version did not record it), and a read that needs a table the file
does not have yet raises ArchiveError naming the migration that adds it and how to get it (a
crawl into the archive applies the pending migrations). What the current schema looks like is
learned by applying ``archive.migrations.MIGRATIONS`` to an in-memory database once per process,
so new migrations are known here without a second list.

Runs as they effectively are: a ``running`` row whose crawl process is gone (killed with SIGKILL,
say) stays ``running`` in the file until a writing command marks it ``abandoned``. Given
``stale_reason`` (a function of the row that says why it is stale, or None; the crawler passes
``crawler.run.liveness.stale_run_reason``), :meth:`ArchiveReader.run` and :meth:`ArchiveReader.runs`
show such a row as ``abandoned`` with that reason, and filter by that status, without writing.

Settings: ``ArchiveReader(path, timeout=BUSY_TIMEOUT_S, check=True, stale_reason=None)``: ``timeout`` is
how long a read waits for a lock (rare with WAL: a writer recovering a crashed file), ``check=False``
opens any SQLite file for inspection (``doctor``) instead of refusing what is not a readable archive,
``stale_reason`` as above (None: rows as recorded).
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlite_utils import Database

from .connection import BUSY_TIMEOUT_S, describe_database_error, primary_code
from .crawl_state import load_frontier, load_state
from .dates import format_utc, parse_utc, to_utc_iso
from .filters import register_sql_functions
from .migrations import MIGRATIONS, applied_numbers
from .models import ArchiveError, RunStatus
from .records import CONTENT_COLUMNS
from .runs import counts_sql

SCHEMA_TABLE = "schema_migrations"

# Each run with its counts so far, computed from its fetch rows (crawl_runs holds the counts only
# once a run has finished; the terms are archive.runs.counts_sql's); duration up to now for a run still going.
_RUN_PROGRESS_SQL = """
SELECT r.id AS run_id, r.source, r.status, r.started_at,
       (julianday(COALESCE(r.finished_at, strftime('%Y-%m-%dT%H:%M:%fZ','now'))) - julianday(r.started_at)) * 86400.0
           AS duration_s,
       {counts}
FROM crawl_runs r LEFT JOIN fetches ON fetches.run_id = r.id
WHERE r.id IN ({placeholders})
GROUP BY r.id ORDER BY r.id
"""


@dataclass(frozen=True)
class TableSchema:
    """A table as the current migrations build it: its columns in order, and the migration that creates it."""

    columns: tuple[str, ...]
    created_by: int


@dataclass(frozen=True)
class ArchiveFacts:
    """What `newsarchive doctor` reports about an archive file (see `ArchiveReader.facts`)."""

    tables: frozenset[str]
    applied: frozenset[int]  # migration numbers recorded in the file
    known: frozenset[int]  # migration numbers this newsarchive knows
    journal_mode: str
    articles: int
    size_bytes: int  # the file and its -wal


@functools.cache
def current_schema() -> dict[str, TableSchema]:
    """Every table the migrations create, built in an in-memory database (a few ms, once per process)."""
    db = Database(sqlite3.connect(":memory:", isolation_level=None))
    try:
        tables: dict[str, TableSchema] = {}
        for migration in sorted(MIGRATIONS, key=lambda m: m.number):
            migration.apply(db)
            for name in db.table_names():
                created_by = tables[name].created_by if name in tables else migration.number
                tables[name] = TableSchema(tuple(db[name].columns_dict), created_by)
        return tables
    finally:
        db.close()


def open_read_only(path: Path, timeout: float = BUSY_TIMEOUT_S) -> Database:
    """Open an existing archive file read-only; ArchiveError naming the file and the fix when it cannot be."""
    if not path.exists():
        raise ArchiveError(
            f"No archive at {path}: the file does not exist (reading never creates one).",
            "create it by crawling into it (newsarchive crawl --config sources.toml, or newsarchive demo "
            f"--db {path}), or point --db / the sources file's [archive] db at the archive you mean.",
            path=path,
        )
    if path.is_dir():
        raise ArchiveError(
            f"{path} is a folder, not an archive file.", "point at the archive file, e.g. data/archive.db.", path=path
        )
    try:
        conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=timeout, isolation_level=None)
    except sqlite3.Error as error:
        raise _describe_read_error(path, error) from error
    try:
        conn.execute("PRAGMA query_only = ON")
        register_sql_functions(conn)  # what ArticleFilter's SQL calls (Unicode case folding)
        # The first real file access: a file that is not SQLite fails here.
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return Database(conn)
    except sqlite3.DatabaseError as error:
        conn.close()
        raise _describe_read_error(path, error) from error


def _describe_read_error(path: Path, error: sqlite3.Error) -> ArchiveError:
    if primary_code(error) in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY):
        return ArchiveError(
            f"Cannot read archive {path} ({error}).",
            "make the file readable for this user; to read an archive in WAL mode SQLite also needs its folder "
            "writable (for the -wal and -shm files beside it) or those files present.",
            path=path,
        )
    return describe_database_error(path, error)


class ArchiveReader:
    """An archive file opened for reading only. Use as a context manager, or call `close()`."""

    def __init__(
        self,
        path: str | Path,
        *,
        timeout: float = BUSY_TIMEOUT_S,
        check: bool = True,
        stale_reason: Callable[[Mapping[str, Any]], str | None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.stale_reason = stale_reason
        self.db: Database = open_read_only(self.path, timeout)
        try:
            self._columns = {name: tuple(self.db[name].columns_dict) for name in self.db.table_names()}
            self.applied_migrations = frozenset(applied_numbers(self.db))
            if check:
                self._check_readable()
        except sqlite3.DatabaseError as error:
            self.db.close()
            raise _describe_read_error(self.path, error) from error
        except ArchiveError:
            self.db.close()
            raise

    def __enter__(self) -> ArchiveReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the file (safe to call twice)."""
        self.db.close()

    # -- the schema ------------------------------------------------------------------------

    @property
    def pending_migrations(self) -> list[int]:
        """Migrations this newsarchive knows and the file lacks (a crawl into it applies them)."""
        return sorted({migration.number for migration in MIGRATIONS} - self.applied_migrations)

    @property
    def newer_migrations(self) -> list[int]:
        """Migrations recorded in the file that this newsarchive does not know (a newer version wrote it)."""
        return sorted(self.applied_migrations - {migration.number for migration in MIGRATIONS})

    def facts(self) -> ArchiveFacts:
        """Tables, schema, journal mode, article count and size on disk, for a report."""
        articles = self._scalar("SELECT count(*) FROM articles") if "articles" in self._columns else 0
        size = sum(file.stat().st_size for file in (self.path, Path(f"{self.path}-wal")) if file.exists())
        return ArchiveFacts(
            tables=frozenset(self._columns),
            applied=self.applied_migrations,
            known=frozenset(migration.number for migration in MIGRATIONS),
            journal_mode=str(self._scalar("PRAGMA journal_mode")),
            articles=int(articles),
            size_bytes=size,
        )

    @functools.cached_property
    def views(self) -> frozenset[str]:
        """The SQL views the file has (migration 13 adds latest_articles, article_provenance, articles_per_day)."""
        return frozenset(row[0] for row in self._query("SELECT name FROM sqlite_master WHERE type = 'view'", []))

    def has_table(self, name: str) -> bool:
        """Whether the file has this table (an older archive lacks the tables later migrations add)."""
        return name in self._columns

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of one SQL statement as dicts (the connection is read-only); database errors as ArchiveError."""
        return self._dicts(sql, list(params))

    def integrity_problems(self) -> list[str]:
        """SQLite's quick_check findings; [] when the file is sound."""
        problems = [row[0] for row in self._query("PRAGMA quick_check", [])]
        return [] if problems == ["ok"] else problems

    # -- runs ------------------------------------------------------------------------------

    def run(self, run_id: int) -> dict[str, Any]:
        """The crawl_runs row (as it effectively is: see ``stale_reason``); ArchiveError if there is none."""
        rows = self._rows("crawl_runs", "SELECT * FROM crawl_runs WHERE id = ?", [run_id], "a crawl run")
        if not rows:
            raise ArchiveError(
                f"No crawl run with id {run_id} in archive {self.path}.",
                f"list the runs it has (newsarchive runs --db {self.path}) and use one of their ids.",
            )
        return self._effective(rows[0])

    def runs(
        self, source: str | None = None, *, statuses: Iterable[str] | None = None, limit: int = 20
    ) -> list[dict[str, Any]]:
        """Most recent runs first, optionally of one source and only with these statuses.

        Statuses as they effectively are (see ``stale_reason``): asking for ``abandoned`` also finds
        ``running`` rows whose process is gone, and asking for ``running`` leaves those out.
        """
        conditions: list[str] = []
        params: list[Any] = []
        wanted: set[str] | None = None
        if source is not None:
            conditions.append("source = ?")
            params.append(source)
        if statuses is not None:
            wanted = set(statuses)
            stored = sorted(wanted | {RunStatus.RUNNING} if self.stale_reason is not None else wanted)
            conditions.append(f"status IN ({', '.join('?' for _ in stored) or 'NULL'})")
            params.extend(stored)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        sql = f"SELECT * FROM crawl_runs{where} ORDER BY id DESC LIMIT ?"
        if wanted is None or self.stale_reason is None:
            return [self._effective(row) for row in self._rows("crawl_runs", sql, [*params, limit], "crawl runs")]
        # Running rows may turn out to be abandoned: read enough rows to fill `limit` after filtering.
        running = self._rows("crawl_runs", "SELECT id FROM crawl_runs WHERE status = ?", [RunStatus.RUNNING], "runs")
        rows = self._rows("crawl_runs", sql, [*params, limit + len(running)], "crawl runs")
        return [row for row in map(self._effective, rows) if row["status"] in wanted][:limit]

    def _effective(self, row: dict[str, Any]) -> dict[str, Any]:
        """The row, shown as abandoned (with the reason) when it is running and ``stale_reason`` says it is stale."""
        if self.stale_reason is None or row.get("status") != RunStatus.RUNNING:
            return row
        reason = self.stale_reason(row)
        if reason is None:
            return row
        return {**row, "status": RunStatus.ABANDONED.value, "reason": reason}

    def sources_with_runs(self) -> list[str]:
        """Every source name that has at least one run, sorted."""
        self._require_table("crawl_runs", "crawl runs")
        return [row[0] for row in self._query("SELECT DISTINCT source FROM crawl_runs ORDER BY source", [])]

    def run_statuses(self, run_ids: Sequence[int]) -> dict[int, str]:
        """Run id -> status for these runs (ids not in the archive are left out)."""
        self._require_table("crawl_runs", "crawl runs")
        placeholders = ", ".join("?" for _ in run_ids) or "NULL"
        sql = f"SELECT id, status FROM crawl_runs WHERE id IN ({placeholders})"
        return {int(run_id): status for run_id, status in self._query(sql, list(run_ids))}

    def run_progress(self, run_ids: Sequence[int]) -> list[dict[str, Any]]:
        """These runs with their counts so far, counted from their fetches (they may still be running)."""
        self._require_table("fetches", "crawl progress")
        counts, parameters = counts_sql()
        sql = _RUN_PROGRESS_SQL.format(counts=counts, placeholders=", ".join("?" for _ in run_ids) or "NULL")
        return self._dicts(sql, [*parameters, *run_ids])

    # -- articles --------------------------------------------------------------------------

    def run_articles(self, run_id: int, limit: int | None = None) -> list[dict[str, Any]]:
        """Articles first archived by the run: id, url, title, published_at, source."""
        self._require_table("articles", "articles")
        return self._dicts(
            "SELECT id, url, title, published_at, source FROM articles WHERE first_run_id = ? ORDER BY id LIMIT ?",
            [run_id, -1 if limit is None else limit],
        )

    def article(self, url_or_id: str | int, alternatives: Sequence[str] = ()) -> dict[str, Any]:
        """The articles row known by a numeric id, its canonical URL or an alias URL (url_aliases).

        ``alternatives``: other spellings of the URL to try, in order, when it is not found as given
        (the caller's canonical form of it, with or without its trailing slash; the archive library
        does not canonicalise URLs itself). ArchiveError (with the fix) when the archive has no such article.
        """
        self._require_table("articles", "articles")
        key = str(url_or_id).strip()
        if key.isdigit():
            rows = self._rows("articles", "SELECT * FROM articles WHERE id = ?", [int(key)], "an article")
        else:
            rows = []
            for url in dict.fromkeys([key, *alternatives]):
                rows = self._rows("articles", "SELECT * FROM articles WHERE url = ?", [url], "an article")
                if not rows and "url_aliases" in self._columns:
                    rows = self._rows(
                        "articles",
                        "SELECT a.* FROM url_aliases u JOIN articles a ON a.id = u.article_id WHERE u.url = ?",
                        [url],
                        "an article",
                    )
                if rows:
                    break
        if not rows:
            what = f"with id {key}" if key.isdigit() else f"under URL {key} (as its canonical URL or an alias)"
            raise ArchiveError(
                f"No article {what} in archive {self.path}.",
                "give the article's id or its URL as archived, e.g. from: "
                f"sqlite3 {self.path} \"SELECT id, url FROM articles WHERE url LIKE '%words-of-the-slug%'\"",
            )
        return rows[0]

    def versions(self, article_id: int) -> list[dict[str, Any]]:
        """Every version of the article, oldest first, its current state last (``current`` True).

        Each entry has the version's content columns (JSON columns as stored text), ``version``,
        ``valid_from``, ``valid_to`` (None for the current one), ``found_by_run_id`` (the run that
        stored it), and how it differs from the version before it: ``change_kinds`` (a list of
        `ChangeKind` values) and ``diff`` (a dict, see archive/changes.py), both None for the first
        version and for changes stored before migration 8 without them. In the table the same
        facts sit on the replaced row (``article_versions.change_kinds``: what replaced it).
        """
        article = self.article(article_id)
        stored = self._rows(
            "article_versions",
            "SELECT * FROM article_versions WHERE article_id = ? ORDER BY version",
            [article["id"]],
            "article versions",
        )
        entries: list[dict[str, Any]] = []
        previous: Mapping[str, Any] | None = None
        for row in [*stored, article]:
            is_current = row is article
            entry = {name: row.get(name) for name in _VERSION_CONTENT_COLUMNS}
            entry.update(
                version=row.get("version"),
                current=is_current,
                valid_from=(row.get("changed_at") or row.get("first_seen_at")) if is_current else row.get("valid_from"),
                valid_to=None if is_current else row.get("valid_to"),
                found_by_run_id=article.get("first_run_id") if previous is None else previous.get("replaced_by_run_id"),
                change_kinds=None if previous is None else _json_or_none(previous.get("change_kinds")),
                diff=None if previous is None else _json_or_none(previous.get("diff")),
            )
            entries.append(entry)
            previous = row
        return entries

    def as_of(self, url_or_id: str | int, moment: str) -> dict[str, Any]:
        """The article as the archive knew it at ``moment`` (ISO 8601; a date alone is its start, UTC).

        The version entry (as in ``versions``) valid then, with ``as_of`` (the moment in UTC) and
        ``removed_at``/``removed_status`` when the article was known to be offline at that moment.
        ArchiveError when the moment is not a date or the archive did not have the article yet.
        """
        when_text = to_utc_iso(moment)
        if not when_text or len(when_text) < 10:
            raise ArchiveError(
                f"{moment!r} is not a date and time.", 'give ISO 8601, e.g. "2024-05-01T12:00Z" or "2024-05-01"'
            )
        when = parse_utc(when_text if "T" in when_text else f"{when_text}T00:00:00Z")
        article = self.article(url_or_id)
        versions = self.versions(article["id"])
        first_seen = parse_utc(article["first_seen_at"])
        if when < first_seen:
            raise ArchiveError(
                f"Article {article['id']} was not in archive {self.path} yet at {format_utc(when)}: "
                f"it was first archived at {article['first_seen_at']}.",
                f"ask for a moment after that, or see every version with: newsarchive history {article['id']}",
            )
        position = next(
            index
            for index, entry in enumerate(versions)
            if entry["valid_to"] is None or when < parse_utc(entry["valid_to"])
        )
        chosen = dict(versions[position])
        removed_at, removed_status = None, None
        if chosen["current"]:
            removed_at, removed_status = article.get("removed_at"), article.get("removed_status")
        else:  # offline then, if the next version is the article coming back
            back = (versions[position + 1].get("diff") or {}).get("reappeared") or {}
            removed_at, removed_status = back.get("removed_at"), back.get("removed_status")
        if removed_at and parse_utc(removed_at) > when:
            removed_at, removed_status = None, None
        chosen.update(as_of=format_utc(when), removed_at=removed_at, removed_status=removed_status)
        return chosen

    # -- internals -------------------------------------------------------------------------

    def crawl_state(self, source: str) -> list[dict[str, Any]]:
        """Every crawl_state row of ``source`` (archive/crawl_state.py): what the next crawl knows of each URL.

        Empty for an archive written before crawl_state existed (a crawl adds the table).
        """
        if "crawl_state" not in self._columns:
            return []
        try:
            return list(load_state(self.db, source))
        except sqlite3.DatabaseError as error:
            raise _describe_read_error(self.path, error) from error

    def frontier(self, source: str, after: str = "", limit: int = 1000) -> list[dict[str, Any]]:
        """Frontier rows of ``source`` (found, never fetched) after URL ``after``, in URL order (crawl_state.load_frontier)."""
        if "crawl_state" not in self._columns:
            return []
        try:
            return load_frontier(self.db, source, after, limit)
        except sqlite3.DatabaseError as error:
            raise _describe_read_error(self.path, error) from error

    def boilerplate(self, source: str | None = None) -> list[dict[str, Any]]:
        """The learned boilerplate counts (archive/boilerplate.py), by source then most frequent line:
        dicts with ``source``, ``source_pages`` (articles counted), ``line``, ``pages`` (articles with it).

        Empty for an archive written before migration 12.
        """
        if "boilerplate_lines" not in self._columns:
            return []
        where, params = ("WHERE l.source = ?", [source]) if source is not None else ("", [])
        return self._dicts(
            "SELECT l.source, s.pages AS source_pages, l.line, l.pages FROM boilerplate_lines l"
            f" JOIN boilerplate_sources s USING (source) {where} ORDER BY l.source, l.pages DESC, l.line",
            params,
        )

    def _check_readable(self) -> None:
        if not self._columns:
            raise ArchiveError(
                f"{self.path} is an empty SQLite file, not an archive yet.",
                f"crawl into it to create the archive (newsarchive crawl URL --db {self.path}), or point at the "
                "archive you meant.",
                path=self.path,
            )
        if SCHEMA_TABLE not in self._columns:
            shown = ", ".join(sorted(self._columns)[:6])
            raise ArchiveError(
                f"{self.path} is a SQLite file but not a newsarchive archive (tables: {shown}).",
                "point at a newsarchive archive (--db, or [archive] db in the sources file).",
                path=self.path,
            )
        if self.newer_migrations:
            raise ArchiveError(
                f"Archive {self.path} has schema migrations {self.newer_migrations} that this version of "
                "newsarchive does not know; it was written by a newer version.",
                "upgrade newsarchive to read it.",
                path=self.path,
            )

    def _require_table(self, table: str, what: str) -> None:
        if table in self._columns:
            return
        schema = current_schema().get(table)
        if schema is None:  # not a table of the archive at all: a programming error, said plainly
            raise ArchiveError(f"Archive tables have no {table!r}; cannot read {what} from {self.path}")
        migration = next(m for m in MIGRATIONS if m.number == schema.created_by)
        known = len(MIGRATIONS)
        raise ArchiveError(
            f"Cannot read {what} from archive {self.path}: it has no {table} table, which migration "
            f"{migration.number} ({migration.name}) adds; the file has {len(self.applied_migrations)} of "
            f"{known} migrations.",
            "crawl into it once with this newsarchive (which applies the pending migrations), then read it again.",
            path=self.path,
        )

    def _rows(self, table: str, sql: str, params: list[Any], what: str) -> list[dict[str, Any]]:
        """Rows of `table` as dicts with every current column: columns this file's schema lacks read as None."""
        self._require_table(table, what)
        rows = self._dicts(sql, params)
        if not self.pending_migrations:
            return rows  # a file with every migration has the current columns by construction
        schema = current_schema().get(table)
        if schema is None or self._columns[table] == schema.columns:
            return rows
        return [_with_columns(row, schema.columns) for row in rows]

    def _dicts(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        try:
            cursor = self.db.execute(sql, params)
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]
        except sqlite3.DatabaseError as error:
            raise _describe_read_error(self.path, error) from error

    def _query(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        try:
            return self.db.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as error:
            raise _describe_read_error(self.path, error) from error

    def _scalar(self, sql: str) -> Any:
        rows = self._query(sql, [])
        return rows[0][0] if rows else None


# The content of one version, as article_versions and articles both hold it (feed hints are not content).
_VERSION_CONTENT_COLUMNS = tuple(name for name in CONTENT_COLUMNS if name != "hints")


def _json_or_none(value: Any) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return None


def _with_columns(row: Mapping[str, Any], columns: Sequence[str]) -> dict[str, Any]:
    """The row in the current column order, None for the columns it lacks, then any columns it has beyond them."""
    completed = {column: row.get(column) for column in columns}
    completed.update({key: value for key, value in row.items() if key not in completed})
    return completed
