"""``newsarchive export`` and archive/export.py on a real archive file built with the library.

Round trips per format and table (every row, every column, the documented types), the filters
selecting what ``ArticleFilter`` selects, stdout, unicode, empty results, the errors a researcher
can make, and the documented columns matching the schema data. Memory is not measured here (see
benchmarks/export_bench.py); that the writers work in batches is checked by counting row groups.
"""

from __future__ import annotations

import csv
import io
import json
import random
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from archive import Archive, ArchiveError, ArchiveReader
from archive import export as library
from archive.filters import ArticleFilter, register_sql_functions
from archive.reader import current_schema
from crawler.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
WORDS = "council budget river election policy housing school climate market court health transport".split()
UNICODE_TITLE = 'Größe, «Zitat» und "Anführung", 北京 ☕ — line\nbreak'


def prose(seed: int, words: int = 120) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) + str(rng.randint(0, 999)) for _ in range(words))


def article(url: str, seed: int, source: str, **overrides: Any) -> dict[str, Any]:
    values = {
        "url": url,
        "source": source,
        "title": f"Story {seed}",
        "authors": ["Ada Lovelace"],
        "published_at": "2024-05-12T09:30:00+02:00",
        "language": "en",
        "description": "A summary.",
        "site_name": source.title(),
        "categories": ["politics"],
        "tags": ["budget", "council"],
        "image": "https://example.org/img.jpg",
        "text": prose(seed),
        "fetch_mode": "plain",
    }
    values.update(overrides)
    return values


@pytest.fixture(scope="module")
def archive_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("export") / "archive.db"
    with Archive(path) as arc:
        alpha = arc.start_run("alpha")
        arc.save_article(
            alpha,
            article("https://alpha.example/1", 1, "alpha", authors=["Ada Lovelace", "Grace Hopper"]),
            {"status": 200},
        )
        arc.save_article(
            alpha,
            article(
                "https://alpha.example/2",
                2,
                "alpha",
                title=UNICODE_TITLE,
                text=f"Die Größe des Problems: «{prose(2)}», 北京 ☕\nZweite Zeile, mit Komma.",
                language="de-AT",
                published_at="2024-05-20",
                tags=["Straße", "naïve, with comma"],
            ),
            {"status": 200},
        )
        arc.save_article(
            alpha,
            article("https://alpha.example/3", 3, "alpha", published_at="2024-06-01T23:30:00-02:00"),
            {"status": 200},
        )
        arc.record_fetch(
            alpha, {"url": "https://alpha.example/tag/x", "status": 200}, "rejected", "a listing", reason_kind="listing"
        )
        arc.finish_run(alpha, "succeeded")
        beta = arc.start_run("beta")
        arc.save_article(
            beta,
            article("https://beta.example/a", 4, "beta", authors=[], published_at=None, language="fr", tags=[]),
            {"status": 200},
        )
        arc.save_article(
            beta,
            article("https://beta.example/b", 5, "beta", authors=["grace hopper"], modified_at="2024-05-13T08:00:00Z"),
            {"status": 200},
        )
        arc.finish_run(beta, "failed")
        again = arc.start_run("alpha")
        edited = article(
            "https://alpha.example/1", 1, "alpha", authors=["Ada Lovelace", "Grace Hopper"], title="Story 1, corrected"
        )
        assert arc.save_article(again, edited, {"status": 200}).outcome == "updated"
        arc.finish_run(again, "succeeded")
    return path


def expected_rows(db: Path, table: str) -> list[dict[str, Any]]:
    """The export's rows as read straight from SQLite with the documented decoding."""
    spec = library.TABLES[table]
    order = "article_id, version" if table == "versions" else "id"
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        raw = conn.execute(f"SELECT * FROM {spec.table} ORDER BY {order}").fetchall()
    rows = []
    for record in raw:
        row = {}
        for column in spec.columns:
            value = record[column.name]
            if value is not None and column.type in ("list", "json"):
                value = json.loads(value)
            elif value is not None and column.type == "boolean":
                value = bool(value)
            row[column.name] = value
        rows.append(row)
    return rows


def invoke(db: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["export", "--db", str(db), *args])


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def csv_value(cell: str, column_type: str) -> Any:
    if cell == "":
        return None
    if column_type == "integer":
        return int(cell)
    if column_type == "real":
        return float(cell)
    if column_type == "boolean":
        return {"true": True, "false": False}[cell]
    if column_type in ("list", "json"):
        return json.loads(cell)
    return cell


