"""Whether a source is healthy, judged from its recent crawl runs (plain functions, no I/O).

`evaluate_health(runs, config)` looks at a source's `crawl_runs` rows, newest first, and applies
three rules, each driven by a key of the sources file's ``[health]`` table (`HealthConfig`):

- ``max_consecutive_failures``: that many failed / timed_out / abandoned runs in a row. Skipped,
  interrupted and running runs are neither failures nor successes, so they are passed over. A last
  run that was abandoned (its process died without recording an end: kill -9, the OOM killer, a
  power loss) makes the source unhealthy at once, whatever the limit: nothing else reports it.
- ``zero_articles_after`` (0 = off): the newest finished run archived no article (new, unchanged,
  updated or duplicate) while each of that many finished runs before it archived some. A streak
  of empty runs keeps the source unhealthy: the rule compares the whole streak with the runs before
  it, so a second empty run does not read as a recovery.
- ``extraction_failure_rise`` (0 = off): the share of fetched pages with no extractable text rose
  by at least this much over the mean of up to ``BASELINE_RUNS`` runs before. Runs with fewer than
  ``MIN_PAGES_FOR_SHARE`` pages are ignored (a share of 3 pages says nothing). As with empty runs,
  a streak of high-share runs is compared with the runs before the streak.

Only succeeded and failed runs count as "finished" for the last two rules: their counts are whole.
The scheduler stores the verdict and alerts on changes (crawler.ops.alerts); `newsarchive status` shows it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from archive.models import RunStatus, RunTrigger
from crawler.sources.ops_tables import HealthConfig

# The runs a verdict is drawn from: a skipped run never ran, and a source whose runs outlast their
# interval piles up skips that would push its real runs out of any window of recent runs.
JUDGED_STATUSES = frozenset(RunStatus) - {RunStatus.SKIPPED}
FAILURE_STATUSES = frozenset({RunStatus.FAILED, RunStatus.TIMED_OUT, RunStatus.ABANDONED})
SUCCESS_STATUSES = frozenset({RunStatus.SUCCEEDED})
MEASURED_STATUSES = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED})
ARTICLE_COUNT_COLUMNS = ("articles_new", "articles_unchanged", "articles_updated", "articles_duplicate")
BASELINE_RUNS = 5
MIN_PAGES_FOR_SHARE = 10


@dataclass(frozen=True)
class HealthVerdict:
    """A source's health: ``reasons`` says why it is unhealthy (empty when healthy)."""

    healthy: bool
    reasons: list[str] = field(default_factory=list)
    consecutive_failures: int = 0


def evaluate_health(runs: Sequence[Mapping[str, Any]], config: HealthConfig) -> HealthVerdict:
    """Judge a source from its runs (newest first) by the rules in the module docstring."""
    failures = consecutive_failures(runs)
    reasons: list[str] = []
    failure_reason = consecutive_failures_reason(runs, failures, config.max_consecutive_failures)
    if failure_reason:
        reasons.append(failure_reason)
    else:
        abandoned = abandoned_reason(runs)
        if abandoned:
            reasons.append(abandoned)
    zero_reason = zero_articles_reason(runs, config.zero_articles_after)
    if zero_reason:
        reasons.append(zero_reason)
    extraction_reason = extraction_failure_reason(runs, config.extraction_failure_rise)
    if extraction_reason:
        reasons.append(extraction_reason)
    return HealthVerdict(healthy=not reasons, reasons=reasons, consecutive_failures=failures)


def consecutive_failures(runs: Sequence[Mapping[str, Any]]) -> int:
    """Failed, timed-out and abandoned runs since the last success (other statuses passed over)."""
    count = 0
    for run in runs:
        status = run.get("status")
        if status in FAILURE_STATUSES:
            count += 1
        elif status in SUCCESS_STATUSES:
            break
    return count


def abandoned_reason(runs: Sequence[Mapping[str, Any]]) -> str | None:
    """Why the source is unhealthy when its last run (skipped and running ones passed over) was abandoned."""
    last = next((run for run in runs if run.get("status") not in (RunStatus.SKIPPED, RunStatus.RUNNING)), None)
    if last is None or last.get("status") != RunStatus.ABANDONED:
        return None
    return f"the last run died without recording an end ({describe_run_result(last)})"


