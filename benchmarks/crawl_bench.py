"""First-crawl speed (issue 11, "Figures"): newsarchive beside a bare trafilatura loop, in one run.

Generates the fixture news site (``tests.newssite.NewsSite(n_articles, seed, js_share=...)``: with
``--js-share 0.12`` that share of its articles is JavaScript-only, no text in the HTML), serves it on
127.0.0.1 (``tests.newssite.serve_site``, a fresh server for each tool, so every tool meets the
site's one-time 503/429 answers; with TCP_NODELAY, see crawler.demo.server) and, per ``--articles`` size:

1. renders every page of the site once into the fixture's cache (not timed: the server then only
   copies bytes while a tool runs), and fetches the static article pages' HTML from the server once;
2. bare loop: times a plain single-process loop of
   ``trafilatura.bare_extraction(html, url=url, with_metadata=True)`` over those pages (up to
   ``--bare-max`` of them, spread evenly over the site): pages/s and CPU ms per page;
3. crawls the site once per ``--modes`` entry with the real CLI, in a child process:
   ``python -m crawler.cli.main crawl --config sources.toml --db … --no-progress``, one source with
   ``start_urls = [home]``, ``download_delay = 0``, ``concurrency = --concurrency`` (16),
   ``render_js = mode``, ``max_pages`` far above what the site has, plus every ``-s NAME=VALUE``;
4. with ``--peer``: trafilatura's own CLI in sitemap mode over the same site, counting the documents
   it wrote. Its settings.cfg with ``SLEEP_TIME = 0`` (the crawl has no delay either) and
   ``SSRF_PROTECTION = off`` (else it refuses loopback addresses); its ``--parallel`` default
   (download threads; extraction in its one process). Two steps, their times added up:
   ``trafilatura --sitemap BASE/sitemap_index.xml --list`` (the URLs), then
   ``trafilatura -i urls.txt --with-metadata -o DIR``. One step (``--sitemap URL -o DIR``) does not
   end with the installed trafilatura 2.3.1 and courlan 1.4.0: with a compressed ``UrlStore`` (what
   sitemap mode uses) ``get_download_urls`` never marks a URL visited, so it downloads the first
   one forever. And its URL checks refuse an IP address or "localhost" as a host, so the peer's
   server prints ``http://newssite.localhost:PORT`` in its pages and sitemaps, and a wrapper
   (``PEER_WRAPPER``) resolves that name to 127.0.0.1 inside trafilatura's process (it downloads
   with urllib3, through ``socket.getaddrinfo``) before calling ``trafilatura.cli.main``.

Figures, per tool:

- wall s: from starting the child process to its exit (start-up included); articles/s and
  requests/s divide by it;
- articles: rows in the archive's ``articles`` table (the peer: documents written);
- requests: what the fixture server answered while the tool ran (its ``RequestLog``: the same
  yardstick for every tool; a browser's sub-resource requests count too); the crawl's own
  ``crawl_runs.pages_fetched`` and ``requests`` are printed below the table;
- CPU ms per request: user + system CPU of the child's whole process tree, divided by requests:
  each process's own CPU (``/proc/PID/stat``), read every 0.2 s, its last reading summed over every
  process the tree had (the CLI, the crawl process, the extraction workers and their forkserver,
  Playwright's driver, Chromium's processes); not the fixture server, which runs in this process.
  ``os.wait4``'s rusage would miss the extraction workers: their forkserver is orphaned when the
  crawl process ends, so nothing in the tree reaps it. Below the table the same CPU is split into
  the crawl process (the reactor: one core at most) and the extraction workers;
- peak PSS: the largest sum, over the child's process tree read from /proc every 0.2 s, of each
  process's ``Pss`` from ``/proc/PID/smaps_rollup`` (proportional set size: pages shared between
  processes are shared out, so Chromium's and the workers' shared memory is not counted twice).

Then the issue's ratios: the static crawl's articles/s ÷ the bare loop's pages/s (target ≥ 0.85),
crawl ÷ peer articles/s (target > 1), ``auto`` wall ÷ ``never`` wall on a site with JavaScript
articles (target ≤ 1.5), whether every JavaScript article was archived with its text; with several
``--articles`` sizes, each mode's wall-time ratio between consecutive sizes (time(20k)/time(10k)
target ≤ 2.1) and peak PSS per size (target ≤ 400 MB at 20,000, flat from 5,000).

Usage (from the repo root; ``auto`` needs Chromium, see crawler/browser/chromium.py)::

    .venv/bin/python benchmarks/crawl_bench.py --articles 2000                         # about 2 minutes
    .venv/bin/python benchmarks/crawl_bench.py --articles 2000 --js-share 0.12 --peer  # never and auto
    .venv/bin/python benchmarks/crawl_bench.py --articles 10000,20000 --modes never
        [--seed 1] [--concurrency 16] [--bare-max 3000] [--timeout 1800] [--keep DIR]
        [-s AUTOTHROTTLE_ENABLED=False ...] [--baseline REV]

``--baseline REV`` crawls the same site once more per mode with the code of git revision REV (a
temporary worktree), so before and after are measured in one run, under the same machine load.

Not a timed test: it prints figures and exits 0 unless a child process failed.
"""

