"""What an operator types to watch crawls: ``newsarchive status``, ``runs`` and ``logs``.

- ``status``: one line per source (configured or with runs): last run and result, articles, failures in
  a row, next scheduled run, health. Exit 0 when all are healthy, 1 when one is not (a monitoring
  check can run it), 2 for a broken sources file or a missing archive.
- ``runs``: recent crawl runs as a table (or JSON), filtered by source or failure.
- ``logs RUN_ID``: a run's JSON-lines log (crawler.ops.runlog) as human lines, optionally followed live.

Settings read: the sources file's ``[archive] db``, ``[health]`` (rules, crawler.ops.health) and
``[scheduler] jobstore`` (next run times); without ``--config``, ``sources.toml`` in the current
folder is used when present. ``--db`` names the archive directly. The commands only read, through
``archive.ArchiveReader``: they never create, migrate or write an archive (an archive of an older
schema is shown as it is) nor change health records (the scheduler's ``crawler.ops.alerts.check_source`` does).

rich and the archive library are imported inside the commands, so that importing this module for
``newsarchive --help`` costs next to nothing.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from archive import ArchiveError
from archive.dates import parse_utc
from archive.models import RUN_SUMMARY_COUNTS, RunStatus
from crawler.cli.distributed import distributed_status
from crawler.cli.errors import EXIT_BAD_INPUT, fail, note_archive
from crawler.ops.health import FAILURE_STATUSES, JUDGED_STATUSES, articles_archived, evaluate_health
from crawler.ops.runlog import LEVELS, format_entry, level_rank, parse_line, read_log
from crawler.sources.config import DEFAULT_ARCHIVE_DB
from crawler.sources.ops_tables import HealthConfig

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from archive import ArchiveReader
    from crawler.sources.config import Config

DEFAULT_CONFIG_FILE = Path("sources.toml")
STATUS_RUNS_EVALUATED = 30
FOLLOW_POLL_S = 0.5
EXIT_UNHEALTHY = 1
EXIT_NO_LOG = 1
EXIT_USAGE = EXIT_BAD_INPUT
STATUS_COLOURS = {
    RunStatus.SUCCEEDED: "green",
    RunStatus.FAILED: "red",
    RunStatus.TIMED_OUT: "red",
    RunStatus.ABANDONED: "red",
    RunStatus.RUNNING: "yellow",
    RunStatus.SKIPPED: "magenta",
    RunStatus.INTERRUPTED: "yellow",
}

CONFIG_OPTION = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Sources file (TOML); default: sources.toml in the current folder if present.",
)
DB_OPTION = click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"SQLite archive (default: the sources file's [archive] db, else {DEFAULT_ARCHIVE_DB}).",
)
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print JSON for machines instead of text.")


# --- shared plumbing ----------------------------------------------------------------------------


def load_optional_config(config_path: Path | None) -> Config | None:
    """The given sources file, else ./sources.toml when it exists, else None.

    A broken file raises ConfigError: the ``newsarchive`` group prints it (crawler/cli/errors.py) and exits 2.
    """
    from crawler.sources.config import load_config

    path = config_path or (DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None)
    if path is None:
        return None
    return load_config(path)


def archive_path(config: Config | None, db: Path | None) -> Path:
    """``--db``, else the sources file's ``[archive] db``, else the default; noted for error messages."""
    if db is not None:
        return note_archive(db)
    return note_archive(config.archive.db if config is not None else Path(DEFAULT_ARCHIVE_DB))


def open_existing_archive(path: Path) -> ArchiveReader:
    """Open an archive that must already exist, read-only (these commands never create or migrate one).

    Runs read through it as they effectively are: a ``running`` row whose crawl process is gone shows as
    ``abandoned`` (crawler.run.liveness); the file is not changed, the next crawl records it. A missing,
    damaged or newer archive raises ArchiveError, which the ``newsarchive`` group prints as one line (exit 2).
    """
    from archive import ArchiveReader
    from crawler.run.liveness import stale_run_reason

    return ArchiveReader(note_archive(path), stale_reason=stale_run_reason)


