"""Where ``extract_page`` spends its time: cProfile over the real-world pages, top functions.

One loop of ``crawler.extraction.extract.extract_page`` over the pages (the real-world fixture
``../shared/fixtures/realworld/pages/*.html.gz`` by default, or ``--pages DIR`` of ``*.html`` /
``*.html.gz``) under cProfile, after a warm-up; prints the top functions by cumulative time and by
own time. Compare ``trafilatura/core.py(bare_extraction)``'s share with the whole: the rest is ours.

Usage (from the repo root)::

    .venv/bin/python benchmarks/extract_profile.py [--pages DIR] [--top 40]
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import pstats
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PAGES = ROOT.parent / "shared" / "fixtures" / "realworld" / "pages"
URL = "https://news.example/2024/05/01/story"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=Path, default=DEFAULT_PAGES, help="folder of *.html or *.html.gz pages")
    parser.add_argument("--top", type=int, default=40, help="functions listed per ordering")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from crawler.extraction.extract import extract_page

    pages = []
    for path in sorted(args.pages.iterdir()):
        if path.name.endswith(".html.gz"):
            pages.append(gzip.decompress(path.read_bytes()))
        elif path.name.endswith(".html"):
            pages.append(path.read_bytes())
    for body in pages[:5]:
        extract_page(body, URL, "text/html; charset=utf-8")  # warm-up: imports, the language model
    profile = cProfile.Profile()
    profile.enable()
    for body in pages:
        extract_page(body, URL, "text/html; charset=utf-8")
    profile.disable()
    stats = pstats.Stats(profile)
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
