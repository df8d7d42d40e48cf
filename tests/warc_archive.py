"""Tests' way to a crawled archive with its WARC files: the fixture news site (tests/newssite) crawled
once by the real CLI, then copied for each test that changes it.
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from crawler.cli.main import main


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
    with sqlite3.connect(crawled.db) as connection:  # the crawl points every answered fetch at its record
        (unpointed,) = connection.execute(
            "SELECT count(*) FROM fetches WHERE status IS NOT NULL AND warc_file IS NULL AND outcome != 'duplicate'"
        ).fetchone()
    assert unpointed == 0
    return crawled
