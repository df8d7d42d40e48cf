"""The crawl process: runs Scrapy for one or more sources in this process, then exits.

Scrapy's reactor cannot restart, so every ``newsarchive crawl`` (and, later, every scheduled
crawl) runs here, in a child started as ``python -m crawler.crawlproc SPEC_JSON`` with an
argument list, never a shell. The spec names the sources (from a sources file, or ad hoc
URLs), the archive and setting overrides. Progress is read by the parent from the archive
itself; on exit this process prints one JSON line per crawl (source, run id, status) on
stdout and exits 0 when every crawl succeeded, 1 when one failed, 2 on a configuration error.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_CRAWL_FAILED, EXIT_CONFIG = 0, 1, 2


@dataclass
class CrawlSpec:
    """Everything a crawl process needs; JSON-serialisable so it can cross the process boundary."""

    db: str | None = None  # None: the sources file's [archive] db, else the default
    config: str | None = None  # sources file
    sources: list[str] = field(default_factory=list)  # names in the sources file; empty = all
    urls: list[str] = field(default_factory=list)  # ad hoc sources
    source_overrides: dict[str, Any] = field(default_factory=dict)  # applied to ad hoc sources
    settings: dict[str, Any] = field(default_factory=dict)  # Scrapy setting overrides
    trigger: str = "manual"
    log_level: str = "INFO"  # what reaches stderr
    log_file: str | None = None  # a full INFO log besides

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> CrawlSpec:
        return cls(**json.loads(text))


def resolve_sources(spec: CrawlSpec) -> tuple[list[Any], str]:
    """The SourceConfigs to crawl and the archive path; raises ConfigError."""
    from crawler.config import DEFAULT_ARCHIVE_DB, adhoc_source, load_config

    sources: list[Any] = []
    db = spec.db
    if spec.config:
        config = load_config(spec.config)
        sources.extend(config.select(spec.sources))
        db = db or str(config.archive.db)
    for url in spec.urls:
        sources.append(adhoc_source(url, **spec.source_overrides))
    return sources, db or DEFAULT_ARCHIVE_DB


def crawl_settings(spec: CrawlSpec, db: str, crawlers: int):
    """Scrapy settings for this process: our defaults, the spec's overrides, one archive."""
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("ARCHIVE_DB", db, priority="cmdline")
    settings.set("NEWSARCHIVE_RUN_TRIGGER", spec.trigger, priority="cmdline")
    if not settings.getint("EXTRACT_WORKERS") and "EXTRACT_WORKERS" not in spec.settings:
        # Several crawls in one process share the cores rather than each taking them all.
        settings.set("EXTRACT_WORKERS", max(1, (os.cpu_count() or 1) // max(1, crawlers)), priority="cmdline")
    for name, value in spec.settings.items():
        settings.set(name, value, priority="cmdline")
    return settings


LOG_FORMAT = "%(asctime)s [%(name)s] %(levelname)s: %(message)s"


def configure_logging(level: str, log_file: str | None) -> None:
    """stderr at ``level`` for the person watching; the log file, if any, at INFO for the record."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(level.upper())
    console.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(console)
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        record = logging.FileHandler(log_file, encoding="utf-8")
        record.setLevel(logging.INFO)
        record.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(record)


def run(spec: CrawlSpec) -> int:
    from scrapy.crawler import CrawlerProcess

    from crawler.config import ConfigError
    from spiders.news import NewsSpider

    try:
        sources, db = resolve_sources(spec)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    if not sources:
        print("error: nothing to crawl: give a URL, or a sources file with [[sources]]", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(spec.log_level, spec.log_file)
    settings = crawl_settings(spec, db, len(sources))
    settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")  # configure_logging's handlers instead
    process = CrawlerProcess(settings)
    crawlers = []
    for source in sources:
        crawler = process.create_crawler(NewsSpider)
        crawlers.append((source, crawler))
        process.crawl(crawler, source=source)
    process.start()
    exit_code = EXIT_OK
    for source, crawler in crawlers:
        stats = crawler.stats.get_stats() if crawler.stats else {}
        status = stats.get("newsarchive/run_status", "failed")
        if status != "succeeded":
            exit_code = EXIT_CRAWL_FAILED
        print(json.dumps({"source": source.name, "run_id": stats.get("newsarchive/run_id"), "status": status,
                          "finish_reason": stats.get("finish_reason")}), flush=True)
    return exit_code


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m crawler.crawlproc SPEC_JSON", file=sys.stderr)
        return EXIT_CONFIG
    return run(CrawlSpec.from_json(args[0]))


if __name__ == "__main__":
    sys.exit(main())
