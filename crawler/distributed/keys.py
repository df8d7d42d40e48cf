"""Redis key names, all under one prefix (``[distributed] key_prefix``), per source where they are per crawl."""

from __future__ import annotations

from dataclasses import dataclass

from crawler.sources.distributed_table import KEY_PREFIX  # noqa: F401 - the one definition of a valid prefix


@dataclass(frozen=True)
class Keys:
    """The keys of one source's distributed crawl, ``PREFIX:SOURCE:…``, and the prefix-wide ones."""

    prefix: str
    source: str

    def _key(self, name: str) -> str:
        return f"{self.prefix}:{self.source}:{name}"

    @property
    def requests(self) -> str:  # scrapy-redis priority queue (sorted set of encoded requests)
        return self._key("requests")

    @property
    def dupefilter(self) -> str:  # scrapy-redis RFPDupeFilter (set of request fingerprints)
        return self._key("dupefilter")

    @property
    def leases(self) -> str:  # hash: lease id -> {"worker", "request"}: requests a worker holds
        return self._key("leases")

    @property
    def items(self) -> str:  # list: encoded items waiting for the writer (workers LPUSH, the writer takes the right)
        return self._key("items")

    @property
    def processing(self) -> str:  # list: items the writer took and has not yet committed
        return self._key("items:processing")

    @property
    def stats(self) -> str:  # hash: the workers' Scrapy stats, summed (HINCRBYFLOAT)
        return self._key("stats")

    @property
    def crawl(self) -> str:  # hash: run_id, db, state (running/done), seeded, started_at
        return self._key("crawl")

    @property
    def state(self) -> str:  # string: the source's crawl state rows (JSON), written by the seeder
        return self._key("state")

    @property
    def boilerplate(
        self,
    ) -> str:  # string: JSON list of the source's boilerplate line fingerprints (seeder, then writer)
        return self._key("boilerplate")

    @property
    def seed_claim(self) -> str:  # string: the worker that runs the start requests (expires with it)
        return self._key("seed")

    @property
    def writer_lock(self) -> str:  # string: the writer that holds this crawl (expires unless renewed)
        return self._key("writer")

    @property
    def pages(self) -> str:  # sorted set: one member per page fetched, scored by time (pages/s)
        return self._key("pages")

    @property
    def workers(self) -> str:  # set of worker ids that joined this crawl
        return self._key("workers")

    def heartbeat(self, worker: str) -> str:  # string with a TTL: the worker is alive while it exists
        return f"{self.prefix}:worker:{worker}"

    def host(self, host: str) -> str:  # politeness of one host, shared by every source and worker
        return f"{self.prefix}:host:{host}"

    def all_keys(self) -> list[str]:
        """Every per-crawl key (removed when the crawl is closed)."""
        names = (
            "requests",
            "dupefilter",
            "leases",
            "items",
            "items:processing",
            "stats",
            "crawl",
            "state",
            "boilerplate",
        )
        return [self._key(name) for name in names] + [self.seed_claim, self.writer_lock, self.pages, self.workers]


def active_key(prefix: str) -> str:
    """Set of sources with a distributed crawl open."""
    return f"{prefix}:active"
