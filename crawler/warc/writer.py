"""A crawl's WARC files: written record by record, rotated by size, recovered after a kill.

:class:`WarcWriter` writes WARC/1.1 records with warcio, each record its own gzip member (so any
record can be read alone at its offset), into ``<source>-<run>-<seq>.warc.gz.open``, and flushes the
file after every record: a crawl killed with SIGKILL can cut at most the record being written. Each
file begins with a ``warcinfo`` record. Once a file has passed ``max_size`` bytes it is closed:
synced, and renamed to its final name; the next record opens the next file. :meth:`WarcWriter.sync`
(``os.fsync``) is for a caller that wants the records on disk before it commits their pointers.

A file being written is locked (``flock``) by its writer, so that :func:`recover`, run when a crawl
starts, repairs only the ``.open`` files no live process holds: each is cut back to the end of its
last complete record (its gzip members are walked one by one, each decompressed to its end and its
record's ``Content-Length`` checked) and renamed to its final name; a file left with no complete
record is removed. Pointers are handed out only after their record is written and flushed, so the
archive never points past what a recovered file holds.
"""

from __future__ import annotations

import fcntl
import io
import os
import socket
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from warcio.recordloader import ArcWarcRecord
from warcio.warcwriter import WARCWriter

from crawler.warc.naming import OPEN_SUFFIX, WARC_SUFFIX, final_name, open_name, safe, warc_file_name

DEFAULT_MAX_SIZE = 1_000_000_000
WARC_VERSION = "1.1"
GZIP_LEVEL = 6  # warcio's own is 9: ~2x the CPU for ~3 % smaller files
READ_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Pointer:
    """Where one record is: its gzip member in a WARC file (the final name, relative to the WARC folder)."""

    file: str
    offset: int
    length: int

    def as_meta(self) -> dict[str, Any]:
        return {"file": self.file, "offset": self.offset, "length": self.length}


class _GzipMember:
    """warcio's output for one record: compressed as one gzip member of its own, written through to ``out``."""

    def __init__(self, out: BinaryIO, level: int) -> None:
        self.out = out
        self.compressor = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS + 16)

    def write(self, data: bytes) -> None:
        compressed = self.compressor.compress(data)
        if compressed:
            self.out.write(compressed)

    def flush(self) -> None:  # warcio calls it once, at the end of the record
        self.out.write(self.compressor.flush())
        self.out.flush()


class WarcWriter:
    """One crawl's WARC files (one source, one run): ``write(record)`` returns the record's :class:`Pointer`.

    ``builder`` is warcio's record builder (``create_warc_record`` and friends) set to WARC/1.1.
    ``info`` is the ``warcinfo`` record's fields (software, isPartOf, …), written first in every file.
    """

    def __init__(
        self,
        warc_dir: str | Path,
        source: str,
        run_id: int | str,
        *,
        max_size: int = DEFAULT_MAX_SIZE,
        info: Mapping[str, Any] | None = None,
        gzip_level: int = GZIP_LEVEL,
    ) -> None:
        self.warc_dir = Path(warc_dir)
        self.source = source
        self.run_id = run_id
        self.max_size = max(1, int(max_size))
        self.info = dict(info or {})
        self.gzip_level = gzip_level
        self.builder = WARCWriter(None, gzip=False, warc_version=WARC_VERSION)
        self._file: BinaryIO | None = None
        self._name: str | None = None  # the final name of the file being written
        self._seq: int | None = None
        self.files: list[str] = []  # final names of every file this writer opened, in order
        self.records = 0
        self.bytes_written = 0
        self.synced_bytes = 0  # bytes_written at the last sync()

    # -- files ------------------------------------------------------------------------------

    @property
    def current_file(self) -> str | None:
        """The final name of the file being written (None between files)."""
        return self._name

    def _next_seq(self) -> int:
        if self._seq is None:
            prefix = f"{safe(self.source)}-{self.run_id}-"
            taken = [0]
            if self.warc_dir.is_dir():
                for path in self.warc_dir.iterdir():
                    name = final_name(path.name)
                    if name.startswith(prefix) and name.endswith(WARC_SUFFIX):
                        number = name[len(prefix) : -len(WARC_SUFFIX)]
                        if number.isdigit():
                            taken.append(int(number))
            self._seq = max(taken)
        self._seq += 1
        return self._seq

    def _open(self) -> BinaryIO:
        self.warc_dir.mkdir(parents=True, exist_ok=True)
        while True:
            name = warc_file_name(self.source, self.run_id, self._next_seq())
            path = self.warc_dir / open_name(name)
            if (self.warc_dir / name).exists() or path.exists():
                continue
            # Created and locked under another name, then renamed: recover() (another crawl starting) never
            # sees a .open file that is not locked yet, so it cannot take a new file for a killed one.
            creating = self.warc_dir / f".{open_name(name)}.{os.getpid()}"
            try:
                file = open(creating, "xb")  # noqa: SIM115 (held open across records; closed by close())
            except FileExistsError:
                continue
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # recover() leaves a held file alone
            if path.exists():  # another writer took the name meanwhile
                file.close()
                creating.unlink()
                continue
            os.replace(creating, path)
            break
        self._file, self._name = file, name
        self.files.append(name)
        info = {**self.info, "hostname": self.info.get("hostname") or socket.gethostname()}
        self._write(self.builder.create_warcinfo_record(name, info))
        return file

    def _close_file(self) -> None:
        file, name = self._file, self._name
        if file is None or name is None:
            return
        self._file = self._name = None
        file.flush()
        os.fsync(file.fileno())
        os.replace(self.warc_dir / open_name(name), self.warc_dir / name)
        file.close()  # releases the lock, after the rename: no recover() sees it half done

    # -- records ----------------------------------------------------------------------------

    def _write(self, record: ArcWarcRecord) -> Pointer:
        file = self._file
        assert file is not None and self._name is not None
        offset = file.tell()
        self.builder.out = _GzipMember(file, self.gzip_level)
        try:
            self.builder.write_record(record)  # ends with a flush: the record is in the file
        except BaseException:
            # Half a record must not stay before the next one: cut it off.
            file.flush()
            file.truncate(offset)
            file.seek(offset)
            raise
        finally:
            self.builder.out = None
        length = file.tell() - offset
        self.records += 1
        self.bytes_written += length
        return Pointer(self._name, offset, length)

    def write(self, record: ArcWarcRecord, *, rotate: bool = True) -> Pointer:
        """Write one record (a new file first when none is open); its pointer once it is flushed.

        ``rotate``: close the file when it has passed ``max_size`` (False keeps the records of one
        exchange together in one file; the next record that may rotate does)."""
        if self._file is None:
            self._open()
        pointer = self._write(record)
        if rotate and self._file is not None and self._file.tell() >= self.max_size:
            self._close_file()  # rotated: the next record opens the next file
        return pointer

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def sync(self) -> None:
        """The records written so far on disk (``os.fsync``), e.g. before their pointers are committed;
        nothing to do when none was written since the last sync."""
        if self._file is not None and self.bytes_written != self.synced_bytes:
            self._file.flush()
            os.fsync(self._file.fileno())
        self.synced_bytes = self.bytes_written

    def close(self) -> None:
        """Close the file being written: synced, then renamed to its final name."""
        self._close_file()

    def __enter__(self) -> WarcWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- recovery -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecoveryResult:
    """What :func:`recover` did to one ``.open`` file."""

    file: str  # the final name it has now (or would have had, when removed)
    records: int  # complete records kept
    size: int  # bytes kept
    cut: int  # bytes cut off (a record the kill interrupted)
    removed: bool = False  # no complete record: the file was removed


