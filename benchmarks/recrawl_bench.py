"""Recurring crawls (issue 8, "Figures"): what a recrawl costs and what it records, in one run.

Serves the generated test news site (``tests.newssite.NewsSite``) on 127.0.0.1 and crawls it with
the real CLI (``newsarchive crawl --config FILE``, one subprocess per crawl; concurrency 16, no
delay, no AutoThrottle, ``render_js = "never"``), counting what the server answered
(``ServedSite.log``: requests, conditional requests, 304s, body bytes sent):

- A: the first crawl of a fresh archive;
- B: an immediate recrawl of the unchanged site into the same archive. Targets: requests <= 10 %,
  bytes <= 5 %, wall time <= 10 % of A;
- C: ``site.advance(at=now)`` ("one week later": edits, removals, new articles), then a recrawl
  into the same archive. Targets: every new article archived (recall 100 %); every edited article
  (body, correction, headline) has exactly one new ``article_versions`` row whose
  ``change_kinds`` are the edit's; every removed article has ``articles.removed_at``; no new
  version on any unchanged article;
- D: a fresh archive of a fresh copy of the site: a crawl killed with SIGKILL (its whole process
  group) once about half the articles are archived, then the same crawl again to the end.
  Targets: requests of both runs <= 1.1 x A; every expected article archived exactly once.

The fixture's week passes in the site's data (its dates, ``Last-Modified``, ``<lastmod>``); for the
crawler's side of it, the archive's crawl state is moved ``--age-days`` (default 7) into the past
before C (every ``crawl_state`` time, as if B had run a week earlier), so that what is due a week
later is due. ``--age-days 0`` leaves it: C then finds only what the site's signals show. The
expected ``change_kinds`` are the fixture's (``Edit.change_kinds``).

Prints one table of the phases (with ratios to A) and every target's figure with PASS or FAIL.
Exits 0 whatever the figures, unless ``--check`` is given: then 1 when a target fails or cannot
be measured (for example an archive without a ``removed_at`` column).

Usage (from the repo root)::

    .venv/bin/python benchmarks/recrawl_bench.py [--articles 2000] [--seed 1] [--keep DIR] [--check]
        [--age-days 7] [--kill-at 0.5] [--timeout 3600] [-s NAME=VALUE ...]

``--articles 300`` is a quick check (about a minute), but its wall-time ratios mean little: a
crawl's fixed start-up cost (processes, imports) is then a large share of the first crawl.
``--keep DIR`` keeps the archives (``recrawl.db`` for A to C, ``resume.db`` for D), the sources
files, the crawl logs and each crawl's output in DIR.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCE = "newssite"
CONCURRENCY = 16
POLL_EVERY_S = 0.1
GROUP_GONE_WITHIN_S = 10.0
REAL_EDIT_KINDS = ("body", "correction", "headline")  # EditKind values that must make a version

if TYPE_CHECKING:
    from tests.newssite import EpochChanges, NewsSite, RequestLog


# --- crawls ---------------------------------------------------------------------------------------


def newsarchive_command() -> list[str]:
    """The installed ``newsarchive`` script beside this interpreter, else the same CLI as a module."""
    script = Path(sys.executable).with_name("newsarchive")
    return [str(script)] if script.exists() else [sys.executable, "-m", "crawler.cli.main"]


def write_config(folder: Path, name: str, db: str, base_url: str, max_pages: int) -> Path:
    config = folder / f"{name}.toml"
    config.write_text(
        f'[archive]\ndb = "{db}"\n\n'
        f'[[sources]]\nname = "{SOURCE}"\nstart_urls = ["{base_url}/"]\nmax_pages = {max_pages}\n'
        f'download_delay = 0\nconcurrency = {CONCURRENCY}\nrender_js = "never"\n',
        encoding="utf-8",
    )
    return config


@dataclass
class Crawler:
    """Starts ``newsarchive crawl`` for a sources file, each crawl in its own process group."""

    folder: Path
    settings: list[str]
    timeout: float

    def start(self, config: Path, label: str) -> subprocess.Popen[bytes]:
        command = [*newsarchive_command(), "crawl", "--config", str(config), "--no-progress"]
        command += ["-s", "AUTOTHROTTLE_ENABLED=False"]
        for pair in self.settings:
            command += ["-s", pair]
        with (self.folder / f"crawl-{label}.out").open("wb") as output:
            return subprocess.Popen(
                command, cwd=self.folder, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait(self, process: subprocess.Popen[bytes], label: str, started: float) -> int:
        """The crawl's exit code; killed at ``--timeout`` seconds after ``started``, or when this script stops."""
        try:
            return process.wait(timeout=max(0.0, started + self.timeout - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"  {label}: still running after {self.timeout:g} s (--timeout): killed", file=sys.stderr)
        finally:
            if process.poll() is None:  # timed out, or Ctrl-C / an error here: no crawl outlives the benchmark
                kill_group(process)
        return process.returncode

    def run(self, config: Path, label: str) -> tuple[int, float]:
        """Crawl to the end: (exit code, wall seconds)."""
        started = time.monotonic()
        process = self.start(config, label)
        code = self.wait(process, label, started)
        wall = time.monotonic() - started
        if code != 0:
            tail = (self.folder / f"crawl-{label}.out").read_text(errors="replace").splitlines()[-5:]
            print(f"  {label}: newsarchive crawl exited {code}:", *tail, sep="\n    ", file=sys.stderr)
        return code, wall


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the crawl's whole process group (the CLI, the crawl process, its workers) and reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
    deadline = time.monotonic() + GROUP_GONE_WITHIN_S
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(POLL_EVERY_S)
    print(f"  process group {process.pid} still has members {GROUP_GONE_WITHIN_S:g} s after SIGKILL", file=sys.stderr)


@contextmanager
def quiet_disconnects() -> Iterator[None]:
    """A killed crawl resets its connections: no traceback from the fixture server for each of them."""
    original = ThreadingHTTPServer.handle_error  # socketserver.BaseServer's, which prints the traceback

    def handle_error(server: ThreadingHTTPServer, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            original(server, request, client_address)

    ThreadingHTTPServer.handle_error = handle_error  # type: ignore[method-assign]
    try:
        yield
    finally:
        del ThreadingHTTPServer.handle_error  # BaseServer's again


# --- the archive, read-only ---------------------------------------------------------------------


@contextmanager
def read_only(db: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=10)) as connection:
        yield connection


def article_count(db: Path) -> int:
    """Rows in ``articles``; 0 while the archive or its schema does not exist yet."""
    if not db.exists():
        return 0
    try:
        with read_only(db) as connection:
            return connection.execute("SELECT count(*) FROM articles").fetchone()[0]
    except sqlite3.Error:
        return 0


STATE_TIMES = ("discovered_at", "fetched_at", "content_changed_at", "next_due_at", "removed_at")


def age_crawl_state(db: Path, days: float) -> None:
    """Move every crawl_state time ``days`` into the past: the crawler's side of "a week later"."""
    shift = f"-{days * 86400:.0f} seconds"
    assignments = ", ".join(f"{name} = strftime('%Y-%m-%dT%H:%M:%fZ', {name}, ?)" for name in STATE_TIMES)
    connection = sqlite3.connect(db)
    try:
        with connection:
            connection.execute(f"UPDATE crawl_state SET {assignments}", [shift] * len(STATE_TIMES))
    finally:
        connection.close()


def article_urls(db: Path) -> list[str]:
    with read_only(db) as connection:
        return [url for (url,) in connection.execute("SELECT url FROM articles")]


def last_version_row(db: Path) -> int:
    with read_only(db) as connection:
        return connection.execute("SELECT coalesce(max(id), 0) FROM article_versions").fetchone()[0]


def new_versions(db: Path, since: int) -> dict[str, list[list[str] | None]]:
    """Version rows after row ``since``, by article URL: each row's ``change_kinds`` (None if unset)."""
    with read_only(db) as connection:
        columns = {row[1] for row in connection.execute("PRAGMA table_info(article_versions)")}
        kinds = "v.change_kinds" if "change_kinds" in columns else "NULL"
        rows = connection.execute(
            f"SELECT a.url, {kinds} FROM article_versions v JOIN articles a ON a.id = v.article_id "
            "WHERE v.id > ? ORDER BY v.id",
            (since,),
        ).fetchall()
    found: dict[str, list[list[str] | None]] = {}
    for url, change_kinds in rows:
        found.setdefault(url, []).append(json.loads(change_kinds) if change_kinds else None)
    return found


def removed_at(db: Path, urls: Sequence[str]) -> dict[str, str | None] | None:
    """``articles.removed_at`` of these URLs (absent: not archived); None when the column does not exist."""
    with read_only(db) as connection:
        columns = {row[1] for row in connection.execute("PRAGMA table_info(articles)")}
        if "removed_at" not in columns:
            return None
        wanted = set(urls)
        return {
            url: value for url, value in connection.execute("SELECT url, removed_at FROM articles") if url in wanted
        }


# --- figures --------------------------------------------------------------------------------------


@dataclass
class Phase:
    label: str
    requests: int
    conditional: int
    not_modified: int
    bytes_sent: int
    wall_s: float
    articles: int
    exit_codes: list[int] = field(default_factory=list)


def measured(label: str, log: RequestLog, mark: int, wall_s: float, db: Path, exit_codes: list[int]) -> Phase:
    counts = log.counts(since=mark)
    return Phase(
        label,
        counts.requests,
        counts.conditional,
        counts.not_modified,
        counts.bytes_sent,
        wall_s,
        article_count(db),
        exit_codes,
    )


@dataclass
class Target:
    """One of the issue's figures: what was measured, the goal, and whether it was met (None: not measurable)."""

    label: str
    figure: str
    goal: str
    passed: bool | None

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "FAIL", None: "FAIL (n/a)"}[self.passed]


