"""WARC records in the test process: crawler.warc's writer, reader, revisits and recovery on real files
(checked with warcio's ArchiveIterator and the ``warcio check`` command), and
crawler.middlewares.warc_records.WarcRecordsMiddleware driven as the downloader drives it (tests/inprocess.py)."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.core.downloader.middleware import DownloaderMiddlewareManager
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.exceptions import NotConfigured
from warcio.archiveiterator import ArchiveIterator

from archive.store import Archive
from crawler.middlewares.warc_records import WarcRecordsMiddleware
from crawler.signals import archive_opened
from crawler.warc.capture import (
    PROFILE_IDENTICAL,
    PROFILE_NOT_MODIFIED,
    CrawlRecorder,
    Exchange,
    original_of,
    payload_digest,
    warcinfo_fields,
)
from crawler.warc.naming import warc_dir_for, warc_file_name
from crawler.warc.reader import WarcReadError, decode_body, iter_records, read_record, resolve_revisit
from crawler.warc.writer import WarcWriter, complete_prefix, recover
from tests.inprocess import NO_ENGINE_SETTINGS, component_crawler, response_to

WARCIO = Path(sys.executable).with_name("warcio")
PAGE = (
    b"<html><head><title>Harbour wall</title></head><body>"
    + b"<p>The harbour wall is repaired.</p>" * 80
    + b"</body></html>"
)


def warcio_check(path: Path) -> None:
    """``warcio check``: every record's block and payload digest verified (exit 0)."""
    result = subprocess.run([str(WARCIO), "check", "-v", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "fail" not in result.stdout.lower(), result.stdout


def read_to_end(path: Path) -> list[str]:
    """Every record's type, read to its end with warcio's ArchiveIterator (raises on a broken file)."""
    kinds = []
    with open(path, "rb") as handle:
        for record in ArchiveIterator(handle):
            record.content_stream().read()
            kinds.append(record.rec_type)
    return kinds


def recorder(folder: Path, max_size: int = 1_000_000_000, run_id: int = 7) -> CrawlRecorder:
    writer = WarcWriter(folder, "fixture", run_id, max_size=max_size, info=warcinfo_fields("fixture", run_id, "a.db"))
    return CrawlRecorder(writer, "fixture", run_id)


def page(url: str, body: bytes = PAGE, status: int = 200, **fields: object) -> Exchange:
    headers = [("Content-Type", "text/html; charset=utf-8")]
    return Exchange(url=url, status=status, headers=headers, body=body, **fields)  # type: ignore[arg-type]


def test_warc_dir_and_file_names() -> None:
    assert warc_dir_for(Path("data/news.db"), "") == Path("data/news-warc")
    assert warc_dir_for(Path("data/news.db"), "elsewhere/warcs") == Path("elsewhere/warcs")
    assert warc_file_name("The Courier/EN", 12, 3) == "The_Courier_EN-12-00003.warc.gz"


def test_records_read_back_at_their_pointers_and_pass_warcio_check(tmp_path: Path) -> None:
    crawl = recorder(tmp_path)
    compressed = gzip.compress(PAGE)
    answer = Exchange(
        url="http://news.example/a/",
        status=200,
        headers=[("Content-Type", "text/html"), ("Content-Encoding", "gzip"), ("Transfer-Encoding", "chunked")],
        body=compressed,
        request_headers=[("User-Agent", "newsarchive/0.1"), ("Accept-Encoding", "gzip")],
        ip_address="127.0.0.1",
        found_by="link",
        depth=2,
        referer="http://news.example/",
    )
    written = crawl.record(answer)
    rendered = crawl.record(page("http://news.example/js/", b"<html><p>rendered</p></html>", fetch_mode="browser"))
    crawl.writer.close()
    assert written.kind == "response" and rendered.kind == "resource"
    (path,) = tmp_path.iterdir()
    assert path.name == "fixture-7-00001.warc.gz"
    assert read_to_end(path) == ["warcinfo", "response", "request", "metadata", "resource", "metadata"]
    warcio_check(path)

    stored = read_record(tmp_path, **written.pointer.as_meta())
    assert (stored.kind, stored.url, stored.status, stored.fetch_mode) == ("response", answer.url, 200, "plain")
    assert stored.body == PAGE  # de-compressed, as the spider had it
    assert stored.header("Content-Encoding") == "gzip"  # the header as the server sent it
    assert stored.header("Transfer-Encoding") is None  # the stored body is not chunked: kept under another name
    assert stored.header("X-Archive-Orig-Transfer-Encoding") == "chunked"
    assert stored.payload_digest == payload_digest(compressed)  # the payload as received
    assert stored.warc_header("WARC-IP-Address") == "127.0.0.1"
    resource = read_record(tmp_path, **rendered.pointer.as_meta())
    assert (resource.kind, resource.body, resource.fetch_mode) == (
        "resource",
        b"<html><p>rendered</p></html>",
        "browser",
    )

    records = list(iter_records(path, all_kinds=True))
    response_id = records[1].record_id
    assert records[2].warc_header("WARC-Concurrent-To") == response_id  # the request
    metadata = records[3]
    assert metadata.warc_header("WARC-Concurrent-To") == response_id
    fields = dict(line.split(": ", 1) for line in metadata.body.decode().splitlines())
    assert fields == {
        "found-by": "link",
        "depth": "2",
        "via": "http://news.example/",
        "fetch-mode": "plain",
        "source": "fixture",
        "run-id": "7",
    }
    request = records[2]
    assert request.kind == "request" and request.header("Host") == "news.example"
    assert request.header("User-Agent") == "newsarchive/0.1" and request.header("Accept-Encoding") == "gzip"
    assert "rendered" in records[5].body.decode()
    info = records[0].body.decode()
    assert "isPartOf: fixture" in info and "software: newsarchive/" in info and "warcio/1.8.1" in info
    assert "robots: obey" in info and "run-id: 7" in info and "archive: a.db" in info and "hostname: " in info


def test_a_pointer_that_misses_its_record_is_refused_not_read_as_another(tmp_path: Path) -> None:
    """warcio reads bytes that do not begin a gzip member as an uncompressed stream and can make an
    empty "record" of them: a pointer a byte off must be an error, never a page with no body."""
    crawl = recorder(tmp_path)
    bodies = [PAGE.replace(b"</body>", f"<p>{n}</p></body>".encode()) for n in range(5)]
    pointers = [crawl.record(page(f"http://news.example/{n}/", body)).pointer for n, body in enumerate(bodies)]
    crawl.writer.close()
    for pointer, body in zip(pointers, bodies, strict=True):
        meta = pointer.as_meta()
        assert read_record(tmp_path, **meta).body == body
        for shift in (-1, 1, 2, 9):
            with pytest.raises(WarcReadError):
                read_record(tmp_path, **{**meta, "offset": meta["offset"] + shift})
        with pytest.raises(WarcReadError):
            read_record(tmp_path, **{**meta, "length": meta["length"] - 1})


def test_files_rotate_past_the_size_and_each_begins_with_warcinfo(tmp_path: Path) -> None:
    crawl = recorder(tmp_path, max_size=2500)
    pointers = [crawl.record(page("http://news.example/0/", PAGE + b"0")).pointer]
    assert (tmp_path / (pointers[0].file + ".open")).exists()  # being written
    # While a file is written, a pointer into it reads from the .open file.
    assert read_record(tmp_path, **pointers[0].as_meta()).body.endswith(b"0")
    pointers += [
        crawl.record(page(f"http://news.example/{n}/", PAGE + bytes(str(n), "ascii"))).pointer for n in range(1, 8)
    ]
    crawl.writer.close()
    files = sorted(tmp_path.iterdir())
    assert len(files) >= 3 and not any(path.name.endswith(".open") for path in files)
    assert {pointer.file for pointer in pointers} == {path.name for path in files}
    for path in files:
        kinds = read_to_end(path)
        assert kinds[0] == "warcinfo" and kinds.count("warcinfo") == 1
        assert len(kinds) % 3 == 1  # the records of one answer stay in one file
        warcio_check(path)
    for number, pointer in enumerate(pointers):
        assert read_record(tmp_path, **pointer.as_meta()).body == PAGE + bytes(str(number), "ascii")


def test_identical_payloads_and_304s_are_revisits_that_resolve(tmp_path: Path) -> None:
    first = recorder(tmp_path, run_id=1)
    original = first.record(page("http://news.example/a/"))
    copy = first.record(page("http://news.example/a/?utm_source=x"))  # the same bytes elsewhere
    empty = first.record(page("http://news.example/empty/", b""))
    first.writer.close()
    assert (original.kind, copy.kind, empty.kind) == ("response", "revisit", "response")
    revisit = read_record(tmp_path, **copy.pointer.as_meta())
    assert revisit.profile == PROFILE_IDENTICAL and revisit.body == b""
    assert revisit.refers_to is not None and revisit.refers_to[0] == "http://news.example/a/"
    assert revisit.payload_digest == payload_digest(PAGE)
    resolved = resolve_revisit(tmp_path, revisit)
    assert resolved is not None and resolved.body == PAGE and resolved.offset == original.pointer.offset

    # The next run: the archive's last copy of the URL (here given directly) is what 304s refer to.
    stored = read_record(tmp_path, **original.pointer.as_meta())
    previous = original_of(stored)
    second = CrawlRecorder(WarcWriter(tmp_path, "fixture", 2), "fixture", 2, previous=lambda url: previous)
    not_modified = second.record(page("http://news.example/a/", b"", status=304, known=True))
    same_bytes = second.record(page("http://news.example/a/", known=True))
    changed = second.record(page("http://news.example/a/", PAGE + b"<p>correction</p>", known=True))
    second.writer.close()
    assert (not_modified.kind, same_bytes.kind, changed.kind) == ("revisit", "revisit", "response")
    assert second.revisits == 2
    for pointer, profile in ((not_modified.pointer, PROFILE_NOT_MODIFIED), (same_bytes.pointer, PROFILE_IDENTICAL)):
        record = read_record(tmp_path, **pointer.as_meta())
        assert record.profile == profile and record.refers_to == (stored.url, stored.date)
        resolved = resolve_revisit(tmp_path, record)
        assert resolved is not None and resolved.body == PAGE and resolved.record_id == stored.record_id
    # Without its location, a revisit is still resolved, by searching the folder for its record id.
    record = read_record(tmp_path, **not_modified.pointer.as_meta())
    record.warc_headers = [(name, value) for name, value in record.warc_headers if "Filename" not in name]
    resolved = resolve_revisit(tmp_path, record)
    assert resolved is not None and resolved.record_id == stored.record_id
    for path in tmp_path.iterdir():
        warcio_check(path)


def test_payload_digests_are_remembered_up_to_a_bound(tmp_path: Path) -> None:
    crawl = recorder(tmp_path)
    crawl.max_digests = 3
    for number in range(5):
        crawl.record(page(f"http://news.example/{number}/", PAGE + bytes([number])))
    assert len(crawl.digests) == 3
    assert crawl.record(page("http://news.example/again/", PAGE + bytes([0]))).kind == "response"  # forgotten
    assert crawl.record(page("http://news.example/again2/", PAGE + bytes([4]))).kind == "revisit"
    crawl.writer.close()


def test_bodies_are_decoded_as_scrapy_decodes_them() -> None:
    import zlib

    assert decode_body(gzip.compress(PAGE), "gzip") == PAGE
    assert decode_body(zlib.compress(PAGE), "deflate") == PAGE
    assert decode_body(zlib.compress(PAGE)[2:-4], "deflate") == PAGE  # raw deflate
    assert decode_body(gzip.compress(gzip.compress(PAGE)), "gzip, gzip") == PAGE
    assert decode_body(b"not gzip", "gzip") == b"not gzip"
    assert decode_body(PAGE, None) == PAGE


def killed_file(folder: Path, exchanges: int) -> tuple[Path, bytes, list[int]]:
    """A WARC file as a kill leaves it (still ``.open``), its bytes, and the end offset of each record."""
    crawl = recorder(folder)
    for number in range(exchanges):
        crawl.record(page(f"http://news.example/{number}/", PAGE + bytes(str(number), "ascii")))
    crawl.writer.flush()
    path = folder / (crawl.writer.current_file + ".open")
    data = path.read_bytes()
    crawl.writer._file.close()  # the process is gone: no close(), no rename, its lock released
    with open(path, "rb") as handle:
        ends = [record.offset + record.length for record in iter_records(path, all_kinds=True)]
        assert complete_prefix(handle) == (len(data), len(ends))
    return path, data, ends


@pytest.mark.parametrize("cut", ["mid_last_record", "mid_gzip_header", "one_byte_short", "at_a_boundary", "garbage"])
def test_recover_cuts_a_killed_file_back_to_its_last_complete_record(tmp_path: Path, cut: str) -> None:
    path, data, ends = killed_file(tmp_path, 3)
    last_start, last_end = ends[-2], ends[-1]
    size = {
        "mid_last_record": (last_start + last_end) // 2,
        "mid_gzip_header": last_start + 5,
        "one_byte_short": last_end - 1,
        "at_a_boundary": last_start,
        "garbage": last_end,
    }[cut]
    path.write_bytes(data[:size] + (b"\x1f\x8b\x08 not a member" if cut == "garbage" else b""))
    (result,) = recover(tmp_path)
    final = tmp_path / path.name.removesuffix(".open")
    assert not path.exists() and final.exists()
    kept = len(ends) - 1 if cut != "garbage" else len(ends)
    assert (result.file, result.records, result.removed) == (final.name, kept, False)
    assert final.stat().st_size == ends[kept - 1]
    assert len(read_to_end(final)) == kept
    warcio_check(final)


def test_recover_removes_a_file_with_no_complete_record_and_leaves_live_files(tmp_path: Path) -> None:
    path, data, ends = killed_file(tmp_path / "killed", 1)
    path.write_bytes(data[: ends[0] // 2])  # inside the warcinfo record
    (result,) = recover(tmp_path / "killed")
    assert result.removed and not path.exists() and not list((tmp_path / "killed").iterdir())

    live = recorder(tmp_path / "live")
    live.record(page("http://news.example/a/"))
    assert recover(tmp_path / "live") == []  # another crawl is writing it: locked, left alone
    assert (tmp_path / "live" / (live.writer.current_file + ".open")).exists()
    live.writer.close()
    assert recover(tmp_path / "missing") == []


# -- the middleware ---------------------------------------------------------------------------------


def warc_crawler(tmp_path: Path, **settings: object):
    return component_crawler(ARCHIVE_DB=str(tmp_path / "news.db"), **NO_ENGINE_SETTINGS, **settings)


def test_the_middleware_is_off_without_warc_enabled(tmp_path: Path) -> None:
    with pytest.raises(NotConfigured):
        WarcRecordsMiddleware.from_crawler(warc_crawler(tmp_path, WARC_ENABLED=False))


def test_the_middleware_sees_answers_before_they_are_decoded(tmp_path: Path) -> None:
    crawler = warc_crawler(tmp_path)
    manager = DownloaderMiddlewareManager.from_crawler(crawler)
    names = [type(middleware).__name__ for middleware in manager.middlewares]
    # process_response runs from the last of the list to the first: this middleware first, before any other.
    assert names[-1] == "WarcRecordsMiddleware" and names.index("HttpCompressionMiddleware") < len(names) - 1

    middleware = WarcRecordsMiddleware.from_crawler(crawler)
    crawler.stats.open_spider()
    crawler.stats.set_value("newsarchive/run_id", 42)  # as the archive pipeline sets it when it opens
    middleware.spider_opened()
    warc_dir = tmp_path / "news-warc"

    request = Request("http://news.example/a/", meta={"found_by": "sitemap", "hops": 0})
    request.headers[b"Accept-Encoding"] = b"gzip"
    middleware.process_request(request)
    compressed = response_to(request, gzip.compress(PAGE), headers={"Content-Encoding": "gzip"})
    assert middleware.process_response(request, compressed) is compressed
    decoded = HttpCompressionMiddleware.from_crawler(crawler).process_response(request, compressed)
    assert decoded.body == PAGE
    pointer = request.meta["warc"]
    assert pointer["file"].endswith("-42-00001.warc.gz")  # <spider name>-<run>-<seq>: no source without a news spider
    stored = read_record(warc_dir, **pointer)
    assert stored.body == decoded.body and stored.url == request.url
    assert stored.header("Content-Encoding") == "gzip"

    # robots.txt, fetched by the robots.txt middleware, then handed to the spider's own request without
    # a download: one record, and the spider's request gets its pointer.
    robots = Request("http://news.example/robots.txt")
    middleware.process_request(robots)
    middleware.process_response(robots, response_to(robots, b"User-agent: *\n", "text/plain"))
    spiders_robots = Request("http://news.example/robots.txt", meta={"kind": "robots"})
    reused = response_to(spiders_robots, b"User-agent: *\n", "text/plain")
    middleware.process_response(spiders_robots, reused)
    assert spiders_robots.meta["warc"] == robots.meta["warc"]

    # A redirect's hop is recorded too, and the next hop starts without its pointer.
    hop = Request("http://news.example/old/")
    middleware.process_request(hop)
    middleware.process_response(hop, response_to(hop, b"", None, status=301, headers={"Location": "/a/"}))
    moved = hop.replace(url="http://news.example/a/")
    middleware.process_request(moved)
    assert "warc" not in moved.meta

    assert crawler.stats.get_value("newsarchive/warc/records") == 1 + 3 * 3
    assert crawler.stats.get_value("newsarchive/warc/bytes") > 0
    middleware.spider_closed()
    (path,) = warc_dir.iterdir()
    assert path.name.endswith("-42-00001.warc.gz")
    warcio_check(path)
    assert crawler.stats.get_value("newsarchive/warc/files") == 1


def test_the_middleware_recovers_killed_files_when_the_spider_opens(tmp_path: Path) -> None:
    warc_dir = tmp_path / "elsewhere"
    path, data, ends = killed_file(warc_dir, 2)
    path.write_bytes(data[: ends[-1] - 3])
    crawler = warc_crawler(tmp_path, WARC_DIR=str(warc_dir))
    middleware = WarcRecordsMiddleware.from_crawler(crawler)
    crawler.stats.open_spider()
    middleware.spider_opened()
    assert crawler.stats.get_value("newsarchive/warc/recovered") == 1
    assert not path.exists() and len(read_to_end(warc_dir / path.name.removesuffix(".open"))) == len(ends) - 1
    middleware.spider_closed()
    shutil.rmtree(warc_dir)


def test_records_are_on_disk_before_the_archive_commits_their_pointers(tmp_path: Path) -> None:
    crawler = warc_crawler(tmp_path)
    middleware = WarcRecordsMiddleware.from_crawler(crawler)
    with Archive(tmp_path / "news.db") as archive:
        crawler.signals.send_catch_log(archive_opened, archive=archive)  # as the archive pipeline does
        assert archive.before_commit == [middleware.sync]
        crawler.stats.open_spider()
        crawler.stats.set_value("newsarchive/run_id", 42)
        middleware.spider_opened()
        request = Request("http://news.example/a/")
        middleware.process_request(request)
        middleware.process_response(request, response_to(request, PAGE))
        writer = middleware.recorder.writer
        assert writer.bytes_written > 0 and writer.synced_bytes < writer.bytes_written
        archive.start_run("fixture")  # a write, committed at once (nothing else in its batch)
        assert writer.synced_bytes == writer.bytes_written
        middleware.spider_closed()
