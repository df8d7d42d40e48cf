"""The crawl process: one source's crawl with Scrapy, in a process of its own.

Scrapy's reactor cannot restart, so every crawl, manual (``newsarchive crawl``) or scheduled
(``newsarchive schedule``), runs in a child started as ``python -m crawler.run.crawl_process SPEC_JSON``
with an argument list, never a shell. The spec names the source (in a sources file, or an ad
hoc URL), the archive, the ``crawl_runs`` row the parent created for it, its log file, its temp
folder and any setting overrides. The crawl records its outcome in that row (the archive pipeline
closes it); the parent reads progress and the outcome from the archive, never from this process's
exit code. For a person running it by hand the exit code still says how it went, read back from
the row: 0 when the crawl succeeded, 1 when it did not (failed, interrupted), 2 on a configuration
error.

Stopping: this process handles SIGTERM and SIGINT itself (:class:`StopRequest`; Scrapy's own
handlers are not installed). The first asks for a graceful stop: Scrapy finishes the pages in
flight, the archive is flushed, and the run is recorded ``interrupted`` with the reason (the
supervisor's, when it asked; else "stopped by SIGTERM to the crawl process"). The same signal
again within ``DUPLICATE_SIGNAL_S`` is the same request, not a second one: a signal sent to a whole
cgroup (systemd's default ``KillMode``) reaches this process directly and again, forwarded, through
its supervisor. A later one forces the stop: the reactor stops at once, and ``FORCED_EXIT_S``
later the process leaves whatever it is doing. A signal before the crawl began ends the process
before it fetches anything, the run recorded ``interrupted``.

A crawl never runs on orphaned: the spec names its parent (``parent_pid``, set by the supervisor),
and when that process dies (``newsarchive crawl`` or the scheduler killed with SIGKILL) the crawl
stops itself as on SIGTERM, then records its run ``interrupted`` with the reason; after
``PARENT_GONE_GRACE_S`` it forces the stop as on a second signal. Its extraction workers follow it
(crawler.extraction.pool), and with them the forkserver and the resource tracker. Its temp folder
(``run_dir``, crawler.run.run_dir) is removed as it exits.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Literal

from archive.models import RunStatus, RunTrigger

if TYPE_CHECKING:
    from scrapy.settings import Settings

    from crawler.sources.config import SourceConfig

EXIT_OK, EXIT_CRAWL_FAILED, EXIT_CONFIG = 0, 1, 2
PARENT_GONE_GRACE_S = 15.0  # from the parent's death to the forced stop
# A stop signal this soon after the first is the same request: one signal to a whole cgroup arrives
# directly and, forwarded, through the supervisor (which forwards at once, before any other work).
DUPLICATE_SIGNAL_S = 1.5
FORCED_EXIT_S = 5.0  # after the forced stop began, to leaving the process whatever it is doing
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
LOG_FORMAT = "%(asctime)s [%(name)s] %(levelname)s: %(message)s"


@dataclass
class CrawlSpec:
    """Everything a crawl process needs; JSON-serialisable so it can cross the process boundary."""

    db: str  # the archive
    config: str | None = None  # sources file, with ``source``
    source: str | None = None  # a source name in the sources file
    url: str | None = None  # or an ad hoc site URL
    source_overrides: dict[str, Any] = field(default_factory=dict)  # applied to an ad hoc source
    settings: dict[str, Any] = field(default_factory=dict)  # Scrapy setting overrides
    trigger: str = RunTrigger.MANUAL
    run_id: int | None = None  # the crawl_runs row to fill (None: the crawl creates one)
    log_level: str = "INFO"  # what reaches stderr
    log_file: str | None = None  # the run's own log, JSON lines (crawler.ops.runlog)
    parent_pid: int | None = None  # the supervising process: when it dies the crawl stops (None: by hand)
    run_dir: str | None = None  # the run's temp folder (TMPDIR), made by the supervisor (crawler.run.run_dir)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> CrawlSpec:
        return cls(**json.loads(text))


def resolve_source(spec: CrawlSpec) -> Any:
    """The SourceConfig to crawl; raises ConfigError."""
    from crawler.sources.config import ConfigError, ConfigProblem, adhoc_source, load_config

    if spec.url:
        return adhoc_source(spec.url, **spec.source_overrides)
    if spec.config and spec.source:
        return load_config(spec.config).source(spec.source)
    raise ConfigError(
        ConfigProblem(None, "nothing to crawl: the spec names neither a URL nor a source and sources file")
    )


def build_settings(overrides: Mapping[str, Any] | None = None) -> Settings:
    """Scrapy settings: every default from crawler.settings, then ``overrides`` at command-line priority.

    The one way settings are built, in the crawl process and in its parents (the CLI, the scheduler,
    doctor), so both sides read the same values.
    """
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    for name, value in (overrides or {}).items():
        settings.set(name, value, priority="cmdline")
    return settings


def crawl_settings(spec: CrawlSpec) -> Settings:
    """Scrapy settings for this process: our defaults, then the spec's overrides."""
    settings = build_settings()
    settings.set("ARCHIVE_DB", spec.db, priority="cmdline")
    settings.set("NEWSARCHIVE_RUN_TRIGGER", spec.trigger, priority="cmdline")
    settings.set("NEWSARCHIVE_RUN_ID", spec.run_id, priority="cmdline")
    settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")  # configure_logging's handlers instead
    for name, value in spec.settings.items():
        settings.set(name, value, priority="cmdline")
    return settings


