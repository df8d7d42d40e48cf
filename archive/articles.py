"""Row-level operations on `articles`, `article_versions`, `url_aliases`, `article_minhashes` and `article_lsh`.

Plain functions over a sqlite-utils Database; they assume the caller (`Archive`) has opened
the write transaction, so a save is all-or-nothing. The save semantics (new / unchanged /
updated / duplicate) are documented in docs/schema.md; whether a re-fetch is a new version is
decided by archive/changes.py (`save_refetch`). No settings.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

if TYPE_CHECKING:
    from .dedup import Signature

from . import dedup
from .changes import TRACKED_FIELDS, Change, as_reextraction, classify_change, with_reappearance
from .models import AliasReason, FetchOutcome
from .records import CONTENT_COLUMNS, METADATA_COLUMNS, is_blank


def row_dict(db: Database, sql: str, params: list[Any]) -> dict[str, Any] | None:
    """First row of a query as a dict, or None."""
    cursor = db.execute(sql, params)
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip((column[0] for column in cursor.description), row))


def rows_dicts(db: Database, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    """All rows of a query as dicts."""
    cursor = db.execute(sql, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def find_article_id(db: Database, urls: list[str]) -> int | None:
    """Id of the article known under any of `urls` (as its url or as an alias), trying them in order."""
    for url in urls:
        for sql in ("SELECT id FROM articles WHERE url = ?", "SELECT article_id FROM url_aliases WHERE url = ?"):
            row = db.execute(sql, [url]).fetchone()
            if row is not None:
                return int(row[0])
    return None


def duplicate_alias_target(db: Database, url: str) -> tuple[int, str] | None:
    """(article id, its content hash) when ``url`` is known only as an exact copy of that article."""
    row = db.execute(
        "SELECT a.id, a.content_hash FROM url_aliases u JOIN articles a ON a.id = u.article_id"
        " WHERE u.url = ? AND u.reason = 'duplicate'",
        [url],
    ).fetchone()
    return None if row is None else (int(row[0]), row[1])


def forget_alias(db: Database, url: str) -> None:
    db.execute("DELETE FROM url_aliases WHERE url = ?", [url])


def find_article_by_hash(db: Database, hash_hex: str) -> int | None:
    """Oldest article with exactly this content hash."""
    row = db.execute("SELECT min(id) FROM articles WHERE content_hash = ?", [hash_hex]).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def insert_article(
    db: Database,
    columns: Mapping[str, Any],
    run_id: int,
    now: str,
    fetched_at: str,
    near_duplicate_of: int | None,
) -> int:
    """Insert a new article (version 1) and return its id."""
    values = dict(columns)
    values.update(
        near_duplicate_of=near_duplicate_of,
        version=1,
        first_seen_at=now,
        last_seen_at=now,
        fetched_at=fetched_at,
        changed_at=None,
        first_run_id=run_id,
        last_run_id=run_id,
    )
    names = list(values)
    cursor = db.execute(
        f"INSERT INTO articles ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
        [values[name] for name in names],
    )
    return int(cursor.lastrowid)


def save_refetch(
    db: Database,
    article_id: int,
    columns: Mapping[str, Any],
    run_id: int,
    now: str,
    fetched_at: str,
    *,
    reextracted: bool = False,
) -> Change:
    """A known article fetched again: a new version if a tracked field changed (archive/changes.py), else not.

    Returns the change (falsy when there was none: the fetch is "unchanged"). ``reextracted``: the
    columns come from extracting a stored response again (`newsarchive reextract`), not from a fetch:
    a change gets REEXTRACTED, the article is not marked seen or back online, and no change writes nothing.
    """
    current = row_dict(db, "SELECT * FROM articles WHERE id = ?", [article_id])
    if current is None:
        raise LookupError(f"article {article_id} vanished during a save")
    version = current["version"]
    change = classify_change(current, columns, old_label=f"version {version}", new_label=f"version {version + 1}")
    if reextracted:
        change = as_reextraction(change)
        if change:
            apply_update(db, current, columns, change, run_id, now, fetched_at, reextracted=True)
        return change
    if current.get("removed_at"):
        change = with_reappearance(change, current["removed_at"], current.get("removed_status"))
    if change:
        apply_update(db, current, columns, change, run_id, now, fetched_at)
    else:
        mark_unchanged(db, current, columns, run_id, now, fetched_at)
    return change


def mark_unchanged(
    db: Database, current: Mapping[str, Any], columns: Mapping[str, Any], run_id: int, now: str, fetched_at: str
) -> None:
    """Record a re-fetch that changed no tracked field: bump last_seen, no version.

    Tracked fields (title, authors, dates, description, text) keep their stored value, except that
    a blank one is filled in (unknown before, not changed); the other metadata (image, tags,
    categories, language, site name, hints) takes the new values the extraction found.
    """
    updates: dict[str, Any] = {}
    for name in METADATA_COLUMNS:
        new_value = columns.get(name)
        if is_blank(new_value):
            continue
        field = name.removesuffix("_utc")
        if field not in TRACKED_FIELDS or is_blank(current.get(field)):
            updates[name] = new_value
    updates.update(last_seen_at=now, last_run_id=run_id, fetched_at=fetched_at)
    _update_article(db, current["id"], updates)


def fill_blanks(db: Database, article_id: int, columns: Mapping[str, Any]) -> None:
    """Fill the article's blank metadata from ``columns`` and merge ``columns["hints"]`` into its hints
    (stored keys win, but ``found_by`` gains the finders it lacked): what hints found late add,
    without a version (archive.Archive.add_hints)."""
    current = row_dict(db, "SELECT * FROM articles WHERE id = ?", [article_id])
    if current is None:
        raise LookupError(f"article {article_id} is not in the archive")
    updates: dict[str, Any] = {
        name: columns[name]
        for name in METADATA_COLUMNS
        if name != "hints" and not is_blank(columns.get(name)) and is_blank(current.get(name))
    }
    stored = json.loads(current["hints"]) if not is_blank(current.get("hints")) else {}
    late = json.loads(columns["hints"]) if not is_blank(columns.get("hints")) else {}
    stored = stored if isinstance(stored, dict) else {}
    merged = {**late, **stored}
    if isinstance(stored.get("found_by"), list) and isinstance(late.get("found_by"), list):
        # Who named the article is a list that grows: every finder, the first ones first.
        merged["found_by"] = stored["found_by"] + [way for way in late["found_by"] if way not in stored["found_by"]]
    if merged != stored:
        updates["hints"] = json.dumps(merged, ensure_ascii=False)
    if updates:
        _update_article(db, article_id, updates)


def apply_update(
    db: Database,
    current: Mapping[str, Any],
    columns: Mapping[str, Any],
    change: Change,
    run_id: int,
    now: str,
    fetched_at: str,
    *,
    reextracted: bool = False,
) -> None:
    """Snapshot the current content into article_versions, with the change that replaces it, then store
    the new content as the next version.

    Metadata the new extraction did not find keeps its old value (the snapshot has it either way);
    the url is kept, because an article's identity is the URL it was first archived under.
    ``reextracted``: made from a stored response, not a fetch: last seen, last run and removal stay.
    """
    article_id = current["id"]
    snapshot = {name: current[name] for name in CONTENT_COLUMNS}
    snapshot.update(
        article_id=article_id,
        version=current["version"],
        valid_from=current["changed_at"] or current["first_seen_at"],
        valid_to=now,
        run_id=current["last_run_id"],
        replaced_by_run_id=run_id,
        change_kinds=change.kinds_json(),
        diff=change.diff_json(),
    )
    names = list(snapshot)
    db.execute(
        f"INSERT INTO article_versions ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
        [snapshot[name] for name in names],
    )
    updates: dict[str, Any] = {
        name: columns.get(name) if not is_blank(columns.get(name)) else current[name] for name in METADATA_COLUMNS
    }
    updates.update(
        text=columns.get("text"),
        word_count=columns.get("word_count"),
        content_hash=columns.get("content_hash"),
        fetch_mode=columns.get("fetch_mode") or current["fetch_mode"],
        version=current["version"] + 1,
        removed_at=None,  # saved from a live page: online (again)
        removed_status=None,
        changed_at=now,
        last_seen_at=now,
        last_run_id=run_id,
        fetched_at=fetched_at,
    )
    if reextracted:  # nothing was fetched: the article was not seen, online or not
        for name in ("removed_at", "removed_status", "last_seen_at", "last_run_id"):
            updates[name] = current[name]
    _update_article(db, article_id, updates)


def mark_seen(db: Database, article_id: int, run_id: int, now: str) -> None:
    """The article's content was seen again (under another URL): bump last_seen_at and last_run_id."""
    _update_article(db, article_id, {"last_seen_at": now, "last_run_id": run_id})