def consecutive_failures_reason(runs: Sequence[Mapping[str, Any]], failures: int, limit: int) -> str | None:
    if limit < 1 or failures < limit:
        return None
    last = next(run for run in runs if run.get("status") in FAILURE_STATUSES)
    runs_word = "run" if failures == 1 else "runs"
    return f"{failures} failed {runs_word} in a row (last: {describe_run_result(last)})"


def describe_run_result(run: Mapping[str, Any]) -> str:
    """ "run 12, timed out: stopped after 3600 s" - the run, its status and why."""
    text = f"run {run.get('id')}, {str(run.get('status') or 'unknown').replace('_', ' ')}"
    reason = run.get("reason")
    return f"{text}: {reason}" if reason else text


def articles_archived(run: Mapping[str, Any]) -> int:
    """Articles the run archived: new + unchanged + updated + duplicate."""
    return sum(int(run.get(column) or 0) for column in ARTICLE_COUNT_COLUMNS)


def measured_runs(runs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The finished crawls whose counts are whole (succeeded or failed), newest first; a re-extraction
    (trigger ``reextract``) fetches nothing and is no crawl of the source."""
    return [
        run for run in runs if run.get("status") in MEASURED_STATUSES and run.get("trigger") != RunTrigger.REEXTRACT
    ]


def zero_articles_reason(runs: Sequence[Mapping[str, Any]], runs_before: int) -> str | None:
    if runs_before < 1:
        return None
    finished = measured_runs(runs)
    streak = 0
    while streak < len(finished) and articles_archived(finished[streak]) == 0:
        streak += 1
    before = finished[streak : streak + runs_before]
    if streak == 0 or len(before) < runs_before or any(articles_archived(run) == 0 for run in before):
        return None
    counts = [articles_archived(run) for run in before]
    spread = f"{min(counts)}" if min(counts) == max(counts) else f"{min(counts)} to {max(counts)}"
    newest = finished[0]["id"]
    if streak == 1:
        return f"run {newest} archived no articles, while the {runs_before} runs before it archived {spread} each"
    return (
        f"the last {streak} runs (up to run {newest}) archived no articles, "
        f"while the {runs_before} runs before them archived {spread} each"
    )


def extraction_failure_share(run: Mapping[str, Any]) -> float | None:
    """Share of the run's pages with no extractable text; None below MIN_PAGES_FOR_SHARE pages."""
    pages = int(run.get("pages_fetched") or 0)
    if pages < MIN_PAGES_FOR_SHARE:
        return None
    return int(run.get("extraction_failures") or 0) / pages


def extraction_failure_reason(runs: Sequence[Mapping[str, Any]], rise: float) -> str | None:
    if rise <= 0:
        return None
    sized = [(run, share) for run in measured_runs(runs) if (share := extraction_failure_share(run)) is not None]
    found: str | None = None
    # The longest elevated streak wins: its baseline is the runs from before the change began.
    for streak in range(1, len(sized)):
        baseline_shares = [share for _, share in sized[streak : streak + BASELINE_RUNS]]
        baseline = sum(baseline_shares) / len(baseline_shares)
        # A small tolerance so that a rise of exactly the configured share counts despite float rounding.
        if all(share - baseline >= rise - 1e-9 for _, share in sized[:streak]):
            found = _extraction_reason_text(sized[:streak], baseline, len(baseline_shares))
    return found


def _extraction_reason_text(
    streak: Sequence[tuple[Mapping[str, Any], float]], baseline: float, baseline_runs: int
) -> str:
    newest, share = streak[0]
    failures = int(newest.get("extraction_failures") or 0)
    pages = int(newest.get("pages_fetched") or 0)
    text = f"{share:.0%} of pages had no extractable text in run {newest['id']} ({failures} of {pages})"
    if len(streak) == 1:
        return f"{text}, up from {baseline:.0%} on average over the {baseline_runs} runs before"
    lowest = min(run_share for _, run_share in streak)
    return (
        f"{text}, and at least {lowest:.0%} in each of the last {len(streak)} runs, "
        f"up from {baseline:.0%} on average over the {baseline_runs} runs before them"
    )
