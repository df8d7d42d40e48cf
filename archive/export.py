"""Exporting the archive for analysis: stable, typed columns written as JSON lines, CSV or Parquet.

What ``newsarchive export`` writes is defined here, as data: :data:`TABLES` names each exportable
table (``articles``, ``versions``, ``fetches``, ``runs``) with its columns, each with a type and a
description. The columns and their types are a promise to researchers (scripts and notebooks read
them for years), so a column is added here deliberately, never renamed or retyped;
docs/research.md ("Export") is generated from this data (:func:`docs_markdown`) and a test keeps
the two equal.

The types, and how each format writes them:

============  ===========================  ==========================  ========================
type          JSON lines                   CSV                         Parquet
============  ===========================  ==========================  ========================
integer       number                       digits                      int64
real          number                       decimal                     float64
boolean       true / false                 true / false                bool
text          string                       text                        string
timestamp     ISO 8601 string, as stored   ISO 8601 text, as stored    timestamp[ms, UTC]
list          array of strings             JSON array text             list<string>
json          the JSON value               JSON text                   string (JSON text)
============  ===========================  ==========================  ========================

NULL is ``null`` in JSON lines and Parquet and an empty cell in CSV.

Reading streams: :func:`iter_rows` runs one SELECT and pulls rows in batches of
:data:`FETCH_BATCH` (``fetchmany``), so memory does not grow with the archive; one statement also
means one consistent snapshot while crawls keep writing (WAL). The Parquet writer holds one row
group (:data:`PARQUET_ROW_GROUP` rows) at a time. Filters are :class:`archive.filters.ArticleFilter`,
the same rows ``search`` and ``stats`` select: they choose articles, and ``versions`` and
``fetches`` are those of the chosen articles (:data:`FILTERED_THROUGH`); ``runs`` take only
``source``.

pyarrow is imported only by :func:`write_parquet`. Settings: none (the batch sizes are constants).
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from .filters import NO_CONDITION, ArticleFilter, describe_fts_error, register_sql_functions
from .models import ArchiveError
from .records import from_json

FETCH_BATCH = 500  # rows per fetchmany: enough to amortise the call, few enough to stay small
PARQUET_ROW_GROUP = 10_000  # rows per Parquet row group: the most the Parquet writer holds at once
ARROW_CHUNK = 1_000  # rows held as Python objects before they become Arrow data
FORMATS = ("jsonl", "csv", "parquet")
TYPES = ("integer", "real", "boolean", "text", "timestamp", "list", "json")


@dataclass(frozen=True)
class Column:
    """One exported column: its name (as in the archive table), its type (one of TYPES) and what it holds."""

    name: str
    type: str
    description: str


@dataclass(frozen=True)
class ExportTable:
    """An exportable table: the archive table it reads and its columns, in export order."""

    name: str
    table: str  # the archive table
    description: str
    columns: tuple[Column, ...]

    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]


def _columns(*specs: tuple[str, str, str]) -> tuple[Column, ...]:
    return tuple(Column(*spec) for spec in specs)


# The article fields shared by `articles` and `versions` (a version is an article's earlier content).
_CONTENT = (
    ("url", "text", "canonical URL (versions: the URL that version had)"),
    ("title", "text", "headline"),
    ("authors", "list", "author names"),
    ("published_at", "text", "publication date exactly as the site gave it (offset, or date only)"),
    (
        "published_at_utc",
        "timestamp",
        "publication date in UTC; a date-only value is that day at 00:00 UTC in Parquet (the text formats keep it as a date)",
    ),
    ("modified_at", "text", "last-modified date exactly as the site gave it"),
    ("modified_at_utc", "timestamp", "last-modified date in UTC (as published_at_utc)"),
    ("language", "text", "language code (declared, unless the text is clearly in another language)"),
    ("language_declared", "text", "language the page declared"),
    ("language_detected", "text", "language the text was detected in (null below 200 characters)"),
    ("description", "text", "summary / meta description"),
    ("site_name", "text", "publication name as the site states it"),
    ("categories", "list", "sections / categories"),
    ("tags", "list", "keywords / tags"),
    ("image", "text", "lead image URL"),
    ("text", "text", "extracted article text"),
    ("word_count", "integer", "whitespace-separated words in text"),
    ("content_hash", "text", "sha256 of the whitespace-normalised text: equal texts, equal hashes"),
    ("fetch_mode", "text", "plain (HTTP) or browser (rendered)"),
    ("syndicated_from", "text", "where the article says it first appeared (URL or publication name)"),
)

ARTICLES = ExportTable(
    "articles",
    "articles",
    "one row per distinct article, its current version",
    _columns(
        ("id", "integer", "article id"),
        ("source", "text", "source name from the sources file"),
        *_CONTENT,
        ("near_duplicate_of", "integer", "id of the original this text nearly copies (null: none)"),
        ("version", "integer", "1 for the first content, +1 per change (earlier ones: the versions table)"),
        ("first_seen_at", "timestamp", "when the archive first stored the article"),
        ("last_seen_at", "timestamp", "when its content was last seen"),
        ("changed_at", "timestamp", "when it last got a new version (null while version = 1)"),
        ("first_run_id", "integer", "crawl run that first archived it (runs.id)"),
        ("last_run_id", "integer", "last crawl run that saw it (runs.id)"),
        ("removed_at", "timestamp", "when a revisit found it gone (null while online)"),
        ("removed_status", "integer", "HTTP status that said it was gone"),
        (
            "hints",
            "json",
            "what feeds and sitemaps said of the article (title, dates, keywords, news fields) and found_by, every way the crawl met it",
        ),
    ),
)

VERSIONS = ExportTable(
    "versions",
    "article_versions",
    "earlier contents of changed articles, one row per superseded version (the current one is in articles)",
    _columns(
        ("id", "integer", "version row id"),
        ("article_id", "integer", "the article (articles.id)"),
        ("version", "integer", "version number this content had"),
        *_CONTENT,
        ("valid_from", "timestamp", "when this version was first stored"),
        ("valid_to", "timestamp", "when it was replaced"),
        ("run_id", "integer", "last crawl run that saw this version (runs.id)"),
        ("replaced_by_run_id", "integer", "crawl run that found the change (runs.id)"),
        (
            "change_kinds",
            "list",
            "what changed when it was replaced: headline, byline, body, dates, description, correction, reappeared",
        ),
        ("diff", "json", "this version -> the next: {field: {old, new}}, text as a unified diff, correction notes"),
    ),
)

FETCHES = ExportTable(
    "fetches",
    "fetches",
    "every page the crawler handled",
    _columns(
        ("id", "integer", "fetch id"),
        ("run_id", "integer", "crawl run (runs.id)"),
        ("url", "text", "requested URL"),
        ("final_url", "text", "URL after redirects"),
        ("status", "integer", "HTTP status (null: no response)"),
        ("content_type", "text", "response Content-Type"),
        ("bytes", "integer", "response body size"),
        ("fetched_at", "timestamp", "when the response arrived"),
        ("elapsed_ms", "integer", "download time in milliseconds"),
        ("found_by", "text", "how the URL was discovered: start, link, feed, sitemap, robots, canonical"),
        ("depth", "integer", "link hops from the start URLs"),
        ("referer", "text", "page that linked to it"),
        ("fetch_mode", "text", "plain (HTTP) or browser (rendered)"),
        (
            "outcome",
            "text",
            "new, unchanged, updated, duplicate, rejected, skipped, error, discovery, not_modified",
        ),
        ("reason", "text", "why (rejected, skipped, error, discovery), in words"),
        ("reason_kind", "text", "the same reason as a fixed code (see docs/schema.md)"),
        ("evidence", "json", "the signals the article/non-article decision weighed"),
        ("article_id", "integer", "the article it led to (articles.id; null for other pages)"),
    ),
)

RUNS = ExportTable(
    "runs",
    "crawl_runs",
    "one row per crawl run",
    _columns(
        ("id", "integer", "run id"),
        ("source", "text", "source crawled"),
        ("trigger", "text", "manual, schedule or catch-up"),
        ("status", "text", "running, succeeded, failed, timed_out, skipped, abandoned, interrupted (as recorded)"),
        ("reason", "text", "why, for every status but succeeded"),
        ("started_at", "timestamp", "start"),
        ("finished_at", "timestamp", "end"),
        ("duration_s", "real", "finished_at - started_at in seconds"),
        ("scheduled_for", "timestamp", "for skipped runs, when the run was due"),
        ("pages_fetched", "integer", "fetches with an HTTP status"),
        ("requests", "integer", "requests made (retries and robots.txt included)"),
        ("articles_new", "integer", "fetches with outcome new"),
        ("articles_unchanged", "integer", "fetches with outcome unchanged"),
        ("articles_updated", "integer", "fetches with outcome updated"),
        ("articles_duplicate", "integer", "fetches with outcome duplicate"),
        ("articles_rejected", "integer", "fetches with outcome rejected"),
        ("errors", "integer", "fetches with outcome error"),
        ("not_modified", "integer", "fetches with outcome not_modified"),
        ("extraction_failures", "integer", "pages the extractor failed on"),
        ("responses_2xx", "integer", "responses with a 2xx status"),
        ("responses_3xx", "integer", "responses with a 3xx status"),
        ("responses_4xx", "integer", "responses with a 4xx status"),
        ("responses_5xx", "integer", "responses with a 5xx status"),
        ("pages_rendered", "integer", "pages fetched through the browser"),
        ("renders_needed", "integer", "pages that needed the browser after a plain fetch"),
        ("browser_first", "boolean", "the run fetched pages through the browser from the start"),
        ("stop_requested", "boolean", "newsarchive stopped the run on purpose (shutdown, Ctrl-C)"),
        ("exit_code", "integer", "the crawl process's exit code"),
        ("stats_json", "json", "the full Scrapy stats"),
    ),
)

TABLES: dict[str, ExportTable] = {table.name: table for table in (ARTICLES, VERSIONS, FETCHES, RUNS)}
# How a filter reaches each table: articles directly; versions and fetches through their article.
FILTERED_THROUGH = {"articles": "id", "versions": "article_id", "fetches": "article_id"}
RUN_FILTERS = ("source",)  # the only ArticleFilter field that applies to runs


def export_table(name: str) -> ExportTable:
    try:
        return TABLES[name]
    except KeyError:
        raise ArchiveError(f"No exportable table {name!r}.", f"choose one of {', '.join(TABLES)}.") from None


# --- reading --------------------------------------------------------------------------------------


def _connection(source: Any) -> sqlite3.Connection:
    """The sqlite3 connection of an ArchiveReader, an Archive, a sqlite-utils Database or a connection."""
    conn = source if isinstance(source, sqlite3.Connection) else getattr(getattr(source, "db", source), "conn", None)
    if not isinstance(conn, sqlite3.Connection):
        raise TypeError(
            f"expected an ArchiveReader, Archive, sqlite_utils.Database or sqlite3.Connection, got {source!r}"
        )
    register_sql_functions(conn)  # the filters' SQL functions, on a connection opened elsewhere too
    return conn


def check_filter(table: ExportTable, selection: ArticleFilter) -> None:
    """ArchiveError when ``selection`` sets a filter that does not apply to ``table`` (runs take only source)."""
    if table.name in FILTERED_THROUGH:
        return
    unsupported = [
        f.name for f in fields(selection) if getattr(selection, f.name) is not None and f.name not in RUN_FILTERS
    ]
    if unsupported:
        options = ", ".join(f"--{name}" for name in unsupported)
        raise ArchiveError(
            f"{options} does not apply to --table {table.name}: runs are chosen by --source only.",
            "drop it, or export articles, versions or fetches, which those filters select through their article.",
        )


def _column_sql(column: Column) -> str:
    """How the SELECT reads one column: an integer column holding a real (older archives stored
    fetches.elapsed_ms as 82.8) is rounded to the nearest whole number, in every format alike."""
    name = f"t.{column.name}"
    if column.type == "integer":
        return f"CASE WHEN typeof({name}) = 'real' THEN CAST(round({name}) AS INTEGER) ELSE {name} END AS {column.name}"
    return name


def _select(conn: sqlite3.Connection, table: ExportTable, selection: ArticleFilter) -> tuple[str, list[Any]]:
    """The one SELECT for ``table`` under ``selection``, and its parameters."""
    present = {row[1] for row in conn.execute(f"PRAGMA table_info({table.table})")}
    if not present:
        raise ArchiveError(
            f"This archive has no {table.table} table (it was written by an older newsarchive).",
            "crawl into it once with this version to upgrade it, then export again.",
        )
    # A column a later migration added reads as NULL in an older archive (never migrated here).
    select = ", ".join(
        _column_sql(column) if column.name in present else f"NULL AS {column.name}" for column in table.columns
    )
    check_filter(table, selection)
    if table.name == "runs":
        if selection.source is None:
            return f"SELECT {select} FROM {table.table} t ORDER BY t.id", []
        return f"SELECT {select} FROM {table.table} t WHERE t.source = ? ORDER BY t.id", [selection.source]
    where, params = selection.where("a")
    order = "t.article_id, t.version" if table.name == "versions" else "t.id"
    if where == NO_CONDITION:
        return f"SELECT {select} FROM {table.table} t ORDER BY {order}", []
    if table.name == "articles":
        return (
            f"SELECT {select} FROM articles t WHERE t.id IN (SELECT a.id FROM articles a WHERE {where}) ORDER BY t.id",
            params,
        )
    key = FILTERED_THROUGH[table.name]
    return (
        f"SELECT {select} FROM {table.table} t WHERE t.{key} IN (SELECT a.id FROM articles a WHERE {where}) ORDER BY {order}",
        params,
    )


def _decoder(column: Column) -> Callable[[Any], Any] | None:
    if column.type == "list":
        return _as_list
    if column.type == "json":
        return from_json
    if column.type == "boolean":
        return lambda value: None if value is None else bool(value)
    return None


def _as_list(value: Any) -> list[str] | None:
    if value is None:
        return None
    try:
        decoded = json.loads(value)
    except (TypeError, ValueError):
        return [str(value)]  # not JSON: kept whole rather than lost
    if decoded is None:
        return None
    if not isinstance(decoded, list):
        decoded = [decoded]
    return [item if isinstance(item, str) else json.dumps(item, ensure_ascii=False) for item in decoded]


def iter_rows(source: Any, table: str, selection: ArticleFilter | None = None) -> Iterator[dict[str, Any]]:
    """Stream ``table``'s rows under ``selection`` as dicts of the export columns, in id order.

    ``source``: an ArchiveReader (or Archive, sqlite-utils Database, sqlite3 connection). List
    columns come as lists of strings, json columns decoded, booleans as bool, timestamps as the
    stored ISO 8601 text. Memory stays flat: rows are pulled FETCH_BATCH at a time. ArchiveError
    for a filter that does not apply, a bad date or a malformed full-text query.
    """
    spec = export_table(table)
    selection = selection or ArticleFilter()
    conn = _connection(source)
    sql, params = _select(conn, spec, selection)
    names = spec.column_names()
    decoders = [(index, decoder) for index, column in enumerate(spec.columns) if (decoder := _decoder(column))]
    cursor = conn.cursor()

    def next_batch() -> list[Any]:
        try:
            return cursor.fetchmany(FETCH_BATCH)
        except sqlite3.OperationalError as error:
            raise _describe_query_error(selection, error) from error

    try:
        try:
            cursor.execute(sql, params)
        except sqlite3.OperationalError as error:
            raise _describe_query_error(selection, error) from error
        while batch := next_batch():
            for row in batch:
                values = list(row)
                for index, decoder in decoders:
                    values[index] = decoder(values[index])
                yield dict(zip(names, values))
    finally:
        try:
            cursor.close()
        except sqlite3.ProgrammingError:
            pass  # the connection was closed first, and the cursor with it


def count_rows(source: Any, table: str, selection: ArticleFilter | None = None) -> int:
    """How many rows :func:`iter_rows` yields for the same arguments (one COUNT; for a progress bar)."""
    spec = export_table(table)
    selection = selection or ArticleFilter()
    conn = _connection(source)
    sql, params = _select(conn, spec, selection)
    try:
        (count,) = conn.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()
    except sqlite3.OperationalError as error:
        raise _describe_query_error(selection, error) from error
    return int(count)


def _describe_query_error(selection: ArticleFilter, error: sqlite3.OperationalError) -> ArchiveError:
    message = str(error)
    malformed = ("fts5", "syntax", "no such column", "MATCH", "unterminated")
    if selection.query is not None and any(word in message for word in malformed):
        return ArchiveError(
            f"--query {selection.query!r} is not a valid full-text query ({describe_fts_error(message, selection.query)}).",
            'write words (climate policy), a "quoted phrase", a prefix (elect*) or AND / OR / NOT between words, '
            "e.g. --query '\"climate change\" OR flood*'.",
        )
    return ArchiveError(
        f"Reading the archive failed: {message}.",
        "try again (a crawl recovering the file can hold it for a moment); if it persists, run newsarchive doctor.",
    )


def sources(source: Any) -> list[str]:
    """The article sources in the archive, for the note that a --source matched nothing."""
    conn = _connection(source)
    return [row[0] for row in conn.execute("SELECT DISTINCT source FROM articles WHERE source IS NOT NULL ORDER BY 1")]


# --- writing --------------------------------------------------------------------------------------


def write_jsonl(rows: Iterable[Mapping[str, Any]], stream: IO[str]) -> int:
    """One JSON object per line (UTF-8 text, not escaped); returns the number of rows."""
    count = 0
    for row in rows:
        stream.write(json.dumps(row, ensure_ascii=False))
        stream.write("\n")
        count += 1
    return count


def _csv_cell(column_type: str) -> Callable[[Any], Any] | None:
    """How a value of this type becomes a CSV cell; None: as it is (the csv module writes None as an empty cell)."""
    if column_type in ("list", "json"):
        return lambda value: "" if value is None else json.dumps(value, ensure_ascii=False)
    if column_type == "boolean":
        return lambda value: "" if value is None else ("true" if value else "false")
    return None


def write_csv(rows: Iterable[Mapping[str, Any]], stream: IO[str], table: str) -> int:
    """A header line of the column names, then one line per row (RFC 4180 quoting); returns the number of rows.

    ``stream`` should be opened with ``newline=""`` (the csv module writes its own line ends).
    """
    spec = export_table(table)
    names = spec.column_names()
    converted = [(index, cell) for index, column in enumerate(spec.columns) if (cell := _csv_cell(column.type))]
    writer = csv.writer(stream)
    writer.writerow(names)
    count = 0
    for row in rows:
        values = [row[name] for name in names]
        for index, cell in converted:
            values[index] = cell(values[index])
        writer.writerow(values)
        count += 1
    return count


def _timestamp(value: Any) -> datetime | None:
    """A stored ISO 8601 time (or date, year-month, year) as an aware UTC datetime; None when unreadable."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if len(text) == 4 and text.isdigit():
        text += "-01-01"
    elif len(text) == 7 and text[4] == "-":
        text += "-01"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def arrow_schema(table: str) -> Any:
    """The pyarrow schema of an exported table, with each column's description in its field metadata."""
    import pyarrow as pa

    types = {
        "integer": pa.int64(),
        "real": pa.float64(),
        "boolean": pa.bool_(),
        "text": pa.string(),
        "timestamp": pa.timestamp("ms", tz="UTC"),
        "list": pa.list_(pa.field("element", pa.string())),  # Parquet's own name for list items: reads back equal
        "json": pa.string(),
    }
    spec = export_table(table)
    return pa.schema(
        [pa.field(c.name, types[c.type], metadata={"description": c.description}) for c in spec.columns],
        metadata={"newsarchive.table": spec.name, "description": spec.description},
    )


