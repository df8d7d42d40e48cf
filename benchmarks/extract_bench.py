"""Extraction throughput: a plain single-core loop vs. ExtractionPool, on the same pages, in one run.

Pages: the article pages of the generated test news site (``tests.newssite.NewsSite``) when it is
available, else the golden pages in ``tests/golden`` replicated with small per-copy changes (a
numbered title and an extra sentence) to ``--pages`` pages.

Usage (from the repo root)::

    /work/venv/bin/python benchmarks/extract_bench.py [--pages 300] [--workers N] [--source auto|golden|newssite]

Prints pages/s for both modes and their ratio. The pool is warmed up (workers started and
trafilatura imported) before timing, as it is in a long crawl.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

Page = tuple[bytes, str, "str | None"]


def golden_pages(count: int) -> list[Page]:
    """The golden pages, copied with a numbered title and an extra sentence until there are ``count``."""
    import json

    golden_dir = REPO_ROOT / "tests" / "golden"
    originals = []
    for spec_path in sorted(golden_dir.glob("*.json")):
        spec = json.loads(spec_path.read_text(encoding="utf-8"))
        originals.append((spec_path.with_suffix(".html").read_bytes(), spec["url"], spec.get("content_type")))
    if not originals:
        raise SystemExit(f"no golden pages in {golden_dir}; run from a full checkout of the repo")
    pages: list[Page] = []
    for copy in range(count):
        body, url, content_type = originals[copy % len(originals)]
        body = body.replace(b"</title>", f" ({copy})</title>".encode(), 1)
        body = body.replace(b"</p>", f" This is copy {copy} of the page.</p>".encode(), 1)
        pages.append((body, f"{url}{'&' if '?' in url else '?'}copy={copy}", content_type))
    return pages


def newssite_pages(count: int) -> list[Page] | None:
    """Article pages rendered by the test news site, or None when it is not available."""
    sys.path.insert(0, str(REPO_ROOT))
    try:
        from crawler.demo.server import Request
        from tests.newssite import NewsSite
    except ImportError:
        return None
    site = NewsSite(n_articles=count)
    model = getattr(site, "model", None)
    articles = getattr(model, "articles", None)
    if not articles:
        return None
    base_url = "http://127.0.0.1:8080"
    pages: list[Page] = []
    for article in articles[:count]:
        reply = site.app(Request(method="GET", path=article.path, headers={}, base_url=base_url))
        if reply.status == 200 and reply.body:
            headers = {key.lower(): value for key, value in reply.headers.items()}
            pages.append((reply.body, base_url + article.path, headers.get("content-type")))
    return pages or None


def run_serial(pages: Sequence[Page]) -> float:
    from crawler.extraction.extract import extract_page

    started = time.perf_counter()
    for body, url, content_type in pages:
        extract_page(body, url, content_type)
    return time.perf_counter() - started


def run_pool(pages: Sequence[Page], workers: int | None) -> tuple[float, int]:
    from crawler.extraction.pool import ExtractionPool

    async def extract_all(pool: ExtractionPool) -> float:
        # Warm-up: start every worker and import trafilatura there, outside the timed part.
        await asyncio.gather(*(pool.extract(*pages[i % len(pages)]) for i in range(pool.workers * 2)))
        started = time.perf_counter()
        await asyncio.gather(*(pool.extract(body, url, content_type) for body, url, content_type in pages))
        return time.perf_counter() - started

    with ExtractionPool(workers=workers) as pool:
        return asyncio.run(extract_all(pool)), pool.workers


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300, help="number of pages (default 300)")
    parser.add_argument("--workers", type=int, default=None, help="pool workers (default: os.cpu_count())")
    parser.add_argument("--source", choices=("auto", "golden", "newssite"), default="auto")
    args = parser.parse_args(argv)

    pages = newssite_pages(args.pages) if args.source in ("auto", "newssite") else None
    source = "tests.newssite article pages"
    if pages is None:
        if args.source == "newssite":
            raise SystemExit("tests.newssite is not available; use --source golden")
        pages, source = golden_pages(args.pages), "golden pages with variations"

    serial_seconds = run_serial(pages)
    pool_seconds, workers = run_pool(pages, args.workers)
    serial_rate = len(pages) / serial_seconds
    pool_rate = len(pages) / pool_seconds
    print(f"pages: {len(pages)} ({source}); CPUs: {os.cpu_count()}")
    print(f"{'mode':<22}{'seconds':>10}{'articles/s':>12}")
    print(f"{'single-core loop':<22}{serial_seconds:>10.2f}{serial_rate:>12.1f}")
    print(f"{f'ExtractionPool ({workers} w)':<22}{pool_seconds:>10.2f}{pool_rate:>12.1f}")
    print(f"ratio pool/serial: {pool_rate / serial_rate:.2f}x")


if __name__ == "__main__":
    main()
