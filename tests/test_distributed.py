"""Distributed crawls (issue 14): real redis-server, real worker and writer processes, the fixture site.

One shared module fixture crawls the fixture news site once locally (the reference) and once with
3 workers + the writer through Redis; the fault scenarios (kill -9 of a worker and of the writer
mid-crawl; Redis stopped for 10 s and started again) each crawl it again, and every archive must
hold the reference's articles, with the same text, each once. Redis is Debian's redis-server,
started on 127.0.0.1 with a free port and stopped by PID (CI installs it: .ci/run).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli.main import main
from crawler.demo.server import Reply, Request, serve
from scheduler import run_scheduled_crawl
from tests.newssite import NewsSite, serve_site

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

INSTALL = "apt-get install -y redis-server"
NEWSARCHIVE = [sys.executable, "-m", "crawler.cli.main"]
FAST = [
    "-s",
    "DISTRIBUTED_LEASE_TIMEOUT=3",
    "-s",
    "DISTRIBUTED_IDLE_CONFIRM=1",
    "-s",
    "DISTRIBUTED_HOST_SLOT_TIMEOUT=5",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis(port: int, folder: Path, persist: bool) -> subprocess.Popen:
    binary = shutil.which("redis-server")
    if binary is None:
        message = f"these tests need redis-server: {INSTALL}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    durability = ["--appendonly", "yes", "--appendfsync", "always"] if persist else ["--appendonly", "no"]
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(folder), *durability],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    pytest.fail("redis-server did not start")


def stop_redis(process: subprocess.Popen) -> None:
    os.kill(process.pid, signal.SIGTERM)
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    process = start_redis(port, tmp_path_factory.mktemp("redis"), persist=False)
    yield f"redis://127.0.0.1:{port}/0"
    stop_redis(process)


@dataclass
class Reference:
    base_url: str
    folder: Path
    articles: dict[str, str]  # url -> text, from the local crawl
    aliases: set[tuple[str, str, str]]  # (alias, reason, article url), from the local crawl


def sources_file(folder: Path, base_url: str, redis: str, prefix: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "sources.toml"
    config.write_text(
        f'[archive]\ndb = "archive.db"\n\n[distributed]\nredis_url = "{redis}"\nkey_prefix = "{prefix}"\n\n'
        f'[[sources]]\nname = "fixture"\nstart_urls = ["{base_url}/"]\ndownload_delay = 0.0\nconcurrency = 8\n'
    )
    return config


def articles(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as connection:
        return list(connection.execute("SELECT url, text FROM articles"))


def metadata(db: Path) -> dict[str, tuple]:
    # Not tags: where a feed's categories and a sitemap's keywords both name a page, the finder met
    # first wins, and which that is depends on the order pages are parsed in (several workers, or one).
    columns = "title, authors, published_at_utc, modified_at_utc, language, description, image"
    with sqlite3.connect(db) as connection:
        return {row[0]: row[1:] for row in connection.execute(f"SELECT url, {columns} FROM articles")}


def aliases(db: Path) -> set[tuple[str, str, str]]:
    with sqlite3.connect(db) as connection:
        query = "SELECT l.url, l.reason, a.url FROM url_aliases l JOIN articles a ON a.id = l.article_id"
        return set(connection.execute(query))


def run_row(db: Path) -> dict:
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        return dict(connection.execute("SELECT * FROM crawl_runs ORDER BY id DESC LIMIT 1").fetchone())


def finished_output(seeder: subprocess.Popen, url: str, timeout: float = 90) -> str:
    """The seeder's output once it ended; a crawl still going after ``timeout`` fails the test with the
    crawl's state in Redis (queue, requests held, workers alive), to tell where it stalled."""
    try:
        output, _ = seeder.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        import redis as redis_client

        server = redis_client.Redis.from_url(url)
        state = {}
        for key in sorted(server.keys("*")):
            kind = server.type(key).decode()
            size = {"zset": server.zcard, "hash": server.hlen, "list": server.llen, "set": server.scard}.get(kind)
            state[key.decode()] = size(key) if size else server.get(key)
        pytest.fail(f"the distributed crawl did not end within {timeout}s; Redis: {state}")
    return output


