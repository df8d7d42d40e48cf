"""Extraction cost per page, this tree against an earlier revision, side by side in one run.

Issue 9 allows extraction to get at most 20 % slower per page. This script measures it honestly:
``git worktree add`` checks the baseline revision out into a temporary folder, and the same
single-core loop of ``crawler.extraction.extract.extract_page`` (no pool: the per-page cost itself)
runs over the same real pages for each tree, in fresh interpreters, alternating baseline and
current for ``--rounds`` rounds so machine noise hits both alike; trafilatura's own
``bare_extraction`` (with metadata) runs in the same loop as the floor. It prints the median
milliseconds per page of each and the ratio current / baseline.

Pages: the real-world fixture (``../shared/fixtures/realworld/pages/*.html.gz``, 137 real article
pages), or any folder of ``*.html`` / ``*.html.gz`` files (``--pages DIR``).

Usage (from the repo root)::

    .venv/bin/python benchmarks/extract_speed_bench.py --baseline 645e355 [--rounds 5] [--pages DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PAGES = ROOT.parent / "shared" / "fixtures" / "realworld" / "pages"

# Runs in a fresh interpreter with the tree under test first on sys.path; prints ms per page.
LOOP = """
import gzip, json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
pages = []
for path in sorted(Path(sys.argv[2]).iterdir()):
    if path.name.endswith(".html.gz"):
        pages.append(gzip.decompress(path.read_bytes()))
    elif path.name.endswith(".html"):
        pages.append(path.read_bytes())
mode = sys.argv[3]
if mode == "trafilatura":
    from trafilatura import bare_extraction
    def one(body):
        bare_extraction(body.decode("utf-8", "replace"), with_metadata=True)
else:
    from crawler.extraction.extract import extract_page
    def one(body):
        extract_page(body, "https://news.example/2024/05/01/story", "text/html; charset=utf-8")
for body in pages[:5]:
    one(body)  # warm-up: imports, compiled selectors, the language model
started = time.perf_counter()
for body in pages:
    one(body)
print(json.dumps({"ms_per_page": (time.perf_counter() - started) * 1000 / len(pages), "pages": len(pages)}))
"""


def measure(tree: Path, pages: Path, mode: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", LOOP, str(tree), str(pages), mode], check=True, capture_output=True, text=True, cwd=tree
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1])["ms_per_page"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--baseline", required=True, help="git revision to compare with (e.g. the commit before a change)"
    )
    parser.add_argument("--pages", type=Path, default=DEFAULT_PAGES, help="folder of *.html or *.html.gz pages")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (median reported)")
    args = parser.parse_args()
    if not args.pages.is_dir():
        print(f"no pages folder at {args.pages}: pass --pages DIR", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="extract-speed-") as folder:
        baseline_tree = Path(folder) / "baseline"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(baseline_tree), args.baseline],
            check=True,
            capture_output=True,
        )
        try:
            times: dict[str, list[float]] = {"baseline": [], "current": [], "trafilatura": []}
            for _ in range(args.rounds):
                times["baseline"].append(measure(baseline_tree, args.pages, "newsarchive"))
                times["current"].append(measure(ROOT, args.pages, "newsarchive"))
                times["trafilatura"].append(measure(ROOT, args.pages, "trafilatura"))
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline_tree)], capture_output=True
            )
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"pages: {args.pages} ({args.rounds} alternating rounds, median ms per page, one core)")
    print(f"{'trafilatura.bare_extraction':32} {median['trafilatura']:8.2f} ms")
    print(f"{'extract_page at ' + args.baseline:32} {median['baseline']:8.2f} ms")
    print(f"{'extract_page now':32} {median['current']:8.2f} ms")
    ratio = median["current"] / median["baseline"]
    print(f"now / baseline: {ratio:.3f}  ({'within' if ratio <= 1.2 else 'OVER'} the +20 % allowed by issue 9)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