def configure_logging(spec: CrawlSpec, source_name: str) -> None:
    """stderr at the spec's level for whoever watches; the run's log file, if any, at INFO for the record."""
    from crawler.ops.runlog import open_run_log

    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(spec.log_level.upper())
    console.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(console)
    if spec.log_file:
        root.addHandler(open_run_log(Path(spec.log_file), spec.run_id, source_name))


def browser_problem(source: Any, settings: Any) -> Exception | None:
    """Why this source cannot be crawled at all without a browser (a BrowserMissing), or None."""
    from crawler.browser.render_settings import BrowserMissing, apply_render_settings
    from crawler.sources.ops_tables import RenderMode

    if source.render_js != RenderMode.ALWAYS:
        return None
    try:
        apply_render_settings(settings.copy(), source)
    except BrowserMissing as error:
        return error
    return None


def ensure_run(spec: CrawlSpec, source_name: str) -> int:
    """The run's crawl_runs row: the parent's, or one created here (a spec run by hand names none)."""
    from archive import Archive
    from crawler.run.liveness import abandon_stale_runs

    if spec.run_id is None:
        with Archive(spec.db) as archive:
            abandon_stale_runs(archive)  # as every command that crawls does (crawler.run.liveness)
            spec.run_id = archive.start_run(source_name, trigger=spec.trigger)
    return spec.run_id


def record_failure(spec: CrawlSpec, run_id: int, reason: str) -> None:
    """A crawl that cannot start still gets a run row that says why."""
    from archive import Archive

    with Archive(spec.db) as archive:
        archive.finish_run(run_id, RunStatus.FAILED, reason=reason)


def recorded_exit_code(spec: CrawlSpec, run_id: int) -> int:
    """This process's exit code, read back from the outcome the crawl recorded in its run row."""
    from archive import Archive

    with Archive(spec.db) as archive:
        status = archive.run(run_id)["status"]
    return EXIT_OK if status == RunStatus.SUCCEEDED else EXIT_CRAWL_FAILED


SignalEffect = Literal["stop", "duplicate", "force"]


def signal_effect(first_at: float | None, now: float, window: float = DUPLICATE_SIGNAL_S) -> SignalEffect:
    """What a stop signal arriving at ``now`` means, given when the first came (None: none yet).

    "stop" (the first: a graceful stop), "duplicate" (within ``window`` of the first: the same
    request, arriving twice), "force" (a later one: stop at once).
    """
    if first_at is None:
        return "stop"
    if now - first_at < window:
        return "duplicate"
    return "force"


