"""``newsarchive schedule``: every source's recurring crawl, on its schedule, for months.

APScheduler 3 runs one job per scheduled source (job id = source name) from a SQLite job store
(``[scheduler] jobstore``), so the schedule survives restarts. Each run is a child process
(crawler.run.supervisor / crawler.run.crawl_process) with its own ``crawl_runs`` row and log file, stopped when
it overruns the source's ``max_runtime`` (SIGTERM, then SIGKILL: crawler.run.supervisor.kill_crawl) and
recorded as timed_out. Never two runs of one source at once: a run due while the previous one
still goes is recorded as skipped, with the reason. Runs missed while the scheduler was down are
coalesced into one catch-up run. SIGTERM/SIGINT stop it cleanly (running crawls get one SIGTERM at
once, then ``shutdown_grace`` to finish, and are recorded as interrupted with the signal as the
reason); a second SIGTERM/SIGINT stops them at once; SIGHUP re-reads the sources file.
After every run the source's health is checked (crawler.ops.alerts) and metrics are updated
(crawler.ops.metrics). Settings: the sources file's ``[scheduler]``, ``[health]``, ``[alerts]`` and
``[metrics]`` tables and each source's ``schedule`` and ``max_runtime``.
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    JobExecutionEvent,
    JobSubmissionEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from archive import Archive, ArchiveReader
from archive.models import RunStatus, RunTrigger
from crawler.ops.runlog import prune_logs
from crawler.run.crawl_process import CrawlSpec
from crawler.run.liveness import abandon_stale_runs
from crawler.run.run_dir import find_run_dir, sweep_run_dirs
from crawler.run.supervisor import (
    ask_to_stop,
    close_run,
    forced_reason,
    kill_crawl,
    mark_interrupted,
    start_crawl,
    stop_crawl,
    stop_reason,
    timed_out_reason,
)
from crawler.sources.config import Config, ConfigError, SourceConfig, load_config
from crawler.sources.ops_tables import Schedule, SchedulerConfig

logger = logging.getLogger("newsarchive.scheduler")

JOBS_TABLE = "apscheduler_jobs"
SCHEDULED_TRIGGERS = (RunTrigger.SCHEDULE, RunTrigger.CATCH_UP)
# Job kwargs are pickled into the job store: plain strings, so stored jobs never depend on a class.
_SCHEDULE = RunTrigger.SCHEDULE.value
_CATCH_UP = RunTrigger.CATCH_UP.value
MAINTENANCE_SECONDS = 30.0
RETENTION_CHECK = timedelta(hours=6)


# -- plain functions ----------------------------------------------------------------------------
# The service's decisions, values in and values out (tests/test_scheduler_plan.py checks them as data);
# CrawlScheduler below only feeds them what APScheduler and the archive hold and carries them out.


def build_trigger(schedule: Schedule, timezone_name: str) -> BaseTrigger:
    zone = ZoneInfo(timezone_name)
    if schedule.interval_seconds is not None:
        return IntervalTrigger(seconds=schedule.interval_seconds, timezone=zone)
    return CronTrigger.from_crontab(schedule.cron, timezone=zone)


def next_run_times(jobstore: Path) -> dict[str, datetime | None]:
    """Each scheduled source's next run (UTC) as the job store holds it; {} when there is none yet."""
    if not Path(jobstore).exists():
        return {}
    try:
        with sqlite3.connect(f"file:{jobstore}?mode=ro", uri=True, timeout=5) as connection:
            rows = connection.execute(f"SELECT id, next_run_time FROM {JOBS_TABLE}").fetchall()
    except sqlite3.Error:
        return {}
    return {job_id: datetime.fromtimestamp(when, tz=UTC) if when is not None else None for job_id, when in rows}


def count_missed(trigger: BaseTrigger, first_missed: datetime, now: datetime, cap: int = 100_000) -> int:
    """How many fire times fell between ``first_missed`` (inclusive) and ``now``."""
    missed, when = 0, first_missed
    while when is not None and when <= now and missed < cap:
        missed += 1
        when = trigger.get_next_fire_time(when, when + timedelta(microseconds=1))
    return missed


