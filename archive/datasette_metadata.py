"""The Datasette metadata that ``newsarchive serve`` shows an archive with, built in code.

One function, :func:`datasette_metadata`, returns the metadata dict (Datasette's metadata.json
format) for an archive served under the database name ``archive``:

- a title and description; each table's and column's description from docs/schema.md (through
  archive/schema_descriptions.json, archive/schema_doc.py), so the words people read in the browser
  are the ones the schema documents;
- full-text search on ``articles`` through the existing FTS5 index (``articles_fts``, raw FTS5
  syntax: phrases, ``OR``, ``NEAR``, prefixes), facets on source, language and publication month.
  Datasette 0.65 filters a table by its search box (``rowid IN (SELECT rowid ... MATCH ...)``) and
  keeps the table's order (newest archived first here): it cannot order by relevance
  (``_sort=rank`` is refused). Ranked search is the canned query ``search`` (:data:`SEARCH_QUERY`:
  bm25 with the weights of ``newsarchive search``, a snippet), which the database page, the
  articles page and the dashboard link to;
- column descriptions shortened for the browser (:func:`short_description`: the first sentence, no
  source-file names) and shown in a compact scrolling box (:data:`EXTRA_CSS`), so that the search box
  and the rows of a table stay on the first screen; docs/schema.md keeps the full text;
- canned queries a researcher asks first (:data:`CANNED_QUERIES`), all read-only;
- a dashboard with charts for the datasette-dashboards plugin (:data:`DASHBOARD`).

Plain data, no Datasette import: the CLI layer (crawler/cli/serve.py) hands it to Datasette.
"""

from __future__ import annotations

import copy
import re
from typing import Any
from urllib.parse import quote

from .filters import SEARCHED_COLUMNS
from .research import TITLE_WEIGHT
from .schema_doc import load_descriptions

DATABASE_NAME = "archive"
DASHBOARD_NAME = "archive-dashboard"
TITLE = "newsarchive"
DESCRIPTION = (
    "A read-only view of a newsarchive archive: articles with their provenance, versions, fetches and "
    'crawl runs. Search articles best match first with the "Search articles" query (/archive/search; FTS5 '
    'syntax: "exact phrase", a OR b, elect*), filter and facet them on the articles table, run the canned '
    "queries below or open the dashboard (/-/dashboards). Table and column meanings: docs/schema.md."
)
SEARCH_PATH = f"/{DATABASE_NAME}/search"
DESCRIPTION_HTML = (
    "<p>A read-only view of a newsarchive archive: articles with their provenance, versions, fetches and crawl "
    f'runs.</p><p><strong><a href="{SEARCH_PATH}">Search articles, best match first</a></strong> '
    '(FTS5 syntax: <code>"exact phrase"</code>, <code>a OR b</code>, <code>elect*</code>); filter and facet them '
    f'on the <a href="/{DATABASE_NAME}/articles">articles table</a>; run the canned queries below; or open the '
    f'<a href="/-/dashboards/{DASHBOARD_NAME}">dashboard</a>. Table and column meanings: docs/schema.md.</p>'
)
ARTICLES_DESCRIPTION_HTML = (
    "<p>Articles: {description}. The search box below filters the articles (newest archived first, not by relevance); "
    f'<a href="{SEARCH_PATH}">Search articles</a> ranks them, best match first, with a snippet. '
    'Search syntax: <code>harbour ferry</code> (both words), <code>"city council"</code> (a phrase), '
    "<code>harb*</code> (a prefix), <code>harbour OR ferry</code>, <code>NOT</code> (operators in capitals); "
    "an unclosed quote or a dangling operator is refused.</p>"
)

# Publication day in UTC: `published_at_utc` holds a full timestamp, a date, or only a year/month
# (docs/schema.md, conventions); only the first two say which day.
_DAY = "substr(published_at_utc, 1, 10)"
_HAS_DAY = "length(published_at_utc) >= 10"

# Ranked search, as `newsarchive search` ranks (archive/research.py: bm25, a title hit weighing
# TITLE_WEIGHT text hits, the index's source column weighing nothing and matched only as a filter).
_BM25 = f"bm25(articles_fts, {TITLE_WEIGHT}, 1.0, 0.0)"
SEARCH_QUERY: dict[str, Any] = {
    "title": "Search articles, best match first",
    "description": (
        "Full-text search over titles and texts, ranked as newsarchive search ranks (bm25; a word in the title "
        "counts ten times a word in the text), with a snippet; score: higher is a better match. q: words, "
        '"a phrase", a prefix (harb*), a OR b, NOT, NEAR(a b); operators in capitals. Leave source empty for all.'
    ),
    "sql": (
        "SELECT a.id, a.source, a.title, a.published_at_utc,\n"
        "  snippet(articles_fts, 1, '[', ']', '…', 24) AS snippet,\n"
        f"  -{_BM25} AS score, a.url\n"
        "FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid\n"
        f"WHERE articles_fts MATCH '{SEARCHED_COLUMNS} : (' || :q || ')' AND (:source = '' OR a.source = :source)\n"
        f"ORDER BY {_BM25}, a.id\nLIMIT 100"
    ),
}

