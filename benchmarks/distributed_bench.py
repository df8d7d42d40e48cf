"""Figures for distributed crawls (issue 14; docs/deployment.md). Not a test: run it by hand.

    .venv/bin/python benchmarks/distributed_bench.py [--articles 300] [--queued 100000] [--items 2000]

Needs redis-server (apt-get install redis-server); starts its own on a free port. Prints, side by
side: the plain local crawl, 1 worker and 2 workers through Redis (each with one extraction
process, so that the cores, not the pool, decide), articles/s and the ratio 2 workers / 1 worker;
Redis memory per 100k queued URLs (encoded requests in the scrapy-redis queue); and the writer's
items/s (pre-filled item queue, one writer process, the archive's normal write path): in steady
state (first commit to last, read from the archive beside it) and overall (start-up and the idle
check included), with items carrying the MinHash a worker computed (as workers send them) and
without (the writer computes it, as when the boilerplate pipeline changed the text).
"""

from __future__ import annotations

import argparse
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawler.distributed import codec
from crawler.distributed.connection import connect
from crawler.distributed.crawls import mark_seeded, open_crawl
from crawler.distributed.item_queue import ItemQueue
from crawler.distributed.keys import Keys
from crawler.extraction.boilerplate import signature_once_cleaned
from crawler.items import Fetch, PageItem
from tests.newssite import NewsSite, serve_site
from tests.newssite.model import article_paragraphs, build_model

