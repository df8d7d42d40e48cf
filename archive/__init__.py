"""newsarchive's archive library: a plain Python API over a sqlite-utils database (no Scrapy).

    from archive import Archive, ArchiveError, ArchiveReader, SaveResult
    with Archive("data/archive.db") as arc:
        run_id = arc.start_run("example-news")
        result = arc.save_article(run_id, article, fetch, aliases=[...])
        arc.finish_run(run_id, "succeeded", stats=crawler_stats)
    with ArchiveReader("data/archive.db") as reader:      # read-only: never creates, migrates or writes
        recent = reader.runs(source="example-news", limit=10)

The tables are documented in docs/schema.md. Settings: `Archive(path, batch_size=200,
max_batch_seconds=0.25)`, see archive/store.py; `ArchiveReader(path, timeout=30.0)`, see archive/reader.py.

`Archive` and `ArchiveReader` are loaded on first use: they need sqlite-utils, which imports numpy
(about 0.1 s), and `import archive` alone (the vocabularies, ArchiveError, the date helpers) should
cost nothing, so that a command's --help stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .dates import to_utc_iso
from .models import ArchiveError, SaveResult

if TYPE_CHECKING:
    from .reader import ArchiveReader
    from .store import Archive

__all__ = ["Archive", "ArchiveError", "ArchiveReader", "SaveResult", "to_utc_iso"]


def __getattr__(name: str) -> Any:
    # PEP 562: `from archive import Archive` imports archive.store at that moment, not before.
    if name == "Archive":
        from .store import Archive

        return Archive
    if name == "ArchiveReader":
        from .reader import ArchiveReader

        return ArchiveReader
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