def read_csv(path: Path, table: str) -> list[dict[str, Any]]:
    types = {column.name: column.type for column in library.TABLES[table].columns}
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == library.TABLES[table].column_names()
        return [{name: csv_value(cell, types[name]) for name, cell in row.items()} for row in reader]


def as_timestamp(value: str | None) -> datetime | None:
    if value is None:
        return None
    if len(value) == 10:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    moment = datetime.fromisoformat(value)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000).astimezone(UTC)


# --- round trips --------------------------------------------------------------------------------


@pytest.mark.parametrize("table", list(library.TABLES))
@pytest.mark.parametrize("output_format", library.FORMATS)
def test_every_row_and_column_round_trips_with_its_type(
    archive_db: Path, tmp_path: Path, table: str, output_format: str
) -> None:
    output = tmp_path / f"{table}.{output_format}"
    result = invoke(archive_db, "--format", output_format, "--table", table, "-o", str(output))
    assert result.exit_code == 0, result.output
    expected = expected_rows(archive_db, table)
    assert expected, "the fixture has rows in every table"
    assert f"Exported {len(expected):,} row{'s' if len(expected) != 1 else ''} of {table} as" in result.stderr
    assert not list(tmp_path.glob(".*.partial"))
    spec = library.TABLES[table]
    if output_format == "jsonl":
        assert read_jsonl(output) == expected
    elif output_format == "csv":
        assert read_csv(output, table) == expected
    else:
        read = pq.read_table(output)
        assert read.schema.equals(library.arrow_schema(table), check_metadata=True)
        kinds = {column.name: column.type for column in spec.columns}
        for name, field in zip(read.column_names, read.schema):
            assert (
                field.type
                == {
                    "integer": pa.int64(),
                    "real": pa.float64(),
                    "boolean": pa.bool_(),
                    "text": pa.string(),
                    "timestamp": pa.timestamp("ms", tz="UTC"),
                    "list": pa.list_(pa.field("element", pa.string())),
                    "json": pa.string(),
                }[kinds[name]]
            )
        typed = []
        for row in expected:
            converted = dict(row)
            for column in spec.columns:
                value = row[column.name]
                if column.type == "timestamp":
                    converted[column.name] = as_timestamp(value)
                elif column.type == "json" and value is not None:
                    converted[column.name] = json.dumps(value, ensure_ascii=False)
            typed.append(converted)
        assert read.to_pylist() == typed


def test_articles_keep_unicode_lists_and_dates_as_stored(archive_db: Path, tmp_path: Path) -> None:
    output = tmp_path / "articles.jsonl"
    assert invoke(archive_db, "--format", "jsonl", "-o", str(output)).exit_code == 0
    rows = {row["url"]: row for row in read_jsonl(output)}
    second = rows["https://alpha.example/2"]
    assert second["title"] == UNICODE_TITLE
    assert "北京 ☕" in output.read_text(encoding="utf-8")  # written as UTF-8, not \u escapes
    assert second["tags"] == ["Straße", "naïve, with comma"]
    assert second["published_at_utc"] == "2024-05-20"  # a date-only publication stays a date in text formats
    assert rows["https://alpha.example/1"]["authors"] == ["Ada Lovelace", "Grace Hopper"]
    assert rows["https://alpha.example/1"]["version"] == 2
    assert rows["https://beta.example/a"]["authors"] == []
    assert rows["https://beta.example/a"]["published_at_utc"] is None
    parquet = tmp_path / "articles.parquet"
    assert invoke(archive_db, "--format", "parquet", "-o", str(parquet)).exit_code == 0
    by_url = {row["url"]: row for row in pq.read_table(parquet).to_pylist()}
    assert by_url["https://alpha.example/2"]["published_at_utc"] == datetime(2024, 5, 20, tzinfo=UTC)
    assert by_url["https://alpha.example/3"]["published_at_utc"] == datetime(2024, 6, 2, 1, 30, tzinfo=UTC)
    assert by_url["https://alpha.example/2"]["tags"] == ["Straße", "naïve, with comma"]