CANNED_QUERIES: dict[str, dict[str, Any]] = {
    "search": SEARCH_QUERY,
    "articles_per_day_per_source": {
        "title": "Articles per day per source",
        "description": "Articles by UTC publication day and source, newest day first. Leave source empty for all.",
        "sql": (
            f"SELECT {_DAY} AS day, source, count(*) AS articles\n"
            f"FROM articles\nWHERE {_HAS_DAY} AND (:source = '' OR source = :source)\n"
            "GROUP BY day, source\nORDER BY day DESC, source"
        ),
    },
    "newest_articles": {
        "title": "Latest articles",
        "description": "The 100 most recently published articles (by UTC publication date, else when first archived).",
        "sql": (
            "SELECT id, source, title, published_at_utc, language, word_count, url, first_seen_at\n"
            "FROM articles\nWHERE (:source = '' OR source = :source)\n"
            "ORDER BY coalesce(published_at_utc, first_seen_at) DESC, id DESC\nLIMIT 100"
        ),
    },
    "provenance_of_article": {
        "title": "An article's provenance and versions",
        "description": (
            "Everything the archive knows of where article :id came from, oldest first: the article, every "
            "fetch of it (how it was found: found_by, referer, depth), its alias URLs, near duplicates and "
            "earlier versions (what changed and when)."
        ),
        "sql": (
            "SELECT * FROM (\n"
            "  SELECT 'article' AS what, a.first_seen_at AS at, a.first_run_id AS run_id, a.url AS url,\n"
            "    'source ' || a.source || '; version ' || a.version || '; last seen ' || coalesce(a.last_seen_at, '?')"
            " || ' (run ' || coalesce(a.last_run_id, '?') || ')' || coalesce('; removed ' || a.removed_at, '')"
            " || '; ' || coalesce(a.title, '') AS detail\n"
            "  FROM articles a WHERE a.id = :id\n"
            "  UNION ALL\n"
            "  SELECT 'fetch', f.fetched_at, f.run_id, f.url,\n"
            "    coalesce(f.outcome, '?') || ', HTTP ' || coalesce(f.status, '-') || ', found by ' || coalesce(f.found_by, '?')"
            " || coalesce(' from ' || f.referer, '') || ', depth ' || coalesce(f.depth, '?') || ', ' || coalesce(f.fetch_mode, '?')\n"
            "  FROM fetches f WHERE f.article_id = :id\n"
            "  UNION ALL\n"
            "  SELECT 'alias', u.first_seen_at, u.run_id, u.url, u.reason FROM url_aliases u WHERE u.article_id = :id\n"
            "  UNION ALL\n"
            "  SELECT 'near duplicate', d.first_seen_at, d.first_run_id, d.url,\n"
            "    CASE WHEN d.id = o.near_duplicate_of THEN 'original of this article: ' ELSE 'copy of this article: ' END"
            " || d.id || ' ' || coalesce(d.title, '')\n"
            "  FROM articles o JOIN articles d ON d.id = o.near_duplicate_of OR d.near_duplicate_of = o.id\n"
            "  WHERE o.id = :id AND d.id != o.id\n"
            "  UNION ALL\n"
            "  SELECT 'version ' || v.version, v.valid_from, v.run_id, v.url,\n"
            "    'replaced ' || coalesce(v.valid_to, '?') || ' by run ' || coalesce(v.replaced_by_run_id, '?')"
            " || ': ' || coalesce(v.change_kinds, '?') || '; headline then: ' || coalesce(v.title, '')\n"
            "  FROM article_versions v WHERE v.article_id = :id\n"
            ")\nORDER BY at, what != 'article', what"
        ),
    },
    "sources_by_extraction_health": {
        "title": "Sources by extraction health",
        "description": (
            "Per source, worst first: runs and how they ended, pages, articles, rejected pages whose text could "
            "not be extracted (crawl_runs.extraction_failures: no_text, javascript_shell, placeholder, "
            "extraction_failed) and their share of the article-like pages, the commonest rejection kind "
            "(fetches.reason_kind), and the scheduler's last health verdict (source_health)."
        ),
        "sql": (
            "WITH runs AS (\n"
            "  SELECT source, count(*) AS runs, sum(status = 'succeeded') AS succeeded,\n"
            "    sum(status IN ('failed', 'timed_out', 'abandoned')) AS failed, max(started_at) AS last_run_at,\n"
            "    sum(pages_fetched) AS pages, sum(articles_new) AS new_articles,\n"
            "    sum(articles_new + articles_unchanged + articles_updated + articles_duplicate + articles_rejected) AS judged,\n"
            "    sum(extraction_failures) AS extraction_failures\n"
            "  FROM crawl_runs GROUP BY source\n"
            "), kinds AS (\n"
            "  SELECT r.source, f.reason_kind, count(*) AS n,\n"
            "    row_number() OVER (PARTITION BY r.source ORDER BY count(*) DESC, f.reason_kind) AS rank\n"
            "  FROM fetches f JOIN crawl_runs r ON r.id = f.run_id\n"
            "  WHERE f.outcome = 'rejected' AND f.reason_kind IS NOT NULL GROUP BY r.source, f.reason_kind\n"
            ")\n"
            "SELECT runs.source, runs.runs, runs.succeeded, runs.failed, runs.last_run_at, runs.pages, runs.new_articles,\n"
            "  runs.extraction_failures,\n"
            "  round(100.0 * runs.extraction_failures / max(runs.judged, 1), 1) AS extraction_failure_pct,\n"
            "  kinds.reason_kind AS top_rejection, kinds.n AS top_rejection_pages,\n"
            "  h.healthy, h.reasons AS health_reasons, h.checked_at AS health_checked_at\n"
            "FROM runs LEFT JOIN kinds ON kinds.source = runs.source AND kinds.rank = 1\n"
            "LEFT JOIN source_health h ON h.source = runs.source\n"
            "ORDER BY coalesce(h.healthy, 1), extraction_failure_pct DESC, runs.source"
        ),
    },
    "runs_by_status_per_day": {
        "title": "Crawl runs by status per day",
        "description": "How runs ended, per UTC start day and source: succeeded, failed, timed_out, skipped, abandoned, interrupted.",
        "sql": (
            "SELECT substr(started_at, 1, 10) AS day, source, status, count(*) AS runs\n"
            "FROM crawl_runs\nGROUP BY day, source, status\nORDER BY day DESC, source, status"
        ),
    },
}

