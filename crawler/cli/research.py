"""What a researcher types to read the archive: ``newsarchive search``, ``show`` and ``stats``.

- ``search "QUERY"``: full-text search (FTS5, bm25, snippets; archive/research.py), filtered by
  source, UTC publication dates, language and author (archive/filters.py, the filters ``export``
  shares), as a table for people or JSON / JSON lines / CSV with stable keys for machines.
- ``show URL_OR_ID``: one article with every field and its provenance (runs, how it was found,
  aliases, near duplicates, versions), as text or JSON.
- ``stats``: articles per source, language and month (a bar chart of block characters), date range,
  duplicates, versions, archive size.

Settings read: ``--config`` / ``--db`` as for ``history`` (crawler/cli/ops.py). Read-only through
``archive.ArchiveReader``: never creates, migrates or writes an archive, and reads while crawls
write. Exit codes: 0 shown (also no hits), 1 no such article (``show``), 2 bad usage (a malformed
query, a bad date, no archive). rich and the archive library are imported inside the commands.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from archive import ArchiveError
from crawler.cli.ops import (
    CONFIG_OPTION,
    DB_OPTION,
    EXIT_USAGE,
    archive_path,
    fail,
    load_optional_config,
    make_console,
    open_existing_archive,
    url_variants,
)

if TYPE_CHECKING:
    from archive.filters import ArticleFilter

EXIT_NOT_FOUND = 1
SEARCH_FORMATS = ("table", "json", "jsonl", "csv")
BAR_WIDTH = 40  # characters of the longest bar in the stats chart
BAR_EIGHTHS = " ▏▎▍▌▋▊▉"  # partial blocks, so a bar's length is exact to an eighth of a character
MONTHS_FILLED = 240  # months without articles are drawn as empty bars up to this span (20 years)
# Private markers around matched words: turned into rich styles in the table, "[" "]" elsewhere.
_MARK_OPEN, _MARK_CLOSE = "\x02", "\x03"

Command = TypeVar("Command", bound=Callable[..., Any])


def filter_options(function: Command) -> Command:
    """--source, --since, --until, --language, --author: the filters search, stats (and export) share."""
    for option in reversed(
        (
            click.option("--source", help="Only this source's articles (its name in the sources file)."),
            click.option(
                "--since",
                metavar="DATE",
                help="Published on or after DATE: 2024-05-01 (a whole UTC day) or a time (UTC unless it has an offset).",
            ),
            click.option(
                "--until",
                metavar="DATE",
                help="Published on or before DATE: a date is the whole UTC day; a time is UTC unless it has an offset.",
            ),
            click.option("--language", help='Language code; "de" also matches "de-AT".'),
            click.option("--author", help="One of the authors, the whole name, in any case (Zoé = ZOÉ)."),
        )
    ):
        function = option(function)
    return function


def _filter(**options: str | None) -> ArticleFilter:
    from archive.filters import ArticleFilter

    return ArticleFilter(**options)


def _usage_error(error: ArchiveError) -> None:
    fail(str(error), EXIT_USAGE)


# --- search ------------------------------------------------------------------------------------


@click.command()
@click.argument("query")
@filter_options
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Hits shown, best first.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(SEARCH_FORMATS),
    default="table",
    show_default=True,
    help="table for people; json, jsonl or csv for machines (keys: rank, id, url, source, title, published_at, "
    "published_at_utc, language, authors, snippet, score; in CSV, authors is a JSON array as in export).",
)
@CONFIG_OPTION
@DB_OPTION
def search(
    query: str,
    source: str | None,
    since: str | None,
    until: str | None,
    language: str | None,
    author: str | None,
    limit: int,
    output_format: str,
    config_path: Path | None,
    db: Path | None,
) -> None:
    """Full-text search over titles and texts, best match first (a title hit ranks above a text hit).

    QUERY is FTS5 syntax: words (all must occur; stemmed, so "vote" finds "voted"), "a phrase"
    in double quotes, prefix* , AND / OR / NOT (in capitals), parentheses, title:word or text:word.
    Matched words are marked in the snippet ([word] outside a terminal). score: bm25, higher is a
    better match, comparable within one search only.

    \b
    Examples:
      newsarchive search 'harbour OR ferry' --db data/demo.db
      newsarchive search '"city council" AND budg*' --source example-news --since 2024-01-01
      newsarchive search 'election NOT poll' --language de --limit 50 --format csv > hits.csv
      newsarchive search klima --format jsonl | jq -r .url
    """
    from archive.filters import unknown_source_note
    from archive.research import DEFAULT_MARKS, query_hints
    from archive.research import search as search_archive

    article_filter = _filter(source=source, since=since, until=until, language=language, author=author)
    table = output_format == "table"
    marks = (_MARK_OPEN, _MARK_CLOSE) if table else DEFAULT_MARKS
    with open_existing_archive(archive_path(load_optional_config(config_path), db)) as archive:
        try:
            hits = search_archive(archive, query, article_filter, limit, marks)
        except ArchiveError as error:
            _usage_error(error)
        notes = [note for note in (unknown_source_note(archive.db, source),) if note]
    notes += query_hints(query, len(hits))
    if output_format == "json":
        click.echo(json.dumps(hits, indent=2, ensure_ascii=False))
    elif output_format == "jsonl":
        for hit in hits:
            click.echo(json.dumps(hit, ensure_ascii=False))
    elif output_format == "csv":
        _write_csv(hits)
    else:
        _print_hits(hits, query)
    for note in notes:  # on stderr: the hits on stdout stay what a program expects
        click.echo(note, err=True)


def _write_csv(hits: Sequence[Mapping[str, Any]]) -> None:
    """The hits as CSV; ``authors`` as a JSON array in its cell, as ``newsarchive export --format csv`` writes lists."""
    from archive.research import SEARCH_KEYS

    writer = csv.DictWriter(sys.stdout, fieldnames=SEARCH_KEYS, lineterminator="\n")
    writer.writeheader()
    for hit in hits:
        writer.writerow({**hit, "authors": json.dumps(hit["authors"] or [], ensure_ascii=False)})


def _print_hits(hits: Sequence[Mapping[str, Any]], query: str) -> None:
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    console = make_console()
    if not hits:
        console.print(f"No articles match {escape(repr(query))}.")
        return
    on_terminal = console.is_terminal
    table = Table(
        title=f"{len(hits)} best match{'es' if len(hits) != 1 else ''} for {escape(repr(query))}", show_lines=True
    )
    for name, options in (
        ("#", {"justify": "right"}),
        ("published (UTC)", {"no_wrap": True}),
        ("source", {}),
        ("id", {"justify": "right"}),
        ("title / snippet", {"ratio": 1}),
    ):
        table.add_column(name, **options)
    for hit in hits:
        cell = Text()  # not Text(title, style="bold"): a Text's own style covers everything appended to it
        cell.append(hit["title"] or "(no title)", style="bold")
        cell.append("\n")
        cell.append_text(_highlighted(hit["snippet"] or "", on_terminal))
        cell.append(f"\n{hit['url']}", style="dim")
        published = (hit["published_at_utc"] or "")[:16].replace("T", " ") or "-"
        table.add_row(str(hit["rank"]), published, Text(hit["source"] or "-"), str(hit["id"]), cell)
    console.print(table)


def _highlighted(snippet: str, on_terminal: bool) -> Any:
    """The snippet as rich Text: matched words styled on a terminal, in [brackets] when piped."""
    from rich.text import Text

    text = Text()
    for position, part in enumerate(snippet.replace(_MARK_CLOSE, _MARK_OPEN).split(_MARK_OPEN)):
        matched = position % 2 == 1
        if matched and not on_terminal:
            part = f"[{part}]"
        text.append(part, style="bold yellow" if matched and on_terminal else "")
    return text


# --- show --------------------------------------------------------------------------------------


@click.command()
@click.argument("url_or_id")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(("text", "json")),
    default="text",
    show_default=True,
    help="text for people; json for machines (every column, provenance, versions).",
)
@click.option(
    "--as-of",
    "as_of",
    metavar="TIME",
    help="The article as the archive knew it at TIME (ISO 8601, UTC unless an offset is given): that version, in full.",
)
@CONFIG_OPTION
@DB_OPTION
def show(url_or_id: str, output_format: str, as_of: str | None, config_path: Path | None, db: Path | None) -> None:
    """Show one article with every field and its provenance: runs, how it was found, aliases,
    near duplicates, versions.

    URL_OR_ID is the article's id, its canonical URL or any URL that led to it (an alias); a URL
    is also found without its tracking parameters or fragment, and with or without the trailing slash.
    Each version's changes: newsarchive history URL_OR_ID; with --as-of, the version the archive
    had at that moment (as newsarchive history --as-of).

    \b
    Examples:
      newsarchive show 4 --db data/demo.db
      newsarchive show https://news.example/2024/05/01/budget/ --config sources.toml
      newsarchive show 42 --format json | jq .provenance
      newsarchive show 42 --as-of 2024-05-01T12:00Z
    """
    from archive.research import article_detail
    from crawler.cli.history import as_of_document, as_of_text

    with open_existing_archive(archive_path(load_optional_config(config_path), db)) as archive:
        try:
            detail = article_detail(archive, url_or_id, url_variants(url_or_id))
            entry = archive.as_of(detail["article"]["id"], as_of) if as_of is not None else None
        except ArchiveError as error:
            if error.path is not None:  # the file failed, not the lookup: one line with its fix, exit 2
                raise
            fail(str(error), EXIT_NOT_FOUND)
    if entry is not None:
        article = detail["article"]
        if output_format == "json":
            click.echo(json.dumps(as_of_document(article, entry), indent=2, ensure_ascii=False))
        else:
            click.echo(as_of_text(article, entry))
        return
    if output_format == "json":
        click.echo(json.dumps(detail, indent=2, ensure_ascii=False))
    else:
        click.echo(detail_text(detail))


def detail_text(detail: Mapping[str, Any]) -> str:
    """The article as text: its fields, its provenance, its versions, then its text."""
    article, provenance = detail["article"], detail["provenance"]
    lines = [f"Article {article['id']}: {article['url']}", ""]
    for name, value in article.items():  # every field the archive has, in its column order; the text last
        if name not in ("id", "url", "text") and value not in (None, "", [], {}):
            lines.append(f"{name + ':':19} {_value(value)}")
    lines += ["", "Provenance"]
    lines.append(f"  first run:         {_run_text(provenance['first_run'])}")
    lines.append(f"  last run:          {_run_text(provenance['last_run'])}")
    lines.append(f"  first seen:        {provenance['first_seen_at']}")
    lines.append(f"  last seen:         {provenance['last_seen_at']}")
    fetch = provenance.get("first_fetch") or {}
    found = provenance.get("found_by") or fetch.get("found_by") or "not recorded"
    if fetch.get("referer"):
        found += f" (from {fetch['referer']}, depth {fetch.get('depth')})"
    lines.append(f"  found by:          {found}")
    if provenance.get("syndicated_from"):
        lines.append(f"  syndicated from:   {provenance['syndicated_from']}")
    original = provenance.get("near_duplicate_of")
    if original:
        lines.append(f"  near copy of:      {original['id']} {original['url']}")
    for copy in provenance.get("near_copies") or []:
        lines.append(f"  near copy here:    {copy['id']} {copy['url']}")
    aliases = provenance.get("aliases") or []
    lines.append(f"  aliases:           {len(aliases)}")
    lines.extend(f"    {alias['reason']:10} {alias['url']}" for alias in aliases)
    fetches = provenance.get("fetches") or []
    lines += ["", f"Fetches: {len(fetches)}"]
    for fetch in fetches:
        warc = f"  WARC {fetch['warc_file']}:{fetch['warc_offset']}" if fetch.get("warc_file") else ""
        status = fetch.get("status") if fetch.get("status") is not None else "-"
        lines.append(f"  run {fetch['run_id']}  {fetch['fetched_at']}  {status} {fetch['outcome']}{warc}")
    versions = detail.get("versions") or []
    lines += ["", f"Versions: {len(versions)}"]
    for entry in versions:
        kinds = entry.get("change_kinds")
        changes = f"  changes: {', '.join(kinds) or 'none tracked'}" if kinds is not None else ""
        current = " (current)" if entry.get("current") else ""
        response = entry.get("response")
        stored = f"  WARC {response['warc_file']}:{response['warc_offset']}" if response else ""
        lines.append(f"  version {entry['version']}{current}  from {entry['valid_from']}{changes}{stored}")
    lines += ["", article.get("text") or "(no text)"]
    return "\n".join(lines)


def _value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _run_text(run: Mapping[str, Any] | None) -> str:
    if not run:
        return "not recorded"
    return f"{run['id']} ({run['trigger']}, {run['status']}, started {run['started_at']})"


# --- stats -------------------------------------------------------------------------------------


@click.command()
@filter_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines instead of text.")
@CONFIG_OPTION
@DB_OPTION
def stats(
    source: str | None,
    since: str | None,
    until: str | None,
    language: str | None,
    author: str | None,
    as_json: bool,
    config_path: Path | None,
    db: Path | None,
) -> None:
    """Articles per source, per language and per month (a bar chart), date range, duplicates, versions, size.

    \b
    Examples:
      newsarchive stats --db data/demo.db
      newsarchive stats --source example-news --since 2024-01-01
      newsarchive stats --json | jq .months
    """
    from archive.filters import unknown_source_note
    from archive.research import stats as archive_stats

    article_filter = _filter(source=source, since=since, until=until, language=language, author=author)
    with open_existing_archive(archive_path(load_optional_config(config_path), db)) as archive:
        try:
            figures = archive_stats(archive, article_filter)
        except ArchiveError as error:
            _usage_error(error)
        note = unknown_source_note(archive.db, source)
    if as_json:
        click.echo(json.dumps(figures, indent=2, ensure_ascii=False))
    else:
        click.echo(stats_text(figures))
    if note:
        click.echo(note, err=True)


def stats_text(figures: Mapping[str, Any]) -> str:
    """The figures as text, the months as a bar chart."""
    size = figures["size_bytes"]
    first, last = figures["date_range"]["first"], figures["date_range"]["last"]
    duplicates = figures["duplicates"]
    lines = [
        f"{plural(figures['articles'], 'article')}; published {first or '-'} to {last or '-'}"
        + (f" ({figures['undated']} without a date)" if figures["undated"] else ""),
        f"archive size: {size / 1_000_000:.1f} MB ({size} bytes)",
        f"other URLs that led to these articles (aliases: redirects, tracking parameters, AMP…): "
        f"{duplicates.get('alias_urls', 0)}, of which exact copies of an article's text at another URL: "
        f"{duplicates['duplicate_urls']}",
        f"near copies of another article: {duplicates['near_duplicates']}",
        f"articles changed since first archived: {figures['versions']['changed_articles']}; "
        f"earlier versions kept: {figures['versions']['earlier_versions']}",
    ]
    width = max(
        [len(_label(row["source"])) for row in figures["sources"]]
        + [len(_label(row["language"])) for row in figures["languages"]]
        + [1]
    )
    lines += ["", "Per source:", *_counts(figures["sources"], "source", width)]
    lines += ["", "Per language:", *_counts(figures["languages"], "language", width)]
    lines += ["", "Per month (UTC publication date):"]
    lines.extend(bar_chart([(row["month"], row["articles"]) for row in _filled_months(figures["months"])]))
    return "\n".join(lines)


def plural(count: int, noun: str) -> str:
    """``1 article``, ``2 articles``, ``1,234 articles``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _label(value: Any) -> str:
    return str(value) if value else "(unknown)"


