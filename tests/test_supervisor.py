"""crawler.run.supervisor.close_run and the spider's failure kinds: decided from data, never from words.

close_run gets real child processes (a Python that exits as told, one killed by a signal) and a
real archive; the spider's helpers get real Scrapy, Twisted and Playwright exception objects.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from playwright.async_api import TimeoutError as BrowserTimeoutError
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
)
from twisted.internet import error as tx_error
from twisted.python.failure import Failure

from archive import Archive
from archive.models import ReasonKind, RunStatus
from crawler.run.crawl_process import EXIT_CRAWL_FAILED, EXIT_OK, CrawlSpec, recorded_exit_code
from crawler.run.supervisor import CrawlChild, close_run, mark_interrupted
from spiders.failures import failure_kind, redirects_exhausted


def finished_child(archive: Archive, code: str) -> CrawlChild:
    """A run row and a real process that has already ended by running ``code``."""
    run_id = archive.start_run("example")
    process = subprocess.Popen([sys.executable, "-c", code])
    process.wait(timeout=30)
    return CrawlChild(source="example", run_id=run_id, process=process, log_path=None)


def test_a_stop_request_makes_the_run_interrupted_whatever_the_child_recorded(tmp_path: Path) -> None:
    with Archive(tmp_path / "archive.db") as archive:
        child = finished_child(archive, "import sys; sys.exit(1)")
        mark_interrupted(archive, child.run_id, "stopped with Ctrl-C")
        archive.finish_run(child.run_id, RunStatus.FAILED)  # what the crawl itself recorded on its way out
        run = close_run(archive, child)
    assert run["status"] == "interrupted" and run["stop_requested"] == 1
    assert run["reason"] == "stopped with Ctrl-C"  # the words alone, no marker in them
    assert run["exit_code"] == 1


def test_the_row_decides_not_the_exit_code(tmp_path: Path) -> None:
    with Archive(tmp_path / "archive.db") as archive:
        child = finished_child(archive, "import sys; sys.exit(3)")
        archive.finish_run(child.run_id, RunStatus.SUCCEEDED)
        run = close_run(archive, child)
    assert run["status"] == "succeeded" and run["exit_code"] == 3  # recorded, not interpreted


def test_a_child_that_died_before_recording_an_end_failed(tmp_path: Path) -> None:
    with Archive(tmp_path / "archive.db") as archive:
        child = finished_child(archive, "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
        run = close_run(archive, child)
    assert run["status"] == "failed" and run["exit_code"] == -9
    assert "killed by signal 9" in run["reason"] and "without recording an end" in run["reason"]


def test_a_failed_run_without_a_reason_gets_one(tmp_path: Path) -> None:
    with Archive(tmp_path / "archive.db") as archive:
        child = finished_child(archive, "import sys; sys.exit(1)")
        archive.finish_run(child.run_id, RunStatus.FAILED)
        run = close_run(archive, child)
    assert run["status"] == "failed" and run["reason"].startswith("no page answered")


@pytest.mark.parametrize(("status", "code"), [(RunStatus.SUCCEEDED, EXIT_OK), (RunStatus.FAILED, EXIT_CRAWL_FAILED)])
def test_the_crawl_process_reads_its_exit_code_back_from_its_row(tmp_path: Path, status: str, code: int) -> None:
    db = tmp_path / "archive.db"
    with Archive(db) as archive:
        run_id = archive.start_run("example")
        archive.finish_run(run_id, status)
    assert recorded_exit_code(CrawlSpec(db=str(db)), run_id) == code


# --- the spider's failures --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exception", "kind"),
    [
        (DownloadTimeoutError("Getting http://x/ took longer than 180.0 seconds."), ReasonKind.TIMEOUT),
        (tx_error.TCPTimedOutError(), ReasonKind.TIMEOUT),
        (BrowserTimeoutError("Timeout 30000ms exceeded."), ReasonKind.TIMEOUT),
        (CannotResolveHostError("no results for hostname lookup: nowhere.example"), ReasonKind.DNS_LOOKUP),
        (tx_error.DNSLookupError("nowhere.example"), ReasonKind.DNS_LOOKUP),
        (DownloadConnectionRefusedError("Connection was refused by other side"), ReasonKind.CONNECTION_FAILED),
        (DownloadFailedError("[<twisted.python.failure.Failure ...>]"), ReasonKind.CONNECTION_FAILED),
        (tx_error.ConnectionLost(), ReasonKind.CONNECTION_FAILED),
        # Words that once steered the old text sniffing change nothing now: the class decides.
        (ValueError("Timeout: connection refused, max size exceeded"), ReasonKind.DOWNLOAD_FAILED),
    ],
)
def test_failure_kind_comes_from_the_exception_class(exception: Exception, kind: ReasonKind) -> None:
    assert failure_kind(Failure(exception)) is kind


def test_too_many_redirects_is_read_from_redirect_middleware_meta() -> None:
    # RedirectMiddleware refuses once the request's ttl ran out or one more hop passes REDIRECT_MAX_TIMES.
    assert redirects_exhausted({"redirect_ttl": 0, "redirect_times": 1}, 20)
    assert redirects_exhausted({"redirect_ttl": 17, "redirect_times": 3}, 3)
    assert not redirects_exhausted({"redirect_ttl": 18, "redirect_times": 2}, 3)
    assert not redirects_exhausted({}, 3)  # never redirected: dropped for another reason