def job_defaults(settings: SchedulerConfig) -> dict[str, Any]:
    """What every job gets: never two instances at once, missed runs coalesced, ``misfire_grace`` to start late."""
    return {"coalesce": True, "max_instances": 1, "misfire_grace_time": int(settings.misfire_grace)}


@dataclass(frozen=True)
class JobDefinition:
    """One scheduled source's job, as ``add_job`` takes it (the job store keeps only these values)."""

    id: str
    name: str
    schedule: str  # as written in the sources file, for messages
    trigger: BaseTrigger
    args: tuple[str, ...]  # run_scheduled_crawl(config_path, db_path, source_name)
    kwargs: dict[str, str]
    max_instances: int
    coalesce: bool
    misfire_grace_time: int
    next_run_time: datetime | None

    def add_job_options(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger,
            "args": list(self.args),
            "kwargs": dict(self.kwargs),
            "id": self.id,
            "name": self.name,
            "max_instances": self.max_instances,
            "coalesce": self.coalesce,
            "misfire_grace_time": self.misfire_grace_time,
            "next_run_time": self.next_run_time,
        }


def trigger_key(trigger: BaseTrigger) -> str:
    """What a reload compares of a trigger: its schedule and its time zone.

    ``str()`` of an APScheduler trigger leaves the time zone out, so a changed ``[scheduler]
    timezone`` alone would not reschedule a cron job that fires at another hour since.
    """
    return f"{trigger} {getattr(trigger, 'timezone', '')}"


def job_definition(source: SourceConfig, config: Config, config_path: Path, now: datetime) -> JobDefinition:
    """The job of a source that has a schedule; its first run is the trigger's first fire time after ``now``."""
    if source.schedule is None:
        raise ValueError(f'source {source.name!r} has no schedule, so no job: give it one (schedule = "every 1h")')
    trigger = build_trigger(source.schedule, config.scheduler.timezone)
    return JobDefinition(
        id=source.name,
        name=f"crawl {source.name}",
        schedule=source.schedule.text,
        trigger=trigger,
        args=(str(config_path), str(config.archive.db), source.name),
        kwargs={"trigger": _SCHEDULE},
        **job_defaults(config.scheduler),
        next_run_time=trigger.get_next_fire_time(None, now),
    )


def job_definitions(config: Config, config_path: Path, now: datetime) -> dict[str, JobDefinition]:
    """The jobs the sources file asks for, by source name, in the file's order (sources without schedule: none)."""
    return {
        source.name: job_definition(source, config, config_path, now)
        for source in config.sources
        if source.schedule is not None
    }


@dataclass(frozen=True)
class StoredJob:
    """What a reload compares of a job already in the job store."""

    id: str
    trigger: str  # trigger_key(job.trigger): schedule and time zone, not the start date an interval gets
    args: tuple[str, ...]


@dataclass(frozen=True)
class JobChange:
    """One step that brings the job store in line with the sources file."""

    action: Literal["remove", "add", "reschedule", "change_args"]
    job_id: str
    definition: JobDefinition | None = None  # None for "remove"


def plan_sync(wanted: Mapping[str, JobDefinition], stored: Mapping[str, StoredJob]) -> list[JobChange]:
    """The steps from the stored jobs to the wanted ones: remove, add, reschedule, change args; never a duplicate.

    A job whose schedule is unchanged keeps its next run time (so a reload or restart does not
    postpone runs, and runs missed while the scheduler was down can be caught up); a new schedule
    starts afresh. Changed arguments (another sources file path or archive) are updated in place.
    """
    changes = [JobChange("remove", name) for name in sorted(stored.keys() - wanted.keys())]
    for name, definition in wanted.items():
        job = stored.get(name)
        if job is None:
            changes.append(JobChange("add", name, definition))
            continue
        if job.trigger != trigger_key(definition.trigger):
            changes.append(JobChange("reschedule", name, definition))
        if tuple(job.args) != definition.args:
            changes.append(JobChange("change_args", name, definition))
    return changes


@dataclass(frozen=True)
class CatchUp:
    """A job whose next run passed while the scheduler was down."""

    job_id: str
    since: datetime  # the first fire time missed
    missed: int  # fire times from ``since`` up to now
    run_now: bool  # within misfire_grace: the missed runs become one catch-up run, now


