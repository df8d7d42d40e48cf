"""Which articles a researcher means: the filters ``search``, ``export`` and ``stats`` share.

:class:`ArticleFilter` holds the user's choices (source, publication dates, language, author, a
full-text query) and turns them into one SQL ``WHERE`` clause over ``articles`` (:meth:`where`),
so every read command selects the same rows for the same options. Dates filter on the UTC
publication date (``published_at_utc``): ``since`` and ``until`` are inclusive, a date alone
means that whole UTC day, a time with an offset is converted to UTC and a time without one is
taken as UTC. The author filter compares names case-folded in Python (SQLite's ``lower()`` folds
only ASCII: ``ZOÉ`` would not find ``Zoé``), through the SQL function :data:`CASEFOLD_FUNCTION`, which
:func:`register_sql_functions` adds to a connection (every reader's connection has it). A full-text
query is read by :func:`fts_query` (words with punctuation quoted, a column filter other than
``title:``/``text:`` refused naming the columns), the same for ``search`` and ``export --query``. No settings.
"""

from __future__ import annotations

import re
import sqlite3
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
CASEFOLD_FUNCTION = "newsarchive_casefold"  # str.casefold as an SQL function: any script, any case


def _casefold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def register_sql_functions(conn: sqlite3.Connection) -> None:
    """Add the SQL functions :meth:`ArticleFilter.where` uses to ``conn`` (safe to call again)."""
    conn.create_function(CASEFOLD_FUNCTION, 1, _casefold, deterministic=True)


# A query as FTS5 reads it: a quoted string, a parenthesis or comma (NEAR(a b, 5)), a bare token, or any other character.
_QUERY_TOKEN = re.compile(r'"[^"]*"|[(),]|[^\s(),"]+|\S')
_OPERATORS = frozenset({"AND", "OR", "NOT", "NEAR"})
_BAREWORD = re.compile(r"^\w+\*?$")  # what FTS5 takes unquoted (letters, digits, _, non-ASCII)
_COLUMN_FILTER = re.compile(r"^(-?(?:title|text|\{[\w ]+\})):(.*)$")
SEARCHABLE_COLUMNS = ("title", "text")  # what a column filter (title:word) may name
# "word:..." outside quotes: FTS5 reads it as a column filter; any name but title and text is refused.
_ANY_COLUMN_FILTER = re.compile(r"^-?([^\W\d]\w*):")


def fts_query(query: str) -> str:
    """The query with each bare word FTS5 would reject (punctuation inside) quoted as a phrase.

    Operators, parentheses, quoted phrases, prefixes (``word*``) and column filters pass through as
    typed; anything FTS5 then cannot parse (an unclosed quote, a dangling operator) stays malformed.
    """
    parts = []
    for token in _QUERY_TOKEN.findall(query):
        _check_column(token, query)
        parts.append(_quoted_if_needed(token))
    return " ".join(parts)


def _check_column(token: str, query: str) -> None:
    """ArchiveError for a column filter naming a column that cannot be searched (``titel:x``, ``source:x``)."""
    named = _ANY_COLUMN_FILTER.match(token)
    if named is None or _COLUMN_FILTER.match(token) or named.group(1) in SEARCHABLE_COLUMNS:
        return
    column = named.group(1)
    if column == "source":
        fix = "filter by source with --source NAME; search the title or the text with title:word or text:word."
    else:
        fix = (
            f"search one column with {' or '.join(f'{name}:word' for name in SEARCHABLE_COLUMNS)}; "
            f'to find the text itself, put it in double quotes: "{token.lstrip("-")}".'
        )
    raise ArchiveError(
        f"Search query {query!r} names a column {column!r} ({column}:…), and the index has only "
        f"{', '.join(SEARCHABLE_COLUMNS)}.",
        fix,
    )