def test_parquet_is_written_in_row_groups(archive_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(library, "PARQUET_ROW_GROUP", 2)
    monkeypatch.setattr(library, "FETCH_BATCH", 2)
    output = tmp_path / "articles.parquet"
    with ArchiveReader(archive_db) as reader:
        count = library.write_parquet(library.iter_rows(reader, "articles"), output, "articles")
    assert count == 5
    assert pq.ParquetFile(output).metadata.num_row_groups == 3
    assert pq.read_table(output).num_rows == 5


def test_a_column_description_travels_in_the_parquet_schema(archive_db: Path, tmp_path: Path) -> None:
    output = tmp_path / "runs.parquet"
    assert invoke(archive_db, "--format", "parquet", "--table", "runs", "-o", str(output)).exit_code == 0
    schema = pq.read_schema(output)
    assert schema.field("status").metadata[b"description"].startswith(b"running, succeeded")
    assert schema.metadata[b"newsarchive.table"] == b"runs"


# --- filters -------------------------------------------------------------------------------------

FILTERS = [
    {"source": "alpha"},
    {"source": "beta", "language": "fr"},
    {"language": "de"},
    {"since": "2024-05-13"},
    {"until": "2024-05-20"},
    {"since": "2024-05-12T07:30:00Z", "until": "2024-05-12T07:30:00Z"},
    {"author": "GRACE HOPPER"},
    {"query": "corrected"},
    {"query": "council*", "source": "beta"},
]


def selected_ids(db: Path, selection: ArticleFilter) -> list[int]:
    where, params = selection.where("a")
    with sqlite3.connect(db) as conn:
        register_sql_functions(conn)  # what the filter's SQL calls (Unicode case folding of authors)
        return [row[0] for row in conn.execute(f"SELECT a.id FROM articles a WHERE {where} ORDER BY a.id", params)]


@pytest.mark.parametrize("options", FILTERS, ids=lambda options: ",".join(f"{k}={v}" for k, v in options.items()))
def test_filters_select_the_rows_article_filter_selects(
    archive_db: Path, tmp_path: Path, options: dict[str, str]
) -> None:
    selection = ArticleFilter(**options)
    ids = selected_ids(archive_db, selection)
    arguments = [part for name, value in options.items() for part in (f"--{name}", value)]
    output = tmp_path / "out.jsonl"
    result = invoke(archive_db, "--format", "jsonl", *arguments, "-o", str(output))
    assert result.exit_code == 0, result.output
    assert [row["id"] for row in read_jsonl(output)] == ids
    with ArchiveReader(archive_db) as reader:
        assert library.count_rows(reader, "articles", selection) == len(ids)
        versions = [row["article_id"] for row in library.iter_rows(reader, "versions", selection)]
        fetches = [row["article_id"] for row in library.iter_rows(reader, "fetches", selection)]
    assert set(versions) <= set(ids) and set(fetches) == set(ids)


def test_versions_and_fetches_follow_their_article(archive_db: Path) -> None:
    with ArchiveReader(archive_db) as reader:
        versions = list(library.iter_rows(reader, "versions", ArticleFilter(source="alpha")))
        assert [(row["version"], row["title"]) for row in versions] == [(1, "Story 1")]
        assert versions[0]["change_kinds"] == ["headline"]
        assert versions[0]["diff"]["title"] == {"old": "Story 1", "new": "Story 1, corrected"}
        assert list(library.iter_rows(reader, "versions", ArticleFilter(source="beta"))) == []
        every_fetch = list(library.iter_rows(reader, "fetches"))
        assert any(row["article_id"] is None and row["reason_kind"] == "listing" for row in every_fetch)
        filtered = list(library.iter_rows(reader, "fetches", ArticleFilter(source="alpha")))
        assert filtered and all(row["article_id"] is not None for row in filtered)


def test_runs_are_chosen_by_source(archive_db: Path, tmp_path: Path) -> None:
    output = tmp_path / "runs.csv"
    assert (
        invoke(archive_db, "--format", "csv", "--table", "runs", "--source", "alpha", "-o", str(output)).exit_code == 0
    )
    rows = read_csv(output, "runs")
    assert [row["source"] for row in rows] == ["alpha", "alpha"]
    assert [row["status"] for row in rows] == ["succeeded", "succeeded"]
    assert all(row["stop_requested"] is False for row in rows)


# --- stdout, empty results -------------------------------------------------------------------------


@pytest.mark.parametrize("output_format", ["jsonl", "csv"])
def test_stdout_gets_the_data_and_stderr_the_summary(archive_db: Path, output_format: str) -> None:
    result = invoke(archive_db, "--format", output_format, "--source", "beta", "-o", "-")
    assert result.exit_code == 0, result.output
    if output_format == "jsonl":
        rows = [json.loads(line) for line in result.stdout.splitlines()]
    else:
        rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [row["url"] for row in rows] == ["https://beta.example/a", "https://beta.example/b"]
    assert result.stderr.strip() == f"Exported 2 rows of articles as {output_format} to stdout."


@pytest.mark.parametrize("output_format", library.FORMATS)
def test_an_empty_result_is_a_valid_file_and_an_unknown_source_is_named(
    archive_db: Path, tmp_path: Path, output_format: str
) -> None:
    output = tmp_path / f"none.{output_format}"
    result = invoke(archive_db, "--format", output_format, "--source", "gamma", "-o", str(output))
    assert result.exit_code == 0, result.output
    assert "Exported 0 rows of articles" in result.stderr
    assert "no articles from source 'gamma' in this archive (its sources: alpha, beta)" in result.stderr
    if output_format == "jsonl":
        assert output.read_text() == ""
    elif output_format == "csv":
        assert output.read_text().splitlines() == [",".join(library.ARTICLES.column_names())]
    else:
        read = pq.read_table(output)
        assert read.num_rows == 0 and read.schema.equals(library.arrow_schema("articles"))


def test_a_progress_bar_does_not_change_the_file(archive_db: Path, tmp_path: Path) -> None:
    output = tmp_path / "articles.jsonl"
    result = invoke(archive_db, "--format", "jsonl", "--progress", "-o", str(output))
    assert result.exit_code == 0, result.output
    assert read_jsonl(output) == expected_rows(archive_db, "articles")


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--format", "parquet", "-o", "-"], "Parquet cannot be written to stdout"),
        (["--format", "csv", "-o", "missing/folder/out.csv"], "the output folder missing/folder does not exist"),
        (["--format", "jsonl", "--since", "2024-13-45", "-o", "-"], "--since '2024-13-45' is not a date"),
        (["--format", "jsonl", "--until", "yesterday", "-o", "-"], "--until 'yesterday' is neither a date nor a time"),
        (["--format", "jsonl", "--query", '"unbalanced', "-o", "-"], "is not a valid full-text query"),
        (["--format", "csv", "--query", "AND OR", "-o", "-"], "is not a valid full-text query"),
        (
            ["--format", "csv", "--table", "runs", "--since", "2024-05-01", "-o", "-"],
            "--since does not apply to --table runs",
        ),
        (["--format", "xml", "-o", "-"], "'xml' is not one of"),
    ],
)
def test_errors_are_one_clean_line_and_exit_2(archive_db: Path, arguments: list[str], message: str) -> None:
    result = invoke(archive_db, *arguments)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""
    if "Usage:" not in result.stderr:
        assert len(result.stderr.strip().splitlines()) == 1