@dataclass
class StopRequest:
    """The stop signals this crawl process got, and what they set off (see the module docstring).

    The handler only records and calls what was registered; logging and archive writes happen in
    the reactor thread or after the crawl, never in the handler, which may have interrupted either.
    """

    run_dir: Path | None = None  # where the supervisor looks for the stop marker (crawler.run.run_dir)
    signal_name: str | None = None  # the first stop signal
    first_at: float | None = None  # when it came (time.monotonic)
    duplicates: int = 0
    forced: bool = False
    graceful: Callable[[], None] | None = None  # set once the crawl is set up: begins Scrapy's graceful stop
    force: Callable[[], None] | None = None  # set once the crawl is set up: stops the reactor at once

    @property
    def requested(self) -> bool:
        return self.first_at is not None

    def handle(self, signum: int, now: float) -> SignalEffect:
        from crawler.run.run_dir import mark_stop_signal

        effect = signal_effect(self.first_at, now)
        if effect == "stop":
            self.first_at, self.signal_name = now, signal.Signals(signum).name
            if self.run_dir is not None:
                mark_stop_signal(self.run_dir, self.signal_name)
            if self.graceful is not None:
                self.graceful()
        elif effect == "duplicate":
            self.duplicates += 1
        else:
            self.forced = True
            if self.force is None:
                raise SystemExit(EXIT_CRAWL_FAILED)  # the crawl has not begun: nothing to finish
            self.force()
        return effect

    def install(self) -> None:
        """Handle SIGTERM and SIGINT in this process (main thread only, as Python requires)."""
        for signum in STOP_SIGNALS:
            signal.signal(signum, self.on_signal)

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.handle(signum, time.monotonic())

    def reason(self) -> str:
        text = f"stopped by {self.signal_name} to the crawl process"
        return text + ("; a second signal stopped it at once" if self.forced else "")


def connect_stop(process: Any, crawler: Any, request: StopRequest) -> None:
    """Let ``request`` stop this crawl: gracefully once the engine runs (at once if it was asked
    before), or at once on a second signal. Called once the crawl has installed the reactor
    (``process.crawl``), before it runs: importing the reactor earlier would install the wrong one."""
    from scrapy import signals
    from twisted.internet import reactor

    logger = logging.getLogger(__name__)
    engine_started = threading.Event()

    def stop_gracefully() -> None:  # in the reactor thread
        if engine_started.is_set():
            logger.warning(
                "received %s: finishing the pages in flight, then stopping (send it again to stop at once)",
                request.signal_name,
            )
            process.stop()

    def on_engine_started() -> None:
        engine_started.set()
        if request.requested:
            # Asked before the engine ran: stop it once it runs (it is marked running only after this
            # signal, and a stop before that is ignored).
            reactor.callLater(0, stop_gracefully)

    def stop_reactor() -> None:
        logger.warning("received a second stop signal: stopping at once")
        with contextlib.suppress(RuntimeError):  # already stopping
            reactor.stop()

    def force() -> None:
        reactor.callFromThread(stop_reactor)
        # Whatever Scrapy still waits for (a page in flight, a locked archive), the process leaves.
        leave = threading.Timer(FORCED_EXIT_S, os._exit, args=(EXIT_CRAWL_FAILED,))
        leave.daemon = True
        leave.start()

    crawler.signals.connect(on_engine_started, signal=signals.engine_started, weak=False)  # a local function
    request.graceful = lambda: reactor.callFromThread(stop_gracefully)
    request.force = force


def stop_when_parent_dies(parent_pid: int, parent_gone: threading.Event) -> None:
    """Watch the parent; when it is gone, set ``parent_gone`` and stop this crawl (see the module docstring)."""
    from crawler.extraction.pool import watch_process

    def stop() -> None:
        parent_gone.set()
        logger = logging.getLogger(__name__)
        logger.warning("the parent process (pid %s) is gone: stopping the crawl", parent_pid)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stderr.fileno())  # stderr was a pipe to the dead parent
        os.close(devnull)
        os.kill(os.getpid(), signal.SIGTERM)  # the graceful stop (StopRequest)
        time.sleep(PARENT_GONE_GRACE_S)
        logger.warning("still running %.0fs after the parent died: forcing the stop", PARENT_GONE_GRACE_S)
        os.kill(os.getpid(), signal.SIGTERM)  # later than DUPLICATE_SIGNAL_S: a second signal, the forced stop

    if os.getppid() != parent_pid:  # it died before this process could watch it
        threading.Thread(target=stop, name="parent-gone", daemon=True).start()
    else:
        watch_process(parent_pid, stop, name="watch-parent")


def parent_gone_reason(spec: CrawlSpec) -> str:
    return f"its parent process (pid {spec.parent_pid}, which started the crawl) died; the crawl stopped itself"


