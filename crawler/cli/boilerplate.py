"""``newsarchive boilerplate [SOURCE]``: the template lines each source's crawls learned to remove.

Learned boilerplate removes text from articles without anyone naming it, so it must be auditable:
this command lists, per source, the lines its crawls count as template lines (with the share of the
source's articles that carry them) and, with ``--all``, the lines still below the bar. Judged with
the default ``BOILERPLATE_MIN_PAGES`` / ``BOILERPLATE_MIN_SHARE`` of crawler/settings.py, by the same
code a crawl uses (crawler/extraction/boilerplate.py).

Settings read: ``--config`` / ``--db`` as for ``history`` (crawler/cli/ops.py). Read-only through
``archive.ArchiveReader``. Exit codes: 0 shown (also when nothing was learned yet), 2 bad usage.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import click

from crawler import settings as defaults
from crawler.cli.ops import (
    CONFIG_OPTION,
    DB_OPTION,
    JSON_OPTION,
    archive_path,
    load_optional_config,
    open_existing_archive,
)
from crawler.extraction.boilerplate import SiteBoilerplate, line_fingerprint


def judged(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with ``share`` and ``removed`` (whether a crawl removes the line now), by source."""
    by_source: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_source[row["source"]].append(row)
    result = []
    for source_rows in by_source.values():
        pages = source_rows[0]["source_pages"]
        model = SiteBoilerplate.restore(
            pages,
            [(line_fingerprint(row["line"]), row["pages"], row["line"]) for row in source_rows],
            min_pages=defaults.BOILERPLATE_MIN_PAGES,
            min_share=defaults.BOILERPLATE_MIN_SHARE,
        )
        for row in source_rows:
            share = row["pages"] / pages if pages else 0.0
            result.append({**row, "share": round(share, 4), "removed": model.is_boilerplate(row["line"])})
    return result


@click.command()
@click.argument("source", required=False)
@CONFIG_OPTION
@DB_OPTION
@click.option("--all", "show_all", is_flag=True, help="Also the counted lines that are not (yet) boilerplate.")
@JSON_OPTION
def boilerplate(source: str | None, config_path: Path | None, db: Path | None, show_all: bool, as_json: bool) -> None:
    """List the template lines crawls learned to remove from SOURCE's articles (every source without it).

    A line found on enough of a source's articles (BOILERPLATE_MIN_SHARE, after BOILERPLATE_MIN_PAGES
    articles) is removed from their text; turn learning off with -s BOILERPLATE_ENABLED=False.

    \b
    Examples:
      newsarchive boilerplate --config sources.toml
      newsarchive boilerplate example-news --all --db data/archive.db
      newsarchive boilerplate --json | jq '.[] | select(.removed) | .line'
    """
    config = load_optional_config(config_path)
    with open_existing_archive(archive_path(config, db)) as archive:
        rows = judged(archive.boilerplate(source))
    shown = [row for row in rows if show_all or row["removed"]]
    if as_json:
        click.echo(json.dumps(shown, indent=2, ensure_ascii=False))
        return
    if not shown:
        click.echo("No boilerplate learned" + (f" for {source}" if source else "") + " yet.")
        return
    current = None
    for row in shown:
        if row["source"] != current:
            current = row["source"]
            click.echo(f"{current} ({row['source_pages']} articles counted)")
        mark = "removed" if row["removed"] else "kept"
        click.echo(f"  {row['share']:6.1%}  {mark:7}  {row['line']}")
