"""The stored responses of many fetches, read back from the crawl's WARC files in the fast order.

``fetches.warc_file`` / ``warc_offset`` / ``warc_length`` point at one record (one gzip member) of
a WARC file in the archive's WARC folder (crawler/warc/naming.py): the record the page's body came
from (a ``response``, a browser page's ``resource``, or a ``revisit``). :func:`read_pointed` reads
many of them sequentially: grouped by file, in offset order, so a whole archive is read front to
back; each record through crawler.warc.reader (its body decoded as the crawl's extractor saw it), a
revisit resolved to the record it refers to. No settings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.warc.reader import StoredResponse, WarcReadError, read_record, resolve_revisit


@dataclass(frozen=True)
class Pointer:
    """Where one record is: a file of the WARC folder, its offset and length (``fetches.warc_*``)."""

    file: str
    offset: int
    length: int


class UnreadableRecord(Exception):
    """The pointer leads to no readable record: the file is missing, the bytes there are not a WARC
    record, or a revisit's original is not in the folder."""


def read_one(warc_dir: Path, pointer: Pointer) -> StoredResponse:
    """The record at ``pointer`` (a revisit: the record it refers to); UnreadableRecord when there is none."""
    try:
        stored = read_record(warc_dir, pointer.file, pointer.offset, pointer.length)
    except (WarcReadError, OSError) as error:
        raise UnreadableRecord(f"{pointer.file} offset {pointer.offset}: {error}") from error
    except Exception as error:  # warcio raises many kinds on bytes that are not a record
        raise UnreadableRecord(
            f"{pointer.file} offset {pointer.offset}: not a WARC record ({type(error).__name__}: {error})"
        ) from error
    if stored.kind == "revisit":
        original = resolve_revisit(warc_dir, stored)
        if original is None:
            raise UnreadableRecord(
                f"{pointer.file} offset {pointer.offset}: a revisit of {stored.refers_to} whose original is not "
                f"in {warc_dir}"
            )
        return original
    return stored


def read_pointed(
    warc_dir: Path, items: Iterable[tuple[Pointer, Any]]
) -> Iterator[tuple[Any, StoredResponse | UnreadableRecord]]:
    """``(item, record)`` for each ``(pointer, item)``, read file by file in offset order.

    A record that cannot be read gives ``(item, UnreadableRecord)`` instead of stopping the rest.
    """
    by_file: dict[str, list[tuple[Pointer, Any]]] = defaultdict(list)
    for pointer, item in items:
        by_file[pointer.file].append((pointer, item))
    for name in sorted(by_file):
        for pointer, item in sorted(by_file[name], key=lambda entry: entry[0].offset):
            try:
                yield item, read_one(warc_dir, pointer)
            except UnreadableRecord as error:
                yield item, error