def share(part: float, whole: float) -> float:
    return part / whole if whole else float("inf")


def ratio_target(label: str, part: float, whole: float, limit: float, unit: str = "") -> Target:
    value = share(part, whole)
    figure = (
        f"{value:.1%} ({part:,.1f}{unit} of {whole:,.1f}{unit})" if unit else f"{value:.1%} ({part:,} of {whole:,})"
    )
    return Target(label, figure, f"<= {limit:.0%}", value <= limit)


def exactly_once(db: Path, expected: set[str]) -> tuple[int, int, int]:
    """(expected articles archived, URLs archived more than once, rows that are not an expected article)."""
    counts = Counter(article_urls(db))
    matched = len(expected & set(counts))
    repeated = sum(1 for count in counts.values() if count > 1)
    extra = sum(count for url, count in counts.items() if url not in expected)
    return matched, repeated, extra


def week_later_targets(
    db: Path, base: str, site: NewsSite, changes: EpochChanges, versions_before: int
) -> tuple[list[Target], list[str]]:
    """Phase C's targets, and lines of detail that are not targets."""
    model = site.model
    archived = set(article_urls(db))
    versions = new_versions(db, versions_before)
    targets: list[Target] = []
    notes: list[str] = []

    added = [base + model.by_id[article_id].path for article_id in changes.added]
    found = sum(1 for url in added if url in archived)
    targets.append(
        Target(
            "C new-article recall",
            f"{share(found, len(added)):.1%} ({found} of {len(added)})",
            "100%",
            found == len(added),
        )
    )

    edits = [edit for edit in changes.edits if edit.kind in REAL_EDIT_KINDS]
    right, problems = 0, Counter[str]()
    for edit in edits:
        url = base + edit.path
        rows = versions.get(url, [])
        if url not in archived:
            problems["not archived"] += 1
        elif not rows:
            problems["no new version"] += 1
        elif len(rows) > 1:
            problems[f"{len(rows)} new versions"] += 1
        elif set(rows[0] or ()) != set(edit.change_kinds):
            got, want = set(rows[0] or ()), set(edit.change_kinds)
            wrong = " ".join([f"-{kind}" for kind in sorted(want - got)] + [f"+{kind}" for kind in sorted(got - want)])
            had = "no" if edit.old_modified is None else "a"
            problems[f"change_kinds {wrong}, page had {had} modified date before"] += 1
        else:
            right += 1
    detail = "; ".join(f"{count}: {what}" for what, count in sorted(problems.items()))
    targets.append(
        Target(
            "C edited articles: exactly one new version, right kinds",
            f"{right} of {len(edits)}" + (f" ({detail})" if detail else ""),
            "all",
            right == len(edits),
        )
    )

    removed = [base + removal.path for removal in changes.removals]
    marks = removed_at(db, removed)
    if marks is None:
        targets.append(Target("C removed articles with removed_at", "n/a (no removed_at column)", "all", None))
    else:
        marked = sum(1 for url in removed if marks.get(url))
        missing = sum(1 for url in removed if url not in marks)
        figure = f"{marked} of {len(removed)}" + (f" ({missing} not archived)" if missing else "")
        targets.append(Target("C removed articles with removed_at", figure, "all", marked == len(removed)))

    unchanged = {base + model.by_id[article_id].path for article_id in changes.unchanged}
    spurious = sum(len(rows) for url, rows in versions.items() if url in unchanged)
    touched = sum(1 for url in versions if url in unchanged)
    targets.append(
        Target(
            "C new versions on unchanged articles",
            f"{spurious} (on {touched} of {len(unchanged)} articles)",
            "0",
            spurious == 0,
        )
    )

    markup = [base + edit.path for edit in changes.edits if edit.kind not in REAL_EDIT_KINDS]
    volatile = [base + model.by_id[article_id].path for article_id in changes.volatile]
    notes.append(
        f"C markup-only edits with a new version: {sum(1 for url in markup if url in versions)} of {len(markup)}; "
        f"new versions of the volatile article (nonce in its HTML): {sum(len(versions.get(url, [])) for url in volatile)} "
        "(both should be 0)"
    )
    notes.append(
        f"C edits by kind: {dict(Counter(str(edit.kind) for edit in changes.edits))}; "
        f"removals by kind: {dict(Counter(str(r.kind) for r in changes.removals))}"
    )
    return targets, notes


