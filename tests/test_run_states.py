"""How a run ends, whatever stops it: one run state for each way, no process and no temp folder left.

The decisions first, as data (what a stop signal means, which run folders are still in use), then
real ``newsarchive crawl`` commands and ``newsarchive schedule`` daemons (child processes, each in
a process group of its own so that a signal to "its group" reaches nothing else) crawling the
generated news site served on 127.0.0.1. A user's view decides: the run's row (status, reason,
stop_requested), the archive's articles against the pages the site actually served, the process
table (/proc) and the crawl's TMPDIR.

Several commands run side by side in one test (each with its own site and archive), so that the
ways of stopping cost the time of one crawl, not of each.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive import Archive
from archive.dates import parse_utc
from crawler.cli.main import main
from crawler.processes import process_start_ticks
from crawler.run.crawl_process import DUPLICATE_SIGNAL_S, StopRequest, signal_effect
from crawler.run.run_dir import (
    STOP_MARKER,
    find_run_dir,
    fits_a_socket_path,
    make_run_dir,
    sweep_run_dirs,
    temp_root,
)
from crawler.run.supervisor import kill_crawl
from tests.newssite import NewsSite, serve_site
from tests.test_orphans import (  # noqa: F401 (short_tmp: a fixture)
    is_running,
    process_tree,
    query,
    short_tmp,
    start_crawl,
    wait_until,
)

GONE_WITHIN_S = 15.0  # from the command's exit until every process of the crawl has ended


# -- the decisions, as data ------------------------------------------------------------------------


def test_the_first_stop_signal_stops_a_repeat_within_the_window_is_the_same_a_later_one_forces() -> None:
    assert signal_effect(None, 100.0) == "stop"
    assert signal_effect(100.0, 100.0 + DUPLICATE_SIGNAL_S / 2) == "duplicate"  # one signal, two ways in
    assert signal_effect(100.0, 100.0 + DUPLICATE_SIGNAL_S + 0.1) == "force"


def test_a_stop_request_marks_its_run_folder_and_says_why(tmp_path: Path) -> None:
    stops: list[str] = []
    request = StopRequest(
        run_dir=tmp_path, graceful=lambda: stops.append("graceful"), force=lambda: stops.append("force")
    )
    assert request.handle(signal.SIGTERM, 10.0) == "stop"
    assert (tmp_path / STOP_MARKER).read_text() == "SIGTERM\n"  # what the supervisor looks for
    assert request.handle(signal.SIGTERM, 10.5) == "duplicate"
    assert stops == ["graceful"] and request.reason() == "stopped by SIGTERM to the crawl process"
    assert request.handle(signal.SIGINT, 20.0) == "force"
    assert stops == ["graceful", "force"]
    assert request.reason() == "stopped by SIGTERM to the crawl process; a second signal stopped it at once"


def test_a_second_signal_before_the_crawl_began_ends_the_process() -> None:
    request = StopRequest()
    request.handle(signal.SIGTERM, 1.0)
    with pytest.raises(SystemExit):
        request.handle(signal.SIGTERM, 1.0 + DUPLICATE_SIGNAL_S + 1)


def test_run_folders_are_swept_once_every_process_that_used_them_is_gone(tmp_path: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        mine = make_run_dir(7, root=tmp_path)  # this process owns it
        assert find_run_dir(7, root=tmp_path) == mine and mine.name.startswith(f"newsarchive-{os.getpid()}-run7-")
        orphan_crawl = tmp_path / "newsarchive-4194000-run8-abcdefgh"  # supervisor gone, its crawl still there
        orphan_crawl.mkdir()
        (orphan_crawl / "owners").write_text(f"4194000 12\n{sleeper.pid} {process_start_ticks(sleeper.pid)}\n")
        dead = tmp_path / "newsarchive-4194001-run9-abcdefgh"  # both gone (kill -9, power loss)
        (dead / "pymp-abcdefgh").mkdir(parents=True)
        (dead / "owners").write_text(f"4194001 12\n{sleeper.pid} 1\n")  # a reused pid: another start tick
        young = tmp_path / "newsarchive-4194002-run10-abcdefgh"  # being created: no owners file yet
        young.mkdir()
        other = tmp_path / "pymp-abcdefgh"  # not ours: never touched
        other.mkdir()
        assert sweep_run_dirs(tmp_path) == [dead]
        assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
            [mine.name, orphan_crawl.name, young.name, other.name]
        )
        assert sweep_run_dirs(tmp_path, now=time.time() + 3600) == [young]  # an hour later: stale
        sleeper.kill()
        sleeper.wait()
        assert sweep_run_dirs(tmp_path) == [orphan_crawl]
        assert mine.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_run_folders_go_where_the_forkservers_socket_path_fits(tmp_path: Path) -> None:
    assert fits_a_socket_path(Path("/tmp")) and temp_root(Path("/tmp")) == Path("/tmp")
    deep = tmp_path / ("x" * 60)
    assert not fits_a_socket_path(deep)
    assert temp_root(deep) == Path("/tmp")  # as Python 3.12's multiprocessing falls back


def test_kill_crawl_stops_a_process_and_then_its_group(tmp_path: Path) -> None:
    # A leader whose child ignores the end of its parent: what is left of the group is killed after the grace.
    script = "import subprocess, time; subprocess.Popen(['sleep', '60']); time.sleep(60)"
    leader = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    wait_until(lambda: len(process_tree(leader.pid)) == 1, 10)
    (helper,) = process_tree(leader.pid)
    started = time.monotonic()
    kill_crawl(leader.pid, reap=leader.wait, helpers_grace=0.5)
    assert leader.returncode == -signal.SIGKILL
    wait_until(lambda: not is_running(helper), 5)
    assert time.monotonic() - started < 5


def test_an_abandoned_run_ends_at_its_last_fetch_not_when_it_is_found(tmp_path: Path) -> None:
    with Archive(tmp_path / "archive.db") as archive:
        run_id = archive.start_run("gone")
        fetch = {"url": "https://news.example/a", "status": 200, "fetched_at": "2031-01-01T10:00:05Z"}
        archive.record_fetch(run_id, fetch, "error", "refused", None)
        run = archive.finish_run(run_id, "abandoned", reason="the crawl process is gone")
    assert run["finished_at"] == "2031-01-01T10:00:05Z"


# -- newsarchive crawl, stopped every way ------------------------------------------------------------


@dataclass
class Stop:
    """One way of stopping a crawl: what is done to it, what the run must then say."""

    name: str
    act: Callable[[subprocess.Popen, int], None]  # (the command, its crawl process)
    reason: str
    forced: bool = False


def _second_sigterm(cli: subprocess.Popen, crawl_pid: int) -> None:
    cli.send_signal(signal.SIGTERM)
    time.sleep(0.5)  # a person sending it again: well inside the crawl's duplicate window, still a second signal
    cli.send_signal(signal.SIGTERM)


STOPS = [
    Stop(
        "SIGTERM to the command", lambda cli, pid: cli.send_signal(signal.SIGTERM), "stopped by SIGTERM to newsarchive"
    ),
    Stop(
        "SIGTERM to its group", lambda cli, pid: os.killpg(cli.pid, signal.SIGTERM), "stopped by SIGTERM to newsarchive"
    ),
    Stop(
        "Ctrl-C (SIGINT to its group)",
        lambda cli, pid: os.killpg(cli.pid, signal.SIGINT),
        "stopped with Ctrl-C (SIGINT to newsarchive)",
    ),
    Stop(
        "SIGTERM to the command and the crawl at once (a cgroup)",
        lambda cli, pid: (os.kill(cli.pid, signal.SIGTERM), os.kill(pid, signal.SIGTERM)),
        "stopped by SIGTERM to newsarchive",
    ),
    Stop(
        "a second SIGTERM",
        _second_sigterm,
        "stopped by SIGTERM to newsarchive; a second signal stopped it at once (pages in flight not archived)",
        forced=True,
    ),
]


@dataclass
class Crawl:
    """One ``newsarchive crawl`` command of a test, with what the test saw of it."""

    stop: Stop
    folder: Path
    temp: Path
    cli: subprocess.Popen | None = None
    crawl_pid: int = 0
    tree: dict[int, str] = field(default_factory=dict)
    semaphores: set[str] = field(default_factory=set)
    stopped_in: float = 0.0

    @property
    def db(self) -> Path:
        return self.folder / "archive.db"


def archived_urls(db: Path) -> list[str]:
    with closing(sqlite3.connect(db, timeout=10)) as connection:
        return [url for (url,) in connection.execute("SELECT url FROM articles")]


def run_row(db: Path, run_id: int = 1) -> dict:
    with closing(sqlite3.connect(db, timeout=10)) as connection:
        connection.row_factory = sqlite3.Row
        return dict(connection.execute("SELECT * FROM crawl_runs WHERE id = ?", [run_id]).fetchone())


def integrity(db: Path) -> str:
    with closing(sqlite3.connect(db, timeout=10)) as connection:
        (result,) = connection.execute("PRAGMA integrity_check").fetchone()
        connection.execute("INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')")  # raises if not
    return result


def under_way(db: Path, process: subprocess.Popen, run_id: int = 1, articles: int = 2, timeout: float = 120) -> int:
    """Wait until run ``run_id`` archived ``articles`` articles; its crawl process's pid."""
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, "the command ended before the test could stop it"
        assert time.monotonic() < deadline, f"nothing archived within {timeout}s"
        row = query(db, f"SELECT pid, (SELECT count(*) FROM articles) FROM crawl_runs WHERE id = {run_id}")
        if row and row[1] >= articles:
            return int(row[0])
        time.sleep(0.1)


