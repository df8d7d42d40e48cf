"""Browser rendering settings, read once from Scrapy's settings into a validated dataclass.

Settings (declared, with their defaults, only in crawler/settings.py; this module checks them
and keeps no copy of a default): ``NEWSARCHIVE_BROWSER`` (else ``PLAYWRIGHT_LAUNCH_OPTIONS
["executable_path"]``, the environment variable ``NEWSARCHIVE_BROWSER``, then Chromium on ``PATH``:
crawler.browser.chromium), ``RENDER_PAGE_TIMEOUT``, ``RENDER_MAX_PAGES``, ``RENDER_CONTEXT_PAGES``,
``RENDER_WAIT_MS``, ``PLAYWRIGHT_LAUNCH_OPTIONS["headless"]``.

:meth:`RenderSettings.scrapy_settings` turns them into scrapy-playwright's own settings;
:func:`apply_render_settings` switches rendering on for a crawl whose source may need it. Only
requests with ``meta["playwright"] = True`` use the browser; every other request stays plain HTTP.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crawler.browser.chromium import BROWSER_ENV, INSTALL_HINT, _resolve_executable, chromium_args, find_browser
from crawler.network.boundary import hosts_table
from crawler.sources.ops_tables import RenderMode

if TYPE_CHECKING:
    from crawler.sources.config import SourceConfig

BLOCKED_RESOURCE_TYPES: tuple[str, ...] = ("image", "font", "media", "stylesheet", "texttrack", "manifest")
MAX_WAIT_MS = 60_000
# One context in use, one being recycled: the old context finishes its open pages while the new
# one already takes new ones.
RENDER_CONTEXTS = 2
PLAYWRIGHT_HANDLER = "crawler.browser.download_handler.LazyPlaywrightDownloadHandler"  # starts the driver on first use
ASYNCIO_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

# --- settings -------------------------------------------------------------------------------------


class SettingError(ValueError):
    """A browser setting (or the environment variable standing for one) has a value that cannot work.

    ``setting`` names it, ``problem`` says what is wrong with the value, ``fix`` what to do; ``str()``
    joins them ("… Fix: …") for a log line or the command line, where they are shown.
    """

    def __init__(self, setting: str, problem: str, fix: str) -> None:
        self.setting = setting
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem} Fix: {fix}")


def _number(settings: Any, name: str, minimum: float, maximum: float | None, integer: bool, unit: str) -> float:
    raw = settings.get(name)
    kind = "a whole number" if integer else "a number"
    bounds = f">= {minimum:g}" + (f" and <= {maximum:g}" if maximum is not None else "")
    if raw is None:  # settings not built from crawler/settings.py, which gives every one a default
        raise SettingError(
            name,
            f"Setting {name} is not set.",
            "build the settings with crawler.run.crawl_process.build_settings() (it has every default), "
            f"or set it to {kind} {bounds} ({unit}): -s {name}=VALUE.",
        )
    fix = f"set it to {kind} {bounds} with -s {name}=VALUE, or leave it out for its default (docs/settings.md)."
    try:
        if isinstance(raw, bool):
            raise ValueError
        value = float(raw)
        if integer and value != int(value):
            raise ValueError
    except (TypeError, ValueError):
        raise SettingError(name, f"Setting {name} must be {kind} of {unit}, got {raw!r}.", fix) from None
    if not math.isfinite(value) or value < minimum or (maximum is not None and value > maximum):
        raise SettingError(name, f"Setting {name} must be {bounds} ({unit}), got {raw!r}.", fix)
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
    raise SettingError(
        "PLAYWRIGHT_LAUNCH_OPTIONS",
        f"Setting PLAYWRIGHT_LAUNCH_OPTIONS['headless'] must be true or false, got {raw!r}.",
        "leave it out (headless is the default) or set it to true or false.",
    )


@dataclass(frozen=True)
class _ConfiguredBrowser:
    path: str
    setting: str  # the setting (or environment variable) that names it
    where: str  # the same, in words: "Setting NEWSARCHIVE_BROWSER", "Environment variable …"


def _host_map(settings: Any) -> dict[str, str]:
    try:
        return hosts_table(settings.getdict("NETWORK_HOSTS"))
    except ValueError as error:
        raise SettingError("NETWORK_HOSTS", str(error), "map each name to an IPv4 address") from None


def _configured_browser(settings: Any, environ: Mapping[str, str]) -> _ConfiguredBrowser | None:
    """The explicitly configured browser and where it was configured, first one wins."""
    launch_options = settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS") or {}
    for setting, where, value in (
        (BROWSER_ENV, f"Setting {BROWSER_ENV}", settings.get(BROWSER_ENV)),
        (
            "PLAYWRIGHT_LAUNCH_OPTIONS",
            "Setting PLAYWRIGHT_LAUNCH_OPTIONS['executable_path']",
            launch_options.get("executable_path"),
        ),
        (BROWSER_ENV, f"Environment variable {BROWSER_ENV}", environ.get(BROWSER_ENV)),
    ):
        if value:
            return _ConfiguredBrowser(str(value), setting, where)
    return None


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
    host_map: tuple[tuple[str, str], ...] = ()  # NETWORK_HOSTS, for the browser's own name resolution

    @classmethod
    def from_settings(cls, settings: Any, environ: Mapping[str, str] = os.environ) -> RenderSettings:
        """Read and check the render settings from Scrapy ``settings``; SettingError names the bad one and the fix.

        ``settings`` come from crawler.run.crawl_process.build_settings (or a crawler's), so every
        render setting has a value; one that is missing is an error, not a silent fallback.

        A browser that was configured explicitly but is not an executable is an error (a typo
        must not silently fall back to another browser or to none); a browser that is simply not
        installed gives ``executable_path=None``.
        """
        configured = _configured_browser(settings, environ)
        if configured and _resolve_executable(configured.path, environ.get("PATH", "")) is None:
            raise SettingError(
                configured.setting,
                f"{configured.where} names {configured.path!r}, which is not an executable file.",
                f"give the full path of a Chrome or Chromium executable (e.g. /usr/bin/chromium), or {INSTALL_HINT}.",
            )
        timeout_s = _number(settings, "RENDER_PAGE_TIMEOUT", 1, 600, False, "seconds")
        headless = _headless(settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS") or {})
        return cls(
            executable_path=find_browser(configured.path if configured else None, environ, headless),
            headless=headless,
            navigation_timeout_ms=int(timeout_s * 1000),
            max_open_pages=int(_number(settings, "RENDER_MAX_PAGES", 1, 64, True, "pages")),
            pages_per_context=int(_number(settings, "RENDER_CONTEXT_PAGES", 1, None, True, "pages")),
            blocked_resource_types=BLOCKED_RESOURCE_TYPES,
            wait_after_load_ms=int(_number(settings, "RENDER_WAIT_MS", 0, MAX_WAIT_MS, True, "milliseconds")),
            host_map=tuple(sorted(_host_map(settings).items())),
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
        """scrapy-playwright's settings for these render settings; BrowserMissing when no browser was found."""
        if self.executable_path is None:
            raise BrowserMissing("No Chrome or Chromium browser found to render JavaScript pages.", f"{INSTALL_HINT}.")
        return {
            "DOWNLOAD_HANDLERS": {"http": PLAYWRIGHT_HANDLER, "https": PLAYWRIGHT_HANDLER},
            "TWISTED_REACTOR": ASYNCIO_REACTOR,
            "PLAYWRIGHT_BROWSER_TYPE": "chromium",
            "PLAYWRIGHT_LAUNCH_OPTIONS": {
                "executable_path": self.executable_path,
                "headless": self.headless,
                "args": chromium_args(dict(self.host_map)),
            },
            "PLAYWRIGHT_ABORT_REQUEST": f"{__name__}.should_abort_request",
            "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": self.navigation_timeout_ms,
            "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": self.pages_open_per_context,
            "PLAYWRIGHT_MAX_CONTEXTS": self.max_contexts,
        }


def should_abort_request(request: Any) -> bool:
    """PLAYWRIGHT_ABORT_REQUEST: skip images, fonts, media, style sheets, subtitles and manifests: text extraction needs none."""
    return request.resource_type in BLOCKED_RESOURCE_TYPES


class BrowserMissing(RuntimeError):
    """Pages must be rendered in a browser and no usable one was found.

    ``source`` names the source that needs it (None: no particular one), ``problem`` says what is
    missing, ``fix`` what to do; ``str()`` joins them for the log line and the run's reason, where
    they are shown.
    """

    def __init__(self, problem: str, fix: str, source: str | None = None) -> None:
        self.source = source
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem} Fix: {fix}")