def catch_up(
    job_id: str, trigger: BaseTrigger, next_run_time: datetime | None, now: datetime, misfire_grace: float
) -> CatchUp | None:
    """What was missed, for a job found with its next run in the past at start (None: nothing missed)."""
    if next_run_time is None or next_run_time >= now:
        return None
    return CatchUp(
        job_id=job_id,
        since=next_run_time,
        missed=count_missed(trigger, next_run_time, now),
        run_now=now - next_run_time <= timedelta(seconds=misfire_grace),
    )


@dataclass(frozen=True)
class SkipRecord:
    """The crawl_runs row for a run that was due but did not start (Archive.record_skipped_run's arguments)."""

    source: str
    trigger: str
    reason: str
    scheduled_for: str | None  # UTC, ISO 8601
    cause: str  # the reason's first part, for the scheduler's log line


def skip_record(source: str, scheduled: datetime | None, running: Iterable[Mapping[str, Any]]) -> SkipRecord:
    """A run due while the previous one still goes: skipped, naming the run it waited on (from ``running`` rows)."""
    ours = [run for run in running if run["source"] == source]
    still = (
        f"run {ours[-1]['id']} (started {ours[-1]['started_at']}) was still running"
        if ours
        else "the previous run was still running"
    )
    return SkipRecord(
        source=source,
        trigger=RunTrigger.SCHEDULE,
        reason=f"{still}; never two runs of one source at once",
        scheduled_for=scheduled.astimezone(UTC).isoformat() if scheduled else None,
        cause=still,
    )


def missed_record(source: str, scheduled: datetime) -> SkipRecord:
    """A run APScheduler could not start within misfire_grace of its time: recorded as skipped, "missed"."""
    return SkipRecord(
        source=source,
        trigger=RunTrigger.SCHEDULE,
        reason=f"missed: due at {scheduled.isoformat()}, more than misfire_grace late",
        scheduled_for=scheduled.astimezone(UTC).isoformat(),
        cause="missed",
    )


def runs_to_interrupt(
    running: Iterable[Mapping[str, Any]], is_ours: Callable[[int | None], bool]
) -> list[Mapping[str, Any]]:
    """At shutdown: the running rows of scheduled crawls this scheduler started (never others' crawls)."""
    return [run for run in running if run["trigger"] in SCHEDULED_TRIGGERS and is_ours(run["pid"])]


def is_child_of_this_process(pid: int | None) -> bool:
    """Linux: read the parent pid from /proc, so a shutdown never touches other people's crawls."""
    if pid is None:
        return False
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return int(fields[1]) == os.getpid()


def run_scheduled_crawl(config_path: str, db_path: str, source_name: str, trigger: str = _SCHEDULE) -> dict[str, Any]:
    """The job: one crawl of one source in a child process, within its max_runtime; returns the run row.

    Stateless on purpose (the persistent job store keeps only this function's name and its
    arguments): everything it needs comes from the sources file and the archive.
    """
    try:
        config = load_config(config_path)
        source = config.source(source_name)
    except ConfigError as error:
        with Archive(db_path) as archive:
            run_id = archive.start_run(source_name, trigger=trigger)
            logger.error("run %s of %s not started: the sources file is unusable:\n%s", run_id, source_name, error)
            return archive.finish_run(run_id, RunStatus.FAILED, reason=f"sources file unusable: {error}")
    if config.distributed.scheduled:
        return run_scheduled_distributed_crawl(config, Path(config_path), source, trigger)
    spec = CrawlSpec(
        db=str(config.archive.db), config=str(config_path), source=source.name, trigger=trigger, log_level="WARNING"
    )
    with Archive(config.archive.db) as archive:
        child = start_crawl(
            archive,
            spec,
            source.name,
            config.scheduler.log_dir,
            emit=lambda line: logger.warning("[%s] %s", source.name, line),
            render_js=source.render_js,
        )
    logger.info(
        "run %s of %s started (%s, pid %s, log %s)",
        child.run_id,
        source.name,
        trigger,
        child.process.pid,
        child.log_path,
    )
    try:
        child.process.wait(timeout=source.max_runtime)
    except subprocess.TimeoutExpired:
        pass
    if child.process.poll() is None:
        child.timed_out = True
        logger.warning(
            "run %s of %s exceeded max_runtime (%ss): stopping it", child.run_id, source.name, source.max_runtime
        )
        stop_crawl(child, config.scheduler.stop_grace)
    with Archive(config.archive.db) as archive:
        run = close_run(archive, child, source.max_runtime)
    logger.info(
        "run %s of %s %s%s: %s new, %s unchanged, %s errors, %.1fs",
        run["id"],
        source.name,
        run["status"],
        f" ({run['reason']})" if run.get("reason") else "",
        run["articles_new"],
        run["articles_unchanged"],
        run["errors"],
        run["duration_s"] or 0,
    )
    return run


