"""A process of a distributed crawl: a worker (fetch, extract, push items) or the writer (the archive).

``python -m crawler.run.distributed_process SPEC_JSON`` with a :class:`crawler.run.crawl_process.CrawlSpec`
whose settings say ``DISTRIBUTED_ROLE`` (``worker`` or ``writer``), ``DISTRIBUTED_REDIS_URL`` and
``DISTRIBUTED_KEY_PREFIX``. Started by ``newsarchive crawl --distributed``, ``newsarchive worker`` and
``newsarchive writer`` (crawler.cli.distributed), from an argument list, never a shell. Stops like a
crawl process (crawler.run.crawl_process.StopRequest: SIGTERM finishes what is in flight, a second
one stops at once; its parent's death stops it).

The role decides the Scrapy components (:func:`role_settings`):

- worker: ``spiders.distributed_news.DistributedNewsSpider``, the shared Redis scheduler
  (crawler.extensions.redis_scheduler), global host politeness
  (crawler.middlewares.distributed_politeness), heartbeats (crawler.extensions.distributed_worker),
  and the item pipelines ``pipelines.extract`` then ``pipelines.redis_items``: no archive, ever;
- writer: ``spiders.archive_writer.ArchiveWriterSpider`` with the boilerplate and archive pipelines,
  filling the run row the seeder created (``NEWSARCHIVE_RUN_ID``).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from crawler.run.crawl_process import (
    EXIT_CONFIG,
    EXIT_CRAWL_FAILED,
    EXIT_OK,
    CrawlSpec,
    begin,
    configure_logging,
    crawl,
    crawl_settings,
    ended,
)

WORKER, WRITER = "worker", "writer"


def role_settings(role: str, settings: Any) -> dict[str, Any]:
    """The components of a worker or of the writer, on top of the crawl's settings."""
    if role == WORKER:
        return {
            "SCHEDULER": "crawler.extensions.redis_scheduler.LeasingScheduler",
            "ITEM_PIPELINES": {
                "pipelines.extract.ExtractPipeline": 300,
                # The MinHash in the worker's extraction pool, not in the one writer (whose ceiling
                # is the fleet's), of the text as the writer will clean it.
                "pipelines.worker_signature.WorkerSignaturePipeline": 700,
                "pipelines.redis_items.RedisItemsPipeline": 800,
            },
            "DOWNLOADER_MIDDLEWARES": {
                **settings.getdict("DOWNLOADER_MIDDLEWARES"),
                "crawler.middlewares.distributed_politeness.DistributedPolitenessMiddleware": 990,
            },
            "EXTENSIONS": {
                **settings.getdict("EXTENSIONS"),
                "crawler.extensions.distributed_worker.DistributedWorkerExtension": 200,
            },
        }
    if role == WRITER:
        return {
            "ITEM_PIPELINES": {
                "pipelines.boilerplate.BoilerplatePipeline": 500,
                "pipelines.archive.ArchivePipeline": 800,
            },
            # One transaction per batch taken from Redis (spiders.archive_writer commits it, then
            # acknowledges it): no commit of half a batch, so a writer killed before the commit has
            # written none of it, and one killed after has written all of it (items and counts).
            "ARCHIVE_BATCH_SIZE": 1_000_000_000,
            "ARCHIVE_COMMIT_INTERVAL": 3600.0,
        }
    raise ValueError(f"DISTRIBUTED_ROLE must be {WORKER!r} or {WRITER!r}, not {role!r}")


def crawl_is_open(settings: Any, source: str) -> bool:
    """Whether the crawl still has its keys (a writer started after it was closed must not close its run again)."""
    from crawler.distributed.connection import Outage, client
    from crawler.distributed.keys import Keys

    server = client(settings.get("DISTRIBUTED_REDIS_URL"))
    keys = Keys(settings.get("DISTRIBUTED_KEY_PREFIX"), source)
    return bool(Outage("writer start").call(lambda: server.exists(keys.crawl)))


def run(spec: CrawlSpec) -> int:
    from crawler.distributed.leases import new_worker_id

    child = begin(spec)
    if isinstance(child, int):
        return child
    role = spec.settings.get("DISTRIBUTED_ROLE")
    configure_logging(spec, child.source.name)
    settings = crawl_settings(spec)
    for name, value in role_settings(role, settings).items():
        settings.set(name, value, priority="cmdline")
    if role == WORKER:
        from spiders.distributed_news import DistributedNewsSpider as spider_class
    else:
        from spiders.archive_writer import ArchiveWriterSpider as spider_class
    if role == WRITER and not crawl_is_open(settings, child.source.name):
        print(f"error: no distributed crawl of {child.source.name} is open in Redis: nothing to write", file=sys.stderr)
        return EXIT_CONFIG

    def prepare(crawler: Any) -> None:
        crawler.distributed_worker_id = new_worker_id()

    crawl(child, settings, spider_class, prepare)
    if role == WORKER:
        return EXIT_CRAWL_FAILED if child.request.requested or child.parent_gone.is_set() else EXIT_OK
    return ended(spec, spec.run_id, child)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m crawler.run.distributed_process SPEC_JSON", file=sys.stderr)
        return EXIT_CONFIG
    logging.getLogger(__name__).debug("distributed process starting")
    return run(CrawlSpec.from_json(args[0]))


if __name__ == "__main__":
    sys.exit(main())
