"""newsarchive's archive library: a plain Python API over a sqlite-utils database (no Scrapy).

    from archive import Archive, ArchiveError, SaveResult
    with Archive("data/archive.db") as arc:
        run_id = arc.start_run("example-news")
        result = arc.save_article(run_id, article, fetch, aliases=[...])
        arc.finish_run(run_id, "succeeded", stats=crawler_stats)

The tables are documented in docs/schema.md. Settings: `Archive(path, batch_size=200,
max_batch_seconds=0.25)`; see archive/store.py.
"""

from .dates import to_utc_iso
from .models import ArchiveError, SaveResult
from .store import Archive

__all__ = ["Archive", "ArchiveError", "SaveResult", "to_utc_iso"]
