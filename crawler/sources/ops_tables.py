"""The operations part of the sources file: when sources run and how they are watched.

Per source: ``schedule`` (a cron expression or ``every 45s|30m|6h|1d``), ``max_runtime``,
``render_js``, and the revisit policy of recurring crawls (``revisit``, ``revisit_max_age``,
``revisit_budget``; applied by crawler.discovery.recrawl).
Tables: ``[scheduler]``, ``[health]``, ``[alerts]``, ``[metrics]`` (reference: docs/sources.md).
Parsed into frozen dataclasses by the same field specs as the rest of the file (crawler.sources.fields);
each key's default is declared once, in its FieldSpec, and the dataclasses take theirs from there.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from crawler.sources.distributed_table import DISTRIBUTED_FIELDS, DistributedConfig
from crawler.sources.fields import (
    FieldSpec,
    _kind_of,
    _shown,
    check_http_url,
    float_parser,
    int_parser,
    invalid,
    list_parser,
    parse_path,
    spec_defaults,
)

_INTERVAL = re.compile(r"^every\s+(\d+(?:\.\d+)?)\s*(s|m|h|d)$", re.IGNORECASE)
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d)$", re.IGNORECASE)
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_INTERVAL_S = 366 * 86400


@dataclass(frozen=True)
class Schedule:
    """When a source runs: every ``interval_seconds``, or at the times of a cron expression."""

    text: str  # as written, for messages and change detection
    interval_seconds: float | None = None
    cron: str | None = None

    def describe(self) -> str:
        return self.text


def parse_schedule(value: Any) -> Schedule:
    if not isinstance(value, str) or not value.strip():
        raise invalid(
            f'expected a string such as "every 30m" or "*/30 * * * *", got {_shown(value)} ({_kind_of(value)})'
        )
    text = " ".join(value.split())
    interval = _INTERVAL.match(text)
    if interval:
        seconds = float(interval[1]) * UNIT_SECONDS[interval[2].lower()]
        if seconds > MAX_INTERVAL_S:
            raise invalid(f'{value!r} is longer than a year (the scheduler cannot wait that long; e.g. "every 7d")')
        if seconds < 1:
            raise invalid(f'{value!r} is shorter than a second (use e.g. "every 30s")')
        return Schedule(text=text, interval_seconds=seconds)
    if text.lower().startswith("every"):
        raise invalid(
            f'{value!r} is not an interval (write "every" then a number and s, m, h or d: "every 45s", '
            '"every 30m", "every 6h", "every 1d")'
        )
    from apscheduler.triggers.cron import CronTrigger  # only needed when a cron expression is given

    if len(text.split()) != 5:
        raise invalid(
            f"{value!r} is not a cron expression (five fields: minute hour day month weekday, "
            'e.g. "*/30 * * * *"; or an interval such as "every 30m")'
        )
    try:
        CronTrigger.from_crontab(text, timezone="UTC")
    except ValueError as error:
        raise invalid(f'{value!r} is not a valid cron expression: {error} (e.g. "*/30 * * * *")') from None
    return Schedule(text=text, cron=text)


def parse_duration(value: Any) -> float:
    """Seconds, from a number of seconds or "90s", "30m", "2h", "1d"."""
    if isinstance(value, bool):
        raise invalid(f'expected a duration such as "2h" or a number of seconds, got {_shown(value)}')
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and _DURATION.match(value.strip()):
        match = _DURATION.match(value.strip())
        seconds = float(match[1]) * UNIT_SECONDS[match[2].lower()]
    else:
        raise invalid(f'expected a duration such as "90s", "30m", "2h" or a number of seconds, got {_shown(value)}')
    if not math.isfinite(seconds) or seconds <= 0:
        raise invalid(f"{_shown(value)} is not a positive duration")
    return seconds


def parse_timezone(value: Any) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not isinstance(value, str):
        raise invalid(f'expected a time zone name such as "UTC" or "Europe/Berlin", got {_shown(value)}')
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Europe" is a folder; a long name is too long
        raise invalid(
            f'{value!r} is not a known time zone (use an IANA name such as "UTC" or "Europe/Berlin")'
        ) from None
    return value


def parse_optional_url(value: Any) -> str | None:
    if value == "":
        return None
    return check_http_url(value, "https://hooks.example/services/T000/B000/XXX", credentials=True)


def parse_host(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid(f'expected a host address such as "127.0.0.1", got {_shown(value)}')
    return value


def parse_fraction(value: Any) -> float:
    number = float_parser(0.0)(value)
    if number > 1:
        raise invalid(f"{_shown(value)} is more than 1 (give a share between 0 and 1, e.g. 0.25)")
    return number


def parse_argv(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        raise invalid(
            f'expected a list of arguments such as ["notify-send", "newsarchive"], got the string {value!r} '
            "(commands run without a shell: split the words into a list)"
        )
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise invalid(
            f'expected a list of non-empty strings such as ["notify-send", "newsarchive"], got {_shown(value)}'
        )
    return tuple(value)


def parse_port(value: Any) -> int:
    port = int_parser(0)(value)
    if port > 65535:
        raise invalid(f"{port} is not a TCP port (0-65535; 0 turns metrics off)")
    return port


class RenderMode(StrEnum):
    """A source's ``render_js``: whether its pages are rendered in a headless browser."""

    NEVER = "never"  # plain HTTP only
    AUTO = "auto"  # plain HTTP first; the browser for pages that turn out to be JavaScript shells
    ALWAYS = "always"  # every page through the browser