def record_stopped(spec: CrawlSpec, run_id: int, reason: str) -> None:
    """The crawl stopped because it was told to (a signal, its parent's death): ``interrupted``, and why.

    The supervisor's reason, when it asked first, is kept; a failure the crawl recorded with a
    reason of its own (items it could not archive) keeps that reason after ours.
    """
    from archive import Archive

    with Archive(spec.db) as archive:
        run = archive.run(run_id)
        if not run.get("stop_requested"):
            recorded = run.get("reason") if run.get("status") == RunStatus.FAILED else None
            archive.request_stop(run_id, f"{reason}; {recorded}" if recorded else reason)
        archive.finish_run(run_id, RunStatus.INTERRUPTED)


def own_run_dir(spec: CrawlSpec) -> Path | None:
    """Join the run's temp folder (crawler.run.run_dir) and remove it when this process exits."""
    from crawler.run.run_dir import add_owner, remove_run_dir

    if not spec.run_dir:
        return None
    folder = Path(spec.run_dir)
    with contextlib.suppress(OSError):  # already removed: the supervisor is gone and swept it
        add_owner(folder, os.getpid())
    # Registered before multiprocessing is imported, so it runs after multiprocessing's own exit
    # handler has removed its pymp- folder in there (atexit runs the last registered first).
    atexit.register(remove_run_dir, folder)
    return folder


@dataclass
class Child:
    """A crawl child process once its shared start is done (:func:`begin`)."""

    request: StopRequest
    parent_gone: threading.Event
    source: SourceConfig


def begin(spec: CrawlSpec) -> Child | int:
    """What every crawl child does first (this one and crawler.run.distributed_process): stop signals
    handled, the run folder joined, lean imports, the parent watched, the source resolved; the exit
    code when the sources file is wrong (the message is printed)."""
    request = StopRequest()
    request.install()  # first: a signal from here on is a stop request, never a half-started process
    request.run_dir = own_run_dir(spec)
    from archive.lean_imports import import_sqlite_utils_lean

    # Before anything imports sqlite-utils: pandas (where installed) would cost this process ~60 MB
    # for the whole crawl. numpy comes when a signature is first compared.
    import_sqlite_utils_lean()
    from crawler.sources.config import ConfigError

    parent_gone = threading.Event()
    if spec.parent_pid is not None:
        stop_when_parent_dies(spec.parent_pid, parent_gone)
    try:
        source = resolve_source(spec)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    return Child(request, parent_gone, source)


def crawl(child: Child, settings: Any, spider_class: type, prepare: Callable[[Any], None] | None = None) -> None:
    """Run ``spider_class`` on the child's source until the crawl ends, unless a stop came first;
    ``prepare`` sees the crawler before it starts."""
    from scrapy.crawler import CrawlerProcess

    if child.request.requested:
        return
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(spider_class)
    if prepare is not None:
        prepare(crawler)
    process.crawl(crawler, source=child.source)  # installs the reactor: connect_stop uses it
    connect_stop(process, crawler, child.request)
    # Our StopRequest handles SIGTERM and SIGINT, not Scrapy's handlers (which would take a
    # signal to the whole group, arriving twice, for a second one).
    process.start(install_signal_handlers=False)


def ended(spec: CrawlSpec, run_id: int, child: Child) -> int:
    """Record a stop the run row does not know of yet; the exit code its status calls for."""
    if child.parent_gone.is_set():
        record_stopped(spec, run_id, parent_gone_reason(spec))
    elif child.request.requested:
        record_stopped(spec, run_id, child.request.reason())
    return recorded_exit_code(spec, run_id)


def run(spec: CrawlSpec) -> int:
    child = begin(spec)
    if isinstance(child, int):
        return child
    from spiders.news import NewsSpider

    run_id = ensure_run(spec, child.source.name)
    configure_logging(spec, child.source.name)
    settings = crawl_settings(spec)
    problem = browser_problem(child.source, settings)
    if problem:
        logging.getLogger(__name__).error("%s", problem, extra={"event": "browser_missing"})
        record_failure(spec, run_id, str(problem))
        return EXIT_CRAWL_FAILED
    crawl(child, settings, NewsSpider)
    return ended(spec, run_id, child)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m crawler.run.crawl_process SPEC_JSON", file=sys.stderr)
        return EXIT_CONFIG
    return run(CrawlSpec.from_json(args[0]))


if __name__ == "__main__":
    sys.exit(main())
