"""The researcher's read side: search, show, stats (archive/research.py and crawler/cli/research.py),
the stable SQL views of migration 13, and the runnable examples of docs/research.md.

Archives are built with the archive library (no crawl); the commands run through click's CliRunner
on the real file, which must come out of every command unchanged.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shlex
import socket
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from archive import Archive, ArchiveError, ArchiveReader
from archive.filters import ArticleFilter
from archive.research import article_detail, fts_query, search, stats
from crawler.cli.main import main
from crawler.demo import DEMO_PORT
from tests.test_archive_reader import build_old_archive, file_state

ROOT = Path(__file__).resolve().parents[1]
RESEARCH_DOC = ROOT / "docs" / "research.md"
README = ROOT / "README.md"

FILLER = {
    "harbour": "The harbour authority presented its plans for the coming year. Dock workers listened as the "
    "chair explained new cranes, longer quays and a ferry timetable.",
    "weather": "Temperatures fell sharply overnight and frost covered the fields. Farmers covered young plants "
    "while the budget of the winter service was discussed briefly at the town hall.",
    "koeln": "Die neue Bürgermeisterin von Köln dankte ihren Wählern. Sie versprach mehr Radwege, günstige "
    "Wohnungen und eine schnellere Verwaltung für alle Bürger.",
    "covid": "Officials said don't panic: the city council met on Monday and ended the last covid-19 rules. "
    "Schools and shops return to normal opening hours next week.",
}
LONG_TEXT = " ".join(
    f"Paragraph {number} of the long report describes river levels, bridge repairs and the new tram line in detail."
    for number in range(12)
)


def save(archive: Archive, run_id: int, url: str, fetch: dict[str, Any] | None = None, **article: Any) -> Any:
    return archive.save_article(run_id, {"url": url, **article}, {"status": 200, **(fetch or {})})


@pytest.fixture(scope="module")
def archive_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight articles in two sources, with an exact duplicate, a near copy, a second version, an undated one."""
    path = tmp_path_factory.mktemp("research") / "archive.db"
    with Archive(path) as archive:
        run_id = archive.start_run("alpha")
        save(
            archive,
            run_id,
            "https://alpha.example/harbour-budget",
            {"found_by": "feed", "referer": "https://alpha.example/feed.xml", "depth": 1},
            source="alpha",
            title="Harbour budget approved",
            text=FILLER["harbour"],
            published_at="2024-05-01T08:00:00+02:00",
            language="en",
            authors=["Anna Becker"],
        )
        save(
            archive,
            run_id,
            "https://alpha.example/weather",
            {"found_by": "sitemap"},
            source="alpha",
            title="Weather turns cold",
            text=FILLER["weather"],
            published_at="2024-05-03T10:00:00Z",
            language="en",
            authors=["Tom Hughes"],
        )
        save(  # the same text under another URL: an exact duplicate, kept as an alias
            archive,
            run_id,
            "https://alpha.example/weather-copy",
            {"found_by": "link"},
            source="alpha",
            title="Weather turns cold",
            text=FILLER["weather"],
            published_at="2024-05-03T10:00:00Z",
        )
        save(
            archive,
            run_id,
            "https://alpha.example/river",
            {"found_by": "sitemap"},
            source="alpha",
            title="River report",
            text=LONG_TEXT,
            published_at="2024-07-02T09:00:00Z",
            language="en",
        )
        archive.finish_run(run_id, "succeeded")
        run_id = archive.start_run("beta")
        save(
            archive,
            run_id,
            "https://beta.example/koeln",
            {"found_by": "homepage"},
            source="beta",
            title="Müller gewinnt Wahl in Köln",
            text=FILLER["koeln"],
            published_at="2024-06-10T12:00:00+02:00",
            language="de-AT",
            authors=["Jörg Müller"],
        )
        save(
            archive,
            run_id,
            "https://beta.example/covid",
            {"found_by": "feed"},
            source="beta",
            title="Covid-19 rules end",
            text=FILLER["covid"],
            published_at="2024-06-20T07:00:00Z",
            language="en",
        )
        save(  # a near copy of the river report
            archive,
            run_id,
            "https://beta.example/river-copy",
            {"found_by": "feed"},
            source="beta",
            title="River report (republished)",
            text=LONG_TEXT.replace("tram line", "tram route", 1),
            published_at="2024-07-03T09:00:00Z",
            language="en",
            syndicated_from="https://alpha.example/river",
        )
        save(archive, run_id, "https://beta.example/undated", source="beta", title="A notice", text="Office closed.")
        archive.finish_run(run_id, "succeeded")
        run_id = archive.start_run("alpha")
        save(  # a second version of the harbour article
            archive,
            run_id,
            "https://alpha.example/harbour-budget",
            {"found_by": "feed"},
            source="alpha",
            title="Harbour budget approved after long debate",
            text=FILLER["harbour"] + " A correction was added.",
            published_at="2024-05-01T08:00:00+02:00",
            language="en",
            authors=["Anna Becker"],
        )
        archive.finish_run(run_id, "succeeded")
    return path


