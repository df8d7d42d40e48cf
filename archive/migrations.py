"""Numbered schema migrations for the archive database.

Each migration has a number, a name and a function that changes the schema. Applied
migrations are recorded in `schema_migrations`, so applying them is idempotent: opening an
archive applies only the ones it has not seen, inside one `BEGIN IMMEDIATE` transaction so two
crawl processes opening a brand-new file at once cannot both create the tables. To change
the schema, append a migration with the next number; never edit one that has shipped.
docs/schema.md documents the resulting tables. No settings drive this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from . import dedup
from .articles import store_minhash
from .changes import TRACKED_FIELDS, classify_change
from .dates import utc_now_iso
from .models import AliasReason, ArchiveError


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    apply: Callable[[Database], None]


def _create_core_tables(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE crawl_runs (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            trigger TEXT NOT NULL DEFAULT 'manual',
            status TEXT NOT NULL DEFAULT 'running',
            started_at TEXT NOT NULL,
            finished_at TEXT,
            duration_s REAL,
            pages_fetched INTEGER,
            requests INTEGER,
            articles_new INTEGER,
            articles_unchanged INTEGER,
            articles_updated INTEGER,
            articles_duplicate INTEGER,
            articles_rejected INTEGER,
            errors INTEGER,
            exit_code INTEGER,
            stats_json TEXT,
            log_path TEXT,
            pid INTEGER,
            hostname TEXT
        );
        CREATE INDEX idx_crawl_runs_source_started ON crawl_runs (source, started_at);
        CREATE INDEX idx_crawl_runs_status ON crawl_runs (status);

        CREATE TABLE articles (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL UNIQUE,
            source TEXT,
            title TEXT,
            authors TEXT,
            published_at TEXT,
            published_at_utc TEXT,
            modified_at TEXT,
            modified_at_utc TEXT,
            language TEXT,
            description TEXT,
            site_name TEXT,
            categories TEXT,
            tags TEXT,
            image TEXT,
            text TEXT,
            word_count INTEGER,
            content_hash TEXT NOT NULL,
            fetch_mode TEXT,
            near_duplicate_of INTEGER REFERENCES articles (id),
            version INTEGER NOT NULL DEFAULT 1,
            first_seen_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL,
            fetched_at TEXT,
            changed_at TEXT,
            first_run_id INTEGER REFERENCES crawl_runs (id),
            last_run_id INTEGER REFERENCES crawl_runs (id),
            hints TEXT
        );
        CREATE INDEX idx_articles_content_hash ON articles (content_hash);
        CREATE INDEX idx_articles_source_published ON articles (source, published_at_utc);
        CREATE INDEX idx_articles_published_utc ON articles (published_at_utc);
        CREATE INDEX idx_articles_first_run ON articles (first_run_id);
        CREATE INDEX idx_articles_near_duplicate ON articles (near_duplicate_of);

        CREATE TABLE article_versions (
            id INTEGER PRIMARY KEY,
            article_id INTEGER NOT NULL REFERENCES articles (id),
            version INTEGER NOT NULL,
            url TEXT,
            title TEXT,
            authors TEXT,
            published_at TEXT,
            published_at_utc TEXT,
            modified_at TEXT,
            modified_at_utc TEXT,
            language TEXT,
            description TEXT,
            site_name TEXT,
            categories TEXT,
            tags TEXT,
            image TEXT,
            text TEXT,
            word_count INTEGER,
            content_hash TEXT,
            fetch_mode TEXT,
            hints TEXT,
            valid_from TEXT,
            valid_to TEXT NOT NULL,
            run_id INTEGER REFERENCES crawl_runs (id),
            replaced_by_run_id INTEGER REFERENCES crawl_runs (id),
            UNIQUE (article_id, version)
        );

        CREATE TABLE url_aliases (
            url TEXT PRIMARY KEY,
            article_id INTEGER NOT NULL REFERENCES articles (id),
            reason TEXT NOT NULL,
            first_seen_at TEXT NOT NULL,
            run_id INTEGER REFERENCES crawl_runs (id)
        );
        CREATE INDEX idx_url_aliases_article ON url_aliases (article_id);

        CREATE TABLE article_minhashes (
            article_id INTEGER PRIMARY KEY REFERENCES articles (id),
            num_perm INTEGER NOT NULL,
            seed INTEGER NOT NULL,
            scheme TEXT NOT NULL,
            signature BLOB NOT NULL
        );

        CREATE TABLE fetches (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES crawl_runs (id),
            url TEXT NOT NULL,
            final_url TEXT,
            status INTEGER,
            content_type TEXT,
            bytes INTEGER,
            fetched_at TEXT NOT NULL,
            elapsed_ms INTEGER,
            found_by TEXT,
            depth INTEGER,
            referer TEXT,
            outcome TEXT NOT NULL,
            reason TEXT,
            article_id INTEGER REFERENCES articles (id)
        );
        CREATE INDEX idx_fetches_run ON fetches (run_id);
        CREATE INDEX idx_fetches_url ON fetches (url);
        CREATE INDEX idx_fetches_article ON fetches (article_id);
        """
    )