def _counts(rows: Iterable[Mapping[str, Any]], key: str, width: int) -> list[str]:
    """One aligned line per row: its label padded to ``width`` (shared by the lists shown together), its count."""
    rows = list(rows)
    if not rows:
        return ["  (none)"]
    return [f"  {_label(row[key]):{width}}  {row['articles']:>8}" for row in rows]


def _filled_months(months: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The months with the ones between them that have no articles, when the span is not absurd."""
    if len(months) < 2:
        return list(months)
    counts = {row["month"]: row["articles"] for row in months}
    try:
        year, month = (int(part) for part in months[0]["month"].split("-"))
        end_year, end_month = (int(part) for part in months[-1]["month"].split("-"))
    except ValueError:
        return list(months)
    span = (end_year - year) * 12 + end_month - month
    if span > MONTHS_FILLED:
        return list(months)
    filled = []
    for _ in range(span + 1):
        key = f"{year:04d}-{month:02d}"
        filled.append({"month": key, "articles": counts.get(key, 0)})
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return filled


def bar_chart(rows: Sequence[tuple[str, int]], width: int = BAR_WIDTH) -> list[str]:
    """One line per (label, count): the label, a bar of block characters scaled to the largest count, the count."""
    if not rows:
        return ["  (no dated articles)"]
    largest = max(count for _, count in rows) or 1
    label_width = max(len(label) for label, _ in rows)
    lines = []
    for label, count in rows:
        eighths = round(count / largest * width * 8)
        bar = "█" * (eighths // 8) + (BAR_EIGHTHS[eighths % 8] if eighths % 8 else "")
        lines.append(f"  {label:{label_width}} {bar:<{width}} {count}")
    return lines