@pytest.fixture()
def reader(archive_file: Path) -> Any:
    with ArchiveReader(archive_file) as opened:
        yield opened


def article_id(reader: ArchiveReader, url: str) -> int:
    return reader.article(url)["id"]


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def invoke(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


# --- search: the library ------------------------------------------------------------------------


def test_a_title_hit_ranks_above_a_text_hit_and_the_snippet_marks_the_words(reader: ArchiveReader) -> None:
    hits = search(reader, "budget")
    assert [hit["url"] for hit in hits] == ["https://alpha.example/harbour-budget", "https://alpha.example/weather"]
    assert [hit["rank"] for hit in hits] == [1, 2]
    assert hits[0]["score"] > hits[1]["score"]
    assert "[budget]" in hits[1]["snippet"]
    assert search(reader, "budget", marks=("<b>", "</b>"))[1]["snippet"].count("<b>budget</b>") == 1
    assert hits[0]["authors"] == ["Anna Becker"]
    assert hits[0]["snippet"].startswith("The harbour authority")  # a title-only hit: the text's opening


def test_filters_select_the_same_rows_as_everywhere(reader: ArchiveReader) -> None:
    assert [hit["source"] for hit in search(reader, "river", ArticleFilter(source="beta"))] == ["beta"]
    assert search(reader, "budget", ArticleFilter(until="2024-05-02"))[0]["title"].startswith("Harbour")
    assert len(search(reader, "budget", ArticleFilter(until="2024-05-02"))) == 1
    assert search(reader, "budget", ArticleFilter(since="2024-05-02"))[0]["url"].endswith("/weather")
    assert [hit["url"] for hit in search(reader, "budget", ArticleFilter(author="tom hughes"))] == [
        "https://alpha.example/weather"
    ]
    assert [hit["language"] for hit in search(reader, "Köln", ArticleFilter(language="de"))] == ["de-AT"]
    assert search(reader, "Köln", ArticleFilter(language="en")) == []
    assert len(search(reader, "river", limit=1)) == 1


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('"city council"', ["https://beta.example/covid"]),  # a phrase
        ('"council city"', []),  # a phrase is in order
        ("harb*", ["https://alpha.example/harbour-budget"]),  # a prefix
        ("budget AND frost", ["https://alpha.example/weather"]),
        ("budget NOT frost", ["https://alpha.example/harbour-budget"]),
        ("(frost OR ferry) AND budget", ["https://alpha.example/harbour-budget", "https://alpha.example/weather"]),
        ("title:budget", ["https://alpha.example/harbour-budget"]),
        ('title:"harbour budget"', ["https://alpha.example/harbour-budget"]),
        ("NEAR(budget discussed, 5)", ["https://alpha.example/weather"]),
        ("NEAR(budget frost, 2)", []),
        ("Köln", ["https://beta.example/koeln"]),  # unicode
        ("koln", ["https://beta.example/koeln"]),  # diacritics folded
        ("Bürgermeisterin", ["https://beta.example/koeln"]),
        ("don't", ["https://beta.example/covid"]),  # punctuation inside a word: searched as a phrase
        ("covid-19", ["https://beta.example/covid"]),
        ("discussed", ["https://alpha.example/weather"]),
        ("discuss", ["https://alpha.example/weather"]),  # porter stemming
    ],
)
def test_query_syntax(reader: ArchiveReader, query: str, expected: list[str]) -> None:
    assert sorted(hit["url"] for hit in search(reader, query)) == sorted(expected)


