"""Where a crawl's WARC files go and what they are called.

``warc_dir_for(archive, "")`` is the folder ``<archive stem>-warc`` beside the archive
(``data/news.db`` → ``data/news-warc/``); a ``WARC_DIR`` setting names another folder (relative to
the current folder). Files are ``<source>-<run id>-<seq>.warc.gz`` (``fixture-12-00001.warc.gz``);
a file still being written ends in ``.open`` and is renamed when it is closed or rotated (or
recovered after a kill). Pointers in the archive (``fetches.warc_file``) always hold the final
name, relative to the WARC folder.
"""

from __future__ import annotations

import re
from pathlib import Path

WARC_SUFFIX = ".warc.gz"
OPEN_SUFFIX = ".open"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def warc_dir_for(archive_path: str | Path, setting: str | None) -> Path:
    """The WARC folder of an archive: ``setting`` when given, else ``<archive stem>-warc`` beside it."""
    if setting:
        return Path(setting)
    archive = Path(archive_path)
    return archive.with_name(f"{archive.stem}-warc")


def safe(name: str) -> str:
    """``name`` fit for a file name: runs of other characters than letters, digits, ``._-`` become ``_``."""
    cleaned = _UNSAFE.sub("_", str(name)).strip("._") or "source"
    return cleaned[:80]


def warc_file_name(source: str, run_id: int | str, seq: int) -> str:
    """``fixture-12-00001.warc.gz``: the final name of a crawl's ``seq``-th WARC file."""
    return f"{safe(source)}-{run_id}-{seq:05d}{WARC_SUFFIX}"


def open_name(final_name: str) -> str:
    """The name a file has while it is written."""
    return final_name + OPEN_SUFFIX


def final_name(name: str) -> str:
    """The final name of a file, whether ``name`` is the final one or the ``.open`` one."""
    return name[: -len(OPEN_SUFFIX)] if name.endswith(OPEN_SUFFIX) else name
