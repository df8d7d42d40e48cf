"""The archive's last stored copy of a URL, for a revisit record to refer to.

A URL the crawl state has fetched before answers ``304``, or ``200`` with the same bytes: its
revisit record refers to the record the archive's last full fetch of that URL points at
(``fetches.warc_file``, ``warc_offset``, ``warc_length``), read from the WARC folder for its exact
record id, date and payload digest. Opened read-only, once per crawl, and only when such a URL is
met (a first crawl never opens it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crawler.warc.capture import Original, original_of
from crawler.warc.reader import WarcReadError, read_record

LAST_COPY_SQL = (
    "SELECT warc_file, warc_offset, warc_length FROM fetches"
    " WHERE url = ? AND status = 200 AND warc_file IS NOT NULL ORDER BY id DESC LIMIT 1"
)


class PreviousCopies:
    """``lookup(url)``: the :class:`~crawler.warc.capture.Original` of the URL's last stored copy, or None."""

    def __init__(self, archive_path: str | Path, warc_dir: str | Path) -> None:
        self.archive_path = Path(archive_path)
        self.warc_dir = Path(warc_dir)
        self._reader: Any = None
        self._unavailable = False

    def _open(self) -> Any:
        if self._reader is None and not self._unavailable:
            from archive import ArchiveError, ArchiveReader

            try:
                reader = ArchiveReader(self.archive_path, check=False)
            except (ArchiveError, OSError):
                self._unavailable = True
                return None
            columns = {row["name"] for row in reader.query("SELECT name FROM pragma_table_info('fetches')")}
            if "warc_file" not in columns:
                reader.close()
                self._unavailable = True
                return None
            self._reader = reader
        return self._reader

    def __call__(self, url: str) -> Original | None:
        return self.lookup(url)

    def lookup(self, url: str) -> Original | None:
        if not self.archive_path.exists():
            return None
        reader = self._open()
        if reader is None:
            return None
        rows = reader.query(LAST_COPY_SQL, [url])
        if not rows:
            return None
        row = rows[0]
        try:
            stored = read_record(self.warc_dir, row["warc_file"], int(row["warc_offset"]), int(row["warc_length"]))
        except (WarcReadError, OSError, ValueError):
            return None
        return original_of(stored)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