_SOURCE_FILTER = "[[ AND source = :source ]]"
DASHBOARD: dict[str, Any] = {
    "title": "Archive dashboard",
    "description": (
        "Articles per day per source (by UTC publication day) and crawl runs by status over time. "
        f"Search the articles, best match first: {SEARCH_PATH}"
    ),
    "layout": [
        ["articles-total", "sources-total"],
        ["articles-per-day", "articles-per-day"],
        ["runs-by-status", "runs-by-status"],
    ],
    "filters": {
        "source": {
            "name": "Source",
            "type": "select",
            "db": DATABASE_NAME,
            "query": "SELECT DISTINCT source FROM crawl_runs ORDER BY source",
        },
    },
    "charts": {
        "articles-total": {
            "title": "Articles",
            "db": DATABASE_NAME,
            "query": f"SELECT count(*) AS articles FROM articles WHERE TRUE {_SOURCE_FILTER}",
            "library": "metric",
            "display": {"field": "articles"},
        },
        "sources-total": {
            "title": "Sources",
            "db": DATABASE_NAME,
            "query": f"SELECT count(DISTINCT source) AS sources FROM articles WHERE TRUE {_SOURCE_FILTER}",
            "library": "metric",
            "display": {"field": "sources"},
        },
        "articles-per-day": {
            "title": "Articles per day per source (UTC publication day)",
            "db": DATABASE_NAME,
            "query": (
                f"SELECT {_DAY} AS day, source, count(*) AS articles FROM articles "
                f"WHERE {_HAS_DAY} {_SOURCE_FILTER} GROUP BY day, source ORDER BY day"
            ),
            "library": "vega-lite",
            "display": {
                "mark": {"type": "bar", "tooltip": True},
                "encoding": {
                    "x": {"field": "day", "type": "temporal", "timeUnit": "yearmonthdate", "title": "publication day"},
                    "y": {"field": "articles", "type": "quantitative", "aggregate": "sum", "title": "articles"},
                    "color": {"field": "source", "type": "nominal"},
                },
            },
        },
        "runs-by-status": {
            "title": "Crawl runs by status over time (UTC start day)",
            "db": DATABASE_NAME,
            "query": (
                "SELECT substr(started_at, 1, 10) AS day, status, count(*) AS runs FROM crawl_runs "
                f"WHERE TRUE {_SOURCE_FILTER} GROUP BY day, status ORDER BY day"
            ),
            "library": "vega-lite",
            "display": {
                "mark": {"type": "bar", "tooltip": True},
                "encoding": {
                    "x": {"field": "day", "type": "temporal", "timeUnit": "yearmonthdate", "title": "run start day"},
                    "y": {"field": "runs", "type": "quantitative", "aggregate": "sum", "title": "runs"},
                    "color": {"field": "status", "type": "nominal"},
                },
            },
        },
    },
}