def _enable_full_text_search(db: Database) -> None:
    db["articles"].enable_fts(["title", "text"], create_triggers=True, tokenize="porter")


def _add_operations_columns(db: Database) -> None:
    for column, kind in (
        ("responses_2xx", "INTEGER"),
        ("responses_3xx", "INTEGER"),
        ("responses_4xx", "INTEGER"),
        ("responses_5xx", "INTEGER"),
        ("extraction_failures", "INTEGER"),
        ("reason", "TEXT"),
        ("scheduled_for", "TEXT"),
    ):
        db.execute(f"ALTER TABLE crawl_runs ADD COLUMN {column} {kind}")
    db.execute(
        """
        CREATE TABLE source_health (
            source TEXT PRIMARY KEY,
            healthy INTEGER NOT NULL,
            reasons TEXT,
            since TEXT NOT NULL,
            checked_at TEXT NOT NULL,
            last_run_id INTEGER REFERENCES crawl_runs (id)
        )
        """
    )


def _add_rendering_columns(db: Database) -> None:
    db.execute("ALTER TABLE crawl_runs ADD COLUMN pages_rendered INTEGER")
    db.execute("ALTER TABLE crawl_runs ADD COLUMN renders_needed INTEGER")
    db.execute("ALTER TABLE fetches ADD COLUMN fetch_mode TEXT")


def _add_browser_first_column(db: Database) -> None:
    db.execute("ALTER TABLE crawl_runs ADD COLUMN browser_first INTEGER")


# How the reasons written before migration 6 map to kinds (archive.models.ReasonKind), first match
# wins. Reading the words is acceptable here only: new rows get their kind from the code that
# decided, and these patterns are frozen with the versions that wrote those reasons.
_REASON_KIND_BACKFILL: tuple[tuple[str, str], ...] = (
    ("reason LIKE '%no article text (JavaScript app shell)%'", "javascript_shell"),
    ("reason LIKE '%no article text (placeholder page)%'", "placeholder"),
    ("reason LIKE '%no article text (extraction failed:%'", "extraction_failed"),
    ("reason LIKE 'no article text%' OR reason LIKE 'URL matches article pattern but no article text%'", "no_text"),
    ("reason = 'URL matches none of the source''s article patterns'", "outside_article_patterns"),
    ("reason LIKE 'listing page:%'", "listing"),
    (
        "reason LIKE 'JSON-LD %: not an article page' OR reason = 'JSON-LD WebSite only: a home page'"
        " OR reason LIKE 'og:type %: not an article page'",
        "not_article_type",
    ),
    ("reason LIKE 'URL looks like a %'", "not_article_url"),
    ("reason LIKE 'too little text%'", "too_little_text"),
    ("reason LIKE 'too few paragraphs%'", "too_few_paragraphs"),
    ("reason LIKE 'mostly links%'", "mostly_links"),
    ("reason = 'no title'", "no_title"),
    ("reason LIKE 'alternate copy of %'", "alternate_copy"),
    ("reason LIKE 'not HTML (%' OR reason = 'not a text response'", "not_html"),
    ("reason GLOB 'HTTP [0-9][0-9][0-9]'", "http_status"),
    ("reason LIKE 'response larger than DOWNLOAD_MAXSIZE%'", "too_large"),
    ("reason LIKE 'too many redirects%'", "too_many_redirects"),
    ("reason LIKE 'redirect loop:%'", "redirect_loop"),
    ("reason LIKE 'unreadable feed:%'", "unreadable_feed"),
    ("reason LIKE 'unreadable sitemap:%'", "unreadable_sitemap"),
    (
        "reason GLOB 'TimeoutError:*' OR reason GLOB 'TCPTimedOutError:*' OR reason GLOB 'DownloadTimeoutError:*'",
        "timeout",
    ),
    ("reason GLOB 'DNSLookupError:*' OR reason GLOB 'CannotResolveHostError:*'", "dns_lookup"),
    (
        "reason GLOB 'ConnectionRefusedError:*' OR reason GLOB 'DownloadConnectionRefusedError:*'"
        " OR reason GLOB 'ConnectError:*' OR reason GLOB 'ConnectionLost:*' OR reason GLOB 'ResponseFailed:*'"
        " OR reason GLOB 'ResponseNeverReceived:*' OR reason GLOB 'DownloadFailedError:*'"
        " OR reason GLOB 'ResponseDataLossError:*'",
        "connection_failed",
    ),
    ("outcome = 'error'", "download_failed"),
)


