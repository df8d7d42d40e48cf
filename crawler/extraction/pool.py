"""Run :func:`crawler.extraction.extract.extract_page` in worker processes, off Scrapy's reactor thread.

Extraction is CPU-bound (lxml + trafilatura, tens of milliseconds a page); run inline it would
stall every download. :class:`ExtractionPool` hands pages to a ``ProcessPoolExecutor`` and lets the
asyncio reactor await the result. Processes, never threads: trafilatura is not thread-safe and
crashes the interpreter when run from several threads. Workers start from a ``forkserver`` so they
do not inherit Scrapy's reactor, sockets and threads the way ``fork`` would.

A worker that dies (segfault in a C extension, OOM kill) breaks the whole executor. The pool then
builds a fresh executor once and retries the page; a page that breaks the pool twice gets empty
fields with an ``error`` instead of taking the crawl down.

Settings: ``workers`` (``None`` -> ``os.cpu_count()``), ``drop_selectors`` and ``min_text_chars``
(passed to ``extract_page``).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from crawler.extraction.extract import DEFAULT_DROP_SELECTORS, extract_page, failed_fields

logger = logging.getLogger(__name__)

ATTEMPTS_PER_PAGE = 2


def _warm_worker() -> None:
    """Import trafilatura and its language/date data once per worker, not on the first page."""
    import trafilatura  # noqa: F401


class ExtractionPool:
    """A process pool that extracts pages; ``await pool.extract(body, url, content_type)``."""

    def __init__(
        self,
        workers: int | None = None,
        drop_selectors: tuple[str, ...] = DEFAULT_DROP_SELECTORS,
        min_text_chars: int = 200,
    ) -> None:
        if workers is not None and workers < 1:
            raise ValueError(f"ExtractionPool needs at least 1 worker, got workers={workers}; use None for one per CPU")
        self.workers = workers or os.cpu_count() or 1
        self.drop_selectors = tuple(drop_selectors)
        self.min_text_chars = min_text_chars
        self._executor: ProcessPoolExecutor | None = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=_warm_worker,
        )

    def submit(self, body: bytes, url: str, content_type: str | None) -> Future[dict[str, Any]]:
        """Queue one page on the current executor (raises BrokenProcessPool if it is broken)."""
        if self._executor is None:
            raise RuntimeError(f"ExtractionPool is closed; cannot extract {url}. Create a new pool.")
        return self._executor.submit(extract_page, body, url, content_type, self.drop_selectors, self.min_text_chars)

    async def extract(self, body: bytes, url: str, content_type: str | None) -> dict[str, Any]:
        """Extract one page in a worker process; never raises because a worker died."""
        for attempt in range(1, ATTEMPTS_PER_PAGE + 1):
            executor = self._executor
            try:
                return await asyncio.wrap_future(self.submit(body, url, content_type))
            except BrokenProcessPool:
                logger.warning("extraction worker died on attempt %d for %s; restarting the pool", attempt, url)
                self._replace_broken(executor)
        return failed_fields(
            f"extraction worker died {ATTEMPTS_PER_PAGE} times on {url}; the page crashes the parser, skip it"
        )

    def _replace_broken(self, broken: ProcessPoolExecutor | None) -> None:
        # Many in-flight pages see the same broken executor; only the first replaces it.
        if broken is None or self._executor is not broken:
            return
        broken.shutdown(wait=False, cancel_futures=True)
        self._executor = self._new_executor()

    def worker_pids(self) -> list[int]:
        """PIDs of the live worker processes (for health checks and tests)."""
        if self._executor is None:
            return []
        processes = getattr(self._executor, "_processes", None) or {}
        return [pid for pid, process in list(processes.items()) if process.is_alive()]

    def close(self) -> None:
        """Stop the workers; pending pages are cancelled. Safe to call twice."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ExtractionPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
