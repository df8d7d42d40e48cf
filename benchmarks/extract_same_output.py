"""Does this tree's ``extract_page`` return exactly what an earlier revision's does?

A speed change to extraction must not change its output. This script checks it on every page at
hand: the real-world fixture (``../shared/fixtures/realworld/pages/*.html.gz``), the golden pages
(``tests/golden/*.html``), and the generated news site's pages (``NewsSite(n_articles=300, seed=3)``:
every article, its AMP copy, every listing and other page), plus a few broken bodies. ``git worktree
add`` checks the baseline revision out into a temporary folder; each tree runs ``extract_page`` over
the same pages in a fresh interpreter, and the returned dicts are compared whole (they hold no
timings). It prints how many pages differ and, for the first ones, which fields.

Usage (from the repo root)::

    .venv/bin/python benchmarks/extract_same_output.py --baseline 7f620cf [--articles 300] [--seed 3]
"""

from __future__ import annotations

import argparse
import gzip
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REALWORLD = ROOT.parent / "shared" / "fixtures" / "realworld" / "pages"
BASE = "http://127.0.0.1:8000"

# Runs in a fresh interpreter with the tree under test first on sys.path: pages in, fields out (pickles).
LOOP = """
import pickle, sys
sys.path.insert(0, sys.argv[1])
from crawler.extraction.extract import extract_page
pages = pickle.load(open(sys.argv[2], "rb"))
fields = {name: extract_page(body, url, content_type) for name, body, url, content_type in pages}
pickle.dump(fields, open(sys.argv[3], "wb"))
"""

Page = tuple[str, bytes, str, "str | None"]


def site_pages(articles: int, seed: int) -> list[Page]:
    """The generated news site's pages as it serves them (body and Content-Type)."""
    sys.path.insert(0, str(ROOT))
    from tests.newssite.feeds import LastmodStyle
    from tests.newssite.site import NewsSite

    site = NewsSite(n_articles=articles, seed=seed)
    pages: list[Page] = []

    def add(name: str, page: object, url: str) -> None:
        reply = page.reply(BASE)  # type: ignore[attr-defined]
        pages.append((name, reply.body, url, dict(reply.headers).get("Content-Type")))

    for article in site.model.articles:
        add(f"article {article.path}", site._article_page("page", article), BASE + article.path)
        if article.amp_path:
            add(f"amp {article.amp_path}", site._article_page("amp", article), BASE + article.amp_path)
    for url in site.non_article_urls(BASE):
        page = site._listing(site.epoch, url.removeprefix(BASE), LastmodStyle.ISO)
        if page is not None:
            add(f"page {url.removeprefix(BASE)}", page, url)
    return pages


def all_pages(articles: int, seed: int) -> list[Page]:
    pages: list[Page] = []
    if REALWORLD.is_dir():
        for path in sorted(REALWORLD.glob("*.html.gz")):
            pages.append((f"realworld {path.name}", gzip.decompress(path.read_bytes()), "https://news.example/a", None))
    for path in sorted((ROOT / "tests" / "golden").glob("*.html")):
        pages.append((f"golden {path.name}", path.read_bytes(), f"https://golden.example/{path.stem}", "text/html"))
    pages += site_pages(articles, seed)
    pages += [
        ("broken empty", b"", "http://x.example/", "text/html"),
        ("broken blank", b"  \n ", "http://x.example/", None),
        ("broken bytes", b"\x00\x01<<<>>", "http://x.example/", None),
        ("broken no body", b"<html><head><title>T</title></head></html>", "http://x.example/", "text/html"),
    ]
    return pages


def run(tree: Path, pages_file: Path, out: Path) -> dict[str, dict]:
    subprocess.run([sys.executable, "-c", LOOP, str(tree), str(pages_file), str(out)], check=True, cwd=tree)
    return pickle.loads(out.read_bytes())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", required=True, help="git revision to compare with")
    parser.add_argument("--articles", type=int, default=300, help="articles of the generated news site")
    parser.add_argument("--seed", type=int, default=3, help="seed of the generated news site")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="extract-same-") as folder:
        work = Path(folder)
        pages = all_pages(args.articles, args.seed)
        (work / "pages.pickle").write_bytes(pickle.dumps(pages))
        baseline_tree = work / "baseline"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(baseline_tree), args.baseline],
            check=True,
            capture_output=True,
        )
        try:
            before = run(baseline_tree, work / "pages.pickle", work / "before.pickle")
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline_tree)], capture_output=True
            )
        after = run(ROOT, work / "pages.pickle", work / "after.pickle")
    differing = [name for name, _, _, _ in pages if before[name] != after[name]]
    for name in differing[:10]:
        fields = [
            key for key in before[name].keys() | after[name].keys() if before[name].get(key) != after[name].get(key)
        ]
        print(f"differs: {name}: {', '.join(sorted(fields))}")
    print(f"{len(pages)} pages, {len(differing)} with different fields (baseline {args.baseline})")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
