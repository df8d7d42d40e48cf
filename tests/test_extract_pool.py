"""ExtractionPool with real forkserver worker processes, including workers killed mid-page."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.extraction.extract import extract_page
from crawler.extraction.pool import ExtractionPool

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"


def golden_pages() -> list[tuple[bytes, str, str | None]]:
    pages = []
    for path in sorted(GOLDEN_DIR.glob("*.json")):
        expected = json.loads(path.read_text(encoding="utf-8"))
        pages.append((path.with_suffix(".html").read_bytes(), expected["url"], expected.get("content_type")))
    return pages


def slow_page(paragraphs: int = 6000) -> bytes:
    """A long page (about a second of extraction) so a worker can be killed while it works on it."""
    body = "".join(
        f"<p>Paragraph {i}: the harbour commissioners agreed to repay loan number {i} from mooring fees over ten years.</p>"
        for i in range(paragraphs)
    )
    return f"<html><head><title>Harbour accounts</title></head><body><article>{body}</article></body></html>".encode()


async def kill_workers_until_done(pool: ExtractionPool, task: asyncio.Task, max_kills: int) -> list[int]:
    killed: list[int] = []
    while not task.done() and len(killed) < max_kills:
        for pid in pool.worker_pids():
            if pid not in killed and len(killed) < max_kills:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        await asyncio.sleep(0.02)
    return killed


@pytest.fixture
def pool() -> Iterator[ExtractionPool]:
    extraction_pool = ExtractionPool(workers=2)
    yield extraction_pool
    extraction_pool.close()


def test_pool_results_equal_inline_extraction(pool: ExtractionPool) -> None:
    pages = golden_pages()

    async def run() -> list[dict]:
        return await asyncio.gather(*(pool.extract(body, url, ctype) for body, url, ctype in pages))

    results = asyncio.run(run())
    assert len(results) == len(pages)
    for (body, url, ctype), result in zip(pages, results):
        assert result == extract_page(body, url, ctype)
    assert len(pool.worker_pids()) == 2


def test_killed_worker_is_replaced_and_page_retried(pool: ExtractionPool, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="crawler.extraction.pool")

    async def run() -> tuple[dict, list[int], dict]:
        await pool.extract(b"<html><body><p>warm up</p></body></html>", "http://127.0.0.1/warm", None)
        task = asyncio.create_task(pool.extract(slow_page(), "http://127.0.0.1/slow", "text/html"))
        await asyncio.sleep(0.2)  # the page is now inside a worker
        killed = await kill_workers_until_done(pool, task, max_kills=1)
        result = await task
        after = await pool.extract(*golden_pages()[0])
        return result, killed, after

    result, killed, after = asyncio.run(run())
    assert len(killed) == 1
    assert "error" not in result
    assert "Paragraph 5999:" in result["text"]
    assert after["text"], "the replacement pool keeps extracting"
    assert killed[0] not in pool.worker_pids()
    assert "worker died on attempt 1 for http://127.0.0.1/slow" in caplog.text


def test_page_that_kills_workers_twice_gets_an_error(pool: ExtractionPool) -> None:
    async def run() -> tuple[dict, list[int]]:
        await pool.extract(b"<html><body><p>warm up</p></body></html>", "http://127.0.0.1/warm", None)
        task = asyncio.create_task(pool.extract(slow_page(), "http://127.0.0.1/poison", "text/html"))
        await asyncio.sleep(0.2)
        killed = await kill_workers_until_done(pool, task, max_kills=10)
        return await task, killed

    result, killed = asyncio.run(run())
    assert len(killed) >= 2
    assert result["text"] == ""
    assert "died 2 times" in result["error"] and "http://127.0.0.1/poison" in result["error"]


def test_default_workers_is_cpu_count_and_close_is_final() -> None:
    extraction_pool = ExtractionPool()
    assert extraction_pool.workers == (os.cpu_count() or 1)
    extraction_pool.close()
    extraction_pool.close()
    with pytest.raises(RuntimeError, match="closed"):
        asyncio.run(extraction_pool.extract(b"<p>x</p>", "http://127.0.0.1/late", None))


def test_zero_workers_is_rejected() -> None:
    with pytest.raises(ValueError, match="at least 1 worker"):
        ExtractionPool(workers=0)
