"""``newsarchive export --format warc|wacz``: the stored responses of chosen fetches as one WARC file,
or as a WACZ package (ReplayWeb.page opens it).

The fetches are those ``--table fetches`` exports (archive/export.py): with a filter
(:class:`archive.filters.ArticleFilter`: source, publication dates, language, author, query), the
fetches of the chosen articles; without one, every fetch; only those with a WARC pointer
(``fetches.warc_file``). For each, the record its pointer names (``response``, ``resource`` or
``revisit``) and the records written with it (the ``request`` and ``metadata`` records whose
``WARC-Concurrent-To`` names it) are copied from the crawl's WARC files byte for byte (each record
is its own gzip member), plus, for a revisit, the record it refers to (and its own request and
metadata), so that the export replays on its own. A ``warcinfo`` record opens the file. Records
come in the order of the stored files (by name, then offset), each once.

WACZ is built by the ``wacz`` package (py-wacz: the CDXJ index, ``pages/pages.jsonl`` and
``datapackage.json``), run as ``python -m wacz create`` on that WARC file, with a pages list of the
chosen articles (their stored page, its time, the article's title). No settings.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from warcio.archiveiterator import ArchiveIterator
from warcio.warcwriter import WARCWriter

from archive.filters import NO_CONDITION, ArticleFilter, register_sql_functions
from crawler.reprocess.stored import Pointer
from crawler.warc.reader import WarcReadError, read_record, resolve_revisit, warc_path

COMPANIONS = ("request", "metadata")  # records written with a stored answer, after it
SOFTWARE = "newsarchive export"


@dataclass
class WarcExport:
    """What an export wrote: records copied, stored answers (pages), revisit originals added, pointers
    that led nowhere, and the pages list (for WACZ)."""

    records: int = 0
    answers: int = 0
    originals: int = 0
    missing: list[str] = field(default_factory=list)
    pages: list[dict[str, Any]] = field(default_factory=list)
    bytes: int = 0


def selected_pointers(db: Any, selection: ArticleFilter) -> Iterator[tuple[Pointer, str | None]]:
    """``(pointer, article title or None)`` of every chosen fetch with a WARC pointer, in id order."""
    register_sql_functions(db.conn if hasattr(db, "conn") else db)
    where, params = selection.where("a")
    if where == NO_CONDITION:
        sql = (
            "SELECT f.warc_file, f.warc_offset, f.warc_length, a.title FROM fetches f"
            " LEFT JOIN articles a ON a.id = f.article_id WHERE f.warc_file IS NOT NULL ORDER BY f.id"
        )
        params = []
    else:
        sql = (
            "SELECT f.warc_file, f.warc_offset, f.warc_length, a.title FROM fetches f"
            f" JOIN articles a ON a.id = f.article_id WHERE f.warc_file IS NOT NULL AND {where} ORDER BY f.id"
        )
    for warc_file, offset, length, title in db.execute(sql, params):
        if offset is not None and length is not None:
            yield Pointer(warc_file, int(offset), int(length)), title


def _members(handle: IO[bytes], start: int) -> Iterator[tuple[int, int, Any]]:
    """``(offset, length, record)`` of the records from ``start`` on (headers parsed, payload skipped).

    Members are contiguous: each offset is the one before plus its length (warcio's own offsets
    depend on whether the stream can tell its position).
    """
    handle.seek(start)
    iterator = ArchiveIterator(handle, no_record_parse=False, ensure_http_headers=False)
    offset = start
    for record in iterator:
        iterator.read_to_end()
        length = iterator.get_record_length()
        yield offset, length, record
        offset += length


def companions(warc_dir: Path, pointer: Pointer) -> list[Pointer]:
    """The pointer's record and the records written with it (request, metadata) that follow it."""
    found = [pointer]
    with warc_path(warc_dir, pointer.file).open("rb") as handle:
        members = _members(handle, pointer.offset)
        first = next(members, None)
        if first is None:
            return found
        record_id = first[2].rec_headers.get_header("WARC-Record-ID")
        for offset, length, record in members:
            if record.rec_type not in COMPANIONS or record.rec_headers.get_header("WARC-Concurrent-To") != record_id:
                break
            found.append(Pointer(pointer.file, offset, length))
    return found


