"""Browser pages for the requests that need one, and fresh browser contexts every so often.

Requests with ``meta["playwright"]`` go through scrapy-playwright (headless system Chromium,
images, fonts, media and style sheets aborted: crawler.browser.chromium); all others never touch the browser. This
downloader middleware gives each rendered request a browser context at download time, closes
its page as soon as the response is in, and closes a context once it has served
``RENDER_CONTEXT_PAGES`` pages and has no page left open, so memory stays flat over a long
crawl. Counts land in the crawl stats (``newsarchive/render/*``). Enabled only when the spider
turned rendering on (``NEWSARCHIVE_RENDER_ENABLED``, set when a browser was found).

After the load event a page is given until its text is there, not a fixed time: the wait ends
once its paragraphs hold ``EXTRACT_MIN_TEXT_CHARS`` characters and the document has not changed
for ``SETTLE_QUIET_MS`` (scripts that render from inline data are done by then; pages that fetch
their text from an API get it a moment later), and at the latest after ``RENDER_WAIT_MS``. The
time waited is summed in ``newsarchive/render/settle_ms``.

With ``render_js = "auto"``, a page request whose template turned out to serve JavaScript shells in
this run (the spider's ``TemplateLearning``, crawler.browser.learning) is sent to the browser here,
at download time, so that pages queued before the lesson benefit too. Settings: ``RENDER_CONTEXT_PAGES``,
``RENDER_WAIT_MS`` (0: no wait at all), ``EXTRACT_MIN_TEXT_CHARS``, ``NEWSARCHIVE_RENDER_ENABLED``.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response

from crawler.browser.render_settings import RenderSettings

logger = logging.getLogger(__name__)

SETTLE_QUIET_MS = 50  # the document unchanged this long, with its text there: rendering is done
# Resolves (never rejects) with the milliseconds waited: as soon as <p> elements hold minChars
# characters and no mutation happened for quietMs, or when capMs is up. A promise that always
# resolves keeps a slow page from failing its download: it is extracted as it is at the cap.
SETTLE_SCRIPT = """
({minChars, quietMs, capMs}) => new Promise((resolve) => {
  const started = performance.now();
  let changed = started;
  const observer = new MutationObserver(() => { changed = performance.now(); });
  observer.observe(document, {subtree: true, childList: true, characterData: true});
  const textChars = () => {
    let chars = 0;
    for (const p of document.querySelectorAll("p")) chars += p.textContent.trim().length;
    return chars;
  };
  const check = () => {
    const now = performance.now();
    if (now - started >= capMs || (now - changed >= quietMs && textChars() >= minChars)) {
      observer.disconnect();
      resolve(Math.round(now - started));
    } else {
      setTimeout(check, 10);
    }
  };
  check();
})
"""


class ContextRotation:
    """Which context the next page goes to, and when an old context may be closed (plain logic)."""

    def __init__(self, pages_per_context: int) -> None:
        self.pages_per_context = max(1, pages_per_context)
        self.assigned = 0
        self.open_pages: Counter[str] = Counter()

    def current(self) -> str:
        return f"render-{self.assigned // self.pages_per_context}"

    def assign(self) -> str:
        name = self.current()
        self.assigned += 1
        self.open_pages[name] += 1
        return name

    def release(self, name: str) -> bool:
        """A page of ``name`` is done; True when that context is finished with and may be closed."""
        self.open_pages[name] -= 1
        finished = self.open_pages[name] <= 0 and name != self.current()
        if finished:
            del self.open_pages[name]
        return finished


def settle_ms(page_methods: Any) -> int | None:
    """The milliseconds SETTLE_SCRIPT waited on a page (None when it did not run)."""
    for method in page_methods or ():
        if getattr(method, "args", ())[:1] == (SETTLE_SCRIPT,) and isinstance(
            getattr(method, "result", None), int | float
        ):
            return int(method.result)
    return None


BROWSER_ERROR_PAGE = "chrome-error:"


class BrowserLoadFailed(IgnoreRequest):
    """The browser could not load the page: it ended on Chromium's error page (chrome-error://chromewebdata/)."""

    def __init__(self, url: str) -> None:
        super().__init__(
            f"the browser could not load {url} (it showed its own error page: the connection failed or was refused)"
        )


