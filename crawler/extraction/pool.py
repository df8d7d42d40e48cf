"""Run :func:`crawler.extraction.extract.extract_page` in worker processes, off Scrapy's reactor thread.

Extraction is CPU-bound (lxml + trafilatura, tens of milliseconds a page); run inline it would
stall every download. :class:`ExtractionPool` hands pages to a ``ProcessPoolExecutor`` and lets the
asyncio reactor await the result. Processes, never threads: trafilatura is not thread-safe and
crashes the interpreter when run from several threads. Workers start from a ``forkserver`` so they
do not inherit Scrapy's reactor, sockets and threads the way ``fork`` would; the forkserver imports
the extractor first (``set_forkserver_preload``), so the workers forked from it share those pages
(each freezes the garbage collector, whose walks would otherwise write to, and so copy, all of them).

A worker that dies (segfault in a C extension, OOM kill) breaks the whole executor. The pool then
builds a fresh executor once and retries the page; a page that breaks the pool twice gets empty
fields with an ``error`` instead of taking the crawl down.

Lifetime: nothing the pool starts outlives the process that owns it. multiprocessing does not see
to that: every worker holds the write ends of the forkserver's "alive" pipe and of the resource
tracker's pipe, so when the owner dies (SIGKILL, the OOM killer) the workers wait on their call
queue for ever, the forkserver and the tracker wait for those pipes to close, and all three live on
re-parented to PID 1. So each worker watches its owner (:func:`watch_process`: a pidfd on Linux,
polling elsewhere) and exits the moment it is gone; the forkserver and the tracker then see their
pipes close and exit by themselves, within a second (multiprocessing's tracker then also removes
the pool's semaphores from /dev/shm: it must not be killed along with the others). Workers ignore
SIGINT (a terminal's Ctrl-C to the whole group): the owner stops them once its pages are done.

Settings: ``workers`` (``None`` -> ``os.cpu_count()``), ``drop_selectors`` and ``min_text_chars``
(passed to ``extract_page``).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import select
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from crawler.extraction.fields import DEFAULT_DROP_SELECTORS, failed_fields
from crawler.processes import pid_is_running

logger = logging.getLogger(__name__)

ATTEMPTS_PER_PAGE = 2
T = TypeVar("T")


OWNER_POLL_S = 0.5  # how often a worker checks its owner where pidfds are missing


def watch_process(pid: int, on_exit: Callable[[], None], name: str = "watch-process") -> threading.Thread:
    """Call ``on_exit`` (in a daemon thread) as soon as process ``pid`` has ended; at once if it already has.

    Linux: waits on a pidfd (``os.pidfd_open``), which names that very process, never a later one
    that reuses its PID, and costs nothing while waiting. Elsewhere: polls every OWNER_POLL_S.
    """

    def wait() -> None:
        try:
            pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            on_exit()
            return
        except (AttributeError, OSError):  # no pidfds here: poll
            while pid_is_running(pid):
                time.sleep(OWNER_POLL_S)
            on_exit()
            return
        try:
            select.select([pidfd], [], [])  # readable once the process has exited
        finally:
            os.close(pidfd)
        on_exit()

    thread = threading.Thread(target=wait, name=name, daemon=True)
    thread.start()
    return thread


def _init_worker(owner_pid: int) -> None:
    """In each worker: exit when the pool's owner is gone; import trafilatura and its data once, not on the first page."""
    import gc
    import signal

    # Ctrl-C at a terminal reaches every process of the group: the owner finishes the pages in
    # flight and then stops the workers itself. SIGTERM keeps its default: the executor stops the
    # workers of a broken pool with it, and waits for them.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.freeze()
    watch_process(owner_pid, lambda: os._exit(1), name="watch-owner")
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
        context = multiprocessing.get_context("forkserver")
        # The forkserver imports the extractor once; each worker forked from it shares those pages.
        context.set_forkserver_preload(["crawler.extraction.extract", "crawler.discovery.page_links"])
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=context,
            initializer=_init_worker,
            initargs=(os.getpid(),),
        )

    async def extract(self, body: bytes, url: str, content_type: str | None) -> dict[str, Any]:
        """Extract one page in a worker process; never raises because a worker died."""
        from crawler.extraction.extract import extract_page  # the workers' import, not this process's

        return await self.call(
            extract_page,
            body,
            url,
            content_type,
            self.drop_selectors,
            self.min_text_chars,
            label=url,
            fallback=failed_fields,
        )

    async def call(self, function: Callable[..., T], *args: Any, label: str, fallback: Callable[[str], T]) -> T:
        """``function(*args)`` in a worker process (a module-level function: it is sent by name).

        Never raises because a worker died: the pool is rebuilt and the call retried; when it broke
        the pool ATTEMPTS_PER_PAGE times, ``fallback(message)`` is returned instead (``label`` names
        the page in the message and the log).
        """
        for attempt in range(1, ATTEMPTS_PER_PAGE + 1):
            executor = self._executor
            if executor is None:
                raise RuntimeError(f"ExtractionPool is closed; cannot extract {label}. Create a new pool.")
            try:
                return await asyncio.wrap_future(executor.submit(function, *args))
            except BrokenProcessPool:
                logger.warning("extraction worker died on attempt %d for %s; restarting the pool", attempt, label)
                self._replace_broken(executor)
        return fallback(
            f"extraction worker died {ATTEMPTS_PER_PAGE} times on {label}; the page crashes the parser, skip it"
        )

    def warm_up(self, function: Callable[[], Any]) -> None:
        """Start every worker now, each running ``function`` once (importing what later calls need),
        so the first pages do not wait for interpreters to start; returns at once."""
        if self._executor is not None:
            for _ in range(self.workers):
                self._executor.submit(function)

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
