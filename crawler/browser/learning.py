"""``render_js = "auto"`` remembers: a source whose pages mostly needed the browser goes browser-first.

Plain HTTP first costs a source whose pages are JavaScript shells two fetches per article. So
after a run where at least ``RENDER_LEARN_SHARE`` of the articles needed the browser (and at
least ``RENDER_LEARN_MIN`` pages), the next runs fetch its pages through the browser at once;
every ``RENDER_REPROBE_RUNS`` browser-first runs, one run tries plain HTTP first again, in case
the site changed. Plain functions over the source's ``crawl_runs`` rows; the parent process
(CLI or scheduler) decides before it starts a crawl, and records it in ``crawl_runs.browser_first``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from archive.models import RunStatus

ARTICLE_COUNTS = ("articles_new", "articles_unchanged", "articles_updated", "articles_duplicate")


@dataclass(frozen=True)
class RenderPlan:
    browser_first: bool
    why: str = ""


def articles_seen(run: Mapping[str, Any]) -> int:
    return sum(run.get(name) or 0 for name in ARTICLE_COUNTS)


def plan_rendering(runs: Sequence[Mapping[str, Any]], share: float, minimum: int, reprobe_after: int) -> RenderPlan:
    """Browser-first or plain-first for the next run, from the source's runs (newest first)."""
    finished = [run for run in runs if run.get("status") == RunStatus.SUCCEEDED]
    if share <= 0 or not finished:
        return RenderPlan(False)
    streak = 0
    for run in finished:
        if not run.get("browser_first"):
            break
        streak += 1
    if streak >= reprobe_after:
        return RenderPlan(False, f"trying plain HTTP first again after {streak} browser-first runs")
    if streak:
        return RenderPlan(True, f"browser-first, as in the last {streak} run(s)")
    last = finished[0]
    needed, articles = last.get("renders_needed") or 0, articles_seen(last)
    if needed >= minimum and articles and needed / articles >= share:
        return RenderPlan(
            True, f"browser-first: {needed} of {articles} articles needed the browser in run {last['id']}"
        )
    return RenderPlan(False)