# --- the run --------------------------------------------------------------------------------------


def resume_phase(
    crawler: Crawler, folder: Path, args: argparse.Namespace, max_pages: int, first: Phase
) -> tuple[list[Phase], list[Target], list[str]]:
    """D on a fresh copy of the site: crawl, SIGKILL at ``kill_at`` of the articles, crawl again."""
    from tests.newssite import NewsSite, serve_site

    site = NewsSite(n_articles=args.articles, seed=args.seed)
    db = folder / "resume.db"
    kill_at = args.kill_at
    notes: list[str] = []
    with serve_site(site) as local, quiet_disconnects():
        expected = {article.url for article in site.expected_articles(local.base_url)}
        config = write_config(folder, "resume", db.name, local.base_url, max_pages)
        threshold = kill_at * len(expected)
        print(f"D: crawl, killed at {kill_at:.0%} of {len(expected)} articles …", file=sys.stderr, flush=True)
        mark = local.log.mark()
        started = time.monotonic()
        process = crawler.start(config, "D1")
        killed_with = None
        try:
            while process.poll() is None and time.monotonic() - started < crawler.timeout:
                count = article_count(db)
                if count >= threshold:
                    kill_group(process)
                    killed_with = count
                    break
                time.sleep(POLL_EVERY_S)
        finally:
            crawler.wait(process, "D1", started)  # at once when it was killed or ended; kills it otherwise
        first_wall = time.monotonic() - started
        if killed_with is None:
            notes.append(
                f"D: the first crawl ended (exit {process.returncode}) before {kill_at:.0%}: nothing was killed"
            )
        else:
            notes.append(
                f"D: killed after {first_wall:.1f} s with {killed_with} of {len(expected)} articles archived "
                f"({share(killed_with, len(expected)):.0%})"
            )
        killed = measured("D1 killed run", local.log, mark, first_wall, db, [process.returncode])
        print("D: crawl again to the end …", file=sys.stderr, flush=True)
        second_mark = local.log.mark()
        code, second_wall = crawler.run(config, "D2")
        rerun = measured("D2 rerun", local.log, second_mark, second_wall, db, [code])
        both = measured("D  both runs", local.log, mark, first_wall + second_wall, db, [process.returncode, code])
    total = share(both.requests, first.requests)
    figure = f"{total:.2f} x ({both.requests:,} of {first.requests:,})"
    matched, repeated, extra = exactly_once(db, expected)
    targets = [
        Target(
            "D requests (both runs) / A",
            figure if killed_with is not None else f"n/a (nothing was killed); {figure}",
            "<= 1.1 x",
            total <= 1.1 if killed_with is not None else None,
        ),
        Target(
            "D every expected article archived exactly once",
            f"{matched} of {len(expected)}; {repeated} URLs twice; {extra} other rows",
            "all, 0, 0",
            matched == len(expected) and not repeated and not extra,
        ),
    ]
    return [killed, rerun, both], targets, notes