def test_words_with_punctuation_are_quoted_and_syntax_passes_through() -> None:
    assert fts_query("don't panic") == '"don\'t" panic'
    assert fts_query('"city council" AND budg*') == '"city council" AND budg*'
    assert fts_query("covid-19*") == '"covid-19"*'
    assert fts_query("title:U.S.") == 'title:"U.S."'
    assert fts_query("(a OR b) NOT c") == "( a OR b ) NOT c"


@pytest.mark.parametrize("query", ['"city council', "budget AND", "OR budget", "(budget", "   "])
def test_a_malformed_query_is_one_line_with_an_example(reader: ArchiveReader, query: str) -> None:
    with pytest.raises(ArchiveError) as raised:
        search(reader, query)
    message = str(raised.value)
    assert "\n" not in message and '"city council"' in message and "budg*" in message


# --- search: the command -------------------------------------------------------------------------


def test_search_table_lists_rank_date_source_title_and_snippet(archive_file: Path) -> None:
    result = invoke("search", "budget", "--db", str(archive_file))
    assert result.exit_code == 0, result.output
    lines = result.output
    assert "Harbour budget approved" in lines and "2024-05-01 06:00" in lines and "alpha" in lines
    assert "[budget]" in lines  # matched words marked when not on a terminal
    assert lines.index("Harbour budget") < lines.index("Weather turns cold")


def test_search_machine_formats_have_stable_keys(archive_file: Path) -> None:
    keys = [
        "rank",
        "id",
        "url",
        "source",
        "title",
        "published_at",
        "published_at_utc",
        "language",
        "authors",
        "snippet",
        "score",
    ]
    as_json = json.loads(invoke("search", "budget", "--format", "json", "--db", str(archive_file)).output)
    assert [list(hit) for hit in as_json] == [keys, keys]
    lines = invoke("search", "budget", "--format", "jsonl", "--db", str(archive_file)).output.splitlines()
    assert [json.loads(line)["url"] for line in lines] == [hit["url"] for hit in as_json]
    rows = list(
        csv.DictReader(io.StringIO(invoke("search", "budget", "--format", "csv", "--db", str(archive_file)).output))
    )
    assert list(rows[0]) == keys and rows[0]["rank"] == "1"
    assert json.loads(rows[0]["authors"]) == ["Anna Becker"]  # a JSON array, as export --format csv writes lists