CLI = [sys.executable, "-m", "crawler.cli.main"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(folder: Path, base_url: str, redis_url: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "sources.toml"
    config.write_text(
        f'[archive]\ndb = "archive.db"\n\n[distributed]\nredis_url = "{redis_url}"\nkey_prefix = "{folder.name}"\n\n'
        f'[[sources]]\nname = "bench"\nstart_urls = ["{base_url}/"]\ndownload_delay = 0.0\nconcurrency = 16\n'
    )
    return config


def articles_per_second(config: Path, extra: list[str]) -> tuple[int, float]:
    started = time.monotonic()
    subprocess.run(
        [*CLI, "crawl", "--config", str(config), "--no-progress", "-s", "EXTRACT_WORKERS=1", *extra],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    elapsed = time.monotonic() - started
    with sqlite3.connect(config.parent / "archive.db") as connection:
        (count,) = connection.execute("SELECT count(*) FROM articles").fetchone()
    return count, elapsed


def redis_memory_per_100k(server, queued: int) -> float:
    keys = Keys("memory", "bench")
    request = {
        "url": "https://news.example/2025/03/14/a-typical-article-slug-of-some-length/",
        "callback": "parse_page",
        "errback": "on_error",
        "method": "GET",
        "headers": {},
        "body": b"",
        "cookies": {},
        "meta": {
            "kind": "page",
            "found_by": "link",
            "hops": 2,
            "hints": {},
            "referer_url": "https://news.example/section/page/3/",
        },
        "encoding": "utf-8",
        "priority": 0,
        "dont_filter": False,
        "flags": [],
        "cb_kwargs": {},
    }
    before = server.info("memory")["used_memory"]
    pipe = server.pipeline(transaction=False)
    for n in range(queued):
        request["url"] = f"https://news.example/2025/03/14/a-typical-article-slug-{n}/"
        pipe.zadd(keys.requests, {codec.dumps(request): 0})
        pipe.sadd(keys.dupefilter, f"{n:040x}")
        if n % 5000 == 4999:
            pipe.execute()
    pipe.execute()
    used = server.info("memory")["used_memory"] - before
    server.delete(keys.requests, keys.dupefilter)
    return used / queued * 100_000


def writer_items_per_second(
    folder: Path, server, redis_url: str, items: int, signed: bool = True
) -> tuple[float, float]:
    from archive import Archive

    config = write_config(folder, "http://127.0.0.1:9", redis_url)
    db = folder / "archive.db"
    with Archive(db) as archive:
        run_id = archive.start_run("bench")
    keys = Keys(folder.name, "bench")
    open_crawl(server, keys, run_id, str(db), [])
    mark_seeded(server, keys)
    queue = ItemQueue(server, keys)
    # Real-looking articles: the fixture site's own (distinct texts, a few wire copies among them,
    # as a crawl meets them), each with the MinHash a worker's extraction process computed.
    model = build_model(items, seed=7)
    entries = []
    for article in model.articles[:items]:
        text = "\n\n".join(article_paragraphs(article))
        fetch = Fetch(url=f"http://127.0.0.1:9{article.path}", status=200, bytes=25000)
        item = PageItem(
            source="bench",
            fetch=fetch,
            body=b"<html>" + b"x" * 25000,
            is_article=True,
            reason="article",
            fields={
                "title": article.title,
                "text": text,
                "language": article.language,
                "authors": [author.name for author in article.authors],
            },
        )
        if signed:  # as pipelines.worker_signature signs it (no line learned: the texts have no template)
            item.signature, item.signed_text_hash = signature_once_cleaned(text, [])
        entries.append(codec.encode_message("item", item))
    items = len(entries)
    queue.push_many(entries)
    started = time.monotonic()
    writer = subprocess.Popen(
        [*CLI, "writer", "--config", str(config), "--exit-when-idle"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    first = last = None  # when the archive first held a written article, and when it held them all
    while writer.poll() is None or last is None:
        count = archived_articles(db)
        now = time.monotonic()
        if count and first is None:
            first, first_count = now, count
        if count >= items and last is None:
            last = now
        if writer.poll() is not None and last is None:
            raise SystemExit(f"the writer ended with {count} of {items} articles archived")
        time.sleep(0.01)
    if writer.returncode:
        raise SystemExit(f"the writer failed (exit {writer.returncode})")
    whole = items / (time.monotonic() - started)
    steady = (items - first_count) / (last - first) if last > first else float("nan")
    return whole, steady


def archived_articles(db: Path) -> int:
    """Articles committed so far (read beside the writer: the archive is in WAL mode)."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as connection:
            (count,) = connection.execute("SELECT count(*) FROM articles").fetchone()
        return count
    except sqlite3.OperationalError:  # not created yet
        return 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--queued", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=2000)
    args = parser.parse_args()
    binary = shutil.which("redis-server") or sys.exit("needs redis-server: apt-get install redis-server")
    folder = Path(tempfile.mkdtemp(prefix="distributed-bench-"))
    port = free_port()
    redis = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    redis_url = f"redis://127.0.0.1:{port}/0"
    try:
        server = connect(redis_url)
        with serve_site(NewsSite(n_articles=args.articles, seed=7)) as local:
            rows = []
            for label, extra in (
                ("local crawl", []),
                ("1 worker", ["--distributed", "--processes", "1"]),
                ("2 workers", ["--distributed", "--processes", "2"]),
            ):
                config = write_config(folder / label.replace(" ", "-"), local.base_url, redis_url)
                count, elapsed = articles_per_second(config, extra)
                rows.append((label, count, elapsed, count / elapsed))
        print(f"{'run':<12} {'articles':>8} {'seconds':>8} {'articles/s':>10}")
        for label, count, elapsed, rate in rows:
            print(f"{label:<12} {count:>8} {elapsed:>8.1f} {rate:>10.1f}")
        print(f"2 workers / 1 worker: {rows[2][3] / rows[1][3]:.2f}x")
        print(f"Redis memory per 100k queued URLs: {redis_memory_per_100k(server, args.queued) / 2**20:.1f} MiB")
        for label, signed in (("MinHash from the workers", True), ("MinHash in the writer", False)):
            whole, steady = writer_items_per_second(folder / f"writer-{signed}", server, redis_url, args.items, signed)
            print(
                f"writer, {label}: {steady:.0f} items/s from its first commit to its last, {whole:.0f} items/s"
                f" with start-up and the idle check ({args.items} article items, the archive pipeline)"
            )
    finally:
        redis.terminate()
        redis.wait()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