from __future__ import annotations

import argparse
import configparser
import dataclasses
import itertools
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
from render_bench import process_tree, tree_memory  # noqa: E402  the same /proc process-tree sampling

if TYPE_CHECKING:
    from crawler.demo.server import Reply
    from tests.newssite import NewsSite, ServedSite

SOURCE = "newssite"
SAMPLE_EVERY_S = 0.2
MODES = ("never", "auto", "always")
TARGET_VS_BARE = 0.85
TARGET_AUTO_VS_NEVER = 1.5
TARGET_DOUBLING = 2.1
TARGET_PSS_MB = 400
LOG_PROBLEM_WORDS = ("Traceback", " ERROR", "[ERROR]", '"level": "ERROR"', "CRITICAL")


# --- child processes: wall, CPU of the tree, peak PSS -----------------------------------------------


@dataclass
class ChildRun:
    label: str
    exit_code: int = -1
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_pss_kib: int = 0
    peak_processes: int = 0
    timed_out: bool = False
    output: Path | None = None
    load: tuple[float, float] = (0.0, 0.0)  # the machine's 1-minute load average at start and end
    cpu_by_kind: dict[str, float] = field(default_factory=dict)  # seconds: crawl process, workers, other

    def per_s(self, count: int) -> float:
        """``count`` per second of the run's wall time."""
        return count / self.wall_s if self.wall_s else 0.0


def _cpu_seconds(pid: int) -> tuple[float, str] | None:
    """The process's user + system CPU so far, and what it is (crawl, workers, other); None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        command = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    kind = "crawl process" if "crawl_process" in command else "workers" if "multiprocessing" in command else "other"
    return ticks / os.sysconf("SC_CLK_TCK"), kind


def sample_cpu(pids: list[int], seen: dict[int, tuple[float, str]]) -> None:
    """Keep each process's latest CPU reading in ``seen``."""
    for pid in pids:
        reading = _cpu_seconds(pid)
        if reading is not None:
            cpu, kind = reading
            # An exited process not yet reaped has an empty cmdline: it keeps the kind it was seen as.
            seen[pid] = (cpu, seen[pid][1] if pid in seen and kind == "other" else kind)