def wait_for_exits(processes: list[subprocess.Popen], timeout: float) -> list[float]:
    """Wait for every process to end; when each ended (time.monotonic, to a tenth of a second)."""
    ended: dict[int, float] = {}
    deadline = time.monotonic() + timeout
    while len(ended) < len(processes):
        assert time.monotonic() < deadline, (
            f"still running after {timeout}s: {[p.args[3] for p in processes if p.poll() is None]}"
        )
        for index, process in enumerate(processes):
            if index not in ended and process.poll() is not None:
                ended[index] = time.monotonic()
        time.sleep(0.1)
    return [ended[index] for index in range(len(processes))]


def semaphores_of(pid: int) -> set[str]:
    """The POSIX semaphores (files in /dev/shm) process ``pid`` has mapped: its extraction pool's."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return set()
    return {line.split()[-1] for line in maps.splitlines() if "/dev/shm/sem." in line}


def served_articles(local, site: NewsSite) -> set[str]:
    """The article pages the site answered with their content (200)."""
    expected = {article.url for article in site.expected_articles(local.base_url)}
    return {local.base_url + record.path for record in local.log.since() if record.status == 200} & expected


@pytest.mark.e2e
@pytest.mark.slow
def test_newsarchive_crawl_stopped_by_signals(tmp_path: Path, short_tmp: Path) -> None:  # noqa: F811
    """SIGTERM to the command or to its group, Ctrl-C, a signal to a whole cgroup: ``interrupted`` with the
    signal as the reason, everything the site served archived. A second signal: at once, still
    ``interrupted``, saying so. Never a process or a temp folder left."""
    crawls = [Crawl(stop, tmp_path / f"crawl{n}", short_tmp / f"t{n}") for n, stop in enumerate(STOPS)]
    sites = [NewsSite(n_articles=300, seed=20 + n) for n in range(len(crawls))]
    with (
        serve_site(sites[0]) as s0,
        serve_site(sites[1]) as s1,
        serve_site(sites[2]) as s2,
        serve_site(sites[3]) as s3,
        serve_site(sites[4]) as s4,
    ):
        served = [s0, s1, s2, s3, s4]
        try:
            for crawl, local in zip(crawls, served, strict=True):
                crawl.folder.mkdir()
                crawl.temp.mkdir()
                crawl.cli = start_crawl(
                    local.base_url + "/", crawl.db, crawl.folder, crawl.temp, start_new_session=True
                )
            for crawl in crawls:
                crawl.crawl_pid = under_way(crawl.db, crawl.cli)
                crawl.tree = {crawl.crawl_pid: "crawl process", **process_tree(crawl.crawl_pid)}
                crawl.semaphores = semaphores_of(crawl.crawl_pid)
            stopped_at = {}
            for crawl in crawls:
                crawl.stop.act(crawl.cli, crawl.crawl_pid)
                stopped_at[crawl.stop.name] = time.monotonic()
            exits = wait_for_exits([crawl.cli for crawl in crawls], 60)
            for crawl, ended in zip(crawls, exits, strict=True):
                assert crawl.cli.returncode == 1, crawl.stop.name  # the command: not a success
                crawl.stopped_in = ended - stopped_at[crawl.stop.name]
            for crawl in crawls:
                wait_until(lambda crawl=crawl: not any(is_running(pid) for pid in crawl.tree), GONE_WITHIN_S)
        finally:
            for crawl in crawls:
                for pid in [*crawl.tree, *([crawl.cli.pid] if crawl.cli else [])]:
                    if is_running(pid):
                        os.kill(pid, signal.SIGKILL)
        for crawl, local, site in zip(crawls, served, sites, strict=True):
            name = crawl.stop.name
            run = run_row(crawl.db)
            print(
                f"\n[{name}] {run['status']}: {run['reason']} ({run['articles_new']} new, stopped in {crawl.stopped_in:.1f}s)"
            )
            assert (run["status"], run["reason"], run["stop_requested"]) == ("interrupted", crawl.stop.reason, 1), name
            assert run["finished_at"] and run["duration_s"] > 0, name
            assert integrity(crawl.db) == "ok", name
            urls = archived_urls(crawl.db)
            assert len(urls) == run["articles_new"] < 300, name  # stopped early; every archived article counted
            assert set(urls) <= {article.url for article in site.expected_articles(local.base_url)}, name
            missing = served_articles(local, site) - set(urls)
            if crawl.stop.forced:
                assert crawl.stopped_in < 15, name  # at once: not after the pages in flight
            else:
                assert missing == set(), f"{name}: served but not archived: {sorted(missing)[:3]}"
            assert list(crawl.temp.iterdir()) == [], f"{name}: temp folders left: {list(crawl.temp.iterdir())}"
            assert crawl.semaphores and not any(Path(path).exists() for path in crawl.semaphores), name


@pytest.mark.e2e
@pytest.mark.slow
def test_kill_9_of_command_and_crawl_is_abandoned_at_the_next_command(tmp_path: Path, short_tmp: Path) -> None:  # noqa: F811
    """Both killed at once (the OOM killer taking both, a power loss): the crawl's helpers still end;
    ``status`` and ``runs`` show the run abandoned (a failure), the next crawl records it so, with the
    run's own end (its last fetch), and removes its temp folder."""
    db = tmp_path / "archive.db"
    site = NewsSite(n_articles=300, seed=31)
    with serve_site(site) as local:
        cli = start_crawl(local.base_url + "/", db, tmp_path, short_tmp, start_new_session=True)
        tree: dict[int, str] = {}
        try:
            crawl_pid = under_way(db, cli)
            tree = {crawl_pid: "crawl process", **process_tree(crawl_pid)}
            semaphores = semaphores_of(crawl_pid)
            os.kill(crawl_pid, signal.SIGKILL)
            cli.kill()
            killed_at = time.time()
            cli.wait()
            took = wait_until(lambda: not any(is_running(pid) for pid in tree), GONE_WITHIN_S)
            print(f"\nkill -9 of both: the crawl's {len(tree) - 1} helpers gone in {took:.1f}s")
        finally:
            for pid in [*tree, cli.pid]:
                if is_running(pid):
                    os.kill(pid, signal.SIGKILL)
        assert run_row(db)["status"] == "running"  # nobody was left to close it
        # multiprocessing's resource tracker outlived the crawl long enough to remove its semaphores
        assert semaphores and not any(Path(path).exists() for path in semaphores)
        (left,) = list(short_tmp.iterdir())  # its temp folder, pymp- and all
        assert left.name.startswith(f"newsarchive-{cli.pid}-run1-")

        runner = CliRunner()
        status = json.loads(runner.invoke(main, ["status", "--db", str(db), "--json"]).output)
        (source,) = status["sources"]
        assert source["last_run"]["status"] == "abandoned" and source["consecutive_failures"] == 1
        failed = json.loads(runner.invoke(main, ["runs", "--failed", "--db", str(db), "--json"]).output)
        assert [(run["id"], run["status"]) for run in failed] == [(1, "abandoned")]

        environment = {**os.environ, "TMPDIR": str(short_tmp)}
        command = [sys.executable, "-m", "crawler.cli", "crawl", local.base_url + "/", "--db", str(db)]
        command += ["--max-pages", "3", "--delay", "0", "--no-progress"]
        assert subprocess.run(command, env=environment, capture_output=True, timeout=120).returncode == 0
    run = run_row(db)
    assert run["status"] == "abandoned"
    assert (
        run["reason"] == f"the crawl process (pid {crawl_pid} on {socket.gethostname()}) is gone; it was never closed"
    )
    with closing(sqlite3.connect(db)) as connection:
        (last_fetch,) = connection.execute("SELECT max(fetched_at) FROM fetches WHERE run_id = 1").fetchone()
    assert run["finished_at"] == last_fetch and parse_utc(last_fetch).timestamp() <= killed_at
    assert list(short_tmp.iterdir()) == []  # swept by the next crawl
    assert integrity(db) == "ok"


