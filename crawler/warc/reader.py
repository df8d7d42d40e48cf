"""Read back what a crawl's WARC files hold: one record at its pointer, or a file from start to end.

``read_record(warc_dir, file, offset, length)`` reads the record an archive pointer names
(``fetches.warc_file``, ``warc_offset``, ``warc_length``) as a :class:`StoredResponse`: its body is
the HTTP payload as Scrapy handed it to the spider (de-chunked, its ``Content-Encoding`` decoded); a
browser page is its rendered DOM (a ``resource`` record). ``file`` is opened under its final name,
else as ``file + ".open"`` while a crawl still writes it.

A ``revisit`` record holds no body. :func:`resolve_revisit` finds the record it refers to: first at
the location the writer put in the revisit (``WARC-Refers-To-Filename`` and
``WARC-Refers-To-Offset``, extension fields of newsarchive, next to the standard ``WARC-Refers-To``
record id), checked by record id; else by searching the WARC folder's files, newest first, for the
record with that id (or, failing an id, the response of that target URI and date, or with the
revisit's payload digest). No separate index is kept: the location in the revisit is the index.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO

from warcio.archiveiterator import ArchiveIterator

from crawler.warc.naming import OPEN_SUFFIX, WARC_SUFFIX, final_name

STORED_KINDS = ("response", "revisit", "resource")
REFERS_TO_FILENAME = "WARC-Refers-To-Filename"
REFERS_TO_OFFSET = "WARC-Refers-To-Offset"
REFERS_TO_LENGTH = "WARC-Refers-To-Length"
# A header kept under another name (Transfer-Encoding: the stored body is de-chunked already).
ORIGINAL_HEADER_PREFIX = "X-Archive-Orig-"


class WarcReadError(Exception):
    """The pointer names no readable record (missing file, bytes that are not a WARC record)."""


@dataclass
class StoredResponse:
    """One stored answer: a ``response``, a ``revisit`` (no body: see :func:`resolve_revisit`) or a
    ``resource`` (a browser page's rendered DOM)."""

    url: str
    kind: str  # response | revisit | resource
    status: int | None
    headers: list[tuple[str, str]]
    body: bytes = field(repr=False)
    date: str  # WARC-Date
    fetch_mode: str  # plain | browser
    refers_to: tuple[str, str] | None = None  # a revisit's (target URI, date)
    payload_digest: str | None = None
    record_id: str | None = None
    profile: str | None = None  # a revisit's WARC-Profile
    file: str | None = None
    offset: int | None = None
    length: int | None = None
    warc_headers: list[tuple[str, str]] = field(default_factory=list, repr=False)

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)

    def warc_header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((value for key, value in self.warc_headers if key.lower() == lowered), None)


def warc_path(warc_dir: str | Path, file: str) -> Path:
    """The file's path: its final name, or the ``.open`` one while it is being written."""
    folder = Path(warc_dir)
    path = folder / final_name(file)
    if path.exists():
        return path
    open_path = folder / (final_name(file) + OPEN_SUFFIX)
    if open_path.exists():
        return open_path
    raise WarcReadError(f"no WARC file {file} in {folder}")


GZIP_MAGIC = b"\x1f\x8b"


def is_one_gzip_member(data: bytes) -> bool:
    """Whether ``data`` is exactly one complete gzip member (a record as the writer stores it)."""
    if not data.startswith(GZIP_MAGIC):
        return False
    member = zlib.decompressobj(wbits=31)
    try:
        while data:  # in slices: a pointer to a huge record must not inflate it whole in memory
            member.decompress(data[: 1 << 20], 1 << 20)
            data = member.unconsumed_tail + data[1 << 20 :]
            if member.eof:
                break
    except zlib.error:
        return False
    return member.eof and not member.unused_data and not data


def read_record(warc_dir: str | Path, file: str, offset: int, length: int) -> StoredResponse:
    """The record at (``file``, ``offset``, ``length``), its payload decoded."""
    path = warc_path(warc_dir, file)
    with open(path, "rb") as handle:
        handle.seek(offset)
        data = handle.read(length)
    if len(data) != length:
        raise WarcReadError(f"{file} holds {offset + len(data)} bytes, the record ends at {offset + length}")
    # warcio reads bytes that are not gzip as an uncompressed stream and may make a record of them:
    # a pointer must lead to exactly one whole gzip member.
    if not is_one_gzip_member(data):
        raise WarcReadError(
            f"no WARC record at {file}:{offset} (the {length} bytes there are not one whole gzip member)"
        )
    for stored in _stored_records(BytesIO(data), final_name(file), offset, all_kinds=True):
        if stored.offset != offset or stored.length != length:
            raise WarcReadError(
                f"no WARC record of {length} bytes at {file}:{offset} (a record of {stored.length} bytes is there)"
            )
        return stored
    raise WarcReadError(f"no WARC record at {file}:{offset}")


def read_headers(warc_dir: str | Path, file: str, offset: int, length: int) -> StoredResponse:
    """The same, for a caller that needs only the record's headers (the body is read and dropped too:
    a record is one gzip member)."""
    return read_record(warc_dir, file, offset, length)


def iter_records(path: str | Path, *, all_kinds: bool = False) -> Iterator[StoredResponse]:
    """Every stored answer (``response``, ``revisit``, ``resource``) of one WARC file, in order, with
    its ``file``, ``offset`` and ``length``; ``all_kinds``: the other records too (warcinfo, request,
    metadata: their block as ``body``)."""
    path = Path(path)
    with open(path, "rb") as handle:
        yield from _stored_records(handle, final_name(path.name), 0, all_kinds=all_kinds)


