"""``render_js = "auto"`` remembers: a source whose pages mostly needed the browser goes browser-first.

Plain HTTP first costs a source whose pages are JavaScript shells two fetches per article. So
after a run where at least ``RENDER_LEARN_SHARE`` of the articles needed the browser (and at
least ``RENDER_LEARN_MIN`` pages), the next runs fetch its pages through the browser at once;
every ``RENDER_REPROBE_RUNS`` browser-first runs, one run tries plain HTTP first again, in case
the site changed. Plain functions over the source's ``crawl_runs`` rows; the parent process
(CLI or scheduler) decides before it starts a crawl, and records it in ``crawl_runs.browser_first``.

Within a run, :class:`TemplateLearning` does the same per page template (:func:`page_template`: a
site's JavaScript section, ``/video/{n}/``, while its other pages are plain HTML): once
``RENDER_LEARN_MIN`` pages of a template were shells and at least ``RENDER_TEMPLATE_SHARE`` of its
plain fetches were, its later pages go to the browser at once (crawler.middlewares.render_pages).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

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


def page_template(url: str) -> str:
    """Which template a page likely shares with others: its host, its first path segment (unless that
    is a number, as in ``/2025/03/...``) and its number of path segments.

    ``/json/12/`` and ``/json/13/`` share one, and ``/2025/03/24/a/`` and ``/2024/11/02/b/`` another.
    """
    parts = urlsplit(url)
    segments = [segment for segment in parts.path.split("/") if segment]
    first = segments[0] if segments and not segments[0].isdigit() else "{n}"
    return f"{parts.netloc.lower()}/{first}/{len(segments)}"


@dataclass
class TemplateLearning:
    """Counts, per page template, the plain fetches that were JavaScript shells and those that were not."""

    min_shells: int = 5
    share: float = 0.9
    shells: Counter[str] = field(default_factory=Counter)
    plain: Counter[str] = field(default_factory=Counter)

    def note(self, url: str, shell: bool) -> None:
        """A page of ``url`` came over plain HTTP: a shell that needs the browser or not."""
        (self.shells if shell else self.plain)[page_template(url)] += 1

    def browser_first(self, url: str) -> bool:
        """Whether a page of ``url``'s template should go to the browser without a plain fetch first."""
        if self.share <= 0:
            return False
        template = page_template(url)
        shells = self.shells[template]
        return shells >= self.min_shells and shells >= self.share * (shells + self.plain[template])
