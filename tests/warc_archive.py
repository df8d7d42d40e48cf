"""Tests' way to a crawled archive with its WARC files: the fixture news site (tests/newssite) crawled
once by the real CLI, then copied for each test that changes it.

``ensure_pointers`` fills ``fetches.warc_file`` / ``warc_offset`` / ``warc_length`` from the WARC
files when the crawl did not (an archive whose schema predates the pointer columns): each page fetch
points at the last stored answer (response, resource or revisit) of its final URL. A crawl that
writes the pointers itself is left as it is.
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from crawler.cli.main import main
from crawler.warc.reader import iter_records


@dataclass(frozen=True)
class CrawledArchive:
    folder: Path
    db: Path
    warc_dir: Path
    base_url: str

    def copy_to(self, target: Path) -> CrawledArchive:
        """The same archive and WARC folder under ``target`` (for a test that writes)."""
        target.mkdir(parents=True, exist_ok=True)
        for path in self.folder.iterdir():
            if path.name.startswith(self.db.name):
                shutil.copy2(path, target / path.name)
        shutil.copytree(self.warc_dir, target / self.warc_dir.name)
        return CrawledArchive(target, target / self.db.name, target / self.warc_dir.name, self.base_url)


def crawl_fixture_site(folder: Path, base_url: str) -> CrawledArchive:
    """Crawl the site at ``base_url`` with the real CLI into ``folder/archive.db`` (and archive-warc/)."""
    config = folder / "sources.toml"
    config.write_text(
        '[archive]\ndb = "archive.db"\n\n[[sources]]\nname = "fixture"\n'
        f'start_urls = ["{base_url}/"]\ndownload_delay = 0.0\nconcurrency = 8\n'
    )
    result = CliRunner().invoke(main, ["crawl", "--config", str(config), "--no-progress"])
    assert result.exit_code == 0, result.output
    crawled = CrawledArchive(folder, folder / "archive.db", folder / "archive-warc", base_url)
    ensure_pointers(crawled.db, crawled.warc_dir)
    return crawled


def ensure_pointers(db: Path, warc_dir: Path) -> None:
    with sqlite3.connect(db) as connection:
        columns = {row[1] for row in connection.execute("PRAGMA table_info(fetches)")}
        for column, kind in (("warc_file", "TEXT"), ("warc_offset", "INTEGER"), ("warc_length", "INTEGER")):
            if column not in columns:
                connection.execute(f"ALTER TABLE fetches ADD COLUMN {column} {kind}")
        if connection.execute("SELECT count(*) FROM fetches WHERE warc_file IS NOT NULL").fetchone()[0]:
            return  # the crawl wrote them
        last: dict[str, tuple[str, int, int]] = {}
        for path in sorted(warc_dir.glob("*.warc.gz")):
            for stored in iter_records(path):
                last[stored.url] = (path.name, stored.offset, stored.length)
        rows = connection.execute("SELECT id, coalesce(final_url, url) FROM fetches WHERE status IS NOT NULL")
        for fetch_id, url in rows.fetchall():
            if url in last:
                connection.execute(
                    "UPDATE fetches SET warc_file = ?, warc_offset = ?, warc_length = ? WHERE id = ?",
                    [*last[url], fetch_id],
                )
