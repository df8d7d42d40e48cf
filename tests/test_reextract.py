"""``newsarchive reextract``: the stored responses extracted again, without the network.

The fixture news site is crawled once by the real CLI (WARC files and all); each test copies the
archive. Re-extracting with the code that crawled changes nothing; a deliberately changed rule (one
boilerplate line more: the rule under test is monkeypatched in this process, where the cleaning
runs; trafilatura runs untouched in the worker processes) gives exactly the expected versions, of
kind ``reextracted``, and a second run with the same rule writes nothing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive.changes import paragraphs
from crawler.cli.main import main
from crawler.extraction.boilerplate import SiteBoilerplate
from crawler.reprocess.reextract import ReextractOptions, reextract
from tests.newssite import NewsSite, serve_site
from tests.warc_archive import CrawledArchive, crawl_fixture_site

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

N_ARTICLES = 40


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrawledArchive]:
    folder = tmp_path_factory.mktemp("reextract")
    with serve_site(NewsSite(n_articles=N_ARTICLES, seed=1)) as local:
        archive = crawl_fixture_site(folder, local.base_url)
    yield archive  # the site is down: re-extraction needs no network


@pytest.fixture
def archive(crawled: CrawledArchive, tmp_path: Path) -> CrawledArchive:
    return crawled.copy_to(tmp_path / "copy")


def rows(db: Path, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        return connection.execute(sql, params).fetchall()


def run_cli(*args: str) -> str:
    result = CliRunner().invoke(main, ["reextract", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_reextract_with_the_crawls_code_changes_nothing(archive: CrawledArchive) -> None:
    articles = rows(archive.db, "SELECT id, text, version, last_seen_at FROM articles ORDER BY id")
    output = run_cli("--db", str(archive.db), "--workers", "2", "--json")
    summary = json.loads(output)
    assert summary["articles"] == len(articles) >= N_ARTICLES - 2
    assert summary["pages_read"] == len(articles)
    assert summary["missing_warc"] == 0 and summary["unreadable"] == []
    assert summary["changes"] == [], summary["changes"][:3]
    assert summary["changed"] == 0 and summary["unchanged"] == len(articles)
    assert summary["no_longer_articles"] == []
    assert summary["pages_per_second"] > 0
    assert [
        tuple(row) for row in rows(archive.db, "SELECT id, text, version, last_seen_at FROM articles ORDER BY id")
    ] == [tuple(row) for row in articles]
    assert rows(archive.db, "SELECT count(*) FROM article_versions")[0][0] == 0
    (run,) = rows(archive.db, "SELECT * FROM crawl_runs WHERE trigger = 'reextract'")
    assert run["status"] == "succeeded" and run["source"] == "fixture"
    assert run["pages_fetched"] == 0 and run["articles_updated"] == 0  # nothing was fetched
    stats = json.loads(run["stats_json"])
    assert stats["newsarchive/reextract/pages_read"] == len(articles)
    assert stats["newsarchive/reextract/unchanged"] == len(articles)


def chosen_closing_lines(db: Path, count: int = 3) -> dict[int, str]:
    """The last line of a few articles' texts: the extra boilerplate of the changed rule."""
    texts = rows(db, "SELECT id, text FROM articles ORDER BY id")
    picked = texts[1 : 1 + 7 * count : 7]
    return {row["id"]: row["text"].strip().split("\n")[-1].strip() for row in picked}