def test_the_archive_itself_is_never_the_output(archive_db: Path) -> None:
    before = archive_db.read_bytes()
    result = invoke(archive_db, "--format", "csv", "-o", str(archive_db))
    assert result.exit_code == 2
    assert "is the archive itself" in result.stderr
    assert archive_db.read_bytes() == before


def test_a_missing_archive_is_not_created(tmp_path: Path) -> None:
    result = invoke(tmp_path / "none.db", "--format", "jsonl", "-o", "-")
    assert result.exit_code == 2
    assert "No archive at" in result.stderr
    assert not (tmp_path / "none.db").exists()


def test_a_filter_that_does_not_apply_is_refused_by_the_library(archive_db: Path) -> None:
    with ArchiveReader(archive_db) as reader, pytest.raises(ArchiveError, match="--language does not apply"):
        list(library.iter_rows(reader, "runs", ArticleFilter(language="en")))
    with ArchiveReader(archive_db) as reader, pytest.raises(ArchiveError, match="No exportable table"):
        list(library.iter_rows(reader, "minhashes"))


# --- the documented columns ---------------------------------------------------------------------


def test_every_exported_column_is_a_column_of_its_archive_table() -> None:
    schema = current_schema()
    for spec in library.TABLES.values():
        assert set(spec.column_names()) <= set(schema[spec.table].columns), spec.name
        assert len(set(spec.column_names())) == len(spec.columns)
        assert all(column.type in library.TYPES and column.description for column in spec.columns)


def test_the_research_docs_list_the_exported_columns() -> None:
    text = (ROOT / "docs" / "research.md").read_text(encoding="utf-8")
    assert "\n## Export\n" in text
    assert library.docs_markdown() in text, (
        "docs/research.md (## Export) differs from archive/export.py: paste the output of "
        "python -c 'from archive.export import docs_markdown; print(docs_markdown(), end=\"\")'"
    )