def register_aliases(db: Database, article_id: int, reasons: Mapping[str, str], run_id: int, now: str) -> None:
    """Record each url -> reason as an alias of the article, unless it is already an article url or alias."""
    for url, reason in reasons.items():
        if db.execute("SELECT 1 FROM articles WHERE url = ?", [url]).fetchone() is not None:
            continue
        db.execute(
            "INSERT OR IGNORE INTO url_aliases (url, article_id, reason, first_seen_at, run_id) VALUES (?, ?, ?, ?, ?)",
            [url, article_id, reason, now, run_id],
        )


def store_minhash(db: Database, article_id: int, minhash: Signature | None) -> None:
    """Write (or, for a text too short to compare, delete) the article's MinHash signature and its LSH buckets."""
    if minhash is None:
        db.execute("DELETE FROM article_minhashes WHERE article_id = ?", [article_id])
        dedup.index_signature(db, article_id, None)
        return
    blob = dedup.signature_to_blob(minhash)
    db.execute(
        "INSERT OR REPLACE INTO article_minhashes (article_id, num_perm, seed, scheme, signature) VALUES (?, ?, ?, ?, ?)",
        [article_id, dedup.NUM_PERM, dedup.SEED, dedup.SCHEME, blob],
    )
    dedup.index_signature(db, article_id, blob)