def url_variants(url_or_id: str) -> list[str]:
    """Other spellings under which the archive may hold a URL: its canonical form (the crawler's
    ``canonicalize_url``: tracking parameters, fragment, default port, case of the host dropped) and
    each with or without the path's trailing slash. Nothing for an id or a text that is no http(s) URL."""
    key = url_or_id.strip()
    if key.isdigit():
        return []
    from urllib.parse import urlsplit, urlunsplit

    from crawler.discovery.urls import canonicalize_url

    try:
        forms = [key, canonicalize_url(key)]
    except ValueError:
        return []
    variants = []
    for form in forms:
        parts = urlsplit(form)
        path = parts.path[:-1] if parts.path.endswith("/") and parts.path != "/" else parts.path + "/"
        variants += [form, urlunsplit(parts._replace(path=path))]
    return [variant for variant in dict.fromkeys(variants) if variant != key]


def make_console() -> Console:
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal:
        # Piped or logged output: wide enough that table columns keep their names.
        console = Console(highlight=False, width=max(console.width, 200))
    return console


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parse_utc(value)
    except ValueError:
        return None


def relative(moment: datetime, now: datetime) -> str:
    """ "12m ago" / "in 3h 05m" for a moment relative to now."""
    seconds = round((moment - now).total_seconds())
    span = abs(seconds)
    if span == 0:
        return "now"
    if span < 60:
        text = f"{span}s"
    elif span < 3600:
        text = f"{span // 60}m"
    elif span < 86400:
        text = f"{span // 3600}h {span % 3600 // 60:02d}m"
    else:
        text = f"{span // 86400}d {span % 86400 // 3600}h"
    return f"in {text}" if seconds >= 0 else f"{text} ago"