def _add_reason_kind(db: Database) -> None:
    db.execute("ALTER TABLE fetches ADD COLUMN reason_kind TEXT")
    cases = " ".join(f"WHEN {condition} THEN '{kind}'" for condition, kind in _REASON_KIND_BACKFILL)
    db.execute(
        f"UPDATE fetches SET reason_kind = CASE {cases} END"
        " WHERE reason IS NOT NULL AND outcome IN ('rejected', 'skipped', 'error', 'discovery')"
    )


# Before migration 7 a run stopped on purpose carried this prefix in its reason.
_OLD_INTERRUPTED_PREFIX = "interrupted: "


def _add_stop_requested(db: Database) -> None:
    db.execute("ALTER TABLE crawl_runs ADD COLUMN stop_requested INTEGER NOT NULL DEFAULT 0")
    db.execute(
        "UPDATE crawl_runs SET stop_requested = 1, reason = substr(reason, ?) WHERE substr(reason, 1, ?) = ?",
        [len(_OLD_INTERRUPTED_PREFIX) + 1, len(_OLD_INTERRUPTED_PREFIX), _OLD_INTERRUPTED_PREFIX],
    )


def _add_change_kinds(db: Database) -> None:
    """article_versions.change_kinds and .diff; filled in for existing versions from their stored contents.

    Each version row is compared with what replaced it (the next version row, or the article itself
    for the last one) by archive/changes.py, as a live save would. Honest because both sides are the
    archive's own stored contents; cheap (a diff of a few dozen paragraphs per row). A version the
    old rule made without a tracked change (markup only) gets `[]`.
    """
    db.execute("ALTER TABLE article_versions ADD COLUMN change_kinds TEXT")
    db.execute("ALTER TABLE article_versions ADD COLUMN diff TEXT")
    fields = ", ".join(TRACKED_FIELDS)
    rows = db.execute(f"SELECT id, article_id, version, {fields} FROM article_versions ORDER BY article_id, version")
    names = ["id", "article_id", "version", *TRACKED_FIELDS]
    versions = [dict(zip(names, row)) for row in rows.fetchall()]
    for position, old in enumerate(versions):
        following = versions[position + 1] if position + 1 < len(versions) else None
        if following is not None and following["article_id"] == old["article_id"]:
            new, new_version = following, following["version"]
        else:
            row = db.execute(f"SELECT version, {fields} FROM articles WHERE id = ?", [old["article_id"]]).fetchone()
            if row is None:
                continue
            new, new_version = dict(zip(["version", *TRACKED_FIELDS], row)), row[0]
        change = classify_change(old, new, old_label=f"version {old['version']}", new_label=f"version {new_version}")
        db.execute(
            "UPDATE article_versions SET change_kinds = ?, diff = ? WHERE id = ?",
            [change.kinds_json(), change.diff_json(), old["id"]],
        )