def run_child(label: str, command: list[str], cwd: Path, output: Path, timeout: float) -> ChildRun:
    """Run ``command`` to its end in its own process group, sampling its tree's PSS every 0.2 s."""
    result = ChildRun(label, output=output)
    cpu_seen: dict[int, tuple[float, str]] = {}
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    with output.open("wb") as sink:
        child = subprocess.Popen(command, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid == child.pid:
                child.returncode = result.exit_code = os.waitstatus_to_exitcode(status)
                result.cpu_s = usage.ru_utime + usage.ru_stime
                break
            if time.monotonic() - started > timeout:
                result.timed_out = True
                os.killpg(child.pid, signal.SIGKILL)
                _, status, usage = os.wait4(child.pid, 0)
                child.returncode = result.exit_code = os.waitstatus_to_exitcode(status)
                result.cpu_s = usage.ru_utime + usage.ru_stime
                print(f"  {label}: stopped after {timeout:g} s (--timeout)", file=sys.stderr)
                break
            sample = tree_memory(child.pid)
            sample_cpu(process_tree(child.pid), cpu_seen)
            result.peak_pss_kib = max(result.peak_pss_kib, sample.pss_kib)
            result.peak_processes = max(result.peak_processes, sample.processes)
            time.sleep(SAMPLE_EVERY_S)
    finally:
        if child.returncode is None:  # Ctrl-C or an error here: no child outlives the benchmark
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        else:
            try:
                os.killpg(child.pid, signal.SIGKILL)  # stragglers of the group, if any
            except ProcessLookupError:
                pass
    result.wall_s = time.monotonic() - started
    result.load = (load_before, os.getloadavg()[0])
    if cpu_seen:
        result.cpu_s = max(result.cpu_s, sum(seconds for seconds, _ in cpu_seen.values()))
        for seconds, kind in cpu_seen.values():
            result.cpu_by_kind[kind] = result.cpu_by_kind.get(kind, 0.0) + seconds
    return result


def log_problems(paths: list[Path], limit: int = 5) -> tuple[int, list[str]]:
    """Lines of a child's output and run logs that look like errors: their number and the first few."""
    lines = []
    for path in paths:
        if path.exists():
            text = path.read_text(errors="replace").splitlines()
            lines += [line for line in text if any(word in line for word in LOG_PROBLEM_WORDS)]
    return len(lines), lines[:limit]


# --- the site ---------------------------------------------------------------------------------------


def warm_cache(site: NewsSite) -> int:
    """Render every page the site links or lists once into its cache (not timed). Returns pages rendered."""
    from crawler.demo.server import Request
    from tests.newssite import feeds

    model = site.model
    paths = ["/robots.txt", "/feed/rss.xml", "/feed/atom.xml", "/sitemap_index.xml"]
    paths += list(feeds.sitemap_index_paths(model))
    paths += [a.path for a in model.articles] + [a.amp_path for a in model.articles if a.amp_path]
    paths += [c.path for c in model.wire_copies]
    base = "http://127.0.0.1:1"
    paths += [url.removeprefix(base) for url in site.non_article_urls(base)]
    for path in paths:
        site.app(Request("GET", path, {}, base))
    return len(paths)


def fetch_once(url: str) -> bytes:
    """A page's body; once more after the fixture's one-time 503 or 429."""
    for attempt in (1, 2):
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            if error.code not in (429, 503) or attempt == 2:
                raise
    raise AssertionError("unreachable")


def spread(items: list[str], most: int) -> list[str]:
    """At most ``most`` items, evenly spaced over the list (all of them when it is shorter)."""
    if len(items) <= most:
        return items
    step = len(items) / most
    return [items[int(k * step)] for k in range(most)]


# --- the bare loop ------------------------------------------------------------------------------------


@dataclass
class BareLoop:
    pages: int
    wall_s: float
    cpu_s: float
    empty: int  # pages trafilatura returned nothing for
    load: tuple[float, float] = (0.0, 0.0)

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.wall_s if self.wall_s else 0.0

    @property
    def cpu_ms_per_page(self) -> float:
        return 1000 * self.cpu_s / self.pages if self.pages else 0.0


def bare_loop(pages: list[tuple[str, bytes]]) -> BareLoop:
    """``trafilatura.bare_extraction(html, url=url, with_metadata=True)`` over the pages, one process, one core."""
    from trafilatura import bare_extraction

    if pages:
        bare_extraction(pages[0][1], url=pages[0][0], with_metadata=True)  # lazy imports and caches, untimed
    empty = 0
    load_before = os.getloadavg()[0]
    wall_started, cpu_started = time.perf_counter(), time.process_time()
    for url, html in pages:
        if bare_extraction(html, url=url, with_metadata=True) is None:
            empty += 1
    wall, cpu = time.perf_counter() - wall_started, time.process_time() - cpu_started
    return BareLoop(len(pages), wall, cpu, empty, (load_before, os.getloadavg()[0]))


# --- crawls -------------------------------------------------------------------------------------------


@dataclass
class Crawl:
    mode: str
    run: ChildRun
    requests_served: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    articles: int = 0
    expected_found: int = 0
    expected_static: int = 0
    static_found: int = 0
    js_total: int = 0
    js_archived: int = 0
    js_with_text: int = 0
    run_row: dict[str, object] = field(default_factory=dict)
    db: Path | None = None

    @property
    def articles_per_s(self) -> float:
        return self.run.per_s(self.articles)


def write_sources(folder: Path, db: Path, base_url: str, mode: str, concurrency: int, max_pages: int) -> Path:
    config = folder / "sources.toml"
    config.write_text(
        f'[archive]\ndb = "{db}"\n\n'
        f'[[sources]]\nname = "{SOURCE}"\nstart_urls = ["{base_url}/"]\nmax_pages = {max_pages}\n'
        f'download_delay = 0\nconcurrency = {concurrency}\nrender_js = "{mode}"\n',
        encoding="utf-8",
    )
    return config


def crawl(
    site: NewsSite, mode: str, folder: Path, args: argparse.Namespace, tree: Path = REPO_ROOT, label: str | None = None
) -> Crawl:
    """Crawl the site with render_js = ``mode`` and the code of ``tree`` (this checkout, or --baseline's)."""
    from tests.newssite import serve_site

    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "archive.db"
    with serve_site(site) as served:
        base = served.base_url
        config = write_sources(folder, db, base, mode, args.concurrency, max_pages=4 * site.n_articles + 2000)
        command = [sys.executable, "-m", "crawler.cli.main", "crawl", "--config", str(config), "--db", str(db)]
        command += ["--no-progress", "--log-dir", str(folder / "logs")]
        for pair in args.settings:
            command += ["-s", pair]
        # ``python -m`` puts the working folder first on sys.path: the crawl runs ``tree``'s code.
        run = run_child(f"crawl {label or mode}", command, tree, folder / "crawl.out", args.timeout)
        counts = served.log.counts()
        result = Crawl(label or mode, run, counts.requests, counts.statuses, db=db)
        read_archive(result, site, base)
    return result


def read_archive(result: Crawl, site: NewsSite, base: str) -> None:
    """Articles stored, expected articles found, JavaScript articles archived with their text, the run row."""
    db = result.db
    if db is None or not db.exists():
        return
    expected = {e.url: e for e in site.expected_articles(base)}
    js_urls = set(site.js_article_urls(base))
    with closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)) as connection:
        connection.row_factory = sqlite3.Row
        try:
            stored = {row["url"]: row["text"] or "" for row in connection.execute("SELECT url, text FROM articles")}
            row = connection.execute("SELECT * FROM crawl_runs ORDER BY id DESC LIMIT 1").fetchone()
        except sqlite3.Error as error:
            print(f"  crawl {result.mode}: cannot read the archive: {error}", file=sys.stderr)
            return
    result.articles = len(stored)
    result.expected_found = sum(url in stored for url in expected)
    result.expected_static = len(expected) - len(js_urls & set(expected))
    result.static_found = sum(url in stored for url in expected if url not in js_urls)
    result.js_total = len(js_urls)
    result.js_archived = sum(url in stored for url in js_urls)
    result.js_with_text = sum(has_text(stored[url], expected[url].paragraphs) for url in js_urls if url in stored)
    result.run_row = dict(row) if row is not None else {}


