"""The headless browser for pages that need JavaScript: finding it, its settings, checking it works.

Rendering goes through scrapy-playwright, with the *system* Chromium (or Chrome) launched via
``executable_path``: ``playwright install`` downloads a browser build of its own, which an offline
or locked-down machine cannot do, so newsarchive never relies on it.

Settings (read once by :meth:`RenderSettings.from_settings`, each validated, defaults below):

- ``NEWSARCHIVE_BROWSER`` (None): the browser executable; else ``PLAYWRIGHT_LAUNCH_OPTIONS
  ["executable_path"]``, the environment variable ``NEWSARCHIVE_BROWSER``, then the first of
  :data:`BROWSER_CANDIDATES` on ``PATH``.
- ``RENDER_PAGE_TIMEOUT`` (30): seconds a page gets to load.
- ``RENDER_MAX_PAGES`` (4): browser pages open at once, across contexts.
- ``RENDER_CONTEXT_PAGES`` (100): a browser context (cookies, cache, memory) is replaced by a fresh
  one after this many pages, so a long crawl's memory stays flat.
- ``RENDER_WAIT_MS`` (500): settle time after the load event, for scripts that fill the page late.
- ``PLAYWRIGHT_LAUNCH_OPTIONS["headless"]`` (True).

:meth:`RenderSettings.scrapy_settings` turns them into scrapy-playwright's own settings. Only
requests with ``meta["playwright"] = True`` use the browser; every other request stays plain HTTP.
``python -m crawler.browser [PATH]`` launches the browser once and says whether it works.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BROWSER_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
BROWSER_ENV = "NEWSARCHIVE_BROWSER"
INSTALL_HINT = (
    "install Chromium (Debian/Ubuntu: `apt-get install chromium`; Fedora: `dnf install chromium`), "
    f"or point newsarchive at an installed Chrome or Chromium with {BROWSER_ENV}=/path/to/chrome "
    f"(environment) or -s {BROWSER_ENV}=/path/to/chrome"
)
BLOCKED_RESOURCE_TYPES: tuple[str, ...] = ("image", "font", "media")

DEFAULT_PAGE_TIMEOUT_S = 30
DEFAULT_MAX_PAGES = 4
DEFAULT_CONTEXT_PAGES = 100
DEFAULT_WAIT_MS = 500
MAX_WAIT_MS = 60_000
# One context in use, one being recycled: the old context finishes its open pages while the new
# one already takes new ones.
RENDER_CONTEXTS = 2
PLAYWRIGHT_HANDLER = "crawler.playwright_handler.LazyPlaywrightDownloadHandler"  # starts the driver on first use
THIS_MODULE = "crawler.browser"  # not __name__, which is "__main__" under `python -m`
ASYNCIO_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
# Chromium phones home (component updates, sync, QUIC probes) unless told not to; on a machine
# without internet that means hangs and error logs. Shared memory in containers is often tiny.
CHROMIUM_ARGS: tuple[str, ...] = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-gpu",
    "--disable-dev-shm-usage",
)


def chromium_args() -> list[str]:
    """Command-line flags for Chromium here; ``--no-sandbox`` only as root, where its sandbox refuses to start."""
    return ["--no-sandbox", *CHROMIUM_ARGS] if os.geteuid() == 0 else list(CHROMIUM_ARGS)


def _resolve_executable(candidate: str, search_path: str | None = None) -> str | None:
    """A path (with a "/" or "~") as an absolute executable path; a bare name looked up on ``search_path``.

    ``search_path`` None means this process's PATH. None when it is not an executable file.
    """
    if os.sep in candidate or candidate.startswith("~"):
        path = Path(candidate).expanduser()
        return str(path.absolute()) if path.is_file() and os.access(path, os.X_OK) else None
    found = shutil.which(candidate, path=search_path)
    return str(Path(found).absolute()) if found else None


def find_browser(configured: str | None = None, environ: Mapping[str, str] = os.environ) -> str | None:
    """The browser executable to use, or None when there is none.

    Looks at ``configured`` (the NEWSARCHIVE_BROWSER setting or PLAYWRIGHT_LAUNCH_OPTIONS'
    executable_path), then the NEWSARCHIVE_BROWSER environment variable, then
    :data:`BROWSER_CANDIDATES` on ``environ``'s PATH. A name that is not an executable is passed
    over (:meth:`RenderSettings.from_settings` reports a configured one that is wrong).
    """
    for candidate in (configured, environ.get(BROWSER_ENV)):
        if candidate:
            found = _resolve_executable(candidate, environ.get("PATH", ""))
            if found:
                return found
    for name in BROWSER_CANDIDATES:
        found = _resolve_executable(name, environ.get("PATH", ""))
        if found:
            return found
    return None


# --- settings -------------------------------------------------------------------------------------


def _number(settings: Any, name: str, default: float, minimum: float, maximum: float | None,
            integer: bool, unit: str) -> float:
    raw = settings.get(name, default)
    if raw is None or raw == "":
        raw = default
    kind = "a whole number" if integer else "a number"
    bounds = f">= {minimum:g}" + (f" and <= {maximum:g}" if maximum is not None else "")
    fix = f"Fix: set it to {kind} {bounds}, e.g. -s {name}={default} (the default)."
    try:
        if isinstance(raw, bool):
            raise ValueError
        value = float(raw)
        if integer and value != int(value):
            raise ValueError
    except (TypeError, ValueError):
        raise ValueError(f"Setting {name} must be {kind} of {unit}, got {raw!r}. {fix}") from None
    if not math.isfinite(value) or value < minimum or (maximum is not None and value > maximum):
        raise ValueError(f"Setting {name} must be {bounds} ({unit}), got {raw!r}. {fix}")
    return int(value) if integer else value


def _headless(launch_options: Mapping[str, Any]) -> bool:
    raw = launch_options.get("headless", True)
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(
        f"Setting PLAYWRIGHT_LAUNCH_OPTIONS['headless'] must be true or false, got {raw!r}. "
        "Fix: leave it out (headless is the default) or set it to true or false."
    )


def _configured_browser(settings: Any, environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The explicitly configured browser and where it was configured, first one wins."""
    launch_options = settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS") or {}
    for where, value in (
        (f"Setting {BROWSER_ENV}", settings.get(BROWSER_ENV)),
        ("Setting PLAYWRIGHT_LAUNCH_OPTIONS['executable_path']", launch_options.get("executable_path")),
        (f"Environment variable {BROWSER_ENV}", environ.get(BROWSER_ENV)),
    ):
        if value:
            return str(value), where
    return None, None


