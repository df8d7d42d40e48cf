"""Search latency on a large archive (issue 10): p50 / p95 of two-word queries with a source filter.

Builds (once; reused when the file already holds as many articles) an archive of ``--articles``
articles of realistic length (~600 words: templated English news prose from tests/newssite plus
topical words drawn from a 40,000-word Zipf vocabulary, so that a topical word is in tens to a few
thousand articles, as in real news) with the archive library (``Archive.save_article``: FTS
triggers, MinHash and all), 10 sources, 2 years of dates. Then it runs ``archive.research.search``
through an ``ArchiveReader``, as ``newsarchive search`` does:

- topical queries: two words of one article that are not among the 300 most frequent, with that
  article's source as the filter (what a researcher types);
- broad queries: two of the 30th-150th most frequent words (matching a large share of the archive),
  the worst case for bm25 ranking, which scores every match.

It prints p50 / p95 / max latency in ms and the median number of matches, for each kind.

Usage (from the repo root)::

    .venv/bin/python benchmarks/research_bench.py [--articles 100000] [--db /tmp/research-bench.db] [--queries 200]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archive import Archive, ArchiveReader  # noqa: E402
from archive.filters import ArticleFilter  # noqa: E402
from archive.research import search  # noqa: E402
from tests.newssite import prose  # noqa: E402

SOURCES = tuple(f"source-{n:02d}" for n in range(10))
SECTIONS = ("politics", "business", "culture", "sport")
VOCABULARY = 40_000
SYLLABLES = ("ka", "lo", "mi", "ren", "tor", "sa", "vel", "dun", "pe", "ri", "gal", "no", "shi", "ber", "ta", "quo")
START = datetime(2023, 1, 1, tzinfo=UTC)


def vocabulary(rng: random.Random) -> list[str]:
    words: set[str] = set()
    while len(words) < VOCABULARY:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def build(db: Path, count: int) -> None:
    rng = random.Random(7)
    words = vocabulary(rng)
    weights = [1 / rank for rank in range(1, len(words) + 1)]  # Zipf
    cumulative = list(_accumulate(weights))
    templates = prose.sentence_templates("en")
    started = time.monotonic()
    with Archive(db, batch_size=500, max_batch_seconds=5.0) as archive:
        run = archive.start_run("bench")
        for n in range(count):
            section = SECTIONS[n % len(SECTIONS)]
            topical = rng.choices(words, cum_weights=cumulative, k=60)
            paragraphs = [prose.paragraph(rng, "en", section, templates) for _ in range(6)]
            paragraphs.append(" ".join(topical) + ".")
            rng.shuffle(paragraphs)
            published = START + timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
            url = f"https://{SOURCES[n % len(SOURCES)]}.example/{published:%Y/%m/%d}/story-{n}"
            archive.save_article(
                run,
                {
                    "url": url,
                    "source": SOURCES[n % len(SOURCES)],
                    "title": f"{prose.headline(rng, 'en', section)} {topical[0]}",
                    "authors": [prose.person_name(rng)],
                    "published_at": published.isoformat(),
                    "language": "en",
                    "text": "\n\n".join(paragraphs),
                },
                {"url": url, "status": 200, "found_by": "sitemap"},
            )
            if n and n % 10_000 == 0:
                print(f"  built {n:,} articles ({n / (time.monotonic() - started):.0f}/s)", flush=True)
        archive.finish_run(run, "succeeded")
    print(f"built {count:,} articles in {time.monotonic() - started:.0f} s", flush=True)


def _accumulate(values: list[float]) -> list[float]:
    total, out = 0.0, []
    for value in values:
        total += value
        out.append(total)
    return out


def stored_articles(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as connection:
        try:
            return int(connection.execute("SELECT count(*) FROM articles").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def queries(db: Path, count: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(topical, broad) queries with a source each, drawn from the stored texts."""
    rng = random.Random(11)
    with sqlite3.connect(db) as connection:
        sample = connection.execute("SELECT source, text FROM articles WHERE id % 50 = 7 LIMIT 2000").fetchall()
    frequency = Counter(word for _, text in sample for word in set(text.lower().split()) if word.isalpha())
    common = {word for word, _ in frequency.most_common(300)}
    topical = []
    for source, text in rng.sample(sample, count):
        candidates = sorted({w for w in text.lower().split() if w.isalpha() and w not in common and len(w) > 4})
        if len(candidates) >= 2:
            topical.append((" ".join(rng.sample(candidates, 2)), source))
    broad_words = [w for w, _ in frequency.most_common(150)[30:] if len(w) > 4]
    broad = [(" ".join(rng.sample(broad_words, 2)), rng.choice(SOURCES)) for _ in range(max(10, count // 10))]
    return topical, broad


def measure(db: Path, cases: list[tuple[str, str]]) -> tuple[list[float], list[int]]:
    times, matches = [], []
    with ArchiveReader(db) as reader:
        for query, source in cases:
            started = time.perf_counter()
            search(reader, query, ArticleFilter(source=source), limit=20)
            times.append((time.perf_counter() - started) * 1000)
            where, params = ArticleFilter(source=source, query=query).where()
            matches.append(reader.db.execute(f"SELECT count(*) FROM articles WHERE {where}", params).fetchone()[0])
    return times, matches


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--db", type=Path, default=Path("/tmp/research-bench.db"))
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    if stored_articles(args.db) != args.articles:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{args.db}{suffix}").unlink(missing_ok=True)
        build(args.db, args.articles)
    topical, broad = queries(args.db, args.queries)
    size_mb = args.db.stat().st_size / 1e6
    print(f"archive: {args.articles:,} articles, {size_mb:,.0f} MB; warm cache; limit 20, source filter")
    measure(args.db, topical[:10])  # warm the page cache
    print(f"{'queries':10} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'median matches':>15}")
    for name, cases in (("topical", topical), ("broad", broad)):
        times, matches = measure(args.db, cases)
        p95 = statistics.quantiles(times, n=20)[-1]
        print(
            f"{name:10} {len(times):>5} {statistics.median(times):>8.1f} {p95:>8.1f} {max(times):>8.1f}"
            f" {statistics.median(matches):>15,.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
