"""Per-run log files: one JSON-lines file per crawl run, and the tools to read, show and prune them.

Every run writes ``{log_dir}/{source}/{run_id}.jsonl``; each line is one JSON object::

    {"time": "2026-11-24T23:50:01.123Z", "level": "INFO", "run_id": 12, "source": "example",
     "event": "log", "logger": "scrapy.core.engine", "message": "...", "url": "https://..."}

``time`` is UTC. ``event`` is a short machine name, "log" for ordinary records; a caller sets it
(and ``url``) with ``logger.warning("...", extra={"event": "fetch_failed", "url": url})``. A record
with an exception adds ``"exception"`` (the formatted traceback). A record may also carry its own
``run_id`` / ``source`` in ``extra``, which wins over the ones the formatter was built with.

The crawl process attaches :func:`open_run_log` to its loggers; the scheduler's log settings
(log directory, retention days) decide where files go and when :func:`prune_logs` removes them.
The status CLI reads files back with :func:`read_log` and shows them with :func:`format_entry`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LEVEL_RANK = {name: rank for rank, name in enumerate(LEVELS)}
ORDINARY_EVENT = "log"
SECONDS_PER_DAY = 86_400


def run_log_path(log_dir: Path, source: str, run_id: int, archive: Path | None = None) -> Path:
    """Where run ``run_id`` of ``source`` writes its log: ``{log_dir}/{source}/{archive}-{run_id}.jsonl``,
    ``archive`` being the archive file's name without its extension (run ids are per archive, and two
    archives may share a log folder); without ``archive``, ``{run_id}.jsonl``. When that name is taken
    already (an archive of the same name in another folder), a digest of the archive's path is added."""
    if not source or source in {".", ".."} or "/" in source or "\\" in source or "\0" in source:
        raise ValueError(
            f"source name {source!r} cannot be a log folder name: "
            "use a source name without slashes that is not empty, '.' or '..'"
        )
    if isinstance(run_id, bool) or not isinstance(run_id, int) or run_id < 0:
        raise ValueError(f"run id {run_id!r} is not a crawl_runs id: pass the integer id of the run")
    folder = Path(log_dir) / source
    if archive is None:
        return folder / f"{run_id}.jsonl"
    path = folder / f"{Path(archive).stem}-{run_id}.jsonl"
    if path.exists():
        digest = hashlib.blake2b(str(Path(archive).absolute()).encode(), digest_size=3).hexdigest()
        path = folder / f"{Path(archive).stem}-{digest}-{run_id}.jsonl"
    return path