def export_warc(db: Any, warc_dir: Path, selection: ArticleFilter, target: IO[bytes]) -> WarcExport:
    """Write the chosen fetches' records to ``target`` (a .warc.gz stream); see the module docstring."""
    result = WarcExport()
    wanted: dict[tuple[str, int], Pointer] = {}
    for pointer, title in selected_pointers(db, selection):
        key = (pointer.file, pointer.offset)
        if key in wanted:
            continue
        try:
            stored = read_record(warc_dir, pointer.file, pointer.offset, pointer.length)
            group = companions(warc_dir, pointer)
        except (WarcReadError, OSError, ValueError) as error:
            result.missing.append(f"{pointer.file}:{pointer.offset}: {error}")
            continue
        result.answers += 1
        for member in group:
            wanted[(member.file, member.offset)] = member
        page_url, page_date = stored.url, stored.date
        if stored.kind == "revisit":
            original = resolve_revisit(warc_dir, stored)
            if original is None or original.file is None or original.offset is None or original.length is None:
                result.missing.append(f"{pointer.file}:{pointer.offset}: the original of a revisit of {stored.url}")
            elif (original.file, original.offset) not in wanted:
                result.originals += 1
                for member in companions(warc_dir, Pointer(original.file, original.offset, original.length)):
                    wanted[(member.file, member.offset)] = member
        if title is not None:
            result.pages.append({"url": page_url, "ts": page_date, "title": title})
    writer = WARCWriter(target, gzip=True)
    info = writer.create_warcinfo_record(
        "newsarchive-export.warc.gz",
        {"software": SOFTWARE, "format": "WARC File Format 1.1", "description": "records copied from the crawls"},
    )
    writer.write_record(info)
    result.records = 1
    for name in sorted({file for file, _ in wanted}):
        with warc_path(warc_dir, name).open("rb") as handle:
            for _, offset in sorted(key for key in wanted if key[0] == name):
                member = wanted[(name, offset)]
                handle.seek(member.offset)
                data = handle.read(member.length)
                target.write(data)
                result.records += 1
                result.bytes += len(data)
    return result


def write_warc_file(db: Any, warc_dir: Path, selection: ArticleFilter, path: Path) -> WarcExport:
    """:func:`export_warc` into ``path``, written under a temporary name and moved into place when whole."""
    temporary = path.with_name(f".{path.name}.partial")
    try:
        with temporary.open("wb") as target:
            result = export_warc(db, warc_dir, selection, target)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return result


def write_wacz_file(db: Any, warc_dir: Path, selection: ArticleFilter, path: Path, title: str) -> WarcExport:
    """The chosen fetches as a WACZ package at ``path``, built by the ``wacz`` package from their WARC file."""
    with tempfile.TemporaryDirectory(prefix=".newsarchive-wacz-", dir=path.parent) as folder:
        warc = Path(folder) / "data.warc.gz"
        with warc.open("wb") as target:
            result = export_warc(db, warc_dir, selection, target)
        pages = Path(folder) / "pages.jsonl"
        lines = [{"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}, *result.pages]
        pages.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
        built = Path(folder) / "archive.wacz"
        command = [sys.executable, "-m", "wacz", "create", "-o", str(built), "--pages", str(pages)]
        command += ["--title", title, str(warc)]
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        if completed.returncode != 0 or not built.is_file():
            output = " ".join((completed.stdout + completed.stderr).split())[-400:]
            raise RuntimeError(f"the wacz package could not build {path} (exit {completed.returncode}): {output}")
        shutil.move(str(built), path)
    return result
