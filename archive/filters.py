"""Which articles a researcher means: the filters ``search``, ``export`` and ``stats`` share.

:class:`ArticleFilter` holds the user's choices (source, publication dates, language, author, a
full-text query) and turns them into one SQL ``WHERE`` clause over ``articles`` (:meth:`where`),
so every read command selects the same rows for the same options. Dates filter on the UTC
publication date (``published_at_utc``): ``since`` and ``until`` are inclusive, a date alone
means that whole UTC day, a time with an offset is converted to UTC. No settings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from .dates import to_utc_iso
from .models import ArchiveError

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# What a researcher's query searches. The index also holds the source (migration 14), which is
# matched only as a filter: searching "alpha" must not find every article of a source named alpha.
SEARCHED_COLUMNS = "{title text}"
NO_CONDITION = "1"  # ArticleFilter.where() when no filter is set


def fts_match(query: str, source: str | None = None) -> str:
    """The FTS5 MATCH expression for a user's ``query`` over title and text; with ``source`` (only on an
    index that has the column, see :func:`indexes_source`), FTS5 itself skips other sources' rows, which
    is what keeps a common-word search fast on a large archive."""
    expression = f"{SEARCHED_COLUMNS} : ({query})"
    if source is not None:
        expression += ' AND source : "' + source.replace('"', '""') + '"'
    return expression


def indexes_source(db: Any) -> bool:
    """Whether the archive's full-text index has the source column (migration 14)."""
    return any(row[1] == "source" for row in db.execute("PRAGMA table_info(articles_fts)").fetchall())


@dataclass(frozen=True)
class ArticleFilter:
    """Filters over ``articles``; every field optional (None: no filter)."""

    source: str | None = None
    since: str | None = None  # inclusive: a date (that whole UTC day on) or an ISO 8601 time
    until: str | None = None  # inclusive: a date (up to the end of that UTC day) or an ISO 8601 time
    language: str | None = None  # primary subtag matches regional variants: "de" matches "de-AT"
    author: str | None = None  # one of the article's authors, case-insensitive, whole name
    query: str | None = None  # FTS5 query over title and text (see archive.search for the syntax)

    def where(self, table: str = "articles") -> tuple[str, list[Any]]:
        """``(sql, params)``: a condition over ``table`` (an alias of ``articles``); ``NO_CONDITION`` when no filter is set."""
        conditions: list[str] = []
        params: list[Any] = []
        if self.source is not None:
            conditions.append(f"{table}.source = ?")
            params.append(self.source)
        if self.since is not None:
            conditions.append(f"{table}.published_at_utc >= ?")
            params.append(_bound(self.since, "since", end=False))
        if self.until is not None:
            conditions.append(
                f"{table}.published_at_utc < ?" if _DATE_ONLY.match(self.until) else f"{table}.published_at_utc <= ?"
            )
            params.append(_bound(self.until, "until", end=True))
        if self.language is not None:
            conditions.append(f"(lower({table}.language) = lower(?) OR lower({table}.language) LIKE lower(?) || '-%')")
            params.extend([self.language, self.language])
        if self.author is not None:
            conditions.append(
                f"EXISTS (SELECT 1 FROM json_each(CASE WHEN json_valid({table}.authors) THEN {table}.authors ELSE '[]' END)"
                " WHERE lower(json_each.value) = lower(?))"
            )
            params.append(self.author.strip())
        if self.query is not None:
            conditions.append(f"{table}.id IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)")
            params.append(fts_match(self.query))
        return (" AND ".join(conditions) or NO_CONDITION), params


def _bound(value: str, option: str, end: bool) -> str:
    """The UTC text a date option compares ``published_at_utc`` with."""
    text = value.strip()
    if _DATE_ONLY.match(text):
        try:
            day = date.fromisoformat(text)
        except ValueError as error:
            raise ArchiveError(f"--{option} {value!r} is not a date: {error}.", "write it as 2024-05-01.") from error
        return (day + timedelta(days=1)).isoformat() if end else day.isoformat()
    converted = to_utc_iso(text)
    if converted is None or not converted.endswith("Z"):
        raise ArchiveError(
            f"--{option} {value!r} is neither a date nor a time.",
            "write a date (2024-05-01) or a time with its offset (2024-05-01T12:00:00+02:00).",
        )
    return converted
