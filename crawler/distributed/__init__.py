"""Distributed crawls (issue 14): crawl workers on several machines through Redis, one archive.

The Scrapy-free parts: Redis key names (:mod:`.keys`), the explicit JSON codec of items and requests
that cross Redis (:mod:`.codec`; no pickle), the connection check and the outage backoff
(:mod:`.connection`), the reliable item queue (:mod:`.item_queue`), worker heartbeats and in-flight
request leases (:mod:`.leases`), the global per-host politeness (:mod:`.politeness`) and a crawl's
registry and progress (:mod:`.crawls`). The Scrapy components that use them are
crawler.extensions.redis_scheduler, crawler.middlewares.distributed_politeness,
crawler.extensions.distributed_worker, pipelines.redis_items, spiders.distributed_news and
spiders.archive_writer; the processes, crawler.run.distributed_process. Reference: docs/deployment.md.
"""