def test_a_changed_rule_gives_exactly_the_expected_versions(
    archive: CrawledArchive, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = chosen_closing_lines(archive.db)
    lines = set(chosen.values())
    stored = {row["id"]: row for row in rows(archive.db, "SELECT * FROM articles ORDER BY id")}
    expected = {article_id for article_id, row in stored.items() if lines & set(row["text"].split("\n"))}
    assert set(chosen) <= expected
    original = SiteBoilerplate.is_boilerplate
    monkeypatch.setattr(
        SiteBoilerplate, "is_boilerplate", lambda self, line: original(self, line) or line.strip() in lines
    )

    # A dry run says what would change and writes nothing.
    dry = run_cli("--db", str(archive.db), "--workers", "2", "--dry-run")
    assert "Dry run, nothing written" in dry and f"would change: {len(expected)} (body {len(expected)})" in dry
    assert rows(archive.db, "SELECT count(*) FROM article_versions")[0][0] == 0
    assert rows(archive.db, "SELECT count(*) FROM crawl_runs WHERE trigger = 'reextract'")[0][0] == 0

    output = run_cli("--db", str(archive.db), "--workers", "2", "--source", "fixture")
    assert f"changed: {len(expected)} (body {len(expected)})" in output
    (run_id,) = [row[0] for row in rows(archive.db, "SELECT id FROM crawl_runs WHERE trigger = 'reextract'")]
    versions = rows(archive.db, "SELECT * FROM article_versions ORDER BY article_id")
    assert {row["article_id"] for row in versions} == expected
    for version in versions:
        before = stored[version["article_id"]]
        assert json.loads(version["change_kinds"]) == ["body", "reextracted"]
        assert version["replaced_by_run_id"] == run_id and version["version"] == 1
        assert version["text"] == before["text"]
        (after,) = rows(archive.db, "SELECT * FROM articles WHERE id = ?", (version["article_id"],))
        assert after["version"] == 2 and after["changed_at"] is not None
        # Nothing was fetched: the article was not seen again.
        assert (after["last_seen_at"], after["last_run_id"], after["fetched_at"]) == (
            before["last_seen_at"],
            before["last_run_id"],
            before["fetched_at"],
        )
        assert paragraphs(after["text"]) == [p for p in paragraphs(before["text"]) if p not in lines]
        assert (
            "-" + chosen.get(version["article_id"], next(iter(lines & set(before["text"].split("\n")))))
            in (json.loads(version["diff"])["text"])
        )
    unchanged = rows(
        archive.db, "SELECT id, version FROM articles WHERE id NOT IN (SELECT article_id FROM article_versions)"
    )
    assert all(row["version"] == 1 for row in unchanged) and len(unchanged) == len(stored) - len(expected)

    # The same rule again: nothing more to change.
    again = json.loads(run_cli("--db", str(archive.db), "--workers", "2", "--json"))
    assert again["changed"] == 0 and again["unchanged"] == len(stored)
    assert rows(archive.db, "SELECT count(*) FROM article_versions")[0][0] == len(expected)

    # Back to the crawl's rule: the lines come back, as one more re-extracted version each.
    monkeypatch.setattr(SiteBoilerplate, "is_boilerplate", original)
    back = json.loads(run_cli("--db", str(archive.db), "--workers", "2", "--json"))
    assert sorted(change["id"] for change in back["changes"]) == sorted(expected)
    for article_id in expected:
        (row,) = rows(archive.db, "SELECT text, version FROM articles WHERE id = ?", (article_id,))
        assert row["version"] == 3 and row["text"] == stored[article_id]["text"]


def test_pages_no_longer_articles_are_reported_not_deleted_and_missing_warc_counted(archive: CrawledArchive) -> None:
    first, second = [row[0] for row in rows(archive.db, "SELECT id FROM articles ORDER BY id LIMIT 2")]
    with sqlite3.connect(archive.db) as connection:
        connection.execute("UPDATE fetches SET warc_file = NULL WHERE article_id = ?", [first])
    total = rows(archive.db, "SELECT count(*) FROM articles")[0][0]
    options = ReextractOptions(warc_dir=archive.warc_dir, workers=1, min_text_chars=1_000_000)
    summary = reextract(archive.db, options)
    assert summary.missing_warc == 1 and summary.pages_read == total - 1
    assert len(summary.not_articles) == total - 1 and summary.changed == 0
    assert all("text" in reason for _, _, reason in summary.not_articles)
    assert rows(archive.db, "SELECT count(*) FROM articles")[0][0] == total
    assert rows(archive.db, "SELECT count(*) FROM article_versions")[0][0] == 0

    # --since: only pages fetched on or after it; a record that cannot be read is reported, not fatal.
    later = reextract(archive.db, ReextractOptions(warc_dir=archive.warc_dir, workers=1, since="2999-01-01"))
    assert (later.articles, later.pages_read) == (0, 0)
    with sqlite3.connect(archive.db) as connection:
        connection.execute("UPDATE fetches SET warc_offset = warc_offset + 1 WHERE article_id = ?", [second])
    damaged = reextract(archive.db, ReextractOptions(warc_dir=archive.warc_dir, workers=1))
    assert [entry[0] for entry in damaged.unreadable] == [second] and damaged.changed == 0


def test_errors_are_one_line_with_the_fix(archive: CrawledArchive, tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(main, ["reextract", "--db", str(tmp_path / "nope.db")])
    assert missing.exit_code == 2 and missing.output.count("\n") == 1
    assert "error: no archive at" in missing.output and "Fix:" in missing.output
    bad_date = runner.invoke(main, ["reextract", "--db", str(archive.db), "--since", "yesterday"])
    assert bad_date.exit_code == 2 and "--since 'yesterday'" in bad_date.output and "Fix:" in bad_date.output
    no_warcs = runner.invoke(main, ["reextract", "--db", str(archive.db), "--warc-dir", str(tmp_path / "gone")])
    assert no_warcs.exit_code == 2 and "WARC folder" in no_warcs.output and "--warc-dir" in no_warcs.output
    unknown = runner.invoke(main, ["reextract", "--db", str(archive.db), "--source", "Fixture", "--dry-run"])
    assert unknown.exit_code == 0 and "did you mean 'fixture'" in unknown.output
    assert (
        "newsarchive reextract --config sources.toml --dry-run" in runner.invoke(main, ["reextract", "--help"]).output
    )