def has_text(stored: str, paragraphs: list[str]) -> bool:
    """The stored text holds the article: the start of at least half of its paragraphs."""
    flat = " ".join(stored.split())
    starts = [" ".join(p.split())[:50] for p in paragraphs]
    return sum(start in flat for start in starts) * 2 >= len(starts)


# --- the peer: trafilatura's CLI ---------------------------------------------------------------------


@dataclass
class Peer:
    run: ChildRun
    documents: int
    requests_served: int
    statuses: dict[int, int]
    listed_urls: int

    @property
    def documents_per_s(self) -> float:
        return self.run.per_s(self.documents)


# trafilatura's URL checks (courlan) refuse an IP address or "localhost" as a host, so the peer gets the
# site under this name: its pages and sitemaps print it, and the wrapper below resolves it to 127.0.0.1
# inside trafilatura's process (it downloads with urllib3, which resolves through socket.getaddrinfo).
PEER_HOST = "newssite.localhost"
PEER_WRAPPER = f"""
import socket, sys
_resolve = socket.getaddrinfo
def getaddrinfo(host, *args, **kwargs):
    return _resolve("127.0.0.1" if host == {PEER_HOST!r} else host, *args, **kwargs)
socket.getaddrinfo = getaddrinfo
sys.argv[0] = "trafilatura"
from trafilatura.cli import main
main()
"""


@contextmanager
def serve_named(site: NewsSite, host: str) -> Iterator[ServedSite]:
    """``serve_site``, but the pages print ``http://HOST:PORT`` as their base URL (the server stays on 127.0.0.1)."""
    from crawler.demo.server import Request, serve
    from tests.newssite.site import FirstTimeFailures, RequestLog, ServedSite

    failures, log = FirstTimeFailures(), RequestLog()

    def app(request: Request) -> Reply:
        named = dataclasses.replace(request, base_url=request.base_url.replace("127.0.0.1", host))
        return site.app(named, failures, log)

    with serve(app) as local:
        yield ServedSite(local, site, log)


