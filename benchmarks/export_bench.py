"""``newsarchive export`` (issue 10, "Performance"): rows per second per format, and peak memory.

Builds an archive of ``--articles N`` articles of realistic length (about 600 words each, 10
sources, a pool of authors, three languages, publication dates over two years, tags and categories)
with the archive library (``Archive(batch_size=500)``: one crawl run per source, no crawling), then
runs the real command line, ``newsarchive export --format F -o FILE``, once per format, in a child
process each, for one source's articles (about N/10 rows) and for all N. For each it prints the rows,
the wall time, rows per second and the child's peak resident memory (``ru_maxrss`` from
``os.wait4``: that child alone). The start-up of a child (Python, imports, opening the archive) is
measured by an export of zero rows and shown in its own line ("net" rows per second leave it out),
so that the figures of the two sizes can be compared: peak memory that does not grow from N/10 to
N rows is what "streaming" promises. The archive is built in a child process of its own: on Linux a
child's ``ru_maxrss`` starts from its parent's peak at fork, so the parent must stay small.

Exits 0 whatever the figures (a benchmark, not a test).

Usage (from the repo root)::

    .venv/bin/python benchmarks/export_bench.py [--articles 10000] [--keep DIR] [--db ARCHIVE]

``--articles 10000`` (the default) takes a few minutes, most of it building the archive;
``--articles 100000`` takes about ten times as long. ``--keep DIR`` keeps the archive and the
exports in DIR; ``--db ARCHIVE`` reuses an archive built before (with ``--keep``) instead of
building one.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCES = [f"source-{number:02d}" for number in range(10)]
LANGUAGES = ["en"] * 6 + ["de"] * 2 + ["fr"] * 2
WORDS_PER_ARTICLE = 600
BATCH_SIZE = 500
FORMATS = ("jsonl", "csv", "parquet")


def vocabulary(rng: random.Random, size: int = 5000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyzäöüé"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(2, 11))) for _ in range(size)]


def article_text(rng: random.Random, words: list[str]) -> str:
    paragraphs, remaining = [], rng.randint(WORDS_PER_ARTICLE - 150, WORDS_PER_ARTICLE + 150)
    while remaining > 0:
        length = min(remaining, rng.randint(40, 90))
        sentences, left = [], length
        while left > 0:
            size = min(left, rng.randint(6, 20))
            sentences.append(" ".join(rng.choice(words) for _ in range(size)).capitalize() + ".")
            left -= size
        paragraphs.append(" ".join(sentences))
        remaining -= length
    return "\n\n".join(paragraphs)


def build_archive(path: Path, articles: int, seed: int = 1) -> None:
    from archive import Archive

    rng = random.Random(seed)
    words = vocabulary(rng)
    authors = [f"{rng.choice(words).title()} {rng.choice(words).title()}" for _ in range(60)]
    start = datetime(2023, 1, 1, tzinfo=UTC)
    started = time.monotonic()
    with Archive(path, batch_size=BATCH_SIZE, max_batch_seconds=5.0) as archive:
        runs = {source: archive.start_run(source) for source in SOURCES}
        for number in range(articles):
            source = SOURCES[number % len(SOURCES)]
            published = start + timedelta(seconds=rng.randint(0, 2 * 365 * 86400))
            article = {
                "url": f"https://{source}.example/{published:%Y/%m/%d}/story-{number}",
                "source": source,
                "title": " ".join(rng.choice(words) for _ in range(rng.randint(5, 12))).capitalize(),
                "authors": rng.sample(authors, rng.choice([0, 1, 1, 1, 2, 3])),
                "published_at": published.astimezone().isoformat(timespec="seconds"),
                "language": rng.choice(LANGUAGES),
                "description": " ".join(rng.choice(words) for _ in range(25)).capitalize() + ".",
                "site_name": source.title(),
                "categories": [rng.choice(["politics", "world", "business", "sport", "culture"])],
                "tags": rng.sample(words[:300], rng.randint(0, 6)),
                "image": f"https://{source}.example/img/{number}.jpg",
                "text": article_text(rng, words),
                "fetch_mode": "plain",
            }
            fetch = {"url": article["url"], "status": 200, "bytes": 60_000, "elapsed_ms": 120, "found_by": "sitemap"}
            archive.save_article(runs[source], article, fetch)
            if (number + 1) % 10_000 == 0:
                print(f"  {number + 1:,} articles archived ({time.monotonic() - started:.0f} s)", flush=True)
        for run_id in runs.values():
            archive.finish_run(run_id, "succeeded")
    print(f"built {path} with {articles:,} articles in {time.monotonic() - started:.0f} s", flush=True)


@dataclass(frozen=True)
class Measurement:
    output_format: str
    label: str
    rows: int
    seconds: float
    peak_rss_mb: float
    size_mb: float


def newsarchive_command() -> list[str]:
    script = Path(sys.executable).with_name("newsarchive")
    return [str(script)] if script.exists() else [sys.executable, "-m", "crawler.cli.main"]


def run_export(db: Path, output: Path, output_format: str, label: str, extra: list[str]) -> Measurement:
    """One export in a child process: its wall time and its own peak RSS (os.wait4 reports that child alone)."""
    command = [*newsarchive_command(), "export", "--db", str(db), "--format", output_format, "-o", str(output), *extra]
    started = time.monotonic()
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "TERM": "dumb"}
    )
    assert process.stderr is not None
    stderr = process.stderr.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)  # waited here: Popen must not wait again
    seconds = time.monotonic() - started
    if process.returncode != 0:
        raise SystemExit(f"export failed ({process.returncode}): {' '.join(command)}\n{stderr}")
    rows = int(stderr.split()[1].replace(",", ""))  # "Exported 1,234 articles rows as … to …"
    size = output.stat().st_size / 1e6 if output.exists() else 0.0
    return Measurement(output_format, label, rows, seconds, usage.ru_maxrss / 1024, size)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=10_000, help="articles in the generated archive")
    parser.add_argument("--keep", type=Path, help="keep the archive and the exports in this folder")
    parser.add_argument("--db", type=Path, help="reuse this archive (built before with --keep) instead of building")
    parser.add_argument("--build", type=Path, help=argparse.SUPPRESS)  # the child that builds the archive
    options = parser.parse_args(argv)
    if options.build is not None:
        build_archive(options.build, options.articles)
        return 0
    with tempfile.TemporaryDirectory(prefix="export-bench-") as scratch:
        folder = options.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        db = options.db or folder / f"export-bench-{options.articles}.db"
        if options.db is None:
            db.unlink(missing_ok=True)
            # Built in a child process: on Linux a child's ru_maxrss starts from its parent's peak at
            # fork, so this process must stay small for the exports' figures to be their own.
            command = [sys.executable, __file__, "--build", str(db), "--articles", str(options.articles)]
            subprocess.run(command, cwd=REPO_ROOT, check=True)
        print(f"archive: {db} ({db.stat().st_size / 1e6:,.0f} MB)")
        results = []
        for output_format in FORMATS:
            output = folder / f"export.{output_format}"
            results.append(run_export(db, output, output_format, "start-up (0 rows)", ["--source", "no-such-source"]))
            results.append(run_export(db, output, output_format, "one source", ["--source", SOURCES[0]]))
            results.append(run_export(db, output, output_format, "all articles", []))
        print()
        print(
            f"peak RSS of this process (the exports' parent): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
        )
        print("rows/s: rows / wall time of the whole command; net: without the start-up of the same format")
        print(
            f"{'format':8} {'export':18} {'rows':>9} {'seconds':>8} {'rows/s':>9} {'net':>9} {'peak RSS':>9} {'file':>9}"
        )
        startup = {r.output_format: r.seconds for r in results if r.rows == 0}
        for result in results:
            rate = net = "-"
            if result.rows:
                rate = f"{result.rows / result.seconds:,.0f}"
                work = result.seconds - startup.get(result.output_format, 0.0)
                net = f"{result.rows / work:,.0f}" if work > 0 else "-"
            print(
                f"{result.output_format:8} {result.label:18} {result.rows:>9,} {result.seconds:>8.2f} {rate:>9} {net:>9}"
                f" {result.peak_rss_mb:>6.0f} MB {result.size_mb:>6.0f} MB"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