def run(args: argparse.Namespace, folder: Path) -> int:
    sys.path.insert(0, str(REPO_ROOT))
    from tests.newssite import NewsSite, serve_site

    max_pages = args.max_pages or 20 * args.articles + 5000
    crawler = Crawler(folder, args.settings, args.timeout)
    site = NewsSite(n_articles=args.articles, seed=args.seed)
    db = folder / "recrawl.db"
    phases: list[Phase] = []
    targets: list[Target] = []
    notes: list[str] = []
    with serve_site(site) as local:
        base = local.base_url
        config = write_config(folder, "recrawl", db.name, base, max_pages)
        expected_first = {article.url for article in site.expected_articles(base)}
        print(
            f"recrawl_bench: {args.articles} articles (seed {args.seed}) at {base}/; {os.cpu_count()} CPUs; "
            f"concurrency {CONCURRENCY}; max_pages {max_pages}; files in {folder}",
            flush=True,
        )

        for label, name in (("A", "A  first crawl"), ("B", "B  recrawl, unchanged")):
            print(f"{label}: {name[3:]} …", file=sys.stderr, flush=True)
            mark = local.log.mark()
            code, wall = crawler.run(config, label)
            phases.append(measured(name, local.log, mark, wall, db, [code]))
            if label == "A":
                matched, repeated, extra = exactly_once(db, expected_first)
                notes.append(
                    f"A: {matched} of {len(expected_first)} expected articles archived, "
                    f"{repeated} URLs twice, {extra} other rows"
                )
        first, again = phases
        targets.append(ratio_target("B requests / A", again.requests, first.requests, 0.10))
        targets.append(ratio_target("B bytes sent / A", again.bytes_sent, first.bytes_sent, 0.05))
        targets.append(ratio_target("B wall time / A", again.wall_s, first.wall_s, 0.10, " s"))

        before = last_version_row(db)
        # Whole seconds: the epoch's times (Last-Modified, <lastmod>) must come after B's last fetch.
        time.sleep(1.1)
        if args.age_days:
            age_crawl_state(db, args.age_days)
        changes = site.advance(at=datetime.now(UTC))
        markup = sum(1 for edit in changes.edits if edit.kind not in REAL_EDIT_KINDS)
        print(
            f"C: week later ({len(changes.added)} new, {len(changes.edits)} edited ({markup} markup only), "
            f"{len(changes.removals)} removed), "
            "recrawl …",
            file=sys.stderr,
            flush=True,
        )
        mark = local.log.mark()
        code, wall = crawler.run(config, "C")
        phases.append(measured("C  recrawl, week later", local.log, mark, wall, db, [code]))
        week_targets, week_notes = week_later_targets(db, base, site, changes, before)
        targets += week_targets
        notes += week_notes

    resume, resume_targets, resume_notes = resume_phase(crawler, folder, args, max_pages, first)
    phases += resume
    targets += resume_targets
    notes += resume_notes

    print_report(phases, targets, notes)
    return 1 if args.check and not all(target.passed for target in targets) else 0