def peer_config(folder: Path) -> Path:
    """trafilatura's own settings.cfg with no sleep between requests and loopback allowed."""
    import trafilatura

    parser = configparser.ConfigParser()
    parser.read(Path(trafilatura.__file__).with_name("settings.cfg"), encoding="utf-8")
    parser["DEFAULT"]["SLEEP_TIME"] = "0"
    parser["DEFAULT"]["SSRF_PROTECTION"] = "off"
    path = folder / "trafilatura.cfg"
    with path.open("w", encoding="utf-8") as handle:
        parser.write(handle)
    return path


def peer(site: NewsSite, folder: Path, args: argparse.Namespace) -> Peer:
    """trafilatura's CLI over the site's sitemaps, in two steps (see the module docstring): the URLs
    (``--sitemap … --list``), then their download and extraction (``-i urls.txt``); times added up."""
    folder.mkdir(parents=True, exist_ok=True)
    output = folder / "documents"
    urls = folder / "urls.txt"
    config = peer_config(folder)
    with serve_named(site, PEER_HOST) as served:
        sitemap = served.base_url.replace("127.0.0.1", PEER_HOST) + "/sitemap_index.xml"
        listing = [sys.executable, "-c", PEER_WRAPPER, "--sitemap", sitemap, "--list", "--config-file", str(config)]
        listed = run_child("trafilatura --sitemap --list", listing, folder, urls, args.timeout)
        extraction = [sys.executable, "-c", PEER_WRAPPER, "-i", str(urls), "--with-metadata", "-o", str(output)]
        extraction += ["--config-file", str(config)]
        run = run_child("trafilatura -i", extraction, folder, folder / "trafilatura.out", args.timeout)
        counts = served.log.counts()
    run.label = "trafilatura CLI"
    run.wall_s += listed.wall_s
    run.cpu_s += listed.cpu_s
    run.peak_pss_kib = max(run.peak_pss_kib, listed.peak_pss_kib)
    run.exit_code = run.exit_code or listed.exit_code
    run.timed_out = run.timed_out or listed.timed_out
    documents = sum(1 for path in output.rglob("*") if path.is_file()) if output.exists() else 0
    listed_urls = sum(1 for line in urls.read_text(errors="replace").splitlines() if line.startswith("http"))
    return Peer(run, documents, counts.requests, counts.statuses, listed_urls)


# --- offline: which JavaScript pages the extractor calls shells ------------------------------------


def shells_flagged(site: NewsSite) -> tuple[int, int, Counter[str]]:
    """(flagged, JavaScript pages, missed by template): what ``render_js = "auto"`` can detect at all."""
    from crawler.demo.server import Request
    from crawler.extraction.classify import looks_like_javascript_shell
    from crawler.extraction.extract import extract_page

    base = "http://127.0.0.1:1"
    flagged, missed = 0, Counter[str]()
    articles = [a for a in site.model.articles if a.js_only]
    for article in articles:
        reply = site.app(Request("GET", article.path, {}, base))
        fields = extract_page(reply.body, base + article.path, reply.headers.get("Content-Type"))
        if looks_like_javascript_shell(fields):
            flagged += 1
        else:
            missed[article.template] += 1
    return flagged, len(articles), missed


# --- one size -----------------------------------------------------------------------------------------


@dataclass
class SizeResult:
    articles: int
    bare: BareLoop
    crawls: list[Crawl]
    peer: Peer | None
    js_pages: int
    shells: tuple[int, int, Counter[str]] | None