class RenderingOff(NotConfigured):
    """The crawl renders nothing. Its reason is kept out of ``args``: Scrapy logs "Disabled <component>:
    <args[0]>" at WARNING level, and a crawl without a browser is normal, not a warning (the reason is
    logged at DEBUG instead). ``str()`` still gives it, for whoever catches the exception."""

    REASON = "no source of this crawl renders pages in a browser"

    def __str__(self) -> str:
        return self.REASON


class RenderPagesMiddleware:
    def __init__(self, crawler: Crawler, pages_per_context: int, wait_ms: int, min_text_chars: int = 200) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.rotation = ContextRotation(pages_per_context)
        self.wait_ms = wait_ms
        self.min_text_chars = min_text_chars

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RenderPagesMiddleware:
        if not crawler.settings.getbool("NEWSARCHIVE_RENDER_ENABLED"):
            logger.debug("RenderPagesMiddleware off: %s", RenderingOff.REASON)
            raise RenderingOff
        render = RenderSettings.from_settings(crawler.settings)  # validated once, as the spider had them
        return cls(
            crawler,
            render.pages_per_context,
            render.wait_after_load_ms,
            crawler.settings.getint("EXTRACT_MIN_TEXT_CHARS"),
        )

    def process_request(self, request: Request) -> None:
        if (
            not request.meta.get("playwright")
            and request.meta.get("kind") == "page"
            and self._template_needs_browser(request)
        ):
            request.meta["playwright"] = True  # its template's pages were shells: no plain fetch first
            self.stats.inc_value("newsarchive/render/template_browser_first")
        if not request.meta.get("playwright") or "playwright_context" in request.meta:
            return
        request.meta["playwright_context"] = self.rotation.assign()
        request.meta["playwright_include_page"] = True  # so the page is closed here, the moment it is done
        if self.wait_ms > 0:
            from scrapy_playwright.page import PageMethod

            # Scripts that render after "load" (fetch, timers) get until the text is there.
            settle = {"minChars": self.min_text_chars, "quietMs": SETTLE_QUIET_MS, "capMs": self.wait_ms}
            request.meta.setdefault("playwright_page_methods", [PageMethod("evaluate", SETTLE_SCRIPT, settle)])
        self.stats.inc_value("newsarchive/render/requests")

    def _template_needs_browser(self, request: Request) -> bool:
        spider = self.crawler.spider
        return spider is not None and spider.learns_templates() and spider.templates.browser_first(request.url)

    async def process_response(self, request: Request, response: Response) -> Response:
        page = response.meta.pop("playwright_page", None) if request.meta.get("playwright") else None
        if page is not None:
            await self._release(page, request.meta.get("playwright_context"))
            self.stats.inc_value("newsarchive/render/pages")
            waited = settle_ms(request.meta.get("playwright_page_methods"))
            if waited is not None:
                self.stats.inc_value("newsarchive/render/settle_ms", waited)
        if response.url.startswith(BROWSER_ERROR_PAGE):
            # The navigation failed and Chromium shows its own error page, "with status 200".
            self.stats.inc_value("newsarchive/render/errors")
            raise BrowserLoadFailed(request.url)
        return response

    async def process_exception(self, request: Request, exception: Exception) -> None:
        if not request.meta.get("playwright"):
            return
        page = request.meta.pop("playwright_page", None)
        if page is not None:
            await self._release(page, request.meta.get("playwright_context"))
        elif request.meta.get("playwright_context"):
            self.rotation.release(request.meta["playwright_context"])
        self.stats.inc_value("newsarchive/render/errors")

    async def _release(self, page: Any, context_name: str | None) -> None:
        context = page.context
        if not page.is_closed():
            await page.close()
        if context_name and self.rotation.release(context_name):
            await context.close()
            self.stats.inc_value("newsarchive/render/contexts_recycled")