def print_report(phases: list[Phase], targets: list[Target], notes: list[str]) -> None:
    first = phases[0]
    print()
    print(
        f"{'phase':<24}{'requests':>9}{'cond.':>7}{'304s':>7}{'bytes sent':>13}{'wall s':>8}{'articles':>9}"
        f"{'req/A':>8}{'bytes/A':>8}{'wall/A':>8}  exit"
    )
    for phase in phases:
        print(
            f"{phase.label:<24}{phase.requests:>9,}{phase.conditional:>7,}{phase.not_modified:>7,}"
            f"{phase.bytes_sent:>13,}{phase.wall_s:>8.1f}{phase.articles:>9,}"
            f"{share(phase.requests, first.requests):>8.1%}{share(phase.bytes_sent, first.bytes_sent):>8.1%}"
            f"{share(phase.wall_s, first.wall_s):>8.1%}  {','.join(str(code) for code in phase.exit_codes)}"
        )
    print()
    width = max(len(target.label) for target in targets)
    for target in targets:
        print(f"{target.label:<{width}}  {target.verdict:<10}  {target.figure}  (target {target.goal})")
    print()
    for note in notes:
        print(note)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000, help="articles on the site (default 2000; 300 is quick)")
    parser.add_argument("--seed", type=int, default=1, help="the site's seed (default 1)")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep archives, sources files and logs in DIR")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target fails or cannot be measured")
    parser.add_argument(
        "--age-days", type=float, default=7.0, help="C: move the crawl state this far into the past first (7)"
    )
    parser.add_argument("--kill-at", type=float, default=0.5, help="D: kill at this share of the articles (0.5)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds one crawl may take (default 3600)")
    parser.add_argument(
        "--max-pages", type=int, default=0, help="max_pages of the source (default 20 x articles + 5000)"
    )
    parser.add_argument(
        "-s",
        dest="settings",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra setting for every crawl; repeatable",
    )
    args = parser.parse_args(argv)
    if args.articles < 20 or not 0 < args.kill_at < 1:
        parser.error("--articles must be >= 20 and --kill-at between 0 and 1")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        if any(args.keep.iterdir()):
            parser.error(f"--keep {args.keep}: the folder must be empty (the benchmark needs fresh archives)")
        return run(args, args.keep.resolve())
    with tempfile.TemporaryDirectory(prefix="recrawl-bench-") as folder:
        return run(args, Path(folder))


if __name__ == "__main__":
    sys.exit(main())