def _stored_records(handle: BinaryIO, file: str, base: int, *, all_kinds: bool) -> Iterator[StoredResponse]:
    iterator = ArchiveIterator(handle, no_record_parse=False, ensure_http_headers=False)
    for record in iterator:
        kind = record.rec_type
        if kind not in STORED_KINDS and not all_kinds:
            continue
        stored = _stored(record)
        iterator.read_to_end()
        stored.file = file
        stored.offset = base + iterator.get_record_offset()
        stored.length = iterator.get_record_length()
        yield stored


def _stored(record: Any) -> StoredResponse:
    warc = record.rec_headers
    kind = record.rec_type
    http = record.http_headers if kind in ("response", "revisit", "request") else None
    headers = [(name, value) for name, value in http.headers] if http is not None else []
    raw = record.raw_stream.read()
    status = None
    if http is not None and kind != "request":
        try:
            status = int(http.get_statuscode())
        except (TypeError, ValueError):
            status = None
    if kind == "response":
        body = decode_body(raw, _header(headers, "Content-Encoding"))
    elif kind == "resource":
        body = raw
        headers = [("Content-Type", warc.get_header("Content-Type") or "")]
    elif kind == "revisit":
        body = b""
    else:
        body = raw
    refers_to = None
    if kind == "revisit":
        refers_to = (warc.get_header("WARC-Refers-To-Target-URI") or "", warc.get_header("WARC-Refers-To-Date") or "")
    return StoredResponse(
        url=warc.get_header("WARC-Target-URI") or "",
        kind=kind,
        status=status,
        headers=headers,
        body=body,
        date=warc.get_header("WARC-Date") or "",
        fetch_mode="browser" if kind == "resource" else "plain",
        refers_to=refers_to,
        payload_digest=warc.get_header("WARC-Payload-Digest"),
        record_id=warc.get_header("WARC-Record-ID"),
        profile=warc.get_header("WARC-Profile"),
        warc_headers=list(warc.headers),
    )


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    lowered = name.lower()
    return next((value for key, value in headers if key.lower() == lowered), None)


def decode_body(raw: bytes, content_encoding: str | None) -> bytes:
    """The body with its ``Content-Encoding`` (gzip, deflate, br, zstd, in the order applied) undone, as
    Scrapy's HttpCompressionMiddleware does; an encoding that cannot be undone leaves the bytes as they are."""
    if not content_encoding or not raw:
        return raw
    body = raw
    for coding in reversed([part.strip().lower() for part in content_encoding.split(",") if part.strip()]):
        try:
            body = _decode_one(body, coding)
        except Exception:  # a broken or unknown encoding: Scrapy hands over such bodies as they are too
            return body
    return body


def _decode_one(body: bytes, coding: str) -> bytes:
    if coding in ("gzip", "x-gzip"):
        out = []
        data = body
        while data:  # concatenated members, as gzip allows
            decompressor = zlib.decompressobj(zlib.MAX_WBITS + 16)
            out.append(decompressor.decompress(data))
            out.append(decompressor.flush())
            data = decompressor.unused_data if decompressor.eof else b""
        return b"".join(out)
    if coding == "deflate":
        try:
            return zlib.decompress(body)
        except zlib.error:
            return zlib.decompress(body, -zlib.MAX_WBITS)  # raw deflate, as some servers send
    if coding == "br":
        import brotli  # type: ignore[import-not-found]

        return brotli.decompress(body)
    if coding == "zstd":
        import zstandard  # type: ignore[import-not-found]

        return zstandard.ZstdDecompressor().decompressobj().decompress(body)
    if coding == "identity":
        return body
    raise ValueError(f"unknown Content-Encoding {coding}")


# -- revisits -------------------------------------------------------------------------------


def resolve_revisit(warc_dir: str | Path, revisit: StoredResponse) -> StoredResponse | None:
    """The record a revisit refers to (with its body), or None when it is not in the folder."""
    if revisit.kind != "revisit":
        return revisit
    wanted_id = revisit.warc_header("WARC-Refers-To")
    location = revisit.warc_header(REFERS_TO_FILENAME), revisit.warc_header(REFERS_TO_OFFSET)
    length = revisit.warc_header(REFERS_TO_LENGTH)
    if location[0] and location[1] and length:
        try:
            found = read_record(warc_dir, location[0], int(location[1]), int(length))
        except (WarcReadError, ValueError, OSError):
            found = None
        if found is not None and found.kind != "revisit" and (not wanted_id or found.record_id == wanted_id):
            return found
    return _search(Path(warc_dir), revisit, wanted_id)


def _search(folder: Path, revisit: StoredResponse, wanted_id: str | None) -> StoredResponse | None:
    uri, date = revisit.refers_to or ("", "")
    paths = [path for path in folder.iterdir() if path.name.endswith((WARC_SUFFIX, WARC_SUFFIX + OPEN_SUFFIX))]
    paths.sort(key=lambda path: path.stat().st_mtime, reverse=True)
    for path in paths:
        try:
            for stored in iter_records(path):
                if stored.kind == "revisit":
                    continue
                if _is_original(stored, revisit, wanted_id, uri, date):
                    return stored
        except Exception:  # a damaged file: search the others
            continue
    return None


def _is_original(stored: StoredResponse, revisit: StoredResponse, wanted_id: str | None, uri: str, date: str) -> bool:
    """Whether ``stored`` is the record ``revisit`` refers to: by record id, else by target URI and date,
    else by payload digest."""
    if wanted_id:
        return stored.record_id == wanted_id
    if uri:
        return stored.url == uri and (not date or stored.date == date)
    return bool(revisit.payload_digest) and stored.payload_digest == revisit.payload_digest