def _quoted_if_needed(token: str) -> str:
    if token.startswith('"') or token in ("(", ")", ",", "*", "+", "^") or token in _OPERATORS:
        return token
    if _BAREWORD.match(token):
        return token
    column = _COLUMN_FILTER.match(token)
    if column:
        return f"{column.group(1)}:{_quoted_if_needed(column.group(2))}" if column.group(2) else token
    if len(token) == 1 and not token.isalnum():
        return token  # a lone '"' or operator character: left for FTS5 to report
    prefix = token.endswith("*") and len(token) > 1
    word = token[:-1] if prefix else token
    return '"' + word.replace('"', '""') + '"' + ("*" if prefix else "")


def fts_match(query: str, source: str | None = None) -> str:
    """The FTS5 MATCH expression for a user's ``query`` over title and text; with ``source`` (only on an
    index that has the column, see :func:`indexes_source`), FTS5 itself skips other sources' rows, which
    is what keeps a common-word search fast on a large archive."""
    expression = f"{SEARCHED_COLUMNS} : ({query})"
    if source is not None:
        expression += ' AND source : "' + source.replace('"', '""') + '"'
    return expression


_FTS_SYNTAX_ERROR = re.compile(r'fts5: syntax error near "(.*)"$', re.S)


def describe_fts_error(message: str, query: str) -> str:
    """SQLite's complaint about a full-text query, in terms of what the user typed.

    The query runs wrapped (``{title text} : (QUERY)``, :func:`fts_match`), so FTS5 reports a query that
    ends too early ("budget AND", "(budget") as an error near our closing parenthesis or near the end:
    characters the user never typed. Those become "at the end of the query".
    """
    found = _FTS_SYNTAX_ERROR.match(message.strip())
    if found and (found.group(1) == "" or found.group(1) not in query):
        return "fts5: syntax error at the end of the query: an operator or an open parenthesis with nothing after it"
    return message


def unknown_source_note(db: Any, source: str | None, what: str = "articles") -> str | None:
    """The note a read command prints when ``--source`` names no source of the archive (None when it does).

    ``db``: anything with ``execute`` (a sqlite3 connection, a sqlite-utils Database). ``what``:
    ``articles``, or ``runs`` (its sources are then those of ``crawl_runs``). Names are matched exactly;
    a name that differs only in case is suggested.
    """
    if source is None:
        return None
    table = "crawl_runs" if what == "runs" else "articles"
    known = [row[0] for row in db.execute(f"SELECT DISTINCT source FROM {table} WHERE source IS NOT NULL ORDER BY 1")]
    if source in known:
        return None
    similar = [name for name in known if name.casefold() == source.casefold()]
    return f"note: no {what} from source {source!r} in this archive (its sources: {', '.join(known) or 'none'})" + (
        f"; did you mean {similar[0]!r}? (source names are matched exactly)" if similar else ""
    )


def indexes_source(db: Any) -> bool:
    """Whether the archive's full-text index has the source column (migration 14)."""
    return any(row[1] == "source" for row in db.execute("PRAGMA table_info(articles_fts)").fetchall())


@dataclass(frozen=True)
class ArticleFilter:
    """Filters over ``articles``; every field optional (None: no filter)."""

    source: str | None = None
    since: str | None = None  # inclusive: a date (that whole UTC day on) or an ISO 8601 time (UTC without an offset)
    until: str | None = (
        None  # inclusive: a date (up to the end of that UTC day) or an ISO 8601 time (UTC without an offset)
    )
    language: str | None = None  # primary subtag matches regional variants: "de" matches "de-AT"
    author: str | None = None  # one of the article's authors, whole name, any case (Unicode case folding)
    query: str | None = None  # FTS5 query over title and text, as search reads it (fts_query)

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
                f" WHERE {CASEFOLD_FUNCTION}(json_each.value) = ?)"
            )
            params.append(" ".join(self.author.split()).casefold())
        if self.query is not None:
            conditions.append(f"{table}.id IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)")
            params.append(fts_match(fts_query(self.query)))
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
            "write a date (2024-05-01, the whole UTC day) or a time (2024-05-01T12:00 is UTC; "
            "with an offset: 2024-05-01T12:00+02:00).",
        )
    return converted