def distributed_crawl_command(config: Config, config_path: Path, source: SourceConfig, trigger: str) -> list[str]:
    """The child process of a scheduled distributed crawl: ``newsarchive crawl --distributed`` for one
    source (it seeds the crawl into Redis, writes the archive, runs ``[distributed] processes`` workers)."""
    command = [sys.executable, "-m", "crawler.cli", "crawl", source.name, "--config", str(config_path)]
    command += ["--distributed", "--processes", str(config.distributed.processes), "--no-progress"]
    command += ["-s", f"NEWSARCHIVE_RUN_TRIGGER={trigger}"]
    if config.scheduler.log_dir is not None:
        command += ["--log-dir", str(config.scheduler.log_dir)]
    return command


def run_scheduled_distributed_crawl(
    config: Config, config_path: Path, source: SourceConfig, trigger: str
) -> dict[str, Any]:
    """The job of a source with ``[distributed] scheduled = true``: one child process that seeds the
    crawl into Redis and writes the archive while workers elsewhere fetch; within max_runtime (then
    stopped as a local crawl is: SIGTERM, then SIGKILL after stop_grace); returns its run row.

    The child records its own run row (status, counts, the workers' stats). A child that ended
    without one (Redis unreachable: nothing starts) leaves a ``failed`` row with its message.
    """
    with Archive(config.archive.db) as archive:
        before = max((run["id"] for run in archive.source_runs(source.name, 1)), default=0)
    child = subprocess.Popen(
        distributed_crawl_command(config, config_path, source, trigger),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its stop signal goes to it and its workers, not to the scheduler
    )
    logger.info("distributed run of %s started (%s, pid %s)", source.name, trigger, child.pid)
    timed_out = False
    try:
        _, errors = child.communicate(timeout=source.max_runtime)
    except subprocess.TimeoutExpired:
        timed_out = True
        logger.warning("distributed run of %s exceeded max_runtime (%ss): stopping it", source.name, source.max_runtime)
        os.killpg(child.pid, signal.SIGTERM)
        try:
            _, errors = child.communicate(timeout=config.scheduler.stop_grace)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            _, errors = child.communicate()
    message = errors.decode("utf-8", "replace").strip().splitlines()[-1:] if errors else []
    with Archive(config.archive.db) as archive:
        runs = [run for run in archive.source_runs(source.name, 5) if run["id"] > before]
        if not runs:
            run_id = archive.start_run(source.name, trigger=trigger)
            reason = message[0] if message else f"the distributed crawl ended with exit code {child.returncode}"
            run = archive.finish_run(run_id, RunStatus.FAILED, reason=reason)
        elif timed_out:  # the seeder recorded its stop as interrupted: it was the source's max_runtime
            reason = timed_out_reason(source.max_runtime)
            run = archive.finish_run(runs[0]["id"], RunStatus.TIMED_OUT, exit_code=child.returncode, reason=reason)
        else:
            run = runs[0]
    logger.info(
        "distributed run %s of %s %s%s%s: %s new, %s errors",
        run["id"],
        source.name,
        run["status"],
        f" ({run['reason']})" if run.get("reason") else "",
        " after its max_runtime" if timed_out else "",
        run["articles_new"],
        run["errors"],
    )
    return run


# -- the service --------------------------------------------------------------------------------


