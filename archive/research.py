"""The researcher's read side of an archive: full-text search, one article in full, and figures.

Plain functions over an open :class:`archive.ArchiveReader` (read-only: nothing here writes), behind
``newsarchive search``, ``show`` and ``stats`` and usable from Python as they are:

- :func:`search`: FTS5 over ``articles_fts`` (title and text, porter stemming), ranked by bm25 with a
  title hit weighted above a text hit (``TITLE_WEIGHT``), with a highlighted snippet. Phrases
  (``"city council"``), prefixes (``budg*``), boolean operators (``AND``, ``OR``, ``NOT``), column
  filters (``title:budget``) and ``NEAR`` work as in FTS5; a word with punctuation (``don't``,
  ``covid-19``, ``U.S.``) is searched as the phrase it is instead of failing. A query FTS5 cannot
  parse raises ArchiveError with the problem and an example of valid syntax.
- :func:`article_detail`: every field of one article (by id, canonical URL or alias URL) and its
  provenance: source, first and last run, how it was discovered (``fetches.found_by`` of its first
  fetch), aliases and why, near duplicates in both directions, where it was syndicated from, its versions.
- :func:`stats`: articles per source, language and month, the date range, duplicates, versions and
  the file's size.

Every read takes an :class:`archive.filters.ArticleFilter`, so search, stats and export select the
same rows for the same options. No settings beyond the constants below.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .connection import describe_database_error, primary_code
from .filters import (  # fts_query: re-exported, the search syntax lives with the filter that shares it
    _BAREWORD,
    _QUERY_TOKEN,
    NO_CONDITION,
    ArticleFilter,
    describe_fts_error,
    fts_match,
    fts_query,
    indexes_source,
)
from .migrations import VIEWS_13
from .models import AliasReason, ArchiveError
from .records import from_json

if TYPE_CHECKING:
    from .reader import ArchiveReader

TITLE_WEIGHT = 10.0  # bm25 weight of a title hit; a text hit weighs 1
SNIPPET_TOKENS = 24  # words around the best hit in a snippet
DEFAULT_MARKS = ("[", "]")  # around each matched word in a snippet
SEARCH_KEYS = (
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
)
JSON_COLUMNS = ("authors", "categories", "tags", "hints")
SYNTAX_EXAMPLES = (
    'examples of valid queries: budget vote (both words), "city council" (a phrase), budg* (a prefix), '
    "budget OR tax, budget NOT tax, (budget OR tax) AND council, title:budget"
)

_LOWERCASE_OPERATORS = {"or": "OR", "and": "AND", "not": "NOT"}
SCORE_DIGITS = 4  # significant digits of a hit's score: bm25 of a word in most articles is tiny, never 0.0
# Ranking first, snippets after: a SELECT list is computed for every match before ORDER BY ... LIMIT
# keeps the best, and snippet() costs far more than bm25(); so one query ranks the ids, and the
# snippets are made for those ids only.
_RANK_SQL = """
SELECT a.id, bm25(articles_fts, ?, 1.0, 0.0) AS bm25
FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid
WHERE articles_fts MATCH ? AND {where}
ORDER BY bm25, a.id
LIMIT ?
"""
# The same when no filter is left once the index has taken the source: the articles table is not
# touched for every match (a row lookup per match costs as much again as bm25 on a broad query).
_RANK_FTS_SQL = """
SELECT rowid, bm25(articles_fts, ?, 1.0, 0.0) AS bm25
FROM articles_fts
WHERE articles_fts MATCH ?
ORDER BY bm25, rowid
LIMIT ?
"""
_HITS_SQL = """
SELECT a.id, a.url, a.source, a.title, a.published_at, a.published_at_utc, a.language, a.authors,
       snippet(articles_fts, 1, ?, ?, '…', ?) AS snippet
FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid
WHERE articles_fts MATCH ? AND articles_fts.rowid = ?
"""


def query_hints(query: str, hits: int) -> list[str]:
    """Hints about a query that probably does not say what its author meant (for the CLI to print).

    ``harbour or wall`` with no hits: operators are in capitals (``or`` was searched as a word);
    ``harbour -wall``: a minus does not leave a word out (FTS5 searches ``wall``), NOT does.
    """
    hints = []
    words = [token for token in _QUERY_TOKEN.findall(query) if not token.startswith('"')]
    lowercase = [word for word in words if word in _LOWERCASE_OPERATORS]
    if lowercase and hits == 0:
        corrected = " ".join(
            _LOWERCASE_OPERATORS.get(token, token) if not token.startswith('"') else token
            for token in _QUERY_TOKEN.findall(query)
        )
        hints.append(
            f"hint: {', '.join(repr(word) for word in dict.fromkeys(lowercase))} was searched as a word "
            f"(operators are in capitals): did you mean {corrected!r}?"
        )
    excluded = [word for word in words if len(word) > 1 and word.startswith("-") and _BAREWORD.match(word[1:])]
    if excluded:
        hints.append(
            f"hint: {excluded[0]!r} searches for {excluded[0][1:]!r} (a minus does not leave a word out): "
            f"to leave it out, write NOT {excluded[0][1:]}."
        )
    return hints


def search(
    reader: ArchiveReader,
    query: str,
    article_filter: ArticleFilter | None = None,
    limit: int = 20,
    marks: tuple[str, str] = DEFAULT_MARKS,
) -> list[dict[str, Any]]:
    """The best ``limit`` articles for an FTS5 ``query`` among those ``article_filter`` selects, best first.

    Each hit is a dict with ``SEARCH_KEYS``: ``rank`` (1 = best), the article's id, url, source,
    title, publication dates, language and ``authors`` (a list), ``snippet`` (the passage of the
    text with the most matches, matched words between ``marks``; the text's opening when only the
    title matched) and ``score`` (FTS5's bm25 negated, to SCORE_DIGITS significant digits: higher is
    better; comparable only within one search, and tiny, such as 2.1e-06, when the words are in most
    of the articles searched).
    """
    if not query or not query.strip():
        raise ArchiveError("The search query is empty.", SYNTAX_EXAMPLES)
    selection = article_filter or ArticleFilter()
    source = selection.source if indexes_source(reader.db) else None
    # The filter is an exact name everywhere (stats, export): a name no article has finds nothing.
    if (
        source is not None
        and not reader.db.execute("SELECT 1 FROM articles WHERE source = ? LIMIT 1", [source]).fetchone()
    ):
        return []
    match = fts_match(fts_query(query), source)
    try:
        # The index filters the source first (fast on a large archive), ranking from the index alone
        # when no other filter is set.
        rows = _ranked(reader, match, replace(selection, source=None) if source else selection, limit, marks)
        if source is not None and any(row["source"] != source for row in rows):
            # The index matches the name as words, folding case ("news" also in "news-de", "Demo" in
            # "demo"): this archive has such names, so the exact name is checked on every match.
            rows = _ranked(reader, match, selection, limit, marks)
    except sqlite3.OperationalError as error:
        raise _query_error(reader, query, error) from error
    except sqlite3.DatabaseError as error:
        raise describe_database_error(Path(reader.path), error) from error
    hits = []
    for position, row in enumerate(rows, start=1):
        score = float(f"{-row['bm25']:.{SCORE_DIGITS}g}")
        row.update(rank=position, authors=from_json(row["authors"]) or [], score=score)
        hits.append({key: row[key] for key in SEARCH_KEYS})
    return hits


def _ranked(
    reader: ArchiveReader, match: str, selection: ArticleFilter, limit: int, marks: tuple[str, str]
) -> list[dict[str, Any]]:
    """The best ``limit`` rows for the MATCH expression among ``selection``, each with its snippet and bm25."""
    where, params = selection.where("a")
    rank_sql = _RANK_FTS_SQL if where == NO_CONDITION else _RANK_SQL.format(where=where)
    ranked = reader.db.execute(rank_sql, [TITLE_WEIGHT, match, *params, limit]).fetchall()
    by_id: dict[int, dict[str, Any]] = {}
    for article_id, _ in ranked:  # one FTS5 seek per hit (rowid = ?), not a second pass over every match
        cursor = reader.db.execute(_HITS_SQL, [marks[0], marks[1], SNIPPET_TOKENS, match, article_id])
        names = [column[0] for column in cursor.description]
        by_id.update({row[0]: dict(zip(names, row)) for row in cursor.fetchall()})
    return [{**by_id[article_id], "bm25": bm25} for article_id, bm25 in ranked if article_id in by_id]


def _query_error(reader: ArchiveReader, query: str, error: sqlite3.OperationalError) -> ArchiveError:
    message = str(error)
    if "no such table: articles_fts" in message:
        return ArchiveError(
            f"Archive {reader.path} has no full-text index (articles_fts).",
            "crawl into it once with this newsarchive (which adds it), then search again.",
        )
    if primary_code(error) == sqlite3.SQLITE_ERROR:
        # FTS5 reports what it cannot parse as a plain SQL error ("fts5: syntax error near ...",
        # "unterminated string", "no such column: x" for x:word); a locked or broken file has its own codes.
        problem = describe_fts_error(message, query)
        return ArchiveError(f"Search query {query!r} is not valid FTS5 syntax ({problem}).", SYNTAX_EXAMPLES)
    return describe_database_error(Path(reader.path), error)


def article_detail(reader: ArchiveReader, url_or_id: str | int, alternatives: Sequence[str] = ()) -> dict[str, Any]:
    """One article in full with its provenance and versions; ArchiveError when the archive has no such article.

    ``{"article": {...every column, JSON columns decoded...}, "provenance": {...}, "versions": [...]}``.
    Provenance: ``source``, ``first_run`` / ``last_run`` (id, trigger, status, started_at,
    finished_at), ``found_by`` and ``first_fetch`` (how the crawler came to the page), ``aliases``
    (url, reason, first_seen_at, run_id), ``exact_duplicates`` (alias URLs with reason duplicate),
    ``near_duplicate_of`` (the original this is a near copy of) and ``near_copies`` (articles that
    are near copies of this one), ``syndicated_from``. Versions: ``ArchiveReader.versions`` without
    the content (version, current, valid_from, valid_to, found_by_run_id, change_kinds).
    ``alternatives``: other spellings of a URL to try (see ``ArchiveReader.article``).
    """
    row = reader.article(url_or_id, alternatives)
    article_id = row["id"]
    article = {name: (from_json(value) if name in JSON_COLUMNS else value) for name, value in row.items()}
    provenance_row = _provenance(reader, article_id)
    first_fetch = _first(
        reader.query(
            "SELECT id, run_id, url, final_url, status, fetched_at, found_by, depth, referer FROM fetches"
            " WHERE article_id = ? ORDER BY id LIMIT 1",
            [article_id],
        )
    )
    aliases = reader.query(
        "SELECT url, reason, first_seen_at, run_id FROM url_aliases WHERE article_id = ? ORDER BY first_seen_at, url",
        [article_id],
    )
    original = None
    if row.get("near_duplicate_of") is not None:
        original = _first(
            reader.query("SELECT id, url, title, source FROM articles WHERE id = ?", [row["near_duplicate_of"]])
        )
    copies = reader.query(
        "SELECT id, url, title, source FROM articles WHERE near_duplicate_of = ? ORDER BY id", [article_id]
    )
    versions = [
        {
            key: entry.get(key)
            for key in ("version", "current", "valid_from", "valid_to", "found_by_run_id", "change_kinds")
        }
        for entry in reader.versions(article_id)
    ]
    fetches = _article_fetches(reader, article_id)
    # Each version's content came from the response its run stored (new or changed): traced to it.
    written = {}
    for fetch in fetches:
        if fetch["outcome"] in ("new", "updated") and fetch.get("warc_file"):
            written.setdefault(fetch["run_id"], fetch)
    for entry in versions:
        source = written.get(entry.get("found_by_run_id"))
        entry["response"] = (
            {name: source[name] for name in ("id", "warc_file", "warc_offset", "warc_length")} if source else None
        )
    return {
        "article": article,
        "provenance": {
            "source": row.get("source"),
            "first_run": _run(reader, row.get("first_run_id")),
            "last_run": _run(reader, row.get("last_run_id")),
            "first_seen_at": row.get("first_seen_at"),
            "last_seen_at": row.get("last_seen_at"),
            "found_by": provenance_row.get("found_by"),
            "first_fetch": first_fetch,
            "aliases": aliases,
            "exact_duplicates": [alias["url"] for alias in aliases if alias["reason"] == AliasReason.DUPLICATE],
            "near_duplicate_of": original,
            "near_copies": copies,
            "syndicated_from": row.get("syndicated_from"),
            "versions": len(versions),
            "fetches": fetches,
        },
        "versions": versions,
    }


# Columns of a fetch that later migrations added (fetch_mode: 4; the WARC pointer: 16): NULL before.
FETCH_LATER_COLUMNS = ("fetch_mode", "warc_file", "warc_offset", "warc_length")


def _article_fetches(reader: ArchiveReader, article_id: int) -> list[dict[str, Any]]:
    """Every fetch of the article, oldest first, with the WARC record it was read from (``warc_file``,
    ``warc_offset``, ``warc_length``: None on an archive older than migration 16 or without WARC)."""
    if not reader.has_table("fetches"):
        return []
    present = _columns(reader, "fetches")
    later = ", ".join(name if name in present else f"NULL AS {name}" for name in FETCH_LATER_COLUMNS)
    return reader.query(
        f"SELECT id, run_id, url, status, outcome, fetched_at, {later} FROM fetches WHERE article_id = ? ORDER BY id",
        [article_id],
    )


def _provenance(reader: ArchiveReader, article_id: int) -> dict[str, Any]:
    """The article's article_provenance row; from the view's own SELECT on an archive older than the view."""
    if "article_provenance" in reader.views:
        source = "article_provenance"
    else:
        # Read-only: the view cannot be created here; its migration-13 SELECT reads the same, on files
        # that have the columns it names (migration 12 on), else the provenance reads as unknown.
        if not reader.has_table("fetches") or "syndicated_from" not in _columns(reader, "articles"):
            return {}
        source = f"({VIEWS_13['article_provenance']})"
    return _first(reader.query(f"SELECT * FROM {source} WHERE article_id = ?", [article_id])) or {}


def _columns(reader: ArchiveReader, table: str) -> set[str]:
    return {row["name"] for row in reader.query("SELECT name FROM pragma_table_info(?)", [table])}


def _run(reader: ArchiveReader, run_id: int | None) -> dict[str, Any] | None:
    if run_id is None or not reader.has_table("crawl_runs"):
        return None
    return _first(
        reader.query(
            "SELECT id, source, trigger, status, started_at, finished_at FROM crawl_runs WHERE id = ?", [run_id]
        )
    )


def stats(reader: ArchiveReader, article_filter: ArticleFilter | None = None) -> dict[str, Any]:
    """Figures over the articles ``article_filter`` selects (every article without one).

    ``articles``; ``sources`` (source, articles, first_published, last_published); ``languages``
    (language, articles); ``months`` (``YYYY-MM`` of the UTC publication date, articles; months
    without articles left out); ``undated`` (no publication date); ``date_range`` (first, last
    ``published_at_utc``); ``duplicates`` (``duplicate_urls``: alias URLs whose page was an exact copy
    of an archived article's text, ``alias_urls``: every alias URL (also redirects, tracking
    parameters, AMP, canonical links), ``near_duplicates``: articles that are near copies of another); ``versions``
    (``changed_articles``: with more than one version, ``earlier_versions``: versions kept before
    the current ones); ``size_bytes`` (the archive file and its -wal, whatever the filter).
    """
    where, params = (article_filter or ArticleFilter()).where("a")
    selected = f"FROM articles a WHERE {where}"
    totals = reader.query(
        "SELECT count(*) AS articles, min(a.published_at_utc) AS first, max(a.published_at_utc) AS last,"
        " sum(a.published_at_utc IS NULL) AS undated, sum(a.near_duplicate_of IS NOT NULL) AS near_duplicates,"
        f" sum(a.version > 1) AS changed_articles, sum(a.version - 1) AS earlier_versions {selected}",
        params,
    )[0]
    sources = reader.query(
        "SELECT a.source, count(*) AS articles, min(a.published_at_utc) AS first_published,"
        f" max(a.published_at_utc) AS last_published {selected} GROUP BY a.source ORDER BY articles DESC, a.source",
        params,
    )
    languages = reader.query(
        f"SELECT a.language, count(*) AS articles {selected} GROUP BY a.language ORDER BY articles DESC, a.language",
        params,
    )
    months = reader.query(
        f"SELECT substr(a.published_at_utc, 1, 7) AS month, count(*) AS articles {selected}"
        " AND a.published_at_utc IS NOT NULL GROUP BY month ORDER BY month",
        params,
    )
    aliases = reader.query(
        "SELECT count(*) AS alias_urls, coalesce(sum(u.reason = ?), 0) AS duplicate_urls FROM url_aliases u"
        f" WHERE u.article_id IN (SELECT a.id {selected})",
        [AliasReason.DUPLICATE.value, *params],
    )[0]
    path = Path(reader.path)
    return {
        "articles": totals["articles"],
        "sources": sources,
        "languages": languages,
        "months": months,
        "undated": totals["undated"] or 0,
        "date_range": {"first": totals["first"], "last": totals["last"]},
        "duplicates": {
            "duplicate_urls": aliases["duplicate_urls"],
            "alias_urls": aliases["alias_urls"],
            "near_duplicates": totals["near_duplicates"] or 0,
        },
        "versions": {
            "changed_articles": totals["changed_articles"] or 0,
            "earlier_versions": totals["earlier_versions"] or 0,
        },
        "size_bytes": sum(file.stat().st_size for file in (path, Path(f"{path}-wal")) if file.exists()),
    }


def _first(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    return rows[0] if rows else None