def test_search_filters_on_the_command_line(archive_file: Path) -> None:
    result = invoke(
        "search", "river", "--source", "beta", "--since", "2024-07-01", "--format", "jsonl", "--db", str(archive_file)
    )
    assert [json.loads(line)["url"] for line in result.output.splitlines()] == ["https://beta.example/river-copy"]
    result = invoke("search", "nothingmatchesthis", "--db", str(archive_file))
    assert result.exit_code == 0 and "No articles match" in result.output


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["search", '"city council'], "not valid FTS5 syntax"),
        (["search", "budget", "--since", "yesterday"], "--since"),
        (["search", "budget", "--db", "/nonexistent/archive.db"], "No archive at"),
    ],
)
def test_search_errors_are_one_line_and_exit_2(archive_file: Path, args: list[str], words: str) -> None:
    if "--db" not in args:
        args = [*args, "--db", str(archive_file)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert words in result.output and len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


# --- show ----------------------------------------------------------------------------------------


def test_show_finds_an_article_by_id_url_and_alias(reader: ArchiveReader) -> None:
    weather = article_id(reader, "https://alpha.example/weather")
    by_alias = article_detail(reader, "https://alpha.example/weather-copy")
    assert by_alias["article"]["id"] == weather
    assert article_detail(reader, weather)["article"]["url"] == "https://alpha.example/weather"
    assert article_detail(reader, str(weather))["provenance"]["exact_duplicates"] == [
        "https://alpha.example/weather-copy"
    ]
    with pytest.raises(ArchiveError):
        article_detail(reader, "https://nowhere.example/")


def test_show_gives_every_field_and_the_provenance(reader: ArchiveReader) -> None:
    detail = article_detail(reader, "https://alpha.example/harbour-budget")
    article, provenance = detail["article"], detail["provenance"]
    assert article["title"] == "Harbour budget approved after long debate" and article["authors"] == ["Anna Becker"]
    assert {"text", "word_count", "content_hash", "language", "published_at_utc"} <= set(article)
    assert provenance["found_by"] == "feed" and provenance["first_fetch"]["referer"] == "https://alpha.example/feed.xml"
    assert provenance["first_run"]["id"] == 1 and provenance["last_run"]["id"] == 3
    assert provenance["versions"] == 2 and [entry["version"] for entry in detail["versions"]] == [1, 2]
    assert detail["versions"][1]["current"] and "headline" in detail["versions"][1]["change_kinds"]


def test_near_duplicates_both_directions(reader: ArchiveReader) -> None:
    original = article_detail(reader, "https://alpha.example/river")
    copy = article_detail(reader, "https://beta.example/river-copy")
    assert copy["provenance"]["near_duplicate_of"]["url"] == "https://alpha.example/river"
    assert [item["url"] for item in original["provenance"]["near_copies"]] == ["https://beta.example/river-copy"]
    assert copy["provenance"]["syndicated_from"] == "https://alpha.example/river"


def test_show_command_text_and_json(archive_file: Path) -> None:
    result = invoke("show", "https://alpha.example/weather-copy", "--db", str(archive_file))
    assert result.exit_code == 0, result.output
    assert "Weather turns cold" in result.output and "found by:          sitemap" in result.output
    assert "duplicate  https://alpha.example/weather-copy" in result.output and "Versions: 1" in result.output
    document = json.loads(invoke("show", "1", "--format", "json", "--db", str(archive_file)).output)
    assert set(document) == {"article", "provenance", "versions"} and document["provenance"]["versions"] == 2
    missing = CliRunner().invoke(main, ["show", "999", "--db", str(archive_file)])
    assert missing.exit_code == 1 and "No article with id 999" in missing.output and "Traceback" not in missing.output


# --- stats ---------------------------------------------------------------------------------------


def test_stats_numbers(reader: ArchiveReader) -> None:
    figures = stats(reader)
    assert figures["articles"] == 7  # the exact copy is an alias, not an article
    assert {row["source"]: row["articles"] for row in figures["sources"]} == {"alpha": 3, "beta": 4}
    assert {row["language"]: row["articles"] for row in figures["languages"]} == {"en": 5, "de-AT": 1, None: 1}
    assert figures["months"] == [
        {"month": "2024-05", "articles": 2},
        {"month": "2024-06", "articles": 2},
        {"month": "2024-07", "articles": 2},
    ]
    assert figures["undated"] == 1
    assert figures["date_range"] == {"first": "2024-05-01T06:00:00Z", "last": "2024-07-03T09:00:00Z"}
    assert figures["duplicates"] == {"duplicate_urls": 1, "alias_urls": 1, "near_duplicates": 1}
    assert figures["versions"] == {"changed_articles": 1, "earlier_versions": 1}
    assert figures["size_bytes"] > 0
    beta = stats(reader, ArticleFilter(source="beta"))
    assert beta["articles"] == 4 and beta["duplicates"]["duplicate_urls"] == 0


def test_stats_command_draws_a_month_chart(archive_file: Path) -> None:
    result = invoke("stats", "--db", str(archive_file))
    assert result.exit_code == 0, result.output
    assert "7 articles" in result.output and "archive size" in result.output
    chart = [line for line in result.output.splitlines() if line.strip().startswith("2024-")]
    assert len(chart) == 3 and all("█" in line for line in chart)
    filtered = json.loads(invoke("stats", "--source", "alpha", "--json", "--db", str(archive_file)).output)
    assert filtered["articles"] == 3


# --- views and read-only behaviour ----------------------------------------------------------------


def test_a_fresh_archive_has_the_views(archive_file: Path) -> None:
    with sqlite3.connect(archive_file) as connection:
        latest = connection.execute("SELECT url, published_at_utc FROM latest_articles").fetchall()
        assert latest[0][0] == "https://beta.example/river-copy" and latest[-1][1] is None  # newest first, undated last
        provenance = connection.execute(
            "SELECT found_by, aliases, versions, near_copies FROM article_provenance WHERE url = ?",
            ["https://alpha.example/harbour-budget"],
        ).fetchone()
        assert provenance == ("feed", 0, 2, 0)
        per_day = connection.execute("SELECT source, day, articles FROM articles_per_day ORDER BY day").fetchall()
        assert per_day[0] == ("alpha", "2024-05-01", 1)


def test_the_commands_never_write_and_read_an_archive_without_the_views(archive_file: Path, tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    old.write_bytes(archive_file.read_bytes())
    with sqlite3.connect(old) as connection:  # an archive written before migration 13
        for view in ("latest_articles", "article_provenance", "articles_per_day"):
            connection.execute(f"DROP VIEW {view}")
        connection.execute("DELETE FROM schema_migrations WHERE id = 13")
    before = file_digest(old)
    for args in (["search", "budget"], ["show", "1"], ["stats"], ["show", "1", "--format", "json"]):
        result = invoke(*args, "--db", str(old))
        assert result.exit_code == 0, result.output
    assert file_digest(old) == before
    with ArchiveReader(old) as reader:
        assert not reader.views and reader.pending_migrations == [13]
        assert article_detail(reader, 1)["provenance"]["found_by"] == "feed"


@pytest.mark.parametrize("version", [1, 2, 5, 11, 12])
def test_older_archives_are_read_as_they_are(tmp_path: Path, version: int) -> None:
    """An archive of any earlier schema: search, show and stats read it, or say in one line what it lacks."""
    db = tmp_path / "archive.db"
    build_old_archive(db, version, tmp_path / "logs")
    before = file_state(db)
    found = CliRunner().invoke(main, ["search", "harbour", "--format", "jsonl", "--db", str(db)])
    if version < 2:  # no full-text index before migration 2
        assert found.exit_code == 2 and "no full-text index" in found.output and "crawl into it once" in found.output
    else:
        assert found.exit_code == 0 and json.loads(found.output)["title"] == "Harbour wall repairs"
    shown = CliRunner().invoke(main, ["show", "https://alpha.example/a", "--format", "json", "--db", str(db)])
    assert shown.exit_code == 0, shown.output
    detail = json.loads(shown.output)
    assert detail["article"]["title"] == "Harbour wall repairs" and detail["provenance"]["first_run"]["id"] == 1
    assert detail["versions"][0]["version"] == 1
    counted = CliRunner().invoke(main, ["stats", "--json", "--db", str(db)])
    assert counted.exit_code == 0 and json.loads(counted.output)["articles"] == 1
    assert file_state(db) == before


# --- docs/research.md and the README: their runnable examples run on the demo archive -------------


def runnable_blocks(doc: Path = RESEARCH_DOC) -> list[tuple[str, str]]:
    """(language, code) of each fenced block right after a <!-- runnable --> comment."""
    text = doc.read_text(encoding="utf-8")
    return re.findall(r"<!-- runnable -->\s*```(bash|python)\n(.*?)```", text, flags=re.S)


def test_the_research_guide_has_runnable_examples_of_each_kind() -> None:
    languages = [language for language, _ in runnable_blocks()]
    assert "bash" in languages and "python" in languages
    assert runnable_blocks(README)  # the README's research examples too


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A folder with data/demo.db as the README's quick start builds it (``newsarchive demo``, crawled once
    here, on a free port instead of DEMO_PORT), and the demo site's base URL in that archive."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    folder = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(
        main, ["demo", "--db", str(folder / "data" / "demo.db"), "--port", str(port), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    return folder, f"http://127.0.0.1:{port}"


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize("doc", [RESEARCH_DOC, README], ids=["research.md", "README.md"])
def test_the_docs_examples_run_on_the_demo_archive(
    demo_folder: tuple[Path, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], doc: Path
) -> None:
    """Every runnable block, in document order (the pandas block reads what the export block wrote), from
    the folder the demo ran in, as a reader would. Each must do something: hits, rows, output."""
    folder, base_url = demo_folder
    monkeypatch.chdir(folder)
    before = file_digest(folder / "data" / "demo.db")
    for number, (language, code) in enumerate(runnable_blocks(doc), start=1):
        code = code.replace(f"http://127.0.0.1:{DEMO_PORT}", base_url)
        where = f"{doc.name}, runnable block {number} ({language})"
        if language == "python":
            capsys.readouterr()
            exec(compile(code, f"{doc} block {number}", "exec"), {"__name__": "research_example"})
            printed = capsys.readouterr().out
            assert printed.strip(), f"{where} printed nothing"
            assert not re.match(r"0 articles", printed), f"{where}: {printed}"
            continue
        for line in code.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            args = shlex.split(line, comments=True)
            assert args[0] == "newsarchive", line
            result = CliRunner().invoke(main, args[1:])
            assert result.exit_code == 0, f"{where}: {line}\n{result.output}"
            assert result.stdout.strip() or "Exported" in result.stderr, f"{where}: {line} printed nothing"
            assert "No articles match" not in result.output and "note:" not in result.output, (
                f"{where}: {line}\n{result.output}"
            )
            if args[1] == "export" and "versions" not in args:  # the demo has no earlier versions
                assert "Exported 0 rows" not in result.stderr, f"{where}: {line}\n{result.stderr}"
    assert file_digest(folder / "data" / "demo.db") == before


def test_show_as_of_prints_the_version_the_archive_had_then(archive_file: Path) -> None:
    now = invoke("show", "1", "--as-of", "2999-01-01T00:00Z", "--db", str(archive_file))
    assert now.exit_code == 0, now.output
    assert now.output.startswith("Article 1: https://alpha.example/harbour-budget\nAs of 2999-01-01")
    assert "version 2" in now.output and "(current)" in now.output
    document = json.loads(
        invoke("show", "1", "--as-of", "2999-01-01T00:00Z", "--format", "json", "--db", str(archive_file)).output
    )
    assert document["article"]["id"] == 1 and document["as_of"]["version"] == 2
    before = CliRunner().invoke(main, ["show", "1", "--as-of", "2000-01-01", "--db", str(archive_file)])
    assert before.exit_code == 1 and "Traceback" not in before.output, before.output


# --- the source in the full-text index (migration 14) --------------------------------------------


def test_a_source_name_is_no_search_word_but_the_source_filter_runs_inside_the_index(reader: ArchiveReader) -> None:
    columns = [row[1] for row in reader.db.execute("PRAGMA table_info(articles_fts)")]
    assert columns == ["title", "text", "source"]
    for hit in search(reader, "alpha", limit=50):  # every article of source "alpha" would match a bare column
        (text,) = reader.db.execute("SELECT title || ' ' || text FROM articles WHERE id = ?", [hit["id"]]).fetchone()
        assert "alpha" in text.lower(), hit
    for query in ("budget", "weather OR river", "cold*"):
        everywhere = search(reader, query, limit=100)
        for source in ("alpha", "beta", "nosuchsource"):
            filtered = search(reader, query, ArticleFilter(source=source), limit=100)
            assert [hit["id"] for hit in filtered] == [hit["id"] for hit in everywhere if hit["source"] == source]


def test_a_source_filter_is_exact_where_names_contain_one_another(tmp_path: Path) -> None:
    """The index matches a source name as words: "news" is also in "news-de" and "News"; the hits are still only "news"'s."""
    path = tmp_path / "archive.db"
    with Archive(path) as archive:
        for source in ("news", "news-de", "News"):
            run_id = archive.start_run(source)
            for n in range(3):
                save(
                    archive,
                    run_id,
                    f"https://site.example/{source}/{n}",
                    source=source,
                    title=f"Harbour {n}",
                    text=f"The harbour wall report number {n} from {source}. " * 20,
                )
            archive.finish_run(run_id, "succeeded")
    with ArchiveReader(path) as reader:
        for source in ("news", "news-de", "News"):
            hits = search(reader, "harbour", ArticleFilter(source=source), limit=10)
            assert len(hits) == 3 and {hit["source"] for hit in hits} == {source}


def test_marking_an_article_seen_leaves_the_index_alone(archive_file: Path, tmp_path: Path) -> None:
    copy = tmp_path / "archive.db"
    copy.write_bytes(archive_file.read_bytes())
    with sqlite3.connect(copy) as connection:

        def index_state() -> list[tuple[Any, ...]]:
            return connection.execute("SELECT id, block FROM articles_fts_data ORDER BY id").fetchall()

        before = index_state()
        connection.execute("UPDATE articles SET last_seen_at = '2030-01-01T00:00:00Z'")  # an unchanged re-fetch
        assert index_state() == before
        connection.execute("UPDATE articles SET title = 'Zebra crossing plan' WHERE id = 1")
        assert index_state() != before
        found = connection.execute("SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'zebra'").fetchall()
        assert found == [(1,)]
        connection.execute(
            "INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')"
        )  # raises if out of step


# --- what a new researcher tripped over (review 10) ------------------------------------------------


def test_author_matches_in_any_case_also_beyond_ascii(archive_file: Path, reader: ArchiveReader) -> None:
    for spelling in ("Jörg Müller", "JÖRG MÜLLER", "jörg müller", "  jörg   MÜLLER "):
        assert [hit["url"] for hit in search(reader, "Köln", ArticleFilter(author=spelling))] == [
            "https://beta.example/koeln"
        ], spelling
        assert stats(reader, ArticleFilter(author=spelling))["articles"] == 1
    exported = invoke("export", "--format", "jsonl", "--author", "JÖRG MÜLLER", "--db", str(archive_file), "-o", "-")
    assert [json.loads(line)["url"] for line in exported.stdout.splitlines()] == ["https://beta.example/koeln"]


@pytest.mark.parametrize(
    "args",
    [
        ["search", "budget"],
        ["stats"],
        ["export", "--format", "csv", "-o", "-"],
        ["export", "--format", "csv", "--table", "fetches", "-o", "-"],
        ["export", "--format", "csv", "--table", "runs", "-o", "-"],
    ],
)
def test_an_unknown_source_is_named_the_same_way_everywhere(archive_file: Path, args: list[str]) -> None:
    what = "runs" if "runs" in args else "articles"
    for source, extra in (("nosuch", ""), ("Alpha", "; did you mean 'alpha'?")):
        result = CliRunner().invoke(main, [*args, "--source", source, "--db", str(archive_file)])
        assert result.exit_code == 0, result.output
        note = f"note: no {what} from source {source!r} in this archive (its sources: alpha, beta){extra}"
        assert note in result.stderr, result.stderr
        if args[0] == "search":  # selects what stats and export select for the name: nothing
            assert "No articles match" in result.stdout, result.stdout
    known = CliRunner().invoke(main, [*args, "--source", "alpha", "--db", str(archive_file)])
    assert "note:" not in known.stderr


def test_a_word_in_most_articles_still_gets_a_score(reader: ArchiveReader) -> None:
    hits = search(reader, "the", limit=50)
    assert len(hits) >= 4 and all(hit["score"] > 0 for hit in hits), [hit["score"] for hit in hits]
    assert [hit["score"] for hit in hits] == sorted((hit["score"] for hit in hits), reverse=True)


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("titel:budget", ["'titel'", "title, text", '"titel:budget"']),
        ("foo:bar", ["'foo'", "title:word"]),
        ("source:alpha", ["'source'", "--source"]),
    ],
)
def test_an_unknown_column_is_an_error_naming_the_columns(archive_file: Path, query: str, words: list[str]) -> None:
    result = CliRunner().invoke(main, ["search", query, "--db", str(archive_file)])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
    assert all(word in result.output for word in words), result.output
    # export --query reads a query as search does (one filter): the same refusal, and punctuation as typed.
    exported = CliRunner().invoke(
        main, ["export", "--format", "csv", "--query", query, "--db", str(archive_file), "-o", "-"]
    )
    assert exported.exit_code == 2 and all(word in exported.output for word in words), exported.output
    quoted = CliRunner().invoke(
        main, ["export", "--format", "jsonl", "--query", "don't", "--db", str(archive_file), "-o", "-"]
    )
    assert [json.loads(line)["url"] for line in quoted.stdout.splitlines()] == ["https://beta.example/covid"]