def apply_render_settings(settings: Any, source: SourceConfig) -> tuple[bool, str | None]:
    """Turn browser rendering on for this crawl when the source may need it and a browser exists.

    Returns (rendering enabled, a warning for the run log). ``always`` without a browser raises
    BrowserMissing: such a source cannot be archived by plain HTTP.
    """
    if source.render_js == RenderMode.NEVER:
        return False, None
    try:
        render = RenderSettings.from_settings(settings)
    except SettingError as error:  # a browser setting that is wrong, not merely absent
        if source.render_js == RenderMode.ALWAYS:
            raise BrowserMissing(
                f'source {source.name!r} has render_js = "always" but {error.problem}', error.fix, source.name
            ) from None
        return False, f"browser rendering is off for source {source.name!r}: {error}"
    if not render.available():
        if source.render_js == RenderMode.ALWAYS:
            raise BrowserMissing(
                f'source {source.name!r} has render_js = "always" but no Chromium/Chrome was found.',
                f"{INSTALL_HINT}.",
                source.name,
            )
        return False, (
            f'no Chromium/Chrome found: render_js = "auto" falls back to plain HTTP for source '
            f"{source.name!r}; pages that need JavaScript will be missed; to render them, {INSTALL_HINT}"
        )
    for name, value in render.scrapy_settings().items():
        settings.set(name, value, priority="spider")
    settings.set("NEWSARCHIVE_RENDER_ENABLED", True, priority="spider")
    return True, None