def _add_crawl_state(db: Database) -> None:
    """crawl_state (one row per URL a source fetched or found: validators, hashes, revisit schedule,
    the frontier), articles.removed_at/removed_status, and crawl_runs.not_modified.

    Existing archives start with an empty crawl_state: their next crawl fetches everything once
    more (conditional requests cannot be made without validators) and fills it in.
    """
    db.execute(
        """
        CREATE TABLE crawl_state (
            source TEXT NOT NULL,
            url TEXT NOT NULL,
            kind TEXT NOT NULL,
            found_by TEXT,
            hops INTEGER NOT NULL DEFAULT 0,
            listed_in TEXT,
            hints TEXT,
            signal TEXT,
            discovered_at TEXT NOT NULL,
            discovered_run_id INTEGER REFERENCES crawl_runs(id),
            fetched_at TEXT,
            fetch_run_id INTEGER REFERENCES crawl_runs(id),
            status INTEGER,
            outcome TEXT,
            etag TEXT,
            last_modified TEXT,
            body_hash TEXT,
            article_id INTEGER REFERENCES articles(id),
            published_at TEXT,
            content_changed_at TEXT,
            unchanged_count INTEGER NOT NULL DEFAULT 0,
            next_due_at TEXT,
            removed_at TEXT,
            PRIMARY KEY (source, url)
        ) WITHOUT ROWID
        """
    )
    # Statements one by one: executescript would commit the migration's transaction first.
    db.execute("CREATE INDEX idx_crawl_state_due ON crawl_state (source, next_due_at)")
    db.execute("ALTER TABLE articles ADD COLUMN removed_at TEXT")
    db.execute("ALTER TABLE articles ADD COLUMN removed_status INTEGER")
    db.execute("ALTER TABLE crawl_runs ADD COLUMN not_modified INTEGER")


def _add_language_sources(db: Database) -> None:
    """articles / article_versions: the language the page declared and the one its text was detected in."""
    for table in ("articles", "article_versions"):
        db.execute(f"ALTER TABLE {table} ADD COLUMN language_declared TEXT")
        db.execute(f"ALTER TABLE {table} ADD COLUMN language_detected TEXT")


def _add_fetch_evidence(db: Database) -> None:
    """fetches.evidence: NULL for the rows written before (their classifier kept no evidence)."""
    db.execute("ALTER TABLE fetches ADD COLUMN evidence TEXT")


def _add_boilerplate_and_syndication(db: Database) -> None:
    """Learned site boilerplate per source, and where a republished article first appeared."""
    for table in ("articles", "article_versions"):
        db.execute(f"ALTER TABLE {table} ADD COLUMN syndicated_from TEXT")
    db.execute(
        """
        CREATE TABLE boilerplate_sources (
            source TEXT PRIMARY KEY,
            pages INTEGER NOT NULL,
            updated_at TEXT NOT NULL,
            run_id INTEGER REFERENCES crawl_runs (id)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE boilerplate_lines (
            source TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            pages INTEGER NOT NULL,
            line TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (source, fingerprint)
        )
        """
    )


# Views with stable names for researchers' notebooks and saved queries (docs/schema.md, "Views").
# A view names the columns it reads: a later migration that drops or rebuilds a table a view reads
# must DROP the view first and CREATE it again (with the same name and columns) in that same
# migration, so the names stay stable across migrations. SQLite renames columns in views by itself.
# The statements are frozen with migration 13; archive/research.py reads an older file without them
# through the same SELECTs (VIEWS_13).
# latest_articles is read backwards along idx_articles_published_utc (LIMIT n costs n rows, not a sort
# of the whole table); SQLite sorts NULL lowest, so articles without a date come last.
VIEWS_13: dict[str, str] = {
    "latest_articles": """
        SELECT id, url, source, title, authors, published_at, published_at_utc, modified_at_utc, language,
               description, site_name, categories, tags, image, word_count, text, version, near_duplicate_of,
               syndicated_from, first_seen_at, last_seen_at, removed_at
        FROM articles
        ORDER BY published_at_utc DESC, id DESC
    """,
    "article_provenance": """
        SELECT a.id AS article_id, a.url, a.source, a.first_run_id, a.last_run_id, a.first_seen_at, a.last_seen_at,
               (SELECT f.found_by FROM fetches f WHERE f.article_id = a.id ORDER BY f.id LIMIT 1) AS found_by,
               (SELECT count(*) FROM url_aliases u WHERE u.article_id = a.id) AS aliases,
               a.near_duplicate_of,
               (SELECT count(*) FROM articles c WHERE c.near_duplicate_of = a.id) AS near_copies,
               a.version AS versions, a.syndicated_from
        FROM articles a
    """,
    "articles_per_day": """
        SELECT source, substr(published_at_utc, 1, 10) AS day, count(*) AS articles
        FROM articles WHERE published_at_utc IS NOT NULL
        GROUP BY source, day
    """,
}