RENDER_MODES: tuple[RenderMode, ...] = tuple(RenderMode)


def parse_render_js(value: Any) -> RenderMode:
    if not isinstance(value, str) or value not in frozenset(RenderMode):
        raise invalid(f'{_shown(value)} is not a rendering mode (use "never", "auto" or "always")')
    return RenderMode(value)


SCHEDULE_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "schedule",
        "cron or interval",
        None,
        parse_schedule,
        example='"every 30m"',
        doc='When `newsarchive schedule` runs the source: a cron expression ("*/30 * * * *") or '
        '"every N" with s, m, h or d ("every 45s", "every 6h"). Omitted: never scheduled.',
    ),
    FieldSpec(
        "max_runtime",
        "duration",
        3600.0,
        parse_duration,
        example='"2h"',
        doc="A scheduled crawl running longer is stopped (gracefully, then killed) and recorded as "
        'timed_out. Seconds, or "90s", "30m", "2h".',
    ),
    FieldSpec(
        "render_js",
        '"never" | "auto" | "always"',
        RenderMode.AUTO,
        parse_render_js,
        example='"auto"',
        doc='Browser rendering: "always" every page through headless Chromium; "auto" plain HTTP first and '
        'the browser once for a page that turns out to be a JavaScript shell; "never" plain HTTP only.',
    ),
)


def parse_revisit_intervals(value: Any) -> tuple[float, ...]:
    """The revisit ladder: durations, each at least as long as the one before."""
    intervals = list_parser(parse_duration, 'durations such as "1h"')(value)
    for earlier, later in itertools.pairwise(intervals):
        if later < earlier:
            raise invalid(
                f"intervals must not shrink ({_shown(value)}): each unchanged revisit waits at least as long "
                'as the one before, e.g. ["1h", "6h", "1d", "7d"]'
            )
    return intervals


REVISIT_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "revisit",
        "list of durations",
        (3600.0, 6 * 3600.0, 86400.0, 7 * 86400.0),
        parse_revisit_intervals,
        example='["1h", "6h", "1d", "7d"]',
        doc="When a recurring crawl fetches a known page again to look for changes: after the first interval, "
        "then after each next one while the page stays unchanged (the last repeats); a change starts over. "
        "`[]` turns revisits off (new pages and change signals from sitemaps and feeds are still fetched).",
    ),
    FieldSpec(
        "revisit_max_age",
        "duration",
        30 * 86400.0,
        parse_duration,
        example='"30d"',
        doc="Articles older than this (by publication date, else by when they were found) are not revisited; "
        "a sitemap lastmod or feed date newer than our copy still brings them back.",
    ),
    FieldSpec(
        "revisit_budget",
        "integer >= 0",
        500,
        int_parser(0),
        doc="Most revisits in one crawl (most overdue first). New pages always come before revisits.",
    ),
)