@dataclass(frozen=True)
class RenderSettings:
    """How pages are rendered in the browser, validated; built by :meth:`from_settings`."""

    executable_path: str | None  # None: no browser found
    headless: bool
    navigation_timeout_ms: int
    max_open_pages: int
    pages_per_context: int
    blocked_resource_types: tuple[str, ...]
    wait_after_load_ms: int

    @classmethod
    def from_settings(cls, settings: Any, environ: Mapping[str, str] = os.environ) -> RenderSettings:
        """Read and check the render settings from Scrapy ``settings``; ValueError names the bad one and the fix.

        A browser that was configured explicitly but is not an executable is an error (a typo
        must not silently fall back to another browser or to none); a browser that is simply not
        installed gives ``executable_path=None``.
        """
        configured, where = _configured_browser(settings, environ)
        if configured and _resolve_executable(configured, environ.get("PATH", "")) is None:
            raise ValueError(
                f"{where} names {configured!r}, which is not an executable file. "
                f"Fix: give the full path of a Chrome or Chromium executable (e.g. /usr/bin/chromium), or {INSTALL_HINT}."
            )
        timeout_s = _number(settings, "RENDER_PAGE_TIMEOUT", DEFAULT_PAGE_TIMEOUT_S, 1, 600, False, "seconds")
        return cls(
            executable_path=find_browser(configured, environ),
            headless=_headless(settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS") or {}),
            navigation_timeout_ms=int(timeout_s * 1000),
            max_open_pages=int(_number(settings, "RENDER_MAX_PAGES", DEFAULT_MAX_PAGES, 1, 64, True, "pages")),
            pages_per_context=int(_number(settings, "RENDER_CONTEXT_PAGES", DEFAULT_CONTEXT_PAGES, 1, None, True,
                                          "pages")),
            blocked_resource_types=BLOCKED_RESOURCE_TYPES,
            wait_after_load_ms=int(_number(settings, "RENDER_WAIT_MS", DEFAULT_WAIT_MS, 0, MAX_WAIT_MS, True,
                                           "milliseconds")),
        )

    def available(self) -> bool:
        """Whether a browser was found (not whether it starts: :func:`check_browser` tells that)."""
        return self.executable_path is not None

    @property
    def max_contexts(self) -> int:
        return RENDER_CONTEXTS if self.max_open_pages >= RENDER_CONTEXTS else 1

    @property
    def pages_open_per_context(self) -> int:
        # Both contexts may hold pages during a recycle; together they stay within max_open_pages.
        return max(1, self.max_open_pages // self.max_contexts)

    def scrapy_settings(self) -> dict[str, Any]:
        """scrapy-playwright's settings for these render settings; RuntimeError when no browser was found."""
        if self.executable_path is None:
            raise RuntimeError(f"No Chrome or Chromium browser found to render JavaScript pages. Fix: {INSTALL_HINT}.")
        return {
            "DOWNLOAD_HANDLERS": {"http": PLAYWRIGHT_HANDLER, "https": PLAYWRIGHT_HANDLER},
            "TWISTED_REACTOR": ASYNCIO_REACTOR,
            "PLAYWRIGHT_BROWSER_TYPE": "chromium",
            "PLAYWRIGHT_LAUNCH_OPTIONS": {
                "executable_path": self.executable_path,
                "headless": self.headless,
                "args": chromium_args(),
            },
            "PLAYWRIGHT_ABORT_REQUEST": f"{THIS_MODULE}.should_abort_request",
            "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": self.navigation_timeout_ms,
            "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": self.pages_open_per_context,
            "PLAYWRIGHT_MAX_CONTEXTS": self.max_contexts,
        }


def should_abort_request(request: Any) -> bool:
    """PLAYWRIGHT_ABORT_REQUEST: skip images, fonts and media, which text extraction never needs."""
    return request.resource_type in BLOCKED_RESOURCE_TYPES


# --- checking that the browser really starts ------------------------------------------------------

# A page whose text exists only once its script ran: a browser that loads it but runs no
# JavaScript fails the check too.
CHECK_PAGE = (
    "data:text/html,<title>newsarchive check</title><p id=out>no JavaScript</p>"
    "<script>document.getElementById('out').textContent='JavaScript works'</script>"
)
CHECK_TEXT = "JavaScript works"


def _launch_and_probe(executable_path: str, timeout_ms: int) -> dict[str, Any]:
    """Launch the browser with Playwright's sync API, render :data:`CHECK_PAGE`; runs in the check's child process."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=executable_path, headless=True, args=chromium_args(), timeout=timeout_ms
            )
            try:
                page = browser.new_page()
                page.goto(CHECK_PAGE, timeout=timeout_ms)
                text = page.text_content("#out", timeout=timeout_ms)
                return {"ok": text == CHECK_TEXT, "version": browser.version, "text": text}
            finally:
                browser.close()
    except PlaywrightError as error:
        return {"ok": False, "error": str(error)}


def _explain_launch_error(executable_path: str, error: str) -> str:
    first_line = error.strip().splitlines()[0] if error.strip() else "no error message"
    exited = re.search(r"process did exit: exitCode=(\w+), signal=(\w+)", error)
    how = ""
    if exited:
        code, sig = exited.groups()
        how = f"it exited at once ({'signal ' + sig if sig != 'null' else 'exit code ' + code}) instead of starting; "
    if "Timeout" in first_line:
        how = "it did not answer in time; "
    return (
        f"{executable_path} is not a working headless Chrome/Chromium: {how}{first_line.rstrip('.')}. "
        f"Fix: {INSTALL_HINT}."
    )


def check_browser(executable_path: str, timeout: float = 30) -> tuple[bool, str]:
    """Really launch the browser headless and render a page with JavaScript.

    Returns ``(True, "Chromium 156.0… at /usr/bin/chromium")`` or ``(False, what failed and the
    fix)``. The launch happens in a child process of its own (``python -m crawler.browser``):
    Playwright's sync API refuses to run inside an event loop (Scrapy's reactor, say), and a
    hung browser is killed with its whole process group after ``timeout`` seconds.
    """
    path = _resolve_executable(executable_path)
    if path is None:
        return False, f"{executable_path} is not an executable file. Fix: {INSTALL_HINT}."
    project_root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (project_root, env.get("PYTHONPATH"))))
    command = [sys.executable, "-m", THIS_MODULE, "--json", "--timeout", str(timeout), path]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                             start_new_session=True)
    try:
        out, err = child.communicate(timeout=timeout + 10)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        return False, (f"{path} did not start within {timeout:g} s (killed). "
                       f"Fix: check it runs headless by hand (`{path} --headless --dump-dom about:blank`), or {INSTALL_HINT}.")
    try:
        result = json.loads(out.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        tail = (err.strip().splitlines() or ["no output"])[-1]
        return False, (f"The browser check for {path} failed before launching ({tail}). "
                       "Fix: make sure the `playwright` package is installed (pip install scrapy-playwright).")
    if result.get("ok"):
        return True, f"Chromium {result['version']} at {path}"
    if "error" in result:
        return False, _explain_launch_error(path, result["error"])
    return False, (f"{path} started (version {result.get('version')}) but did not run JavaScript: the test page "
                   f"showed {result.get('text')!r}. Fix: use a full Chrome or Chromium build, or {INSTALL_HINT}.")


def main(argv: list[str] | None = None) -> int:
    """``python -m crawler.browser [--json] [--timeout S] [PATH]``: does the browser work? Exit 0 if so."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m crawler.browser", description=main.__doc__)
    parser.add_argument("path", nargs="?", help="browser executable (default: the one newsarchive would find)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds for the launch and the test page")
    parser.add_argument("--json", action="store_true", help="launch in this process and print one JSON line")
    args = parser.parse_args(argv)
    if args.json:
        result = _launch_and_probe(args.path, int(args.timeout * 1000))
        print(json.dumps(result))
        return 0 if result.get("ok") else 1
    path = args.path or find_browser()
    if path is None:
        print(f"No Chrome or Chromium browser found. Fix: {INSTALL_HINT}.")
        return 1
    ok, detail = check_browser(path, args.timeout)
    print(detail)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