def measure_size(n_articles: int, args: argparse.Namespace, modes: list[str], workdir: Path) -> SizeResult:
    from tests.newssite import NewsSite, serve_site

    site = NewsSite(n_articles, seed=args.seed, js_share=args.js_share)
    started = time.monotonic()
    rendered = warm_cache(site)
    with serve_site(site) as served:
        base = served.base_url
        js_urls = set(site.js_article_urls(base))
        static = [e.url for e in site.expected_articles(base) if e.url not in js_urls]
        sample = spread(static, args.bare_max)
        pages = [(url, fetch_once(url)) for url in sample]
        describe_site(site, served, len(js_urls), len(static), rendered, time.monotonic() - started)
    print(f"  bare loop over {len(pages)} static article pages …", file=sys.stderr, flush=True)
    bare = bare_loop(pages)
    del pages
    crawls = []
    for mode in modes:
        print(f"  crawling: render_js = {mode} …", file=sys.stderr, flush=True)
        crawls.append(crawl(site, mode, workdir / f"{n_articles}-{mode}", args))
        done = crawls[-1]
        print(
            f"    {done.run.wall_s:.1f} s, {done.articles} articles, exit {done.run.exit_code}",
            file=sys.stderr,
            flush=True,
        )
    if args.baseline_tree is not None:
        for mode in modes:
            label = f"{mode} @{args.baseline}"
            print(f"  crawling: render_js = {mode} with the code of {args.baseline} …", file=sys.stderr, flush=True)
            crawls.append(crawl(site, mode, workdir / f"{n_articles}-{mode}-baseline", args, args.baseline_tree, label))
    peer_result = None
    if args.peer:
        print("  trafilatura CLI, sitemap mode …", file=sys.stderr, flush=True)
        peer_result = peer(site, workdir / f"{n_articles}-trafilatura", args)
        print(
            f"    {peer_result.run.wall_s:.1f} s, {peer_result.documents} documents, exit {peer_result.run.exit_code}",
            file=sys.stderr,
            flush=True,
        )
    shells = shells_flagged(site) if js_urls else None
    return SizeResult(n_articles, bare, crawls, peer_result, len(js_urls), shells)


def describe_site(site: NewsSite, served: ServedSite, js: int, static: int, rendered: int, took: float) -> None:
    print(
        f"\n== site: {site.n_articles} articles (seed {site.seed}), {static} static, {js} JavaScript-only "
        f"(js_share {site.js_share:g}), at {served.base_url}/; {rendered} pages rendered into the cache "
        f"in {took:.1f} s",
        flush=True,
    )


# --- report -------------------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return f"{value:.1f}"


def print_size(result: SizeResult, args: argparse.Namespace) -> None:
    header = (
        f"{'mode / tool':<34} {'wall s':>7} {'requests':>9} {'articles':>9} {'articles/s':>11} "
        f"{'requests/s':>11} {'CPU ms/req':>11} {'peak PSS MB':>12}"
    )
    print(header)
    print("-" * len(header))
    for c in result.crawls:
        print(_tool_row(f"newsarchive, render_js = {c.mode}", c.run, c.requests_served, c.articles))
    if result.peer is not None:
        p = result.peer
        print(_tool_row("trafilatura CLI, sitemap mode", p.run, p.requests_served, p.documents))
    b = result.bare
    print(
        f"{'bare trafilatura loop (1 core)':<34} {b.wall_s:>7.1f} {'-':>9} {b.pages:>9} {b.pages_per_s:>11.1f} "
        f"{'-':>11} {_ms(b.cpu_ms_per_page) + '/pg':>11} {'-':>12}"
    )
    print(
        f"  (bare loop: trafilatura.bare_extraction(html, url=url, with_metadata=True) over {b.pages} static "
        f"article pages{f', an even sample of --bare-max {args.bare_max}' if b.pages == args.bare_max else ''}; "
        f"{b.empty} gave nothing; CPU {b.cpu_s:.1f} s of {b.wall_s:.1f} s wall; load average "
        f"{b.load[0]:.1f} -> {b.load[1]:.1f})"
    )
    for c in result.crawls:
        row = c.run_row
        print(
            f"  {c.mode}: exit {c.run.exit_code}{' (timed out)' if c.run.timed_out else ''}, run "
            f"{row.get('status', '?')}, crawl_runs: pages_fetched {row.get('pages_fetched', '?')}, requests "
            f"{row.get('requests', '?')}, duration {float(row.get('duration_s') or 0):.1f} s, pages_rendered "
            f"{row.get('pages_rendered', '?')}, renders_needed {row.get('renders_needed', '?')}, errors "
            f"{row.get('errors', '?')}, rejected {row.get('articles_rejected', '?')}; CPU {c.run.cpu_s:.1f} s ("
            + ", ".join(f"{kind} {seconds:.1f}" for kind, seconds in sorted(c.run.cpu_by_kind.items()))
            + "); "
            f"peak {c.run.peak_processes} processes; load average {c.run.load[0]:.1f} -> {c.run.load[1]:.1f}"
        )
        print(
            f"     expected articles archived {c.expected_found} (static {c.static_found} of {c.expected_static}); "
            f"JavaScript articles archived {c.js_archived} of {c.js_total}, with their text {c.js_with_text}; "
            f"server statuses {dict(sorted(c.statuses.items()))}"
        )
        logs = [c.run.output] if c.run.output else []
        if c.db is not None:
            logs += sorted((c.db.parent / "logs").rglob("*.jsonl"))
        problems, first = log_problems(logs)
        if problems:
            print(
                f"     {problems} error lines in the crawl's output and run log ({c.db.parent if c.db else ''}), first:"
            )
            for line in first:
                print(f"       {line[:200]}")
    if result.peer is not None:
        p = result.peer
        print(
            f"  trafilatura CLI: exit {p.run.exit_code}, {p.listed_urls} URLs from the sitemaps, CPU {p.run.cpu_s:.1f} s, "
            f"load average {p.run.load[0]:.1f} -> {p.run.load[1]:.1f}, server statuses "
            f"{dict(sorted(p.statuses.items()))}"
        )
    if result.shells is not None:
        flagged, total, missed = result.shells
        print(
            f"  JavaScript-only pages the extractor flags as shells (offline, what auto can re-fetch): {flagged} "
            f"of {total}" + (f"; not flagged, by template: {dict(missed)}" if missed else "")
        )


