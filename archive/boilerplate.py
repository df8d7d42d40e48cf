"""Rows of the learned site boilerplate (tables ``boilerplate_sources`` and ``boilerplate_lines``)
and the in-place re-cleaning of a run's article texts. The learning itself is the crawler's
(``crawler/extraction/boilerplate.py``); the archive only keeps its counts. No settings.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

from . import dedup
from .models import RunStatus

# The stat a run's cleaning pass sets when it ends (pipelines/boilerplate.py): a run without it did not
# finish the pass.
LEARNED_STAT = "newsarchive/boilerplate/lines_learned"

if TYPE_CHECKING:
    from sqlite_utils import Database


def load(db: Database, source: str) -> tuple[int, list[tuple[str, int, str]]]:
    """(articles seen, [(fingerprint, articles with the line, the line)]) of a source; (0, []) if none."""
    row = db.execute("SELECT pages FROM boilerplate_sources WHERE source = ?", [source]).fetchone()
    if row is None:
        return 0, []
    lines = db.execute(
        "SELECT fingerprint, pages, line FROM boilerplate_lines WHERE source = ? ORDER BY pages DESC", [source]
    ).fetchall()
    return int(row[0]), [(str(fp), int(pages), str(line)) for fp, pages, line in lines]


def save(
    db: Database, source: str, pages: int, lines: Iterable[tuple[str, int, str]], run_id: int | None, now: str
) -> None:
    """Replace a source's counts with these (the crawler's whole current state).

    ``run_id``: the run whose cleaning pass ended with these counts; None for a save during a run
    (the row keeps the last run that ended its pass, see ``runs_not_learned_from``).
    """
    db.execute(
        "INSERT INTO boilerplate_sources (source, pages, updated_at, run_id) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (source) DO UPDATE SET pages = excluded.pages, updated_at = excluded.updated_at,"
        " run_id = coalesce(excluded.run_id, boilerplate_sources.run_id)",
        [source, pages, now, run_id],
    )
    db.execute("DELETE FROM boilerplate_lines WHERE source = ?", [source])
    db.conn.executemany(
        "INSERT INTO boilerplate_lines (source, fingerprint, pages, line, updated_at) VALUES (?, ?, ?, ?, ?)",
        [(source, fingerprint, count, line, now) for fingerprint, count, line in lines],
    )


def articles_written_by_run(db: Database, run_id: int) -> list[int]:
    """Ids of the articles whose current text this run wrote (new, or a new version)."""
    return articles_written_by_runs(db, [run_id])


def articles_written_by_runs(db: Database, run_ids: Iterable[int]) -> list[int]:
    """Ids of the articles whose current text one of these runs wrote (new, or a new version)."""
    runs = json.dumps(sorted(set(run_ids)))
    cursor = db.execute(
        "SELECT id FROM articles WHERE first_run_id IN (SELECT value FROM json_each(:runs)) OR id IN"
        " (SELECT article_id FROM article_versions WHERE replaced_by_run_id IN (SELECT value FROM json_each(:runs)))"
        " ORDER BY id",
        {"runs": runs},
    )
    return [int(article_id) for (article_id,) in cursor]


def runs_not_learned_from(db: Database, source: str, current_run_id: int) -> list[int]:
    """The source's runs, before ``current_run_id``, whose articles the saved counts have not seen.

    The counts are saved when a run ends (``boilerplate_sources.run_id`` names the last run that
    saved them); a run that did not end by itself (killed: ``abandoned``; ``failed``, ``timed_out``, a
    forced ``interrupted``) may have stored articles that were neither counted nor cleaned with what it
    learned: its stats lack the pass's ``LEARNED_STAT``. A ``succeeded`` run did its cleaning, or ran
    with the feature off (its texts stay as they were stored).
    """
    row = db.execute("SELECT run_id FROM boilerplate_sources WHERE source = ?", [source]).fetchone()
    saved_by = int(row[0]) if row and row[0] is not None else 0
    cursor = db.execute(
        "SELECT id FROM crawl_runs WHERE source = ? AND id > ? AND id < ? AND status NOT IN (?, ?)"
        " AND json_extract(CASE WHEN json_valid(stats_json) THEN stats_json ELSE '{}' END, ?) IS NULL ORDER BY id",
        [source, saved_by, current_run_id, RunStatus.SUCCEEDED, RunStatus.SKIPPED, f'$."{LEARNED_STAT}"'],
    )
    return [int(run_id) for (run_id,) in cursor]


def replace_text(db: Database, article_id: int, text: str) -> None:
    """Set an article's current text in place (no new version): its word count and hash follow; the
    full-text index follows through its triggers."""
    db.execute(
        "UPDATE articles SET text = ?, word_count = ?, content_hash = ? WHERE id = ?",
        [text, dedup.word_count(text), dedup.content_hash(text), article_id],
    )