def recover(warc_dir: str | Path) -> list[RecoveryResult]:
    """Repair the ``*.warc.gz.open`` files killed crawls left in ``warc_dir``: each cut back to its last
    complete record and renamed to its final name. Files a live writer holds (locked) are left alone."""
    folder = Path(warc_dir)
    if not folder.is_dir():
        return []
    results = []
    for path in sorted(folder.glob(f"*{WARC_SUFFIX}{OPEN_SUFFIX}")):
        try:
            file = open(path, "r+b")  # noqa: SIM115 (closed below, after the lock is no longer needed)
        except FileNotFoundError:
            continue  # closed by its writer meanwhile
        with file:
            try:
                fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a crawl is writing it
            if not path.exists():
                continue  # renamed by its writer between our open and our lock
            size = os.fstat(file.fileno()).st_size
            end, records = complete_prefix(file)
            name = final_name(path.name)
            if records == 0:
                path.unlink()
                results.append(RecoveryResult(name, 0, 0, size, removed=True))
                continue
            if end < size:
                file.truncate(end)
            file.flush()
            os.fsync(file.fileno())
            os.replace(path, folder / name)
            results.append(RecoveryResult(name, records, end, size - end))
    return results


def complete_prefix(file: BinaryIO) -> tuple[int, int]:
    """(bytes, records) of the complete records at the start of a gzipped WARC file, one gzip member
    per record: a member counts when it decompresses to its end and holds exactly one whole record."""
    file.seek(0)
    end = records = 0
    while True:
        member_end = _complete_member_end(file, end)
        if member_end is None:
            return end, records
        end = member_end
        records += 1


def _complete_member_end(file: BinaryIO, start: int) -> int | None:
    """The end offset of the gzip member at ``start`` when it is complete and holds one whole WARC record."""
    file.seek(start)
    decompressor = zlib.decompressobj(zlib.MAX_WBITS + 16)
    head = bytearray()
    produced = 0
    consumed = 0
    while not decompressor.eof:
        chunk = file.read(READ_CHUNK)
        if not chunk:
            return None  # the member breaks off: the record the kill interrupted
        consumed += len(chunk)
        try:
            data = decompressor.decompress(chunk)
        except zlib.error:
            return None
        produced += len(data)
        if len(head) < READ_CHUNK:
            head += data[: READ_CHUNK - len(head)]
    member_end = start + consumed - len(decompressor.unused_data)
    return member_end if _one_whole_record(bytes(head), produced) else None


def _one_whole_record(head: bytes, size: int) -> bool:
    """Whether ``size`` decompressed bytes starting with ``head`` are one WARC record, headers to trailer."""
    if not head.startswith(b"WARC/"):
        return False
    header_end = head.find(b"\r\n\r\n")
    if header_end < 0:
        return False
    length = None
    for line in head[:header_end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                length = int(value.strip())
            except ValueError:
                return False
    return length is not None and size == header_end + 4 + length + 4


def payload_stream(body: bytes) -> io.BytesIO:
    """A body for warcio, read without a copy."""
    return io.BytesIO(body)