def shown_time(moment: datetime, now: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC ({relative(moment, now)})"


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- next run times from the scheduler's jobstore -------------------------------------------------


def next_run_times(jobstore: Path) -> dict[str, datetime | None]:
    """Source name -> next scheduled run, from the scheduler's APScheduler jobstore ({} when absent)."""
    # Imported here: the scheduler pulls in APScheduler, which the other commands do not need.
    from scheduler import next_run_times as scheduler_next_run_times

    return scheduler_next_run_times(jobstore)


# --- status ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceStatus:
    """Everything `newsarchive status` says about one source."""

    source: str
    configured: bool
    schedule: str | None
    last_run: Mapping[str, Any] | None
    consecutive_failures: int
    next_run: datetime | None
    next_run_note: str | None  # why there is no next run time, or a warning about it
    healthy: bool
    reasons: list[str]

    def as_json(self) -> dict[str, Any]:
        run = self.last_run
        return {
            "source": self.source,
            "configured": self.configured,
            "schedule": self.schedule,
            "last_run": None
            if run is None
            else {
                "id": run["id"],
                "status": run["status"],
                "trigger": run.get("trigger"),
                "started_at": run.get("started_at"),
                "finished_at": run.get("finished_at"),
                "duration_s": run.get("duration_s"),
                "reason": run.get("reason"),
                "articles_archived": articles_archived(run)
                if run["status"] not in (RunStatus.RUNNING, RunStatus.SKIPPED)
                else None,
                "articles_new": run.get("articles_new"),
            },
            "consecutive_failures": self.consecutive_failures,
            "next_run": iso(self.next_run),
            "next_run_note": self.next_run_note,
            "healthy": self.healthy,
            "reasons": self.reasons,
        }


def source_status(
    archive: ArchiveReader, name: str, config: Config | None, next_runs: Mapping[str, datetime | None], now: datetime
) -> SourceStatus:
    runs = archive.runs(name, limit=1)  # the last run, whatever it was
    judged = archive.runs(name, statuses=JUDGED_STATUSES, limit=STATUS_RUNS_EVALUATED)
    verdict = evaluate_health(judged, config.health if config is not None else HealthConfig())
    configured = config is not None and any(source.name == name for source in config.sources)
    schedule = None
    next_run = None
    if not configured:
        note = "not in the sources file" if config is not None else "no sources file given"
    else:
        source_schedule = config.source(name).schedule
        schedule = source_schedule.text if source_schedule is not None else None
        note = None
        if schedule is None:
            note = "not scheduled"
        elif name not in next_runs:
            note = "not yet in the scheduler's jobstore (start it: newsarchive schedule)"
        elif next_runs[name] is None:
            note = "paused in the scheduler"
        else:
            next_run = next_runs[name]
            if next_run < now:
                note = "overdue: is the scheduler running?"
    return SourceStatus(
        source=name,
        configured=configured,
        schedule=schedule,
        last_run=runs[0] if runs else None,
        consecutive_failures=verdict.consecutive_failures,
        next_run=next_run,
        next_run_note=note,
        healthy=verdict.healthy,
        reasons=verdict.reasons,
    )


def status_line(status: SourceStatus, name_width: int, now: datetime) -> str:
    """One line per source, e.g. "example  healthy  last run 14 succeeded … ; next run …"."""
    health = click.style("healthy  ", fg="green") if status.healthy else click.style("UNHEALTHY", fg="red", bold=True)
    run = status.last_run
    if run is None:
        last = "never run"
    else:
        started = parse_time(run.get("started_at"))
        when = f" {shown_time(started, now)}" if started else ""
        result = str(run["status"])
        if run["status"] == RunStatus.RUNNING:
            last = f"last run {run['id']} running since{when}"
        else:
            last = f"last run {run['id']} {result}{when}"
            if result != RunStatus.SUCCEEDED and run.get("reason"):
                last += f" ({run['reason']})"
            if result != RunStatus.SKIPPED:
                last += f", {articles_archived(run)} articles"
    failures = f"{status.consecutive_failures} failed in a row"
    if status.next_run is not None:
        next_run = f"next run {shown_time(status.next_run, now)}"
        if status.next_run_note:
            next_run += f" {status.next_run_note}"
    else:
        next_run = f"next run: {status.next_run_note}"
    line = f"{status.source:<{name_width}}  {health}  {last}; {failures}; {next_run}"
    if not status.healthy:
        line += " - " + "; ".join(status.reasons)
    return line


@click.command()
@CONFIG_OPTION
@DB_OPTION
@JSON_OPTION
def status(config_path: Path | None, db: Path | None, as_json: bool) -> None:
    """Show each source's last run, failures in a row, next scheduled run and health.

    Exit code 0 when every source is healthy, 1 when one is not (use it as a monitoring check),
    2 for a broken sources file or a missing archive.

    \b
    Examples:
      newsarchive status --config sources.toml
      newsarchive status --json | jq '.sources[] | select(.healthy | not)'
    """
    config = load_optional_config(config_path)
    path = archive_path(config, db)
    now = datetime.now(UTC)
    with open_existing_archive(path) as archive:
        names = [source.name for source in config.sources] if config is not None else []
        names += [name for name in archive.sources_with_runs() if name not in names]
        next_runs = next_run_times(config.scheduler.jobstore) if config is not None else {}
        statuses = [source_status(archive, name, config, next_runs, now) for name in names]
    unhealthy = [item.source for item in statuses if not item.healthy]
    from crawler.ops.alerts import redacted_url  # here: alerts loads the archive's writer (sqlite-utils, numpy)

    redis_url = config.distributed.redis_url if config is not None else None
    crawls = distributed_status(config) if redis_url else None
    if as_json:
        document = {
            "archive": str(path),
            "config": str(config.path) if config is not None else None,
            "checked_at": iso(now),
            "healthy": not unhealthy,
            "unhealthy_sources": unhealthy,
            "sources": [item.as_json() for item in statuses],
        }
        if redis_url:
            document["distributed"] = {
                "redis_url": redacted_url(redis_url),
                "reachable": crawls is not None,
                "crawls": crawls or [],
            }
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        summary = f"{len(statuses)} sources, {len(unhealthy)} unhealthy" if statuses else "no sources"
        click.echo(f"Archive {path} ({summary})")
        width = max((len(item.source) for item in statuses), default=0)
        for item in statuses:
            click.echo(status_line(item, width, now))
        if not statuses:
            click.echo(
                "No source is configured and the archive has no runs "
                "(give --config sources.toml, or crawl: newsarchive crawl --config sources.toml)."
            )
        if redis_url:
            for line in distributed_lines(redacted_url(redis_url), crawls):
                click.echo(line)
    sys.exit(EXIT_UNHEALTHY if unhealthy else 0)


def distributed_lines(redis_url: str, crawls: list[dict[str, Any]] | None) -> list[str]:
    """The distributed crawls' progress as `status` prints it (crawler.distributed.crawls.progress)."""
    if crawls is None:
        return [f"Distributed: Redis at {redis_url} cannot be reached (is redis-server running?)"]
    if not crawls:
        return [f"Distributed: no crawl open in Redis at {redis_url}"]
    lines = [f"Distributed crawls in Redis at {redis_url}:"]
    for crawl in crawls:
        lines.append(
            f"  {crawl['source']}  run {crawl['run_id']}  {crawl['state']}: {crawl['queued']} queued,"
            f" {crawl['in_flight']} in flight, {crawl['seen']} seen, {crawl['items_waiting']} items waiting for"
            f" the writer, {crawl['workers']} workers alive, {crawl['pages_per_s']} pages/s"
        )
    return lines


# --- runs -----------------------------------------------------------------------------------------


def shown_duration(seconds: float | None) -> str:
    if not isinstance(seconds, (int, float)):
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m {secs:02d}s" if minutes < 60 else f"{minutes // 60}h {minutes % 60:02d}m"


def styled_status(status_name: str) -> str:
    colour = STATUS_COLOURS.get(status_name)
    return f"[{colour}]{status_name}[/{colour}]" if colour else status_name


def runs_overview_table(runs: Sequence[Mapping[str, Any]], title: str) -> Table:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for name in (
        "id",
        "source",
        "trigger",
        "status",
        "started",
        "duration",
        "pages",
        "new",
        "unchanged",
        "not modified",
        "duplicate",
        "rejected",
        "errors",
        "reason",
    ):
        numeric = name not in ("source", "trigger", "status", "started", "reason")
        table.add_column(name, justify="right" if numeric else "left", overflow="fold")
    for run in runs:
        started = parse_time(run.get("started_at"))
        counts = [run.get(column) for column in RUN_SUMMARY_COUNTS]
        table.add_row(
            str(run["id"]),
            escape(str(run["source"])),
            str(run.get("trigger") or ""),
            styled_status(str(run["status"])),
            f"{started:%Y-%m-%d %H:%M:%S}" if started else "",
            shown_duration(run.get("duration_s")),
            *("" if value is None else str(value) for value in counts),
            escape(str(run.get("reason") or "")),
        )
    return table


@click.command()
@CONFIG_OPTION
@DB_OPTION
@click.option("--source", help="Only this source's runs.")
@click.option("--failed", "failed_only", is_flag=True, help="Only failed, timed-out and abandoned runs.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="How many runs.")
@JSON_OPTION
def runs(
    config_path: Path | None, db: Path | None, source: str | None, failed_only: bool, limit: int, as_json: bool
) -> None:
    """List recent crawl runs, newest first (times in UTC).

    \b
    Examples:
      newsarchive runs --config sources.toml --source example --limit 50
      newsarchive runs --db data/archive.db --failed
      newsarchive runs --json | jq '.[0].status'
    """
    from rich.markup import escape

    config = load_optional_config(config_path)
    path = archive_path(config, db)
    with open_existing_archive(path) as archive:
        rows = archive.runs(source, statuses=FAILURE_STATUSES if failed_only else None, limit=limit)
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    console = make_console()
    if not rows:
        which = " failed" if failed_only else ""
        of_source = f" of source {source!r}" if source else ""
        console.print(f"No{which} runs{of_source} in {escape(str(path))}.")
        return
    filters = [f"source {source}"] if source else []
    filters += ["failed only"] if failed_only else []
    title = f"Crawl runs in {path}" + (f" ({', '.join(filters)})" if filters else "")
    console.print(runs_overview_table(rows, escape(title)))


# --- logs -----------------------------------------------------------------------------------------


def entry_text(entry: Mapping[str, Any], as_json: bool) -> str:
    return json.dumps(entry, ensure_ascii=False) if as_json else format_entry(entry)


def no_log_explanation(run: Mapping[str, Any]) -> str:
    """Why a run has no log file, in words."""
    run_id, status_name = run["id"], run["status"]
    if status_name == RunStatus.SKIPPED:
        return f"Run {run_id} of {run['source']} was skipped, so it has no log: {run.get('reason') or 'no reason recorded'}"
    result = f" Its result: {status_name}" + (f" ({run['reason']})." if run.get("reason") else ".")
    why = (
        "none was recorded for it in the archive (a crawl that could not start, or a run started "
        "outside `newsarchive crawl` and `newsarchive schedule`, such as `scrapy crawl`)."
    )
    return f"Run {run_id} of {run['source']} has no log file: {why}{result}"


def read_new_lines(path: Path, offset: int) -> tuple[list[bytes], int]:
    """Whole lines appended to the file since ``offset``, and the offset after them.

    A last line without its newline is still being written: it is left for the next read.
    """
    try:
        with path.open("rb") as file:
            file.seek(offset)
            data = file.read()
    except FileNotFoundError:
        return [], offset
    complete, newline, _partial = data.rpartition(b"\n")
    if not newline:
        return [], offset
    return [line for line in complete.split(b"\n") if line.strip()], offset + len(complete) + 1


def follow_log(
    path: Path,
    min_level: str,
    as_json: bool,
    is_running: Callable[[], bool],
    echo: Callable[[str], None],
    poll_seconds: float = FOLLOW_POLL_S,
) -> None:
    """Print the log's lines as they are written until ``is_running()`` says the run ended."""
    offset = 0
    min_rank = level_rank(min_level)
    finished_seen = False
    while True:
        # Ask first, read second: lines written before the run ended are then always read.
        running = is_running()
        lines, offset = read_new_lines(path, offset)
        for line in lines:
            entry = parse_line(line)
            if entry is None:
                echo(line.decode("utf-8", "replace"))
            elif level_rank(entry.get("level")) >= min_rank:
                echo(entry_text(entry, as_json))
        if not running:
            if finished_seen:
                return
            # One more read after a poll: the process may log its last lines just after the run ends.
            finished_seen = True
        time.sleep(poll_seconds)


@click.command()
@click.argument("run_id", type=int)
@CONFIG_OPTION
@DB_OPTION
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines until the run ends.")
@click.option(
    "--level",
    type=click.Choice(LEVELS, case_sensitive=False),
    default="DEBUG",
    show_default=True,
    help="Show this level and above.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the raw JSON lines instead of text.")
def logs(run_id: int, config_path: Path | None, db: Path | None, follow: bool, level: str, as_json: bool) -> None:
    """Show a crawl run's log (run ids: newsarchive runs).

    \b
    Examples:
      newsarchive logs 42 --config sources.toml
      newsarchive logs 42 --level WARNING
      newsarchive logs 42 --follow               # until the run ends
      newsarchive logs 42 --json | jq -r 'select(.url) | .url'
    """
    config = load_optional_config(config_path)
    path = archive_path(config, db)
    level = level.upper()
    with open_existing_archive(path) as archive:
        try:
            run = archive.run(run_id)
        except ArchiveError as error:
            if error.path is not None:  # the file failed, not the id: one line with its fix, exit 2
                raise
            fail(f"no run with id {run_id} in archive {path} (list the runs with: newsarchive runs --db {path})")
        if not run.get("log_path"):
            click.echo(no_log_explanation(run))
            sys.exit(EXIT_NO_LOG)
        log_file = Path(run["log_path"])
        if follow and run["status"] == RunStatus.RUNNING:
            follow_log(log_file, level, as_json, lambda: archive.run(run_id)["status"] == RunStatus.RUNNING, click.echo)
            if log_file.is_file():
                return
    if not log_file.is_file():
        fail(
            f"the log file of run {run_id} ({run['source']}), {log_file}, is missing: it may have been pruned "
            "after [scheduler] log_retention_days, or the log folder moved. "
            f"The run's counts are still in the archive: newsarchive runs --db {path} --source {run['source']}",
            EXIT_NO_LOG,
        )
    entries = read_log(log_file, min_level=level)
    for entry in entries:
        click.echo(entry_text(entry, as_json))
    if entries.skipped_lines and not as_json:
        click.echo(f"({entries.skipped_lines} lines of {log_file} were not log entries and are not shown)", err=True)