def near_duplicate_root(db: Database, article_id: int) -> int:
    """The original a near-duplicate chain points at, so syndicated copies share one group id."""
    row = db.execute("SELECT near_duplicate_of FROM articles WHERE id = ?", [article_id]).fetchone()
    return int(row[0]) if row is not None and row[0] is not None else article_id


def is_original_of(db: Database, columns: Mapping[str, Any], root_id: int) -> bool:
    """Whether a new article is the original that the near-duplicate group of ``root_id`` copies.

    A page that says it was first published elsewhere (``syndicated_from``) is a copy; a group whose
    root says so is a copy of the new page when the new page says nothing; otherwise the page
    published first is the original (a copy found first must not stay the group's root).
    """
    if columns.get("syndicated_from"):
        return False
    row = db.execute("SELECT syndicated_from, published_at_utc FROM articles WHERE id = ?", [root_id]).fetchone()
    if row is None:
        return False
    root_syndicated, root_published = row
    if root_syndicated:
        return True
    published = columns.get("published_at_utc")
    return bool(published and root_published and published < root_published)


def merge_new_copy(
    db: Database, copy_id: int, original_id: int, run_id: int, now: str, *, also_runs: Iterable[int] = ()
) -> bool:
    """Fold an article first archived by this run (or one of ``also_runs``) into the article it turned
    out to copy exactly.

    Its fetches become ``duplicate`` fetches of the original, its URL and aliases the original's
    aliases; the row goes. Only a version-1 row of these runs is folded (False otherwise): an
    article with history is never deleted.
    """
    row = db.execute("SELECT url, first_run_id, version FROM articles WHERE id = ?", [copy_id]).fetchone()
    if row is None or row[1] not in {run_id, *also_runs} or row[2] != 1 or copy_id == original_id:
        return False
    url = row[0]
    db.execute(
        "UPDATE fetches SET article_id = :original, outcome = CASE WHEN outcome = :new THEN :duplicate ELSE outcome END"
        " WHERE article_id = :copy",
        {"original": original_id, "copy": copy_id, "new": FetchOutcome.NEW, "duplicate": FetchOutcome.DUPLICATE},
    )
    for table, column in (
        ("url_aliases", "article_id"),
        ("crawl_state", "article_id"),
        ("articles", "near_duplicate_of"),
    ):
        db.execute(f"UPDATE {table} SET {column} = ? WHERE {column} = ?", [original_id, copy_id])
    db.execute("DELETE FROM article_minhashes WHERE article_id = ?", [copy_id])
    dedup.index_signature(db, copy_id, None)
    db.execute("DELETE FROM articles WHERE id = ?", [copy_id])
    register_aliases(db, original_id, {url: AliasReason.DUPLICATE}, run_id, now)
    return True