class CrawlScheduler:
    """The running scheduler: jobs in sync with the sources file, runs recorded whatever happens."""

    def __init__(self, config_path: Path) -> None:
        self.config_path = Path(config_path).absolute()
        self.config: Config = load_config(self.config_path)
        self.scheduler: BackgroundScheduler | None = None
        self.metrics: Any = None
        self.stopping = threading.Event()
        self.stop_signals: list[str] = []  # SIGTERM/SIGINT received, by name: the first stops, a second forces
        self.forced = threading.Event()
        self.reload_requested = threading.Event()
        self.last_prune: datetime | None = None

    # lifecycle

    def start(self) -> None:
        config = self.config
        with Archive(config.archive.db) as archive:
            for run in abandon_stale_runs(archive):
                logger.warning("run %s of %s marked abandoned: %s", run["id"], run["source"], run["reason"])
        for folder in sweep_run_dirs():
            logger.info("removed %s: the temp folder of a crawl whose processes are gone", folder)
        self.prune_logs()
        config.scheduler.jobstore.parent.mkdir(parents=True, exist_ok=True)
        self.scheduler = BackgroundScheduler(
            jobstores={
                "default": SQLAlchemyJobStore(url=f"sqlite:///{config.scheduler.jobstore}", tablename=JOBS_TABLE),
                "internal": MemoryJobStore(),
            },
            executors={"default": ThreadPoolExecutor(max_workers=config.scheduler.max_parallel_crawls)},
            job_defaults=job_defaults(config.scheduler),
            timezone=ZoneInfo(config.scheduler.timezone),
        )
        self.scheduler.add_listener(self.on_submitted, EVENT_JOB_SUBMITTED)
        self.scheduler.add_listener(self.on_skipped, EVENT_JOB_MAX_INSTANCES)
        self.scheduler.add_listener(self.on_missed, EVENT_JOB_MISSED)
        self.scheduler.add_listener(self.on_finished, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        self.scheduler.start(paused=True)
        self.sync_jobs(config)
        self.plan_catch_up()
        self.scheduler.add_job(
            self.maintenance,
            "interval",
            seconds=MAINTENANCE_SECONDS,
            id="maintenance",
            jobstore="internal",
            executor="default",
            max_instances=1,
            coalesce=True,
        )
        self.start_metrics()
        self.scheduler.resume()
        for job in self.scheduler.get_jobs(jobstore="default"):
            logger.info("source %s: %s; next run %s", job.id, job.trigger, _local(job.next_run_time))
        if not self.scheduler.get_jobs(jobstore="default"):
            logger.warning(
                'no source in %s has a schedule: nothing will run (add schedule = "every 1h")', self.config_path
            )

    def run_forever(self) -> int:
        """Serve until SIGTERM/SIGINT; SIGHUP reloads the sources file. Returns the exit code."""
        signal.signal(signal.SIGTERM, self.on_stop_signal)
        signal.signal(signal.SIGINT, self.on_stop_signal)
        signal.signal(signal.SIGHUP, lambda *_: self.reload_requested.set())
        self.start()
        logger.info(
            "scheduler running (pid %s); SIGTERM or Ctrl-C stops it, SIGHUP reloads %s", os.getpid(), self.config_path
        )
        while not self.stopping.wait(0.5):
            if self.reload_requested.is_set():
                self.reload_requested.clear()
                self.reload()
        self.shutdown()
        return 0

    def on_stop_signal(self, signum: int, frame: object) -> None:
        """The first SIGTERM/SIGINT stops the scheduler cleanly, a later one stops its crawls at once."""
        self.stop_signals.append(signal.Signals(signum).name)
        if self.stopping.is_set():
            self.forced.set()
        self.stopping.set()

    def reload(self) -> None:
        try:
            config = load_config(self.config_path)
        except ConfigError as error:
            logger.error("not reloading: the sources file has problems; the old schedule stays:\n%s", error)
            return
        self.config = config
        self.sync_jobs(config)
        logger.info("reloaded %s", self.config_path)

    def shutdown(self) -> None:
        """Stop scheduling; ask running crawls to stop, give them shutdown_grace, then kill them; record all.

        Each crawl gets one SIGTERM at once (none when the same signal reached it directly:
        crawler.run.supervisor.ask_to_stop), then its run is marked interrupted with the signal as the
        reason. A second signal, or the end of shutdown_grace, kills what still runs.
        """
        if self.scheduler is None:
            return
        grace = self.config.scheduler.shutdown_grace
        # No new run starts from here on; running jobs go on in their threads and close their runs.
        self.scheduler.shutdown(wait=False)
        db = self.config.archive.db
        with Archive(db) as archive:  # reading only: writes come after the signals
            running = runs_to_interrupt(archive.runs_with_status(RunStatus.RUNNING), is_child_of_this_process)
        for run in running:  # before any archive write: see ask_to_stop
            ask_to_stop(run["pid"], find_run_dir(run["id"]))
        reason = stop_reason(self.stop_signals[0] if self.stop_signals else "SIGTERM", "the scheduler")
        with Archive(db) as archive:
            for run in running:
                mark_interrupted(archive, run["id"], reason)
        if running:
            logger.info(
                "shutting down: %d running crawl(s) get %.0fs to finish (send the signal again to stop them at once)",
                len(running),
                grace,
            )
        ids = [run["id"] for run in running]
        if not self.wait_for_runs(ids, grace, stop_early=self.forced):
            forced = self.forced.is_set()
            if forced:
                logger.warning("stopping the crawls at once")
                still = forced_reason(reason)
            else:
                logger.warning("crawls still running after %.0fs: killing them", grace)
                still = f"{reason}; still running after shutdown_grace ({grace:g}s): killed"
            with Archive(db) as archive:
                left = [run for run in running if archive.run(run["id"])["status"] == RunStatus.RUNNING]
                for run in left:  # before the kill: the job thread closes the run as soon as it is dead
                    mark_interrupted(archive, run["id"], still)
            for run in left:
                kill_crawl(run["pid"])  # its job thread reaps it and closes the run
            self.wait_for_runs(ids, self.config.scheduler.stop_grace + 10)
        if self.metrics is not None:
            self.metrics.stop_server()
        logger.info("scheduler stopped")

    def wait_for_runs(self, run_ids: list[int], timeout: float, stop_early: threading.Event | None = None) -> bool:
        """Wait until these runs are closed (their job threads record the end); False on timeout or once ``stop_early`` is set."""
        deadline = time.monotonic() + timeout
        while run_ids:
            if stop_early is not None and stop_early.is_set():
                return False
            with ArchiveReader(self.config.archive.db) as archive:
                if all(status != RunStatus.RUNNING for status in archive.run_statuses(run_ids).values()):
                    return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)
        return True

    # jobs

    def sync_jobs(self, config: Config) -> None:
        """Make the job store match the sources file: add, reschedule, remove; never duplicate."""
        assert self.scheduler is not None
        wanted = job_definitions(config, self.config_path, datetime.now(UTC))
        stored = {
            job.id: StoredJob(job.id, trigger_key(job.trigger), tuple(job.args))
            for job in self.scheduler.get_jobs(jobstore="default")
        }
        for change in plan_sync(wanted, stored):
            name, definition = change.job_id, change.definition
            if change.action == "remove":
                self.scheduler.remove_job(name, jobstore="default")
                logger.info("source %s: no longer scheduled (removed from the sources file or its schedule)", name)
            elif change.action == "add":
                self.scheduler.add_job(run_scheduled_crawl, jobstore="default", **definition.add_job_options())
                logger.info("source %s: scheduled %s", name, definition.schedule)
            elif change.action == "reschedule":
                self.scheduler.reschedule_job(name, jobstore="default", trigger=definition.trigger)
                logger.info("source %s: schedule changed to %s", name, definition.schedule)
            else:
                self.scheduler.modify_job(name, jobstore="default", args=list(definition.args))

    def plan_catch_up(self) -> None:
        """Jobs whose next run passed while the scheduler was down run once now, as catch-up."""
        assert self.scheduler is not None
        now = datetime.now(UTC)
        for job in self.scheduler.get_jobs(jobstore="default"):
            missed = catch_up(job.id, job.trigger, job.next_run_time, now, self.config.scheduler.misfire_grace)
            if missed is not None and missed.run_now:
                logger.warning(
                    "source %s: %d run(s) missed since %s while the scheduler was down; running one catch-up run now",
                    job.id,
                    missed.missed,
                    _local(missed.since),
                )
                self.scheduler.modify_job(job.id, jobstore="default", kwargs={"trigger": _CATCH_UP})

    # events (APScheduler calls these from its own threads)

    def on_submitted(self, event: JobSubmissionEvent) -> None:
        job = self.scheduler.get_job(event.job_id, jobstore="default") if event.jobstore == "default" else None
        if job is not None and job.kwargs.get("trigger") == RunTrigger.CATCH_UP:
            self.scheduler.modify_job(job.id, jobstore="default", kwargs={"trigger": _SCHEDULE})

    def on_skipped(self, event: JobSubmissionEvent) -> None:
        if event.jobstore != "default":
            return
        scheduled = event.scheduled_run_times[0] if event.scheduled_run_times else None
        with Archive(self.config.archive.db) as archive:
            skip = skip_record(event.job_id, scheduled, archive.runs_with_status(RunStatus.RUNNING))
            run_id = archive.record_skipped_run(skip.source, skip.trigger, skip.reason, skip.scheduled_for)
            run = archive.run(run_id)
        logger.warning(
            "source %s: run due at %s skipped (run %s): %s", event.job_id, _local(scheduled), run_id, skip.cause
        )
        self.after_run(run)

    def on_missed(self, event: JobExecutionEvent) -> None:
        if event.jobstore != "default":
            return
        with Archive(self.config.archive.db) as archive:
            skip = missed_record(event.job_id, event.scheduled_run_time)
            run_id = archive.record_skipped_run(skip.source, skip.trigger, skip.reason, skip.scheduled_for)
            run = archive.run(run_id)
        logger.warning(
            "source %s: run due at %s missed and recorded as skipped (run %s)",
            event.job_id,
            _local(event.scheduled_run_time),
            run_id,
        )
        self.after_run(run)

    def on_finished(self, event: JobExecutionEvent) -> None:
        if event.jobstore != "default":
            return
        if event.exception is not None:
            logger.error(
                "source %s: the run failed inside the scheduler: %s",
                event.job_id,
                event.exception,
                exc_info=(type(event.exception), event.exception, event.exception.__traceback__),
            )
            return
        if isinstance(event.retval, dict):
            self.after_run(event.retval)

    def after_run(self, run: dict[str, Any]) -> None:
        """Health check (alerts on a change) and metrics, after every run, skipped ones included."""
        from crawler.ops.alerts import check_source

        if self.metrics is not None:
            self.metrics.observe_run(run)
        with Archive(self.config.archive.db) as archive:
            check_source(archive, self.config, run["source"])  # logs and alerts when the health changes

    # upkeep

    def maintenance(self) -> None:
        if self.metrics is not None:
            for name, when in next_run_times(self.config.scheduler.jobstore).items():
                self.metrics.set_next_run(name, when)
        if self.last_prune is None or datetime.now(UTC) - self.last_prune > RETENTION_CHECK:
            self.prune_logs()

    def prune_logs(self) -> None:
        removed = prune_logs(self.config.scheduler.log_dir, self.config.scheduler.log_retention_days)
        self.last_prune = datetime.now(UTC)
        if removed:
            logger.info(
                "deleted %d run log(s) older than %d days", len(removed), self.config.scheduler.log_retention_days
            )

    def start_metrics(self) -> None:
        if not self.config.metrics.port:
            return
        from crawler.ops.metrics import SchedulerMetrics

        self.metrics = SchedulerMetrics()
        port = self.metrics.start_server(self.config.metrics.host, self.config.metrics.port)
        logger.info("Prometheus metrics on http://%s:%s/metrics", self.config.metrics.host, port)


def _local(when: datetime | None) -> str:
    return when.isoformat(timespec="seconds") if when else "never"


def configure_console_logging(level: str = "INFO") -> None:
    """Human lines on stdout (systemd's journal and containers collect stdout)."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level.upper())
    # APScheduler's own skip/misfire warnings repeat what this module logs (and records) itself.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