def _cpu_ms_per_request(run: ChildRun, requests: int) -> float:
    return 1000 * run.cpu_s / requests if requests else 0.0


def _per_request(c: Crawl) -> float:
    return _cpu_ms_per_request(c.run, c.requests_served)


def _tool_row(label: str, run: ChildRun, requests: int, stored: int) -> str:
    """One tool's line of the table: wall, requests, articles (documents), rates, CPU, peak PSS."""
    return (
        f"{label:<34} {run.wall_s:>7.1f} {requests:>9} {stored:>9} {run.per_s(stored):>11.1f} "
        f"{run.per_s(requests):>11.1f} "
        f"{_ms(_cpu_ms_per_request(run, requests)):>11} {run.peak_pss_kib / 1024:>12.0f}"
    )


def print_ratios(result: SizeResult) -> None:
    by_mode = {c.mode: c for c in result.crawls}
    never, auto = by_mode.get("never"), by_mode.get("auto")
    print("ratios:")
    if never is not None and result.bare.pages_per_s:
        ratio = never.articles_per_s / result.bare.pages_per_s
        print(
            f"  crawl (never) articles/s ÷ bare loop pages/s: {never.articles_per_s:.1f} ÷ "
            f"{result.bare.pages_per_s:.1f} = {ratio:.2f}  (target ≥ {TARGET_VS_BARE})"
        )
    if result.peer is not None and result.peer.documents_per_s:
        for c in result.crawls:
            ratio = c.articles_per_s / result.peer.documents_per_s
            print(
                f"  crawl ({c.mode}) ÷ trafilatura CLI, articles/s: {c.articles_per_s:.1f} ÷ "
                f"{result.peer.documents_per_s:.1f} = {ratio:.2f}  (target > 1)"
            )
    if never is not None and auto is not None and never.run.wall_s:
        ratio = auto.run.wall_s / never.run.wall_s
        print(
            f"  auto wall ÷ never wall: {auto.run.wall_s:.1f} ÷ {never.run.wall_s:.1f} = {ratio:.2f}  "
            f"(target ≤ {TARGET_AUTO_VS_NEVER})"
        )
    for c in result.crawls:
        base = by_mode.get(c.mode.split(" @")[0]) if " @" in c.mode else None
        if base is not None and c.run.wall_s:
            print(
                f"  {base.mode} now ÷ {c.mode}, wall: {base.run.wall_s:.1f} ÷ {c.run.wall_s:.1f} = "
                f"{base.run.wall_s / c.run.wall_s:.2f}; CPU per request {_per_request(base):.1f} vs {_per_request(c):.1f} ms"
            )
    for c in result.crawls:
        if c.js_total:
            every = "yes" if c.js_with_text == c.js_total else "no"
            print(
                f"  every JavaScript article archived with its text ({c.mode}): {every} "
                f"({c.js_with_text} of {c.js_total}; {c.js_archived} archived at all)"
            )


