"""End to end: a recurring crawl over several epochs of the fixture news site (tests/newssite).

The real ``newsarchive crawl`` runs against the served site four times: the first crawl, an
immediate recrawl of the unchanged site, then "one week later" (edits, markup-only edits, removals,
additions, a volatile page) and the week after (removed articles come back). The archive is checked
row by row (versions and their change kinds and diffs, removed_at, crawl_state) and the server's
request log says what each run asked for (conditional requests, 304s, no article fetched for
nothing).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli.main import main
from tests.newssite import (
    EditKind,
    EpochChanges,
    LastmodStyle,
    Misbehaviour,
    NewsSite,
    RequestCounts,
    RequestRecord,
    ServedSite,
    serve_site,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@dataclass
class Epochs:
    site: NewsSite
    local: ServedSite
    db: Path
    first: list[RequestRecord]
    again: list[RequestRecord]
    week: list[RequestRecord]
    week_changes: EpochChanges
    restored: list[RequestRecord]
    restored_changes: EpochChanges
    outputs: list[str]
    paths: dict[int, str]  # article id -> path, over every epoch (removed articles included)

    def url(self, article_id: int) -> str:
        return self.local.base_url + self.paths[article_id]


def write_config(folder: Path, base_url: str) -> Path:
    """A sources file for the served fixture site, crawled fast, into folder/archive.db."""
    config = folder / "sources.toml"
    config.write_text(
        '[archive]\ndb = "archive.db"\n\n[[sources]]\nname = "fixture"\n'
        f'start_urls = ["{base_url}/"]\ndownload_delay = 0.0\nconcurrency = 8\nrender_js = "never"\n'
    )
    return config


def crawl(config: Path) -> str:
    result = CliRunner().invoke(main, ["crawl", "--config", str(config), "--no-progress"])
    assert result.exit_code == 0, result.output
    return result.output


def counts(records: list[RequestRecord]) -> RequestCounts:
    statuses: dict[int, int] = {}
    for record in records:
        statuses[record.status] = statuses.get(record.status, 0) + 1
    return RequestCounts(
        requests=len(records),
        conditional=sum(record.conditional for record in records),
        not_modified=statuses.get(304, 0),
        bytes_sent=sum(record.bytes_sent for record in records),
        statuses=statuses,
    )


@pytest.fixture(scope="module")
def epochs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Epochs]:
    folder = tmp_path_factory.mktemp("recrawl")
    site = NewsSite(n_articles=120, seed=7)
    with serve_site(site) as local:
        config = write_config(folder, local.base_url)
        outputs = []

        def run() -> list[RequestRecord]:
            mark = local.log.mark()
            outputs.append(crawl(config))
            return local.log.since(mark)

        paths = {article.article_id: article.path for article in site.model.articles}
        first = run()
        again = run()
        time.sleep(1.1)
        week_changes = site.advance(at=datetime.now(UTC))
        time.sleep(1.1)
        paths.update((article.article_id, article.path) for article in site.model.articles)
        week = run()
        # HTTP dates and sitemap <lastmod>s have whole seconds: on a loaded machine the next change could
        # fall in the second of the last fetch and look unchanged. On a real site days pass in between.
        time.sleep(1.1)
        restored_changes = site.advance(at=datetime.now(UTC))
        time.sleep(1.1)
        paths.update((article.article_id, article.path) for article in site.model.articles)
        restored = run()
        yield Epochs(
            site,
            local,
            folder / "archive.db",
            first,
            again,
            week,
            week_changes,
            restored,
            restored_changes,
            outputs,
            paths,
        )


def query(db: Path, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
    connection = sqlite3.connect(db)
    try:
        connection.row_factory = sqlite3.Row
        return list(connection.execute(sql, params))
    finally:
        connection.close()


def article_paths(epochs: Epochs) -> set[str]:
    return {a.url.removeprefix(epochs.local.base_url) for a in epochs.site.expected_articles(epochs.local.base_url)}


def test_an_immediate_recrawl_asks_only_for_discovery_documents_and_conditionally(epochs: Epochs) -> None:
    first, again = counts(epochs.first), counts(epochs.again)
    assert first.conditional == 0
    assert again.requests <= 0.1 * first.requests
    assert again.bytes_sent <= 0.05 * first.bytes_sent
    assert again.not_modified >= again.requests - 2  # everything but robots.txt (unconditional: it is obeyed)
    assert not {record.path for record in epochs.again} & article_paths(epochs)
    (run,) = query(epochs.db, "SELECT * FROM crawl_runs WHERE id = 2")
    assert run["status"] == "succeeded"
    assert (run["articles_new"], run["articles_updated"], run["articles_unchanged"]) == (0, 0, 0)
    # robots.txt, fetched once and unconditionally (it is obeyed), came back byte-identical: not modified too
    assert run["not_modified"] == again.not_modified + 1


def test_a_week_later_new_articles_all_arrive_and_old_ones_are_not_fetched_again(epochs: Epochs) -> None:
    changes = epochs.week_changes
    archived = {row["url"] for row in query(epochs.db, "SELECT url FROM articles")}
    assert {epochs.url(article_id) for article_id in changes.added} <= archived
    asked = {record.path for record in epochs.week}
    unchanged = {epochs.url(article_id).removeprefix(epochs.local.base_url) for article_id in changes.unchanged}
    assert not asked & unchanged  # nothing signalled them and no revisit was due


def test_each_edit_is_one_version_with_its_change_kinds_and_a_diff(epochs: Epochs) -> None:
    changes = epochs.week_changes
    for edit in changes.edits:
        rows = query(
            epochs.db,
            "SELECT v.change_kinds, v.diff, v.replaced_by_run_id FROM article_versions v"
            " JOIN articles a ON a.id = v.article_id WHERE a.url = ? AND v.replaced_by_run_id = 3",
            (epochs.url(edit.article_id),),
        )
        if edit.kind == EditKind.MARKUP:
            assert rows == [], f"markup-only edit of {edit.article_id} made a version"
            continue
        assert len(rows) == 1, (edit, [dict(row) for row in rows])
        assert set(json.loads(rows[0]["change_kinds"])) == set(edit.change_kinds)
        diff = json.loads(rows[0]["diff"])
        if edit.kind == EditKind.HEADLINE:
            assert diff["title"]["new"] != diff["title"]["old"]
        else:
            assert diff["text"].startswith("--- version 1\n+++ version 2")
        if edit.kind == EditKind.CORRECTION:
            assert diff["correction"]


def test_unchanged_and_volatile_articles_get_no_version(epochs: Epochs) -> None:
    changes = epochs.week_changes
    quiet = [epochs.url(i) for i in (*changes.unchanged, *changes.volatile)]
    placeholders = ", ".join("?" for _ in quiet)
    versions = query(
        epochs.db,
        "SELECT a.url FROM article_versions v JOIN articles a ON a.id = v.article_id"
        f" WHERE v.replaced_by_run_id = 3 AND a.url IN ({placeholders})",
        tuple(quiet),
    )
    assert versions == []


def test_removed_articles_are_marked_not_deleted(epochs: Epochs) -> None:
    for removal in epochs.week_changes.removals:
        url = epochs.url(removal.article_id)
        (row,) = query(epochs.db, "SELECT removed_at, removed_status, text FROM articles WHERE url = ?", (url,))
        assert row["text"], url  # kept
        if removal.article_id in epochs.restored_changes.restored:
            continue
        assert row["removed_at"] is not None, url
        assert row["removed_status"] in (301, 404, 410), url


def test_a_restored_article_is_back_with_a_reappeared_version(epochs: Epochs) -> None:
    restored = epochs.restored_changes.restored
    assert restored, "the fixture brings removed articles back in epoch 2"
    for article_id in restored:
        url = epochs.url(article_id)
        (row,) = query(epochs.db, "SELECT id, removed_at FROM articles WHERE url = ?", (url,))
        assert row["removed_at"] is None, url
        kinds = [
            json.loads(version["change_kinds"])
            for version in query(
                epochs.db,
                "SELECT change_kinds FROM article_versions WHERE article_id = ? ORDER BY version",
                (row["id"],),
            )
        ]
        assert kinds and kinds[-1] == ["reappeared"], (url, kinds)


def test_crawl_state_holds_validators_and_no_frontier_is_left(epochs: Epochs) -> None:
    frontier = query(epochs.db, "SELECT url FROM crawl_state WHERE fetched_at IS NULL")
    assert frontier == []
    rows = query(
        epochs.db,
        "SELECT s.etag, s.last_modified, s.body_hash, s.article_id FROM crawl_state s"
        " JOIN articles a ON a.id = s.article_id WHERE a.removed_at IS NULL",
    )
    assert rows and all(row["etag"] and row["last_modified"] and row["body_hash"] for row in rows)


@pytest.mark.parametrize(
    "misbehaviour",
    [
        Misbehaviour(wrong_etag=True, future_last_modified=True),
        Misbehaviour(sitemap_lastmod=LastmodStyle.MIXED),
        Misbehaviour(sitemap_lastmod=LastmodStyle.FUTURE),
    ],
    ids=["wrong-etag-future-last-modified", "mixed-lastmods", "future-lastmods"],
)
def test_a_misbehaving_server_causes_no_crash_no_spurious_version_and_no_endless_refetch(
    tmp_path: Path, misbehaviour: Misbehaviour
) -> None:
    site = NewsSite(n_articles=60, seed=3, misbehaviour=misbehaviour)
    with serve_site(site) as local:
        config = write_config(tmp_path, local.base_url)
        crawl(config)
        changes = site.advance(at=datetime.now(UTC))
        crawl(config)
        mark = local.log.mark()
        crawl(config)  # nothing changed since: a future or malformed lastmod must not bring pages back
        last = local.log.since(mark)
    db = tmp_path / "archive.db"
    assert [row["status"] for row in query(db, "SELECT status FROM crawl_runs")] == ["succeeded"] * 3
    quiet = {local.base_url + site_path for site_path in changes_paths(site, changes.unchanged)}
    versioned = {
        row["url"] for row in query(db, "SELECT a.url FROM article_versions v JOIN articles a ON a.id = v.article_id")
    }
    assert not versioned & quiet
    assert versioned <= {local.base_url + edit.path for edit in changes.edits}
    assert not {record.path for record in last} & {path.removeprefix(local.base_url) for path in quiet}


def test_a_304_to_an_unconditional_request_is_an_error_and_the_page_is_tried_again_later(tmp_path: Path) -> None:
    site = NewsSite(n_articles=60, seed=4)
    rude_article = next(a for a in site.model.articles if a.reach == "everywhere" and a.path.count("/") == 5)
    site = NewsSite(n_articles=60, seed=4, misbehaviour=Misbehaviour(unconditional_304=frozenset({rude_article.path})))
    with serve_site(site) as local:
        config = write_config(tmp_path, local.base_url)
        crawl(config)
    db = tmp_path / "archive.db"
    url = local.base_url + rude_article.path
    (fetch,) = query(db, "SELECT outcome, reason FROM fetches WHERE url = ?", (url,))
    assert (fetch["outcome"], fetch["reason"]) == ("error", "HTTP 304")
    (state,) = query(db, "SELECT status, next_due_at, etag FROM crawl_state WHERE url = ?", (url,))
    assert state["status"] == 304 and state["next_due_at"] is not None and state["etag"] is None


def changes_paths(site: NewsSite, article_ids: tuple[int, ...]) -> list[str]:
    by_id = {article.article_id: article.path for article in site.model.articles}
    return [by_id[article_id] for article_id in article_ids if article_id in by_id]