def utc_timestamp(created: float) -> str:
    """A log record's creation time as ISO 8601 UTC with milliseconds, e.g. "2026-11-24T23:50:01.123Z"."""
    moment = datetime.fromtimestamp(created, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def entry_from_record(
    record: logging.LogRecord, run_id: int | None, source: str | None, exception_text: str | None
) -> dict[str, Any]:
    """The JSON-lines entry for one log record; the record's own run_id/source extras win."""
    entry: dict[str, Any] = {
        "time": utc_timestamp(record.created),
        "level": record.levelname,
        "run_id": getattr(record, "run_id", run_id),
        "source": getattr(record, "source", source),
        "event": str(getattr(record, "event", None) or ORDINARY_EVENT),
        "logger": record.name,
        "message": record.getMessage(),
    }
    url = getattr(record, "url", None)
    if url:
        entry["url"] = str(url)
    if exception_text:
        entry["exception"] = exception_text
    return entry


def record_exception_text(formatter: logging.Formatter, record: logging.LogRecord) -> str | None:
    """The record's traceback (and stack, if asked for) as text, cached on the record as logging does."""
    if record.exc_info and not record.exc_text:
        record.exc_text = formatter.formatException(record.exc_info)
    parts = [part for part in (record.exc_text, record.stack_info and formatter.formatStack(record.stack_info)) if part]
    return "\n".join(parts) or None


class JsonLinesFormatter(logging.Formatter):
    """Formats each record as one JSON object on one line (newlines inside are escaped)."""

    def __init__(self, run_id: int | None, source: str | None) -> None:
        super().__init__()
        self.run_id = run_id
        self.source = source

    def format(self, record: logging.LogRecord) -> str:
        entry = entry_from_record(record, self.run_id, self.source, record_exception_text(self, record))
        return json.dumps(entry, ensure_ascii=False, default=str)


class HumanFormatter(logging.Formatter):
    """Console lines like ``2026-11-24 23:50:01 INFO [example#12] message (url)``, times in UTC."""

    def __init__(self, run_id: int | None = None, source: str | None = None) -> None:
        super().__init__()
        self.run_id = run_id
        self.source = source

    def format(self, record: logging.LogRecord) -> str:
        return format_entry(entry_from_record(record, self.run_id, self.source, record_exception_text(self, record)))


def open_run_log(path: Path, run_id: int | None, source: str | None, level: int = logging.INFO) -> logging.Handler:
    """A handler appending JSON lines to ``path`` (folders created), flushed after every record.

    ``logging.FileHandler`` already flushes after each record it writes, so ``logs --follow``
    sees a line as soon as it is logged. The caller adds it to a logger and, at the end of the
    run, removes and closes it.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    except OSError as error:
        raise OSError(
            f"cannot open the run log {path}: {error}; "
            "check that the log directory is writable or set another log directory"
        ) from error
    handler.setLevel(level)
    handler.setFormatter(JsonLinesFormatter(run_id, source))
    return handler


def level_rank(level: object) -> int:
    """Rank of a level name in LEVELS; names we do not know rank with DEBUG, so they show at DEBUG only."""
    return LEVEL_RANK.get(str(level).upper(), 0)


class RunLogEntries(Iterator[dict]):
    """The entries of one run log, in order; ``skipped_lines`` counts lines that were not JSON objects.

    Lines are decoded one by one, so a torn last line (a crawl still writing, or one killed
    mid-write, possibly mid-character) is skipped and counted rather than raised.
    """

    def __init__(self, path: Path, min_level: str) -> None:
        if str(min_level).upper() not in LEVEL_RANK:
            raise ValueError(f"unknown log level {min_level!r}: use one of {', '.join(LEVELS)}")
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(
                f"no run log at {self.path}: check the run id and source, "
                "or the log directory (it may have been pruned)"
            )
        self.min_rank = LEVEL_RANK[str(min_level).upper()]
        self.skipped_lines = 0
        self._entries = self._read()

    def _read(self) -> Iterator[dict]:
        with self.path.open("rb") as file:
            for raw_line in file:
                if not raw_line.strip():
                    continue
                entry = parse_line(raw_line)
                if entry is None:
                    self.skipped_lines += 1
                elif level_rank(entry.get("level")) >= self.min_rank:
                    yield entry

    def __next__(self) -> dict:
        return next(self._entries)

    def close(self) -> None:
        """Close the file before the end has been reached."""
        self._entries.close()


def parse_line(raw_line: bytes) -> dict | None:
    """One log line as a dict, or None when it is not a whole UTF-8 JSON object."""
    try:
        entry = json.loads(raw_line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return entry if isinstance(entry, dict) else None


def read_log(path: Path, min_level: str = "DEBUG") -> Iterator[dict]:
    """The entries of a run log at ``min_level`` or above; the iterator's ``skipped_lines`` counts bad lines."""
    return RunLogEntries(path, min_level)


def format_entry(entry: Mapping) -> str:
    """One entry as a human line, ``2026-11-24 23:50:01 INFO [example#12] message (url)``.

    An exception's traceback follows on the next lines. Missing fields are left out, so any
    JSON object read from a log can be shown.
    """
    timestamp = str(entry.get("time") or "")
    parts = [timestamp[:19].replace("T", " ") if timestamp else "-", str(entry.get("level") or "-")]
    source, run_id = entry.get("source"), entry.get("run_id")
    if source is not None or run_id is not None:
        parts.append(f"[{source if source is not None else '?'}" + (f"#{run_id}]" if run_id is not None else "]"))
    message = entry.get("message")
    if not message and entry.get("event") not in (None, ORDINARY_EVENT):
        message = entry.get("event")
    parts.append(str(message or ""))
    if entry.get("url"):
        parts.append(f"({entry['url']})")
    line = " ".join(part for part in parts if part)
    if entry.get("exception"):
        line += "\n" + str(entry["exception"]).rstrip("\n")
    return line


def prune_logs(log_dir: Path, retention_days: int, now: float | None = None) -> list[Path]:
    """Delete run logs last written more than ``retention_days`` ago, then emptied source folders.

    Only ``*.jsonl`` files in ``log_dir`` and its source folders are considered; anything else
    is left alone. Returns the deleted files and folders. A missing ``log_dir`` prunes nothing.
    """
    if isinstance(retention_days, bool) or not isinstance(retention_days, (int, float)) or retention_days <= 0:
        raise ValueError(
            f"log retention of {retention_days!r} days would delete logs of running crawls: "
            "set retention_days to 1 or more"
        )
    log_dir = Path(log_dir)
    if not log_dir.is_dir():
        return []
    cutoff = (time.time() if now is None else now) - retention_days * SECONDS_PER_DAY
    deleted: list[Path] = []
    source_dirs = sorted(path for path in log_dir.iterdir() if path.is_dir() and not path.is_symlink())
    for folder in [log_dir, *source_dirs]:
        for log_file in sorted(folder.glob("*.jsonl")):
            if delete_if_older(log_file, cutoff):
                deleted.append(log_file)
    for folder in source_dirs:
        try:
            if not any(folder.iterdir()):
                folder.rmdir()
                deleted.append(folder)
        except OSError:
            # A crawl started writing into it meanwhile (or it vanished): leave it.
            continue
    return deleted


def delete_if_older(log_file: Path, cutoff: float) -> bool:
    """Delete a regular file whose mtime is before ``cutoff``; False if it is newer, not a file or gone."""
    try:
        if log_file.is_symlink() or not log_file.is_file() or log_file.stat().st_mtime >= cutoff:
            return False
        log_file.unlink()
    except FileNotFoundError:
        return False
    return True