def print_scaling(results: list[SizeResult]) -> None:
    if len(results) < 2:
        return
    print("\n== scaling")
    modes = [c.mode for c in results[0].crawls]
    for mode in modes:
        walls = [(r.articles, next(c for c in r.crawls if c.mode == mode)) for r in results]
        for (small, a), (large, b) in itertools.pairwise(walls):
            ratio = b.run.wall_s / a.run.wall_s if a.run.wall_s else 0.0
            target = f"  (target ≤ {TARGET_DOUBLING} for twice the articles)" if large == 2 * small else ""
            print(
                f"  {mode}: time({large}) / time({small}) = {b.run.wall_s:.1f} / {a.run.wall_s:.1f} = {ratio:.2f}"
                f"{target}"
            )
        pss = ", ".join(f"{n}: {c.run.peak_pss_kib / 1024:.0f} MB" for n, c in walls)
        print(f"  {mode}: peak PSS by size: {pss}  (target ≤ {TARGET_PSS_MB} MB at 20000, flat from 5000)")


# --- main ---------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, list[int], list[str]]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--articles", default="2000", help="articles on the site; a comma list runs each size")
    parser.add_argument("--js-share", type=float, default=0.0, help="share of JavaScript-only articles (e.g. 0.12)")
    parser.add_argument("--seed", type=int, default=1, help="the site's seed (default 1)")
    parser.add_argument(
        "--modes", default=None, help="comma list of render_js modes (default: never; never,auto with --js-share)"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="the source's concurrency (default 16)")
    parser.add_argument("--peer", action="store_true", help="also run trafilatura's own CLI in sitemap mode")
    parser.add_argument(
        "--bare-max", type=int, default=3000, help="most pages in the bare loop, an even sample (default 3000)"
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds one child process may take (1800)")
    parser.add_argument(
        "-s",
        dest="settings",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra setting for every crawl, e.g. -s AUTOTHROTTLE_ENABLED=False; repeatable",
    )
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR", help="keep archives, logs and outputs here")
    parser.add_argument(
        "--baseline",
        default=None,
        metavar="REV",
        help="also crawl with the code of this git revision (checked out in a temporary worktree), side by side",
    )
    args = parser.parse_args(argv)
    try:
        sizes = [int(part) for part in args.articles.split(",") if part.strip()]
    except ValueError:
        parser.error(f"--articles takes whole numbers, comma-separated (got {args.articles!r})")
    if not sizes or min(sizes) < 20:
        parser.error("--articles: at least 20 articles per site")
    if not 0.0 <= args.js_share <= 1.0:
        parser.error("--js-share is a fraction, 0.0 to 1.0")
    default_modes = "never,auto" if args.js_share > 0 else "never"
    modes = [mode.strip() for mode in (args.modes or default_modes).split(",") if mode.strip()]
    if not modes or any(mode not in MODES for mode in modes):
        parser.error(f"--modes takes {', '.join(MODES)} (got {args.modes!r})")
    return args, sizes, modes


def main(argv: list[str] | None = None) -> int:
    args, sizes, modes = parse_args(argv)
    # Stopped from outside (timeout, kill): unwind, so that no crawl or peer outlives the benchmark.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    sys.path.insert(0, str(REPO_ROOT))
    from crawler.browser.chromium import find_browser

    browser = find_browser()
    if browser is None and set(modes) - {"never"}:
        print("No Chromium found: install it (apt-get install chromium) or use --modes never", file=sys.stderr)
        return 1
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="crawl-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    args.baseline_tree = None
    if args.baseline:
        args.baseline_tree = workdir / "baseline-tree"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--force", str(args.baseline_tree), args.baseline],
            cwd=REPO_ROOT,
            check=True,
            capture_output=True,
        )
    print(
        f"crawl_bench: sizes {sizes}, js_share {args.js_share:g}, modes {','.join(modes)}, concurrency "
        f"{args.concurrency}, {os.cpu_count()} cores (load average now {os.getloadavg()[0]:.1f}: other work on the "
        f"machine slows every tool), browser {browser}"
        + (f", settings {' '.join(args.settings)}" if args.settings else "")
        + (", peer: trafilatura CLI" if args.peer else ""),
        flush=True,
    )
    results = []
    try:
        for n_articles in sizes:
            result = measure_size(n_articles, args, modes, workdir)
            print_size(result, args)
            print_ratios(result)
            results.append(result)
        print_scaling(results)
    finally:
        if args.baseline_tree is not None:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(args.baseline_tree)], cwd=REPO_ROOT, capture_output=True
            )
        if args.keep:
            print(f"\narchives, logs and outputs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    failed = [c for r in results for c in r.crawls if c.run.exit_code != 0]
    failed_peer = [r.peer for r in results if r.peer is not None and r.peer.run.exit_code != 0]
    return 1 if failed or failed_peer else 0


if __name__ == "__main__":
    sys.exit(main())