def _create_views(db: Database) -> None:
    for name, select in VIEWS_13.items():
        db.execute(f"CREATE VIEW {name} AS {select.strip()}")


# articles_fts since migration 14: the searchable columns, and the source (matched only as a search's
# source filter, so FTS5 skips other sources' rows instead of ranking every match). The update trigger
# fires only when one of them changes: a re-fetch that only marks an article seen leaves the index alone.
FTS_COLUMNS = ("title", "text", "source")
_FTS_TRIGGERS = (
    """CREATE TRIGGER articles_ai AFTER INSERT ON articles BEGIN
  INSERT INTO articles_fts (rowid, title, text, source) VALUES (new.rowid, new.title, new.text, new.source);
END""",
    """CREATE TRIGGER articles_ad AFTER DELETE ON articles BEGIN
  INSERT INTO articles_fts (articles_fts, rowid, title, text, source)
  VALUES ('delete', old.rowid, old.title, old.text, old.source);
END""",
    """CREATE TRIGGER articles_au AFTER UPDATE OF title, text, source ON articles BEGIN
  INSERT INTO articles_fts (articles_fts, rowid, title, text, source)
  VALUES ('delete', old.rowid, old.title, old.text, old.source);
  INSERT INTO articles_fts (rowid, title, text, source) VALUES (new.rowid, new.title, new.text, new.source);
END""",
)


def _index_source_for_search(db: Database) -> None:
    """articles_fts rebuilt with the source column (about 20 s per 100,000 articles, once)."""
    for trigger in ("articles_ai", "articles_ad", "articles_au"):
        db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    db.execute("DROP TABLE IF EXISTS articles_fts")
    db.execute(
        "CREATE VIRTUAL TABLE articles_fts USING FTS5 (title, text, source, tokenize='porter', content='articles')"
    )
    db.execute("INSERT INTO articles_fts (rowid, title, text, source) SELECT rowid, title, text, source FROM articles")
    for trigger in _FTS_TRIGGERS:
        db.execute(trigger)


def _add_lsh_index(db: Database) -> None:
    """article_lsh: the near-duplicate LSH buckets of every stored signature, so that no process has to
    hold an index of the whole archive in memory (backfilled from article_minhashes: ~10 s of CPU per 100,000)."""

    db.execute(
        "CREATE TABLE article_lsh (bucket INTEGER NOT NULL, article_id INTEGER NOT NULL"
        " REFERENCES articles(id), PRIMARY KEY (bucket, article_id)) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX article_lsh_article ON article_lsh (article_id)")
    rows = db.execute(
        "SELECT article_id, signature FROM article_minhashes WHERE num_perm = ? AND seed = ? AND scheme = ?",
        [dedup.NUM_PERM, dedup.SEED, dedup.SCHEME],
    )
    # In key order: a B-tree filled in order is written once, page by page (random order: 3-4x slower).
    entries = sorted({(bucket, article_id) for article_id, blob in rows for bucket in dedup.lsh_buckets(blob)})
    db.conn.executemany("INSERT INTO article_lsh (bucket, article_id) VALUES (?, ?)", entries)


def _add_warc_pointers(db: Database) -> None:
    """fetches.warc_file, warc_offset, warc_length: the WARC record of each answer (NULL for rows written
    before, and when WARC writing is off)."""
    for column, kind in (("warc_file", "TEXT"), ("warc_offset", "INTEGER"), ("warc_length", "INTEGER")):
        db.execute(f"ALTER TABLE fetches ADD COLUMN {column} {kind}")