def syndicated_from(db: Database, article_id: int) -> str | None:
    """Where the archived article says it first appeared (None when it does not say)."""
    row = db.execute("SELECT syndicated_from FROM articles WHERE id = ?", [article_id]).fetchone()
    return row[0] if row else None


def make_root(db: Database, original_id: int, old_root_id: int) -> None:
    """The group of ``old_root_id`` (the root and every copy pointing at it) now points at ``original_id``."""
    db.execute(
        "UPDATE articles SET near_duplicate_of = ? WHERE (id = ? OR near_duplicate_of = ?) AND id != ?",
        [original_id, old_root_id, old_root_id, original_id],
    )


def move_article(db: Database, article_id: int, columns: Mapping[str, Any], run_id: int) -> str:
    """The article now lives at ``columns["url"]`` with that page's metadata; returns its old URL.

    Used when a crawl meets the original of a text after an exact copy of it: the row (id, first
    seen, text) stays, the copy's URL becomes a duplicate alias and its fetch a duplicate.
    """
    old_url = db.execute("SELECT url FROM articles WHERE id = ?", [article_id]).fetchone()[0]
    db.execute("DELETE FROM url_aliases WHERE url = ?", [columns["url"]])
    _update_article(db, article_id, {"url": columns["url"], **{name: columns.get(name) for name in METADATA_COLUMNS}})
    db.execute(
        "UPDATE fetches SET outcome = ? WHERE run_id = ? AND article_id = ? AND outcome = ?",
        [FetchOutcome.DUPLICATE, run_id, article_id, FetchOutcome.NEW],
    )
    return old_url


def first_found_this_run(db: Database, article_id: int, run_id: int) -> tuple[str, str | None, str | None] | None:
    """(url, published_at_utc, found_by) of an article first archived by this run, else None."""
    row = db.execute(
        "SELECT a.url, a.published_at_utc, f.found_by FROM articles a"
        " LEFT JOIN fetches f ON f.article_id = a.id AND f.run_id = a.first_run_id AND f.outcome = ?"
        " WHERE a.id = ? AND a.first_run_id = ? ORDER BY f.id LIMIT 1",
        [FetchOutcome.NEW, article_id, run_id],
    ).fetchone()
    return None if row is None else (row[0], row[1], row[2])


def _update_article(db: Database, article_id: int, updates: Mapping[str, Any]) -> None:
    assignments = ", ".join(f"{name} = ?" for name in updates)
    db.execute(f"UPDATE articles SET {assignments} WHERE id = ?", [*updates.values(), article_id])