SCHEDULER_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "max_parallel_crawls",
        "integer >= 1",
        2,
        int_parser(1),
        doc="Crawls that run at once; further due runs wait for a free slot.",
    ),
    FieldSpec("timezone", "time zone", "UTC", parse_timezone, doc="Time zone of cron schedules."),
    FieldSpec(
        "jobstore",
        "path",
        Path("data/scheduler.db"),
        parse_path,
        doc="SQLite file holding the schedule's state across restarts (relative to the sources file).",
    ),
    FieldSpec(
        "log_dir",
        "path",
        Path("logs"),
        parse_path,
        doc="Folder of per-run log files, logs/SOURCE/RUN_ID.jsonl (relative to the sources file).",
    ),
    FieldSpec("log_retention_days", "integer >= 1", 30, int_parser(1), doc="Run logs older than this are deleted."),
    FieldSpec(
        "shutdown_grace",
        "duration",
        60.0,
        parse_duration,
        doc="At shutdown, running crawls get this long to finish and flush before they are killed.",
    ),
    FieldSpec(
        "stop_grace",
        "duration",
        30.0,
        parse_duration,
        doc="A crawl over its max_runtime gets this long after the stop signal before it is killed.",
    ),
    FieldSpec(
        "misfire_grace",
        "duration",
        86400.0,
        parse_duration,
        doc="After downtime, runs missed by up to this long are coalesced into one catch-up run.",
    ),
)
HEALTH_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "max_consecutive_failures",
        "integer >= 1",
        3,
        int_parser(1),
        doc="A source is unhealthy after this many failed or timed-out runs in a row.",
    ),
    FieldSpec(
        "zero_articles_after",
        "integer >= 0",
        3,
        int_parser(0),
        doc="Unhealthy when a run archived no article while each of this many runs before it did (0: off).",
    ),
    FieldSpec(
        "extraction_failure_rise",
        "share 0-1",
        0.25,
        parse_fraction,
        doc="Unhealthy when the share of fetched pages with no extractable text rises by this much over the "
        "previous runs' (0: off).",
    ),
)
ALERTS_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "webhook_url",
        "URL",
        None,
        parse_optional_url,
        doc="POSTed a JSON message (Slack-compatible `text`) when a source turns unhealthy or recovers.",
    ),
    FieldSpec(
        "command",
        "list of strings",
        (),
        parse_argv,
        doc="Run (no shell) when a source turns unhealthy or recovers; the message on stdin, details in "
        "NEWSARCHIVE_* environment variables.",
    ),
)
METRICS_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("port", "integer 0-65535", 0, parse_port, doc="Prometheus metrics port of the scheduler (0: off)."),
    FieldSpec("host", "address", "127.0.0.1", parse_host, doc="Address the metrics server listens on."),
)
# The parsed tables. Every default is the one its FieldSpec declares (tests check that the fields
# and the specs name the same keys); constructing one with keywords, e.g. HealthConfig(zero_articles_after=2),
# gives the spec's defaults for the rest.
_SCHEDULER = spec_defaults(SCHEDULER_FIELDS)
_HEALTH = spec_defaults(HEALTH_FIELDS)
_ALERTS = spec_defaults(ALERTS_FIELDS)
_METRICS = spec_defaults(METRICS_FIELDS)


@dataclass(frozen=True)
class SchedulerConfig:
    """The ``[scheduler]`` table (SCHEDULER_FIELDS)."""

    max_parallel_crawls: int = _SCHEDULER["max_parallel_crawls"]
    timezone: str = _SCHEDULER["timezone"]
    jobstore: Path = _SCHEDULER["jobstore"]
    log_dir: Path = _SCHEDULER["log_dir"]
    log_retention_days: int = _SCHEDULER["log_retention_days"]
    shutdown_grace: float = _SCHEDULER["shutdown_grace"]
    stop_grace: float = _SCHEDULER["stop_grace"]
    misfire_grace: float = _SCHEDULER["misfire_grace"]


@dataclass(frozen=True)
class HealthConfig:
    """The ``[health]`` table (HEALTH_FIELDS)."""

    max_consecutive_failures: int = _HEALTH["max_consecutive_failures"]
    zero_articles_after: int = _HEALTH["zero_articles_after"]
    extraction_failure_rise: float = _HEALTH["extraction_failure_rise"]


@dataclass(frozen=True)
class AlertsConfig:
    """The ``[alerts]`` table (ALERTS_FIELDS)."""

    webhook_url: str | None = _ALERTS["webhook_url"]
    command: tuple[str, ...] = _ALERTS["command"]


@dataclass(frozen=True)
class MetricsConfig:
    """The ``[metrics]`` table (METRICS_FIELDS)."""

    port: int = _METRICS["port"]
    host: str = _METRICS["host"]


OPS_TABLES = {
    "scheduler": (SCHEDULER_FIELDS, SchedulerConfig),
    "health": (HEALTH_FIELDS, HealthConfig),
    "alerts": (ALERTS_FIELDS, AlertsConfig),
    "metrics": (METRICS_FIELDS, MetricsConfig),
    "distributed": (DISTRIBUTED_FIELDS, DistributedConfig),  # crawler.sources.distributed_table (issue 14)
}