def test_an_older_archive_without_a_later_column_exports_it_as_null(archive_db: Path, tmp_path: Path) -> None:
    older = tmp_path / "older.db"
    with sqlite3.connect(archive_db) as source, sqlite3.connect(older) as target:
        source.backup(target)
    with sqlite3.connect(older) as conn:
        # As before the migration that adds the column (and before the views, which name it).
        for (view,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'view'").fetchall():
            conn.execute(f"DROP VIEW {view}")
        conn.execute("ALTER TABLE articles DROP COLUMN syndicated_from")
    result = invoke(older, "--format", "jsonl", "-o", "-")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 5 and all(row["syndicated_from"] is None for row in rows)
    assert list(rows[0]) == library.ARTICLES.column_names()


def test_a_reader_that_stops_early_ends_the_export_quietly(tmp_path: Path) -> None:
    """`newsarchive export -o - | head -1`: the closed pipe is no error and prints no traceback."""
    db = tmp_path / "many.db"
    with Archive(db) as arc:
        run_id = arc.start_run("alpha")
        for number in range(120):  # about 140 kB of JSON lines: more than a pipe holds
            arc.save_article(run_id, article(f"https://alpha.example/{number}", 100 + number, "alpha"), {"status": 200})
        arc.finish_run(run_id, "succeeded")
    script = Path(sys.executable).with_name("newsarchive")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "crawler.cli.main"]
    process = subprocess.Popen(
        [*command, "export", "--db", str(db), "--format", "jsonl", "-o", "-"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert process.stdout is not None and process.stderr is not None
    assert json.loads(process.stdout.readline())["id"] == 1
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 0, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr


def test_elapsed_ms_is_a_whole_number_stored_and_in_every_format(tmp_path: Path) -> None:
    """fetches.elapsed_ms is an integer: a new fetch is stored rounded, and an older archive's reals are
    exported rounded (not truncated), the same in JSON lines, CSV and Parquet."""
    db = tmp_path / "archive.db"
    with Archive(db) as arc:
        run = arc.start_run("alpha")
        arc.save_article(run, article("https://alpha.example/1", 1, "alpha"), {"status": 200, "elapsed_ms": 82.8})
        arc.record_fetch(run, {"url": "https://alpha.example/x", "status": 200, "elapsed_ms": 4.5}, "rejected", "x")
        arc.record_fetch(run, {"url": "https://alpha.example/y", "status": 200, "elapsed_ms": 8.4}, "rejected", "y")
        arc.finish_run(run, "succeeded")
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT elapsed_ms, typeof(elapsed_ms) FROM fetches ORDER BY id").fetchall()
        assert stored == [(83, "integer"), (5, "integer"), (8, "integer")]
        conn.execute("UPDATE fetches SET elapsed_ms = 11.7 WHERE id = 3")  # as an older newsarchive stored it
    exported = {}
    for output_format in library.FORMATS:
        output = tmp_path / f"fetches.{output_format}"
        assert invoke(db, "--format", output_format, "--table", "fetches", "-o", str(output)).exit_code == 0
        if output_format == "jsonl":
            exported[output_format] = [row["elapsed_ms"] for row in read_jsonl(output)]
        elif output_format == "csv":
            exported[output_format] = [row["elapsed_ms"] for row in read_csv(output, "fetches")]
        else:
            exported[output_format] = pq.read_table(output).column("elapsed_ms").to_pylist()
    assert all(values == [83, 5, 12] for values in exported.values()), exported
    assert all(isinstance(value, int) for values in exported.values() for value in values)


def test_a_fresh_run_says_false_not_null_for_browser_first(archive_db: Path, tmp_path: Path) -> None:
    rows = [
        json.loads(line)
        for line in invoke(archive_db, "--format", "jsonl", "--table", "runs", "-o", "-").stdout.splitlines()
    ]
    assert rows and all(row["browser_first"] is False and row["stop_requested"] is False for row in rows)


def test_responses_reused_from_memory_are_not_counted_twice() -> None:
    from archive.runs import REUSED_STATUS_COUNT_PREFIX, STATUS_COUNT_PREFIX, responses_by_class

    stats = {
        "downloader/request_count": 19,
        f"{STATUS_COUNT_PREFIX}200": 20,  # robots.txt counted once downloaded, once handed to the spider
        f"{REUSED_STATUS_COUNT_PREFIX}200": 1,
        f"{STATUS_COUNT_PREFIX}404": 1,
    }
    assert responses_by_class(stats) == {
        "responses_2xx": 19,
        "responses_3xx": 0,
        "responses_4xx": 1,
        "responses_5xx": 0,
    }