def test_a_lowercase_operator_with_no_hit_gets_a_hint(archive_file: Path) -> None:
    result = CliRunner().invoke(main, ["search", "frost or ferry", "--db", str(archive_file)])
    assert result.exit_code == 0 and "No articles match" in result.stdout
    assert "did you mean 'frost OR ferry'?" in result.stderr, result.stderr
    found = CliRunner().invoke(main, ["search", "frost OR ferry", "--db", str(archive_file)])
    assert "hint" not in found.stderr
    minus = CliRunner().invoke(main, ["search", "budget -frost", "--format", "jsonl", "--db", str(archive_file)])
    assert "write NOT frost" in minus.stderr and all(json.loads(line) for line in minus.stdout.splitlines())


@pytest.mark.parametrize("query", ["budget AND", "(budget", "budget OR"])
def test_a_malformed_query_quotes_only_what_was_typed(archive_file: Path, query: str) -> None:
    result = CliRunner().invoke(main, ["search", query, "--db", str(archive_file)])
    assert result.exit_code == 2, result.output
    assert 'near ")"' not in result.output and 'near ""' not in result.output
    assert "at the end of the query" in result.output
    exported = CliRunner().invoke(
        main, ["export", "--format", "csv", "--query", query, "--db", str(archive_file), "-o", "-"]
    )
    assert (
        exported.exit_code == 2 and "at the end of the query" in exported.output and 'near ")"' not in exported.output
    )