SHORT_DESCRIPTION_CHARS = 200  # a column description in the browser: a line or two
# A parenthesis naming a source file ("(crawler/extraction/language.py)"): means nothing to a researcher.
_FILE_NOTE = re.compile(r"\s*\([^()]*\b[\w/]+\.py\b[^()]*\)")
# Datasette lists every column's description above a table's rows; for articles (30-odd columns)
# that list would fill the first screen. A compact box of its own height, scrolled, keeps the search
# box and the rows in view. A data: URL: nothing to serve.
EXTRA_CSS = (
    "dl.column-descriptions{max-height:9.5em;overflow-y:auto;font-size:0.85em;border:1px solid #ddd;"
    "padding:0.3em 0.6em;margin-bottom:1em}"
    "dl.column-descriptions dt{margin-top:0.1em}dl.column-descriptions dd{margin-bottom:0.1em}"
)
EXTRA_CSS_URL = "data:text/css," + quote(EXTRA_CSS)


def short_description(text: str) -> str:
    """A column description as the browser shows it: source-file notes dropped, the first sentence, a line or two."""
    text = _FILE_NOTE.sub("", text).strip()
    sentence = re.split(r"(?<=[a-z)])\. (?=[A-Z])", text, maxsplit=1)[0].rstrip(".")
    if len(sentence) <= SHORT_DESCRIPTION_CHARS:
        return sentence
    cut = sentence[:SHORT_DESCRIPTION_CHARS]
    for mark in ("; ", ": ", ", ", " "):
        if mark in cut[SHORT_DESCRIPTION_CHARS // 2 :]:
            cut = cut[: cut.rindex(mark)]
            break
    if cut.count("(") > cut.count(")"):  # never end inside a parenthesis
        cut = cut[: cut.rindex("(")]
    return cut.rstrip(" ,;:") + " …"


def templates_dir() -> str:
    """The folder of newsarchive's Datasette templates (``400.html``: a refused search gets the syntax and a
    search box), shipped with the package."""
    from importlib.resources import files

    return str(files("archive").joinpath("datasette_templates"))


def table_metadata(descriptions: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each documented table's description and column descriptions, with search and facets on ``articles``."""
    tables: dict[str, dict[str, Any]] = {}
    for table, documented in descriptions.items():
        entry: dict[str, Any] = {
            "columns": {name: short_description(meaning) for name, meaning in documented["columns"].items()}
        }
        if documented.get("description"):
            entry["description"] = documented["description"]
        tables[table] = entry
    articles = tables.setdefault("articles", {})
    description = articles.get("description") or "one row per distinct article"
    articles.update(
        {
            "description_html": ARTICLES_DESCRIPTION_HTML.format(description=description),
            "fts_table": "articles_fts",
            "fts_pk": "id",
            "searchmode": "raw",
            "label_column": "title",
            "sort_desc": "id",
            # "month": the facet of crawler/cli/month_facet.py (Datasette's own "date" facet is by day).
            "facets": ["source", "language", {"month": "published_at_utc"}],
        }
    )
    return tables


def datasette_metadata(descriptions: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The metadata dict for Datasette: the archive under :data:`DATABASE_NAME`, the dashboard as a plugin config."""
    documented = load_descriptions() if descriptions is None else descriptions
    return {
        "title": TITLE,
        "description": DESCRIPTION,
        "description_html": DESCRIPTION_HTML,
        "extra_css_urls": [EXTRA_CSS_URL],
        "databases": {
            DATABASE_NAME: {
                "description": DESCRIPTION,
                "description_html": DESCRIPTION_HTML,
                "tables": table_metadata(documented),
                "queries": copy.deepcopy(CANNED_QUERIES),
            }
        },
        "plugins": {"datasette-dashboards": {DASHBOARD_NAME: copy.deepcopy(DASHBOARD)}},
    }
