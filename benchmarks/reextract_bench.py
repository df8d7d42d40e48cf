"""Re-extraction speed: ``newsarchive reextract`` over a crawled fixture site, against the crawl of it.

Crawls the fixture news site (tests/newssite) with the real CLI into a temporary archive (with its
WARC files), then re-extracts every article from the stored responses (no network), and prints
both rates in pages per second: the crawl's (pages fetched / crawl wall time) and the
re-extraction's (stored pages read / re-extraction wall time, the summary's own figure).

    .venv/bin/python benchmarks/reextract_bench.py --articles 300 --workers 2
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from click.testing import CliRunner

from crawler.cli.main import main
from tests.newssite import NewsSite, serve_site
from tests.warc_archive import crawl_fixture_site


def run(articles: int, workers: int | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="reextract-bench-") as folder:
        with serve_site(NewsSite(n_articles=articles, seed=7)) as local:
            started = time.perf_counter()
            crawled = crawl_fixture_site(Path(folder), local.base_url)
            crawl_seconds = time.perf_counter() - started
        with sqlite3.connect(crawled.db) as connection:
            pages = connection.execute("SELECT count(*) FROM fetches WHERE status IS NOT NULL").fetchone()[0]
            stored = connection.execute("SELECT count(*) FROM articles").fetchone()[0]
        args = ["reextract", "--db", str(crawled.db), "--json", "--no-progress"]
        if workers:
            args += ["--workers", str(workers)]
        started = time.perf_counter()
        result = CliRunner().invoke(main, args)
        wall = time.perf_counter() - started
        assert result.exit_code == 0, result.output
        summary = json.loads(result.output)
    return {
        "articles": stored,
        "crawl_pages": pages,
        "crawl_seconds": round(crawl_seconds, 2),
        "crawl_pages_per_second": round(pages / crawl_seconds, 1),
        "reextract_pages": summary["pages_read"],
        "reextract_changed": summary["changed"],
        "reextract_seconds": summary["seconds"],
        "reextract_wall_seconds": round(wall, 2),
        "reextract_pages_per_second": summary["pages_per_second"],
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--workers", type=int, default=None, help="extraction processes (default: one per core)")
    options = parser.parse_args()
    figures = run(options.articles, options.workers)
    for name, value in figures.items():
        print(f"{name:28} {value}")
