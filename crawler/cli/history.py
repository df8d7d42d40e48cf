"""``newsarchive history URL_OR_ID``: every version of one article, with what changed and how.

The article is found by its numeric id, its canonical URL or any alias URL; its versions are
printed oldest first with the current state last, each with when it was first stored, the run that
found it, its change kinds (archive.models.ChangeKind) and its diff (old -> new for the headline,
byline, dates and description; a unified diff of the text). ``--format json`` prints the same as one
JSON document, full texts included. ``--as-of TIME`` prints instead the one version the archive had
at that moment, in full, and says when the article was known to be offline then
(``ArchiveReader.as_of``).

Settings read: the sources file's ``[archive] db`` (``--config``; without it ``sources.toml`` in
the current folder when present) or ``--db``, resolved as by ``status``, ``runs`` and ``logs``
(crawler/cli/ops.py). Read-only through ``archive.ArchiveReader``: never creates, migrates or writes
an archive. Exit codes: 0 shown, 1 no such article, 2 bad usage (a broken sources file, no archive).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from archive import ArchiveError
from archive.records import from_json
from crawler.cli.ops import (
    CONFIG_OPTION,
    DB_OPTION,
    archive_path,
    fail,
    load_optional_config,
    open_existing_archive,
    url_variants,
)

EXIT_NOT_FOUND = 1
FORMATS = ("text", "json")
# Fields shown old -> new, in this order, with the words the text output uses.
FIELD_LABELS = {
    "title": "headline",
    "authors": "byline",
    "published_at": "published",
    "modified_at": "modified",
    "description": "description",
}


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "(none)"
    return "(none)" if value in (None, "") else json.dumps(value, ensure_ascii=False)


def version_lines(entry: Mapping[str, Any], first: bool) -> list[str]:
    """The text lines of one version: a header, then how it differs from the version before it."""
    label = f"version {entry['version']}" + (" (current)" if entry["current"] else "")
    header = f"{label}  from {entry['valid_from']}"
    if entry.get("found_by_run_id") is not None:
        header += f"  run {entry['found_by_run_id']}"
    if first:
        return [header, f"  headline: {_shown(entry.get('title'))}"]
    kinds = entry.get("change_kinds")
    if kinds is None:
        return [f"{header}  changes: not recorded (stored before change kinds were kept)"]
    lines = [f"{header}  changes: {', '.join(kinds) if kinds else 'none in the tracked fields'}"]
    diff = entry.get("diff") or {}
    for field, words in FIELD_LABELS.items():
        if field in diff:
            lines.append(f"  {words}: {_shown(diff[field].get('old'))} -> {_shown(diff[field].get('new'))}")
    lines.extend(f"  correction note added: {note}" for note in diff.get("correction", []))
    if diff.get("text"):
        lines.extend(f"  {line}" for line in diff["text"].splitlines())
    return lines


def history_text(article: Mapping[str, Any], versions: Sequence[Mapping[str, Any]]) -> str:
    count = len(versions)
    title = f"Article {article['id']}: {article['url']}"
    if article.get("source"):
        title += f"  (source {article['source']})"
    summary = f"{count} version{'s' if count != 1 else ''}; current: version {versions[-1]['version']}"
    blocks = [title, summary]
    for position, entry in enumerate(versions):
        blocks.append("")
        blocks.extend(version_lines(entry, first=position == 0))
    return "\n".join(blocks)


def as_of_text(article: Mapping[str, Any], entry: Mapping[str, Any]) -> str:
    """One version in full, as the archive knew the article at ``entry['as_of']``."""
    until = f" to {entry['valid_to']}" if entry.get("valid_to") else " (current)"
    lines = [
        f"Article {article['id']}: {article['url']}",
        f"As of {entry['as_of']}: version {entry['version']}, from {entry['valid_from']}{until}",
    ]
    if entry.get("removed_at"):
        lines.append(f"Offline then: removed at {entry['removed_at']} (HTTP {entry.get('removed_status')})")
    lines.append("")
    for field, words in FIELD_LABELS.items():
        lines.append(f"{words}: {_shown(from_json(entry.get(field)))}")
    lines += ["", entry.get("text") or "(no text)"]
    return "\n".join(lines)


def as_of_document(article: Mapping[str, Any], entry: Mapping[str, Any]) -> dict[str, Any]:
    """``--as-of`` for machines: the article's id and URL, and that version with its lists decoded."""
    document = {**entry, **{name: from_json(entry.get(name)) for name in ("authors", "categories", "tags")}}
    return {"article": {"id": article["id"], "url": article["url"]}, "as_of": document}


def history_document(article: Mapping[str, Any], versions: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    shown = ("id", "url", "source", "title", "version", "first_seen_at", "last_seen_at", "changed_at")
    return {
        "article": {name: article.get(name) for name in shown},
        "versions": [
            {
                **entry,
                **{name: from_json(entry.get(name)) for name in ("authors", "categories", "tags")},
            }
            for entry in versions
        ],
    }


@click.command()
@click.argument("url_or_id")
@CONFIG_OPTION
@DB_OPTION
@click.option(
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text for people; json for machines (every version's full content).",
)
@click.option(
    "--as-of",
    "as_of",
    metavar="TIME",
    help="Only the version the archive had at TIME (ISO 8601, UTC unless an offset is given), in full.",
)
def history(url_or_id: str, config_path: Path | None, db: Path | None, output_format: str, as_of: str | None) -> None:
    """Show every version of an article, oldest first, with its change kinds and diffs.

    URL_OR_ID is the article's id, its canonical URL or any URL that led to it (an alias).
    Change kinds: headline, byline, body, dates, description, correction, reappeared.
    With --as-of, print the article as the archive knew it at that moment.

    \b
    Examples:
      newsarchive history https://news.example/2024/05/01/budget/ --config sources.toml
      newsarchive history 42 --db data/archive.db
      newsarchive history 42 --as-of 2024-05-01T12:00Z
      newsarchive history 42 --format json | jq '.versions[] | .change_kinds'
    """
    config = load_optional_config(config_path)
    path = archive_path(config, db)
    with open_existing_archive(path) as archive:
        try:
            article = archive.article(url_or_id, url_variants(url_or_id))
            if as_of is not None:
                entry = archive.as_of(article["id"], as_of)
            else:
                versions = archive.versions(article["id"])
        except ArchiveError as error:
            if error.path is not None:  # the file failed, not the lookup: one line with its fix, exit 2
                raise
            fail(str(error), EXIT_NOT_FOUND)
    if as_of is not None:
        if output_format == "json":
            click.echo(json.dumps(as_of_document(article, entry), indent=2, ensure_ascii=False))
        else:
            click.echo(as_of_text(article, entry))
        return
    if output_format == "json":
        click.echo(json.dumps(history_document(article, versions), indent=2, ensure_ascii=False))
    else:
        click.echo(history_text(article, versions))