def signatures(db: Path) -> dict[str, bytes]:
    with sqlite3.connect(db) as connection:
        query = "SELECT a.url, m.signature FROM articles a JOIN article_minhashes m ON m.article_id = a.id"
        return dict(connection.execute(query).fetchall())


def assert_same_archive(db: Path, reference: Reference) -> None:
    rows = articles(db)
    urls = [url for url, _ in rows]
    assert len(urls) == len(set(urls)), "an article archived twice"
    assert dict(rows) == reference.articles


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Reference]:
    folder = tmp_path_factory.mktemp("distributed")
    with serve_site(NewsSite(n_articles=40, seed=3)) as local:
        config = sources_file(folder / "local", local.base_url, redis_url, "local")
        result = CliRunner().invoke(main, ["crawl", "--config", str(config), "--no-progress"])
        assert result.exit_code == 0, result.output
        db = folder / "local" / "archive.db"
        yield Reference(local.base_url, folder, dict(articles(db)), aliases(db))


def test_three_workers_and_a_writer_archive_what_one_process_does(site: Reference, redis_url: str) -> None:
    from archive.dedup import text_signature

    config = sources_file(site.folder / "three", site.base_url, redis_url, "three")
    result = CliRunner().invoke(
        main, ["crawl", "--config", str(config), "--distributed", "--processes", "3", "--no-progress", *FAST]
    )
    assert result.exit_code == 0, result.output
    db = site.folder / "three" / "archive.db"
    assert_same_archive(db, site)
    # The other URLs of each article too: redirects, shortlinks, tracking variants, exact copies (a
    # redirect to a page another worker already fetched reaches the writer as a RedirectedToKnownItem).
    assert aliases(db) == site.aliases
    assert metadata(db) == metadata(site.folder / "local" / "archive.db")  # feed hints reached the writer too
    # The near-duplicate signatures, computed by the workers or the writer, are the stored texts'.
    local_db = site.folder / "local" / "archive.db"
    for archive_db in (db, local_db):
        texts, stored = dict(articles(archive_db)), signatures(archive_db)
        assert {url: text_signature(texts[url]) for url in stored} == stored, archive_db
    assert signatures(db) == signatures(local_db)
    run = run_row(db)
    local = run_row(site.folder / "local" / "archive.db")
    assert run["status"] == "succeeded"
    assert run["articles_new"] == local["articles_new"] == len(site.articles)
    assert run["responses_2xx"] >= local["articles_new"]  # the workers' stats reached the run row


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(child) for child in text)
    return found


def role_pids(parent: int, role: str) -> list[int]:
    pids = []
    for child in children(parent):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "crawler.run.distributed_process" in command and f'"DISTRIBUTED_ROLE": "{role}"' in command:
            pids.append(child)
    return pids