def test_a_time_without_an_offset_is_utc_as_the_messages_say(reader: ArchiveReader, archive_file: Path) -> None:
    plain = search(reader, "budget", ArticleFilter(since="2024-05-01T06:00"))
    assert [hit["url"] for hit in plain] == [
        hit["url"] for hit in search(reader, "budget", ArticleFilter(since="2024-05-01T06:00Z"))
    ]
    bad = CliRunner().invoke(main, ["search", "budget", "--since", "soon", "--db", str(archive_file)])
    assert bad.exit_code == 2 and "2024-05-01T12:00 is UTC" in bad.output
    assert "a time needs its offset" not in RESEARCH_DOC.read_text(encoding="utf-8")


def test_show_prints_every_field_that_has_a_value(archive_file: Path, reader: ArchiveReader) -> None:
    result = invoke("show", "1", "--db", str(archive_file))
    article = reader.article(1)
    fields = [
        name
        for name, value in article.items()
        if value not in (None, "", "[]", "{}") and name not in ("id", "url", "text")
    ]
    for name in fields:
        assert f"\n{name}:" in result.output, name
    assert {"modified_at_utc", "content_hash", "version", "first_seen_at"} & set(fields) >= {
        "content_hash",
        "version",
        "first_seen_at",
    }


def test_show_finds_a_url_without_its_tracking_parameters_or_trailing_slash(archive_file: Path) -> None:
    for spelling in (
        "https://alpha.example/weather/",  # a slash too many
        "https://alpha.example/weather?utm_source=newsletter#comments",  # what canonicalisation drops
        "HTTPS://ALPHA.example:443/weather",
    ):
        result = invoke("show", spelling, "--format", "json", "--db", str(archive_file))
        assert result.exit_code == 0, (spelling, result.output)
        assert json.loads(result.output)["article"]["url"] == "https://alpha.example/weather"
    history = invoke("history", "https://alpha.example/harbour-budget/", "--db", str(archive_file))
    assert history.exit_code == 0 and "harbour-budget" in history.output


def test_stats_wording_plurals_and_aligned_columns(archive_file: Path) -> None:
    one = invoke("stats", "--author", "tom hughes", "--db", str(archive_file)).output
    assert one.startswith("1 article;"), one
    text = invoke("stats", "--db", str(archive_file)).output
    assert "aliases" in text and "of which exact copies of an article's text at another URL: 1" in text
    lines = text.splitlines()
    counted = lines[lines.index("Per source:") + 1 : lines.index("Per source:") + 3]
    counted += lines[lines.index("Per language:") + 1 : lines.index("Per language:") + 4]
    assert len({len(line) for line in counted}) == 1, counted  # the counts end in one column
    exported = CliRunner().invoke(
        main, ["export", "--format", "csv", "--source", "beta", "--db", str(archive_file), "-o", "-"]
    )
    assert "Exported 4 rows of articles as csv to stdout." in exported.stderr
