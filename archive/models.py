"""Value types and vocabularies shared by the archive modules.

`SaveResult` is what `Archive.save_article` returns; `ArchiveError` is the one exception the
archive raises for problems a user can fix (bad file, bad argument). The outcome and status
vocabularies live here so the store, the docs and the crawler agree on them. No settings.
"""

from __future__ import annotations

from dataclasses import dataclass


class ArchiveError(Exception):
    """A problem with the archive file or with how the archive was called; the message names the fix."""


@dataclass(frozen=True)
class SaveResult:
    """Outcome of saving one article: "new", "unchanged", "updated" or "duplicate"."""

    outcome: str
    article_id: int
    duplicate_of: int | None = None


ARTICLE_OUTCOMES = ("new", "unchanged", "updated", "duplicate")
# Outcomes of fetches that produced no article (written by `Archive.record_fetch`).
NON_ARTICLE_OUTCOMES = ("rejected", "skipped", "error", "discovery")
FETCH_OUTCOMES = ARTICLE_OUTCOMES + NON_ARTICLE_OUTCOMES

# "running" is set by start_run; the rest are final states. timed_out / skipped / abandoned are
# reserved for the scheduler (a run killed at its deadline, a run not started because another
# was still going, a run found "running" whose process is gone).
# "interrupted": stopped by a shutdown of newsarchive itself, not the source's fault.
RUN_STATUSES = ("running", "succeeded", "failed", "timed_out", "skipped", "abandoned", "interrupted")
RUN_TRIGGERS = ("schedule", "manual", "catch-up")
FINAL_RUN_STATUSES = RUN_STATUSES[1:]

FOUND_BY_VALUES = ("start", "link", "feed", "sitemap", "robots", "redirect", "canonical")
FETCH_MODES = ("plain", "browser")
