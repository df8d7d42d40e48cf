"""Run a crawl process and show it: the parent side of ``newsarchive crawl`` and ``demo``.

Starts ``python -m crawler.crawlproc`` (an argument list, never a shell), relays its log
lines, draws live progress from the archive on a terminal, and returns each run's final row.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live

from archive import Archive
from crawler.crawlproc import CrawlSpec
from crawler.items import utc_now_iso
from crawler.progress import live_runs, runs_table

REFRESH_SECONDS = 0.5


@dataclass
class CrawlReport:
    exit_code: int
    db: Path
    runs: list[dict[str, Any]] = field(default_factory=list)


def crawl_process_command(spec: CrawlSpec) -> list[str]:
    return [sys.executable, "-m", "crawler.crawlproc", spec.to_json()]


def _relay(stream: Any, console: Console) -> None:
    for line in iter(stream.readline, ""):
        console.print(line.rstrip("\n"), markup=False, highlight=False, soft_wrap=True)


def run_crawl(spec: CrawlSpec, db: Path, console: Console, live: bool) -> CrawlReport:
    """Run the crawl process to its end; Ctrl-C stops it gracefully (Scrapy finishes in-flight pages)."""
    since = utc_now_iso()
    process = subprocess.Popen(
        crawl_process_command(spec), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        errors="replace",
    )
    relay = threading.Thread(target=_relay, args=(process.stderr, console), daemon=True)
    relay.start()
    try:
        if live:
            with Live(console=console, refresh_per_second=4, transient=True) as display:
                while process.poll() is None:
                    display.update(runs_table(live_runs(db, process.pid, since), "Crawling…"))
                    time.sleep(REFRESH_SECONDS)
        process.wait()
    except KeyboardInterrupt:
        console.print("Stopping: finishing pages in flight (Ctrl-C again to force)…")
        try:
            process.wait()
        except KeyboardInterrupt:
            process.kill()
            process.wait()
    relay.join(timeout=5)
    runs: list[dict[str, Any]] = []
    if db.exists():
        with Archive(db) as archive:
            ids = [run["run_id"] for run in live_runs(db, process.pid, since)]
            runs = [archive.run(run_id) for run_id in ids]
    return CrawlReport(exit_code=process.returncode, db=db, runs=runs)
