"""What writing WARC records costs a crawl (issue 13): the same first crawl with ``WARC_ENABLED`` off and on.

Generates the fixture news site (``tests.newssite.NewsSite(n_articles, seed)``), serves it on
127.0.0.1, renders every page once into the site's cache (not timed), then crawls it with the real CLI
in a child process (``python -m crawler.cli.main crawl --config sources.toml``: one source,
``download_delay = 0``, ``concurrency = 16``, ``render_js = "never"``) into a fresh archive, with
``-s WARC_ENABLED=False`` and ``-s WARC_ENABLED=True`` in turn, ``--rounds`` times each, alternating
(off, on, off, on, …) so that a machine busy with something else slows both alike. A fresh server
for each crawl, so every crawl meets the site's one-time 503/429 answers.

Prints per crawl: wall seconds (child start to exit), articles archived, articles/s; then per setting
the median articles/s, the ratio on ÷ off (the requirement: no more than 10 % slower, ratio ≥ 0.90),
and the WARC bytes written per article (every record of every response: pages, feeds, sitemaps,
robots.txt, redirects, errors) with the files' count.

Usage (from the repo root)::

    .venv/bin/python benchmarks/warc_bench.py --articles 1000 --rounds 3    # about 2 minutes
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from crawl_bench import warm_cache  # noqa: E402

from tests.newssite import NewsSite, serve_site  # noqa: E402


def crawl_once(site: NewsSite, folder: Path, warc: bool, concurrency: int) -> dict[str, float]:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    with serve_site(site) as local:
        config = folder / "sources.toml"
        config.write_text(
            '[archive]\ndb = "archive.db"\n\n[[sources]]\nname = "bench"\n'
            f'start_urls = ["{local.base_url}/"]\ndownload_delay = 0.0\nconcurrency = {concurrency}\n'
            'render_js = "never"\nmax_pages = 1000000\n'
        )
        command = [
            sys.executable,
            "-m",
            "crawler.cli.main",
            "crawl",
            "--config",
            str(config),
            "--no-progress",
            "-s",
            f"WARC_ENABLED={warc}",
            "-s",
            f"CONCURRENT_REQUESTS={max(16, concurrency)}",
        ]
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - started
        requests = local.log.counts().requests
    with sqlite3.connect(folder / "archive.db") as connection:
        (articles,) = connection.execute("SELECT count(*) FROM articles").fetchone()
    warc_dir = folder / "archive-warc"
    files = sorted(warc_dir.iterdir()) if warc_dir.is_dir() else []
    return {
        "wall": wall,
        "articles": articles,
        "requests": requests,
        "warc_bytes": sum(path.stat().st_size for path in files),
        "warc_files": len(files),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--keep", type=Path, help="crawl into this folder (kept) instead of a temporary one")
    args = parser.parse_args()

    site = NewsSite(n_articles=args.articles, seed=args.seed)
    warm_cache(site)  # every page rendered once, not timed: the server then only copies bytes
    base = args.keep or Path(tempfile.mkdtemp(prefix="warc-bench-"))
    results: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    print(f"site: {args.articles} articles, seed {args.seed}; {args.rounds} rounds, WARC off then on")
    print(f"{'WARC':5} {'wall s':>8} {'articles':>9} {'requests':>9} {'articles/s':>11} {'WARC MB':>8}")
    for number in range(args.rounds):
        for warc in (False, True):
            result = crawl_once(site, base / f"{'on' if warc else 'off'}-{number}", warc, args.concurrency)
            results[warc].append(result)
            rate = result["articles"] / result["wall"]
            print(
                f"{'on' if warc else 'off':5} {result['wall']:8.2f} {result['articles']:9d} {result['requests']:9d}"
                f" {rate:11.1f} {result['warc_bytes'] / 1e6:8.2f}"
            )
    median = {warc: statistics.median(r["articles"] / r["wall"] for r in runs) for warc, runs in results.items()}
    last_on = results[True][-1]
    print()
    print(f"median articles/s: WARC off {median[False]:.1f}, WARC on {median[True]:.1f}")
    print(f"ratio on/off: {median[True] / median[False]:.3f} (requirement: >= 0.90)")
    print(
        f"WARC: {last_on['warc_bytes'] / max(1, last_on['articles']) / 1024:.1f} KiB per article archived "
        f"({last_on['warc_bytes'] / max(1, last_on['requests']) / 1024:.1f} KiB per request; "
        f"{last_on['warc_files']} file(s), {last_on['warc_bytes'] / 1e6:.1f} MB)"
    )
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