# -- newsarchive schedule -----------------------------------------------------------------------------


@dataclass
class Daemon:
    stop: Stop
    folder: Path
    temp: Path
    process: subprocess.Popen | None = None
    crawl_pid: int = 0
    tree: dict[int, str] = field(default_factory=dict)
    stopped_in: float = 0.0

    @property
    def db(self) -> Path:
        return self.folder / "archive.db"


def _scheduler_twice(process: subprocess.Popen, crawl_pid: int) -> None:
    process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)


SCHEDULER_STOPS = [
    Stop(
        "SIGTERM to the scheduler", lambda p, pid: p.send_signal(signal.SIGTERM), "stopped by SIGTERM to the scheduler"
    ),
    Stop(
        "SIGTERM to the scheduler and its crawl at once (systemd's KillMode=control-group)",
        lambda p, pid: (os.kill(p.pid, signal.SIGTERM), os.kill(pid, signal.SIGTERM)),
        "stopped by SIGTERM to the scheduler",
    ),
    Stop(
        "a second SIGTERM to the scheduler",
        _scheduler_twice,
        "stopped by SIGTERM to the scheduler; a second signal stopped it at once (pages in flight not archived)",
        forced=True,
    ),
]


def start_scheduler(folder: Path, temp: Path, base_url: str) -> subprocess.Popen:
    config = folder / "sources.toml"
    config.write_text(
        '[archive]\ndb = "archive.db"\n\n[scheduler]\nshutdown_grace = 30\nstop_grace = 5\n\n'
        f'[[sources]]\nname = "news"\nstart_urls = ["{base_url}/"]\nschedule = "every 1s"\n'
        "download_delay = 0.2\nmax_runtime = 600\n"
    )
    with open(folder / "scheduler.log", "w") as log:  # the child has its own copy of the file
        return subprocess.Popen(
            [sys.executable, "-m", "crawler.cli.main", "schedule", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=folder,
            env={**os.environ, "TMPDIR": str(temp)},
            start_new_session=True,
        )


@pytest.mark.e2e
@pytest.mark.slow
def test_newsarchive_schedule_stopped_by_signals(tmp_path: Path, short_tmp: Path) -> None:  # noqa: F811
    """The scheduler's crawl, when the scheduler gets SIGTERM (alone, or with its crawl as systemd's
    default does): ``interrupted`` with the reason, everything served archived; SIGTERM twice: at
    once. The scheduler exits 0, no process or temp folder left."""
    daemons = [Daemon(stop, tmp_path / f"s{n}", short_tmp / f"s{n}") for n, stop in enumerate(SCHEDULER_STOPS)]
    sites = [NewsSite(n_articles=300, seed=40 + n) for n in range(len(daemons))]
    with serve_site(sites[0]) as s0, serve_site(sites[1]) as s1, serve_site(sites[2]) as s2:
        served = [s0, s1, s2]
        try:
            for daemon, local in zip(daemons, served, strict=True):
                daemon.folder.mkdir()
                daemon.temp.mkdir()
                daemon.process = start_scheduler(daemon.folder, daemon.temp, local.base_url)
            for daemon in daemons:
                wait_until(lambda daemon=daemon: daemon.db.exists(), 60)
                daemon.crawl_pid = under_way(daemon.db, daemon.process)
                daemon.tree = {daemon.crawl_pid: "crawl process", **process_tree(daemon.crawl_pid)}
            stopped_at = {}
            for daemon in daemons:
                daemon.stop.act(daemon.process, daemon.crawl_pid)
                stopped_at[daemon.stop.name] = time.monotonic()
            exits = wait_for_exits([daemon.process for daemon in daemons], 90)
            for daemon, ended in zip(daemons, exits, strict=True):
                assert daemon.process.returncode == 0, daemon.stop.name
                daemon.stopped_in = ended - stopped_at[daemon.stop.name]
            for daemon in daemons:
                wait_until(lambda daemon=daemon: not any(is_running(pid) for pid in daemon.tree), GONE_WITHIN_S)
        finally:
            for daemon in daemons:
                for pid in [*daemon.tree, *([daemon.process.pid] if daemon.process else [])]:
                    if is_running(pid):
                        os.kill(pid, signal.SIGKILL)
        for daemon, local, site in zip(daemons, served, sites, strict=True):
            name = daemon.stop.name
            run = run_row(daemon.db)
            print(
                f"\n[{name}] {run['status']}: {run['reason']} ({run['articles_new']} new, stopped in {daemon.stopped_in:.1f}s)"
            )
            assert (run["status"], run["reason"], run["stop_requested"]) == ("interrupted", daemon.stop.reason, 1), name
            assert integrity(daemon.db) == "ok", name
            urls = archived_urls(daemon.db)
            assert len(urls) == run["articles_new"] < 300, name
            if daemon.stop.forced:
                assert daemon.stopped_in < 15, name
            else:
                missing = served_articles(local, site) - set(urls)
                assert missing == set(), f"{name}: served but not archived: {sorted(missing)[:3]}"
            assert list(daemon.temp.iterdir()) == [], f"{name}: temp folders left: {list(daemon.temp.iterdir())}"


# -- a crawl that renders in Chromium -------------------------------------------------------------


def processes_using(folder: Path) -> list[int]:
    """Live processes whose command line names ``folder`` (Chromium: --user-data-dir in the run folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if os.fsencode(folder) in cmdline and is_running(int(entry.name)):
                found.append(int(entry.name))
    return found


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.browser
def test_a_browser_crawl_killed_leaves_no_chromium_and_no_temp_folder(
    tmp_path: Path,
    short_tmp: Path,  # noqa: F811
    real_browser: str,
) -> None:
    """Playwright's and Chromium's temp folders land in the run's own folder; kill -9 of the crawl
    process mid-render: Chromium (in a session of its own) ends, the folder goes, the run is failed."""
    db = tmp_path / "archive.db"
    site = NewsSite(n_articles=80, seed=3, js_share=0.5)
    with serve_site(site) as local:
        command = [sys.executable, "-m", "crawler.cli", "crawl", local.base_url + "/", "--db", str(db)]
        command += ["--delay", "0.1", "--workers", "2", "--no-progress", "--render-js", "always"]
        environment = {**os.environ, "TMPDIR": str(short_tmp), "NEWSARCHIVE_BROWSER": real_browser}
        cli = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment, start_new_session=True
        )
        browser: list[int] = []
        try:
            crawl_pid = under_way(db, cli)
            (run_folder,) = list(short_tmp.iterdir())
            names = {path.name.rsplit("-", 1)[0] for path in run_folder.iterdir()}
            assert {"playwright-artifacts", "playwright_chromiumdev_profile", "pymp"} <= names, names
            browser = processes_using(run_folder)
            assert browser, "no Chromium runs with its profile in the run folder"
            os.kill(crawl_pid, signal.SIGKILL)
            assert cli.wait(timeout=60) == 1
            took = wait_until(lambda: not processes_using(run_folder), GONE_WITHIN_S)
            print(f"\nbrowser crawl killed: its {len(browser)} Chromium processes gone in {took:.1f}s")
        finally:
            for pid in [*browser, cli.pid]:
                if is_running(pid):
                    os.kill(pid, signal.SIGKILL)
    run = run_row(db)
    assert run["status"] == "failed" and "killed by signal 9" in run["reason"]
    assert list(short_tmp.iterdir()) == []