def _repair_folded_originals_signatures(db: Database) -> None:
    """article_minhashes: the signature of every article an exact copy was folded into is its text's.

    Up to this version, an article cleaned of learned boilerplate at its run's end that turned out to
    be exactly a copy stored later kept the signature of its text before the cleaning, so the
    near-duplicate search compared later articles with a text the archive no longer holds. Only such
    originals are looked at (an alias ``duplicate`` written in the run that first stored the article);
    those whose signature is not their text's are recomputed.
    """
    rows = db.execute(
        "SELECT DISTINCT a.id, a.text, m.signature FROM url_aliases u"
        " JOIN articles a ON a.id = u.article_id AND u.run_id = a.first_run_id"
        " LEFT JOIN article_minhashes m ON m.article_id = a.id"
        " WHERE u.reason = ?",
        [AliasReason.DUPLICATE],
    ).fetchall()
    for article_id, text, stored in rows:
        values = dedup.text_minhash(text)
        if (dedup.signature_to_blob(values) if values is not None else None) != stored:
            store_minhash(db, article_id, values)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "core tables: crawl_runs, articles, versions, aliases, minhashes, fetches", _create_core_tables),
    Migration(2, "articles_fts: FTS5 over title and text, porter stemming, sync triggers", _enable_full_text_search),
    Migration(
        3, "crawl_runs: responses by status class, extraction failures, reason; source_health", _add_operations_columns
    ),
    Migration(
        4, "crawl_runs: pages rendered in a browser, and how many needed it; fetches.fetch_mode", _add_rendering_columns
    ),
    Migration(
        5,
        "crawl_runs.browser_first: the run fetched pages through the browser at once (learned)",
        _add_browser_first_column,
    ),
    Migration(
        6,
        "fetches.reason_kind: the machine-readable kind of each reason (backfilled from the reason's words)",
        _add_reason_kind,
    ),
    Migration(
        7,
        "crawl_runs.stop_requested: the run was stopped on purpose (was an 'interrupted: ' prefix of reason)",
        _add_stop_requested,
    ),
    Migration(
        8,
        "article_versions.change_kinds and diff: what replaced each version (computed for existing versions)",
        _add_change_kinds,
    ),
    Migration(
        9,
        "crawl_state: per-URL validators, hashes, revisit schedule and frontier; articles.removed_at",
        _add_crawl_state,
    ),
    Migration(
        10,
        "articles, article_versions: language_declared and language_detected (language is the one decided)",
        _add_language_sources,
    ),
    Migration(11, "fetches.evidence: the classifier's weighed signals, JSON", _add_fetch_evidence),
    Migration(
        12,
        "boilerplate_sources, boilerplate_lines (learned site boilerplate); articles.syndicated_from",
        _add_boilerplate_and_syndication,
    ),
    Migration(
        13,
        "views: latest_articles, article_provenance, articles_per_day (stable names for researchers)",
        _create_views,
    ),
    Migration(
        14,
        "articles_fts: the source indexed too (fast source-filtered search); its update trigger only on title, text, source",
        _index_source_for_search,
    ),
    Migration(
        15,
        "article_lsh: near-duplicate LSH buckets in the archive, not in each process's memory",
        _add_lsh_index,
    ),
    Migration(
        16,
        "fetches.warc_file, warc_offset, warc_length: the WARC record of each answer (crawler/warc/)",
        _add_warc_pointers,
    ),
    Migration(
        17,
        "article_minhashes: originals a copy was folded into at a run's end get their cleaned text's signature",
        _repair_folded_originals_signatures,
    ),
)


def applied_numbers(db: Database) -> set[int]:
    """Numbers of the migrations recorded in `schema_migrations` (empty for a new file)."""
    if not db["schema_migrations"].exists():
        return set()
    return {row[0] for row in db.execute("SELECT id FROM schema_migrations").fetchall()}


def apply_migrations(db: Database, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Apply the migrations this database lacks; return the numbers applied now.

    Must be called outside a transaction: it opens its own write transaction.
    """
    known = {migration.number for migration in migrations}
    applied = applied_numbers(db)
    _refuse_newer_schema(db, applied, known)
    if known <= applied:
        return []
    newly_applied: list[int] = []
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations"
            " (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        # Re-read under the write lock: another process may have migrated since the check above.
        applied = applied_numbers(db)
        for migration in sorted(migrations, key=lambda m: m.number):
            if migration.number in applied:
                continue
            migration.apply(db)
            db.execute(
                "INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)",
                [migration.number, migration.name, utc_now_iso()],
            )
            newly_applied.append(migration.number)
        db.execute("COMMIT")
    except BaseException:
        db.rollback()
        raise
    return newly_applied


def _refuse_newer_schema(db: Database, applied: set[int], known: set[int]) -> None:
    unknown = sorted(applied - known)
    if unknown:
        filename = db.execute("PRAGMA database_list").fetchone()[2]
        raise ArchiveError(
            f"Archive {filename} has schema migrations {unknown} that this version of newsarchive "
            "does not know; it was written by a newer version.",
            "upgrade newsarchive to open it (this version left the file as it was).",
            path=Path(filename) if filename else None,
        )