def write_parquet(rows: Iterable[Mapping[str, Any]], output: str | Path | IO[bytes], table: str) -> int:
    """Parquet with the typed schema (:func:`arrow_schema`), one row group per PARQUET_ROW_GROUP rows; returns the count.

    Written even when there are no rows (a file with the schema and no row group), so a reader
    always finds the columns.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    spec = export_table(table)
    schema = arrow_schema(table)
    converters: list[tuple[str, Callable[[Any], Any] | None]] = []
    for column in spec.columns:
        if column.type == "timestamp":
            converters.append((column.name, _timestamp))
        elif column.type == "json":
            converters.append(
                (column.name, lambda value: None if value is None else json.dumps(value, ensure_ascii=False))
            )
        else:
            converters.append((column.name, None))

    def to_arrow(chunk: list[Mapping[str, Any]]) -> Any:
        arrays = []
        for (name, convert), field in zip(converters, schema):
            values = [row[name] for row in chunk] if convert is None else [convert(row[name]) for row in chunk]
            arrays.append(pa.array(values, type=field.type))
        return pa.RecordBatch.from_arrays(arrays, schema=schema)

    # Rows become Arrow data ARROW_CHUNK at a time (Python objects take several times the room of
    # the same data in Arrow); a row group is written once PARQUET_ROW_GROUP rows are in Arrow.
    chunk_rows = min(ARROW_CHUNK, PARQUET_ROW_GROUP)
    count = 0
    with pq.ParquetWriter(output, schema, compression="zstd") as writer:
        chunk: list[Mapping[str, Any]] = []
        group: list[Any] = []
        grouped = 0
        for row in rows:
            chunk.append(row)
            if len(chunk) < chunk_rows:
                continue
            group.append(to_arrow(chunk))
            grouped += len(chunk)
            count += len(chunk)
            chunk = []
            if grouped >= PARQUET_ROW_GROUP:
                writer.write_table(pa.Table.from_batches(group, schema=schema), row_group_size=PARQUET_ROW_GROUP)
                group, grouped = [], 0
        if chunk:
            group.append(to_arrow(chunk))
            count += len(chunk)
        if group:
            writer.write_table(pa.Table.from_batches(group, schema=schema), row_group_size=PARQUET_ROW_GROUP)
    return count


# --- the documentation ---------------------------------------------------------------------------


def docs_markdown() -> str:
    """The column tables of docs/research.md's "Export" section (tests/test_export.py keeps them equal)."""
    parquet = {
        "integer": "int64",
        "real": "float64",
        "boolean": "bool",
        "text": "string",
        "timestamp": "timestamp[ms, UTC]",
        "list": "list<string>",
        "json": "string (JSON text)",
    }
    blocks = []
    for spec in TABLES.values():
        lines = [
            f"### `--table {spec.name}` ({spec.table}): {spec.description}",
            "",
            "| column | type | Parquet | meaning |",
            "|---|---|---|---|",
        ]
        lines.extend(
            f"| `{c.name}` | {c.type} | {parquet[c.type]} | {c.description.replace('|', '/')} |" for c in spec.columns
        )
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"
