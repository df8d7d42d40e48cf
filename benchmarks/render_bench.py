"""What rendering in a browser costs: the same crawl over plain HTTP and through headless Chromium.

Serves the JavaScript fixture site (``tests/jssite.py``: a quarter of the articles with their text
in the HTML, three quarters filled in by JavaScript) on 127.0.0.1 and crawls it, in one run, once
per mode through the real CLI (``python -m crawler.cli.main crawl URL --db … --no-progress``):

- ``plain``: ``--render-js never`` (only the static articles have text);
- ``rendered``: ``--render-js always`` (every page through the browser);
- ``auto`` (with ``--modes``): plain HTTP first, the browser only for pages without text.

While a crawl runs, the resident memory of its whole process tree (the CLI, the crawl process,
extraction workers, Playwright's driver and Chromium's processes, read from /proc) is sampled
every 0.2 s. Prints pages/s, articles and peak memory side by side; with ``--pages`` >= 200 it
also prints the memory every 100 pages, to show whether it stays flat over a long crawl.

Usage (from the repo root; needs Chromium, see crawler/browser/chromium.py)::

    /work/venv/bin/python benchmarks/render_bench.py [--pages 40] [--modes plain,rendered]
        [--concurrency 4] [-s RENDER_MAX_PAGES=4 ...]

RSS adds up every process's resident pages, so memory shared between Chromium's processes is
counted more than once; PSS (proportional set size, from /proc/PID/smaps_rollup) shares it out
and is the fairer total. Both are shown.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_EVERY_S = 0.2
TIMELINE_STEP = 100  # pages between two memory readings in the timeline
MODE_FLAGS = {"plain": "never", "auto": "auto", "rendered": "always"}


@dataclass
class MemorySample:
    rss_kib: int
    pss_kib: int
    processes: int


@dataclass
class CrawlResult:
    mode: str
    wall_s: float
    exit_code: int
    pages: int = 0
    articles: int = 0
    crawl_s: float = 0.0
    peak_rss_kib: int = 0
    peak_pss_kib: int = 0
    peak_processes: int = 0
    timeline: list[tuple[int, int, int]] = field(default_factory=list)  # (pages, rss KiB, pss KiB)
    log: Path | None = None


# --- the process tree's memory, from /proc ------------------------------------------------------


def _parent_pids() -> dict[int, int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # the process ended while we looked
        # The command name (field 2) may hold spaces and parentheses: split after the last ")".
        parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def process_tree(root: int) -> list[int]:
    parents = _parent_pids()
    tree, frontier = [root], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        tree.extend(children)
        frontier = children
    return tree


def _status_kib(pid: int, key: str, file: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def tree_memory(root: int) -> MemorySample:
    pids = process_tree(root)
    rss = sum(_status_kib(pid, "VmRSS:", "status") for pid in pids)
    pss = sum(_status_kib(pid, "Pss:", "smaps_rollup") for pid in pids)
    return MemorySample(rss, pss, len(pids))


# --- one crawl ------------------------------------------------------------------------------------


def _pages_so_far(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT count(*) FROM fetches").fetchone()[0]
    except sqlite3.Error:
        return 0  # the schema is not there yet, or a writer holds a lock for a moment


def _run_totals(db: Path) -> tuple[int, int, float]:
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT pages_fetched, articles_new, duration_s FROM crawl_runs ORDER BY id DESC LIMIT 1"
        ).fetchone()
    return (row[0] or 0, row[1] or 0, row[2] or 0.0) if row else (0, 0, 0.0)


def crawl_command(url: str, db: Path, mode: str, args: argparse.Namespace, use_render_option: bool) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "crawler.cli.main",
        "crawl",
        url,
        "--db",
        str(db),
        "--no-progress",
        "--delay",
        "0",
        "--max-pages",
        str(2 * args.pages + 10),  # auto fetches JS pages twice
        "-s",
        "AUTOTHROTTLE_ENABLED=False",
        "-s",
        f"CONCURRENT_REQUESTS_PER_DOMAIN={args.concurrency}",
        "-s",
        f"DISCOVERY_PATTERN_BUDGET={args.pages + 10}",
    ]
    if use_render_option:
        command += ["--render-js", MODE_FLAGS[mode]]
    else:
        command += ["-s", f"NEWSARCHIVE_RENDER_JS={MODE_FLAGS[mode]}"]
    for pair in args.settings:
        command += ["-s", pair]
    return command


def run_crawl(url: str, workdir: Path, mode: str, args: argparse.Namespace, use_render_option: bool) -> CrawlResult:
    db = workdir / f"{mode}.db"
    log = workdir / f"{mode}.log"
    command = crawl_command(url, db, mode, args, use_render_option)
    started = time.monotonic()
    result = CrawlResult(mode, 0.0, -1, log=log)
    next_mark = TIMELINE_STEP
    with log.open("w") as output:
        child = subprocess.Popen(
            command, cwd=REPO_ROOT, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            while child.poll() is None:
                if time.monotonic() - started > args.timeout:
                    os.killpg(child.pid, signal.SIGKILL)
                    child.wait()
                    print(f"  {mode}: stopped after {args.timeout:g} s (--timeout)", file=sys.stderr)
                    break
                sample = tree_memory(child.pid)
                result.peak_rss_kib = max(result.peak_rss_kib, sample.rss_kib)
                result.peak_pss_kib = max(result.peak_pss_kib, sample.pss_kib)
                result.peak_processes = max(result.peak_processes, sample.processes)
                pages = _pages_so_far(db)
                while pages >= next_mark:
                    result.timeline.append((next_mark, sample.rss_kib, sample.pss_kib))
                    next_mark += TIMELINE_STEP
                time.sleep(SAMPLE_EVERY_S)
        finally:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
    result.wall_s = time.monotonic() - started
    result.exit_code = child.returncode
    if db.exists():
        result.pages, result.articles, result.crawl_s = _run_totals(db)
    return result


# --- report ---------------------------------------------------------------------------------------


def _mib(kib: int) -> str:
    return f"{kib / 1024:.0f} MiB"


def print_results(results: list[CrawlResult], note: str) -> None:
    print(
        f"{'mode':<9} {'pages':>6} {'articles':>9} {'crawl s':>8} {'pages/s':>8} {'wall s':>7} "
        f"{'peak RSS':>9} {'peak PSS':>9} {'procs':>6}  exit"
    )
    for r in results:
        rate = r.pages / r.crawl_s if r.crawl_s else 0.0
        print(
            f"{r.mode:<9} {r.pages:>6} {r.articles:>9} {r.crawl_s:>8.1f} {rate:>8.1f} {r.wall_s:>7.1f} "
            f"{_mib(r.peak_rss_kib):>9} {_mib(r.peak_pss_kib):>9} {r.peak_processes:>6}  {r.exit_code}"
        )
    if note:
        print(note)
    if any(r.timeline for r in results):
        print(f"\nMemory of the process tree every {TIMELINE_STEP} pages (RSS / PSS):")
        marks = sorted({mark for r in results for mark, _, _ in r.timeline})
        print(f"{'pages':>6}  " + "  ".join(f"{r.mode:>19}" for r in results))
        for mark in marks:
            cells = []
            for r in results:
                found = next(((rss, pss) for m, rss, pss in r.timeline if m == mark), None)
                cells.append(f"{_mib(found[0]) + ' / ' + _mib(found[1]) if found else '-':>19}")
            print(f"{mark:>6}  " + "  ".join(cells))
    failed = [r for r in results if r.exit_code != 0]
    for r in failed:
        print(f"\n{r.mode} crawl exited {r.exit_code}; its output is in {r.log}")


def split_pages(pages: int) -> dict[str, int]:
    quarter, extra = divmod(pages, 4)
    return {"n_static": quarter + extra, "n_json": quarter, "n_write": quarter, "n_dom": quarter}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=40, help="article pages on the site (default 40; try 1000)")
    parser.add_argument("--modes", default="plain,rendered", help="comma-separated: plain, auto, rendered")
    parser.add_argument("--concurrency", type=int, default=4, help="parallel requests to the site (default 4)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds one crawl may take (default 1800)")
    parser.add_argument(
        "-s",
        dest="settings",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra setting for every crawl, e.g. -s RENDER_MAX_PAGES=4; repeatable",
    )
    parser.add_argument("--keep", action="store_true", help="keep the archives and crawl logs (path printed)")
    args = parser.parse_args(argv)
    modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    unknown = [mode for mode in modes if mode not in MODE_FLAGS]
    if unknown or args.pages < 1:
        parser.error(f"--modes takes {', '.join(MODE_FLAGS)} (got {unknown}); --pages must be >= 1")

    sys.path.insert(0, str(REPO_ROOT))
    from crawler.browser.chromium import find_browser
    from crawler.demo.server import serve
    from tests.jssite import js_site_app

    browser = find_browser()
    if browser is None and modes != ["plain"]:
        print(
            "No Chromium found: rendered crawls would fall back or fail. Install it: apt-get install chromium",
            file=sys.stderr,
        )
        return 1
    help_text = subprocess.run(
        [sys.executable, "-m", "crawler.cli.main", "crawl", "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    use_render_option = "--render-js" in help_text
    note = (
        ""
        if use_render_option
        else ("note: this CLI has no --render-js yet; modes were set with -s NEWSARCHIVE_RENDER_JS=never|auto|always")
    )
    counts = split_pages(args.pages)
    workdir = Path(tempfile.mkdtemp(prefix="render-bench-"))
    results = []
    with serve(js_site_app(**counts)) as site:
        print(
            f"render_bench: {args.pages} article pages ({counts['n_static']} static, {counts['n_json']} json, "
            f"{counts['n_write']} document.write, {counts['n_dom']} DOM) + home page at {site.base_url}/; "
            f"browser {browser}; {os.cpu_count()} cores; concurrency {args.concurrency}"
            + (f"; settings {' '.join(args.settings)}" if args.settings else ""),
            flush=True,
        )
        for mode in modes:
            print(f"  crawling: {mode} …", file=sys.stderr, flush=True)
            results.append(run_crawl(site.base_url + "/", workdir, mode, args, use_render_option))
    print_results(results, note)
    if args.keep:
        print(f"\narchives and logs kept in {workdir}")
    else:
        shutil.rmtree(workdir)
    return 0 if all(r.exit_code == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