def wait_for_articles(db: Path, count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if len(articles(db)) >= count:
                return
        except sqlite3.Error:
            pass
        time.sleep(0.1)
    pytest.fail(f"fewer than {count} articles archived after {timeout}s")


def test_kill_9_of_a_worker_and_of_the_writer_loses_nothing_and_doubles_nothing(
    site: Reference, redis_url: str
) -> None:
    config = sources_file(site.folder / "kill", site.base_url, redis_url, "kill")
    db = site.folder / "kill" / "archive.db"
    slow = ["-s", "DOWNLOAD_DELAY=0.03", *FAST]
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    seeder = subprocess.Popen(
        [*NEWSARCHIVE, "crawl", "--config", str(config), "--distributed", "--processes", "0", "--no-progress", *slow],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    joiner = subprocess.Popen(
        [*NEWSARCHIVE, "worker", "--config", str(config), "--processes", "3", "--exit-when-idle"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        wait_for_articles(db, 8)
        workers = role_pids(joiner.pid, "worker")
        assert len(workers) == 3
        os.kill(workers[0], signal.SIGKILL)
        wait_for_articles(db, 16)
        (writer,) = role_pids(seeder.pid, "writer")
        os.kill(writer, signal.SIGKILL)
        output = finished_output(seeder, redis_url)
        assert seeder.returncode == 0, output
        assert "starting it again" in output
        joiner.wait(timeout=30)
    finally:
        for process in (seeder, joiner):
            if process.poll() is None:
                process.kill()
                process.wait()
    assert_same_archive(db, site)
    assert run_row(db)["status"] == "succeeded"


def test_redis_stopped_for_10_seconds_mid_crawl_the_crawl_completes(site: Reference, tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "redis-data"
    data.mkdir()
    redis = start_redis(port, data, persist=True)
    url = f"redis://127.0.0.1:{port}/0"
    config = sources_file(site.folder / "outage", site.base_url, url, "outage")
    db = site.folder / "outage" / "archive.db"
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    seeder = subprocess.Popen(
        [
            *NEWSARCHIVE,
            "crawl",
            "--config",
            str(config),
            "--distributed",
            "--processes",
            "2",
            "--no-progress",
            "-s",
            "DOWNLOAD_DELAY=0.03",
            "-s",
            "DISTRIBUTED_RETRY_MAX=1",
            *FAST,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        wait_for_articles(db, 8)
        stop_redis(redis)
        time.sleep(10)
        redis = start_redis(port, data, persist=True)
        output = finished_output(seeder, url)
        assert seeder.returncode == 0, output
        assert "Redis is unreachable" in output
    finally:
        if seeder.poll() is None:
            seeder.kill()
            seeder.wait()
        if redis.poll() is None:
            stop_redis(redis)
    assert_same_archive(db, site)


def test_an_unreachable_redis_is_one_error_naming_the_url_and_nothing_starts(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    config = sources_file(tmp_path, "http://127.0.0.1:9", f"redis://127.0.0.1:{port}/0", "none")
    result = CliRunner().invoke(main, ["crawl", "--config", str(config), "--distributed"])
    assert result.exit_code == 2
    assert f"cannot reach Redis at redis://127.0.0.1:{port}/0" in result.output
    assert not (tmp_path / "archive.db").exists() or not run_rows(tmp_path / "archive.db")
    result = CliRunner().invoke(main, ["worker", "--config", str(config), "--redis-url", f"redis://127.0.0.1:{port}/1"])
    assert result.exit_code == 2
    assert f"redis://127.0.0.1:{port}/1" in result.output


def run_rows(db: Path) -> list:
    with sqlite3.connect(db) as connection:
        return list(connection.execute("SELECT id FROM crawl_runs"))


def test_the_distributed_table_is_checked_like_every_other(tmp_path: Path) -> None:
    config = tmp_path / "sources.toml"
    config.write_text(
        '[distributed]\nredis_url = "http://redis.example/"\nkey_prefix = "a b"\nport = 1\n\n'
        '[[sources]]\nname = "a"\nstart_urls = ["https://a.example/"]\n'
    )
    result = CliRunner().invoke(main, ["crawl", "--config", str(config), "--distributed"])
    assert result.exit_code == 2
    assert "distributed.redis_url" in result.output and "is not a Redis URL" in result.output
    assert "distributed.key_prefix" in result.output
    assert "port" in result.output
    config.write_text('[[sources]]\nname = "a"\nstart_urls = ["https://a.example/"]\n')
    result = CliRunner().invoke(main, ["crawl", "--config", str(config), "--distributed"])
    assert result.exit_code == 2
    assert "redis_url" in result.output and "--redis-url" in result.output


def test_a_sources_delay_and_concurrency_hold_across_workers(redis_url: str, tmp_path: Path) -> None:
    """Two workers on one source with `concurrency = 1` and `download_delay = 0.3`: the host sees one
    request at a time, at least the delay apart, as from a single crawl (the slots live in Redis)."""
    delay, pages = 0.3, 12
    lock = threading.Lock()
    in_flight, most, starts = [0], [0], []

    def app(request: Request) -> Reply:
        if request.path == "/robots.txt":
            return Reply(status=404)
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
            starts.append(time.monotonic())
        time.sleep(0.05)  # an answer takes a moment: overlapping requests would show
        with lock:
            in_flight[0] -= 1
        if request.path == "/":
            links = "".join(f'<a href="/section/{n}/">Section {n}</a>' for n in range(pages))
            return Reply(body=f"<html><body><h1>Front</h1>{links}</body></html>".encode())
        return Reply(body=b"<html><body><h1>Section</h1><p>Nothing here yet.</p></body></html>")

    with serve(app) as local:
        config = tmp_path / "sources.toml"
        config.write_text(
            f'[archive]\ndb = "archive.db"\n\n[distributed]\nredis_url = "{redis_url}"\nkey_prefix = "polite"\n\n'
            f'[[sources]]\nname = "polite"\nstart_urls = ["{local.base_url}/"]\n'
            f"download_delay = {delay}\nconcurrency = 1\n"
        )
        result = CliRunner().invoke(
            main, ["crawl", "--config", str(config), "--distributed", "--processes", "2", "--no-progress", *FAST]
        )
    assert result.exit_code == 0, result.output
    gaps = [later - earlier for earlier, later in itertools.pairwise(sorted(starts))]
    assert len(starts) == pages + 1 and most[0] == 1
    assert min(gaps) >= delay * 0.9, sorted(gaps)[:3]  # a little slack for clocks read in two processes


def test_status_shows_the_distributed_crawls_or_says_redis_is_unreachable(
    site: Reference, redis_url: str, tmp_path: Path
) -> None:
    config = sources_file(tmp_path / "status", site.base_url, redis_url, "status")
    (tmp_path / "status" / "archive.db").write_bytes((site.folder / "local" / "archive.db").read_bytes())
    shown_url = redis_url.rsplit("/", 1)[0] + "/…"  # the database number hidden with the rest of the path
    shown = CliRunner().invoke(main, ["status", "--config", str(config)])
    assert f"Distributed: no crawl open in Redis at {shown_url}" in shown.output
    as_json = json.loads(CliRunner().invoke(main, ["status", "--config", str(config), "--json"]).output)
    assert as_json["distributed"] == {"redis_url": shown_url, "reachable": True, "crawls": []}

    dead = sources_file(tmp_path / "dead", site.base_url, f"redis://:secret@127.0.0.1:{free_port()}/0", "dead")
    (tmp_path / "dead" / "archive.db").write_bytes((site.folder / "local" / "archive.db").read_bytes())
    shown = CliRunner().invoke(main, ["status", "--config", str(dead)])
    assert "cannot be reached" in shown.output and "secret" not in shown.output


def test_a_scheduled_run_is_distributed_when_the_sources_file_says_so(
    site: Reference, redis_url: str, tmp_path: Path
) -> None:
    config = sources_file(tmp_path / "scheduled", site.base_url, redis_url, "scheduled")
    config.write_text(config.read_text().replace("\n\n[[sources]]", "\nscheduled = true\nprocesses = 2\n\n[[sources]]"))
    db = tmp_path / "scheduled" / "archive.db"
    run = run_scheduled_crawl(str(config), str(db), "fixture")  # what the scheduler's job calls
    assert (run["status"], run["trigger"]) == ("succeeded", "schedule"), run
    assert_same_archive(db, site)

    # No worker anywhere (processes = 0): the crawl waits for one until its max_runtime stops it.
    stuck = sources_file(tmp_path / "stuck", site.base_url, redis_url, "stuck")
    stuck.write_text(
        stuck.read_text().replace("\n\n[[sources]]", "\nscheduled = true\n\n[[sources]]") + 'max_runtime = "3s"\n'
    )
    timed_out = run_scheduled_crawl(str(stuck), str(tmp_path / "stuck" / "archive.db"), "fixture")
    assert timed_out["status"] == "timed_out" and "max_runtime (3s)" in timed_out["reason"], timed_out

    dead = sources_file(tmp_path / "dead", site.base_url, f"redis://127.0.0.1:{free_port()}/0", "dead")
    dead.write_text(dead.read_text().replace("\n\n[[sources]]", "\nscheduled = true\n\n[[sources]]"))
    failed = run_scheduled_crawl(str(dead), str(tmp_path / "dead" / "archive.db"), "fixture")
    assert failed["status"] == "failed" and "cannot reach Redis at redis://127.0.0.1" in failed["reason"]


def test_a_lease_whose_taking_the_worker_never_heard_of_goes_back_to_the_queue(redis_url: str) -> None:
    """Redis can run the take-and-hold script and go away before it answers: the request is then
    recorded as held by a live worker that does not know it, and the crawl would never go quiet."""
    import redis as redis_client

    from crawler.distributed.keys import Keys
    from crawler.distributed.leases import Leases

    keys = Keys("orphans", "fixture")
    server = redis_client.Redis.from_url(redis_url)
    leases = Leases(server, keys)
    leases.hold("known", "w1", "request-known", 0)
    leases.hold("lost", "w1", "request-lost", 3)
    leases.hold("other", "w2", "request-other", 0)
    assert leases.requeue_orphans("w1", ["known"]) == 1
    assert sorted(server.hkeys(keys.leases)) == [b"known", b"other"]
    assert server.zrange(keys.requests, 0, -1, withscores=True) == [(b"request-lost", -3.0)]
    assert leases.requeue_orphans("w1", ["known"]) == 0


def test_a_take_retried_after_its_answer_was_lost_gets_the_same_batch(redis_url: str) -> None:
    """Redis can move a batch to the processing list and go away before it answers: the writer's
    retried take must get those items, not strand them there (the crawl would end without them)."""
    import redis as redis_client

    from crawler.distributed.item_queue import ItemQueue
    from crawler.distributed.keys import Keys

    queue = ItemQueue(redis_client.Redis.from_url(redis_url), Keys("lost-take", "fixture"))
    queue.push_many([b"first", b"second", b"third"])
    batch = queue.take(2)
    assert batch == [b"first", b"second"]
    assert queue.take(2) == batch  # its answer was lost: the same batch again
    queue.ack(batch)
    assert queue.take(2) == [b"third"]
    assert queue.waiting() == 1
    queue.ack([b"third"])
    assert queue.take(2) == [] and queue.waiting() == 0


def test_a_request_push_retried_after_its_answer_was_lost_leaves_it_queued_once(redis_url: str) -> None:
    """The seen set and the queue change together (one script): a request Redis marked seen is
    queued too, so a push retried after a lost answer can drop it as seen without losing it."""
    from scrapy import Request

    from crawler.extensions.redis_scheduler import LeasingScheduler
    from tests.inprocess import NO_ENGINE_SETTINGS, news_crawler

    settings = {"DISTRIBUTED_REDIS_URL": redis_url, "DISTRIBUTED_KEY_PREFIX": "lost-push", **NO_ENGINE_SETTINGS}
    crawler = news_crawler(settings, url="http://127.0.0.1:9/")
    scheduler = LeasingScheduler(crawler)
    scheduler.open(crawler.spider)
    try:
        request = Request("http://127.0.0.1:9/news/a", priority=5)
        assert scheduler.enqueue_request(request)
        assert not scheduler.enqueue_request(Request("http://127.0.0.1:9/news/a"))  # the retry: seen
        assert scheduler.df.request_seen(request)  # scrapy-redis's seen set holds it
        assert len(scheduler) == 1
        taken = scheduler.next_request()
        assert taken is not None and taken.url == request.url and taken.priority == 5
        assert scheduler.next_request() is None
    finally:
        scheduler.checker.stop()  # close() needs the engine this test has not got


def test_a_send_that_woke_late_pushes_the_next_one_back_by_the_delay(redis_url: str) -> None:
    """Two workers each reserve a send on one host, a delay apart; the first wakes late (a busy
    worker): the second, confirming at its planned time, is told to wait until a delay after the
    first's real send, so that the host never sees two requests closer than the delay."""
    import redis as redis_client

    from crawler.distributed.keys import Keys
    from crawler.distributed.politeness import HostSlots

    slots = HostSlots(redis_client.Redis.from_url(redis_url), Keys("late-send", ""), 60)
    delay, late_by = 1.0, 0.3  # a delay long enough that a slow test machine cannot blur the lateness
    assert slots.reserve("news.example", "w1|a", 2, delay) == 0
    planned = slots.reserve("news.example", "w2|b", 2, delay)
    assert planned is not None and 0.9 * delay <= planned <= delay
    time.sleep(late_by)  # the first worker wakes late
    assert slots.confirm("news.example", delay) == 0  # its real send
    first_sent = time.monotonic()
    time.sleep(max(0.0, planned - late_by))  # the second wakes at its planned time
    confirming = time.monotonic()
    late = slots.confirm("news.example", delay)
    assert 0 < late <= late_by + 0.01, late
    assert confirming + late >= first_sent + delay - 0.02  # it goes a full delay after the real send
    time.sleep(late)
    assert slots.confirm("news.example", delay) == 0
    third = slots.reserve("news.example", "w1|c", 3, delay)  # planned from the last real send
    assert third is not None and 0.9 * delay <= third <= delay, third


def test_a_workers_article_reaches_the_item_queue_with_the_minhash_of_the_text_the_writer_will_store(
    redis_url: str, tmp_path: Path
) -> None:
    """The worker computes the near-duplicate signature in its extraction pool (the one writer would
    otherwise compute every article's), of the text cleaned of the lines the writer published."""
    import redis as redis_client
    from scrapy.settings import Settings

    from archive.dedup import content_hash, text_signature
    from crawler.distributed import codec
    from crawler.distributed.item_queue import ItemQueue
    from crawler.distributed.keys import Keys
    from crawler.extraction.boilerplate import line_fingerprint
    from crawler.run.distributed_process import WORKER, role_settings
    from pipelines.redis_items import RedisItemsPipeline
    from pipelines.worker_signature import WorkerSignaturePipeline
    from tests.test_pipelines_inprocess import ARTICLE_URL, Crawl, golden

    server = redis_client.Redis.from_url(redis_url)
    body, expected = golden("news_portal")
    crawl = Crawl(
        tmp_path / "unused.db",
        ITEM_PIPELINES=role_settings(WORKER, Settings())["ITEM_PIPELINES"],
        DISTRIBUTED_REDIS_URL=redis_url,
        DISTRIBUTED_KEY_PREFIX="minhash",
        DISTRIBUTED_ROLE="worker",
    )
    assert [type(p) for p in crawl.items.middlewares][1:] == [WorkerSignaturePipeline, RedisItemsPipeline]
    keys = Keys("minhash", crawl.spider.source.name)
    with crawl:
        crawl.page(ARTICLE_URL, body)  # nothing learned yet: the text as extracted
        first_line = crawl.page(f"{ARTICLE_URL}-again", body).fields["text"].split("\n")[0]
        server.set(keys.boilerplate, json.dumps([line_fingerprint(first_line)]))  # as the writer publishes
        crawl.pipeline(WorkerSignaturePipeline).read_at = float("-inf")  # read again now, not in a second
        crawl.page(f"{ARTICLE_URL}-once-more", body)
        crawl.close()
    entries = ItemQueue(server, keys).take(10)
    (plain, _, cleaned) = [codec.decode_message(entry)[1] for entry in entries]
    text = plain.fields["text"]
    assert text.startswith(expected["first_sentence"]) and cleaned.fields["text"] == text  # the text goes whole
    assert plain.signature == text_signature(text) and plain.signed_text_hash == content_hash(text)
    without_first = text.split("\n", 1)[1].lstrip("\n")
    assert cleaned.signature == text_signature(without_first) != plain.signature
    assert cleaned.signed_text_hash == content_hash(without_first)
    assert not (tmp_path / "unused.db").exists()  # a worker never opens the archive


def test_a_link_met_again_is_dropped_without_asking_redis(redis_url: str) -> None:
    """Most links a page yields (navigation, related articles) were queued already: once Redis has
    called a fingerprint seen, the worker drops it again by itself, as scrapy-redis's filter would."""
    import redis as redis_client
    from scrapy import Request

    from crawler.extensions.redis_scheduler import LeasingScheduler
    from tests.inprocess import NO_ENGINE_SETTINGS, news_crawler

    settings = {"DISTRIBUTED_REDIS_URL": redis_url, "DISTRIBUTED_KEY_PREFIX": "seen-locally", **NO_ENGINE_SETTINGS}
    crawler = news_crawler(settings, url="http://127.0.0.1:9/")
    scheduler = LeasingScheduler(crawler)
    scheduler.open(crawler.spider)
    server = redis_client.Redis.from_url(redis_url)

    def scripts_run() -> int:
        return server.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0)

    try:
        assert scheduler.enqueue_request(Request("http://127.0.0.1:9/news/a"))
        before = scripts_run()
        for _ in range(20):
            assert not scheduler.enqueue_request(Request("http://127.0.0.1:9/news/a"))
        assert scripts_run() == before  # no push went to Redis
        assert scheduler.enqueue_request(Request("http://127.0.0.1:9/news/b"))  # a new link still goes
        assert scheduler.enqueue_request(Request("http://127.0.0.1:9/news/a", dont_filter=True))  # never filtered
        assert len(scheduler) == 3
        assert crawler.stats.get_value("scheduler/enqueued/redis") == 3
    finally:
        scheduler.checker.stop()


def test_the_seeder_gives_the_workers_the_boilerplate_lines_the_archive_knows(site: Reference, redis_url: str) -> None:
    """A source crawled before: its workers sign texts cleaned of the lines the archive learned from
    their first page, not only once the writer has published its first batch's."""
    import redis as redis_client

    from archive import Archive
    from crawler.cli.distributed import learned_boilerplate
    from crawler.distributed.crawls import open_crawl
    from crawler.distributed.keys import Keys
    from crawler.extraction.boilerplate import line_fingerprint
    from crawler.run.crawl_process import build_settings

    db = site.folder / "local" / "archive.db"  # the reference crawl learned the fixture's template lines
    with Archive(db) as archive:
        learned = learned_boilerplate(archive, "fixture", build_settings({}))
        nothing = learned_boilerplate(archive, "fixture", build_settings({"BOILERPLATE_ENABLED": False}))
    with sqlite3.connect(db) as connection:
        known = dict(connection.execute("SELECT fingerprint, line FROM boilerplate_lines").fetchall())
        texts = [text for (text,) in connection.execute("SELECT text FROM articles")]
    assert learned and nothing == []
    for fingerprint in learned:  # lines the archive's texts were cleaned of
        assert line_fingerprint(known[fingerprint]) == fingerprint
        assert not any(known[fingerprint] in text.split("\n") for text in texts), known[fingerprint]
    server = redis_client.Redis.from_url(redis_url)
    keys = Keys("seeded-lines", "fixture")
    open_crawl(server, keys, 1, str(db), [], learned)
    assert json.loads(server.get(keys.boilerplate)) == learned
