"""The headless browser for pages that need JavaScript: finding it, its settings, checking it works.

Rendering goes through scrapy-playwright, with the *system* Chromium (or Chrome) launched via
``executable_path``: ``playwright install`` downloads a browser build of its own, which an offline
or locked-down machine cannot do, so newsarchive never relies on it.

The render settings that use it are read and checked in crawler.browser.render_settings.
``python -m crawler.browser.chromium [PATH]`` launches the browser once and says whether it works.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BROWSER_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
# Chromium's headless shell ("old headless": no browser UI layer, no GPU process) costs ~2.5 times
# less CPU per page than the full browser in headless mode (measured on this project's fixture
# pages with Debian's 150 builds: ~90 vs ~230 ms per rendered page), so it comes first where it is
# installed, for headless rendering only (it cannot show a window).
HEADLESS_SHELL_CANDIDATES = ("chromium-headless-shell", "chrome-headless-shell")
BROWSER_ENV = "NEWSARCHIVE_BROWSER"
INSTALL_HINT = (
    "install Chromium's headless shell or Chromium (Debian/Ubuntu: `apt-get install chromium-headless-shell` "
    "or `apt-get install chromium`; Fedora: `dnf install chromium-headless`), "
    f"or point newsarchive at an installed Chrome or Chromium with {BROWSER_ENV}=/path/to/chrome "
    f"(environment) or -s {BROWSER_ENV}=/path/to/chrome"
)

# Chromium phones home (component updates, sync, QUIC probes) unless told not to; on a machine
# without internet that means hangs and error logs. Shared memory in containers is often tiny.
CHECK_MODULE = "crawler.browser.chromium"  # not __name__, which is "__main__" under `python -m`
CHROMIUM_ARGS: tuple[str, ...] = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-gpu",
    "--disable-dev-shm-usage",
)


# Google services Chromium contacts on its own (component and variations updates, safe browsing,
# optimisation hints, sign-in), flags or not: their names resolve to nothing in the crawl's browser,
# so a crawl never talks to anyone but the sites it renders. Behind the crawl's checking proxy
# (crawler.browser.proxy) Chromium resolves no name of a proxied request itself, so the proxy
# refuses these names (google_service_host); the resolver rules still hold for the browser check,
# which runs without the proxy.
GOOGLE_SERVICE_HOSTS: tuple[str, ...] = (
    "*.googleapis.com",
    "*.gvt1.com",
    "*.gvt2.com",
    "clients*.google.com",
    "accounts.google.com",
    "update.googleapis.com",
    "edgedl.me.gvt1.com",
    "dl.google.com",
)


def host_resolver_rules(hosts: Mapping[str, str] | None = None) -> str:
    """Chromium's ``--host-resolver-rules``: ``hosts`` (NETWORK_HOSTS: name -> address) mapped, Google's services refused."""
    rules = [f"MAP {name} {address}" for name, address in sorted((hosts or {}).items())]
    rules += [f"MAP {pattern} ~NOTFOUND" for pattern in GOOGLE_SERVICE_HOSTS]
    return ", ".join(rules)


def google_service_host(host: str) -> bool:
    """Whether ``host`` is one of :data:`GOOGLE_SERVICE_HOSTS` (the patterns as Chromium's rules read them)."""
    name = host.rstrip(".").lower()
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in GOOGLE_SERVICE_HOSTS)


def proxy_args(port: int) -> list[str]:
    """Flags sending all of Chromium's traffic through the crawl's checking proxy on 127.0.0.1:``port``.

    ``<-loopback>`` takes back Chromium's implicit bypass of localhost, 127.0.0.0/8 and [::1]: without
    it a page's request to http://127.0.0.2:PORT/ goes straight to that address, past the proxy.
    WebRTC sends UDP (STUN, media) past any HTTP proxy: ``disable_non_proxied_udp`` leaves it only
    what goes through the proxy. (Both checked with this project's Chromium: without the flags, the
    request and a page's STUN packet reached 127.0.0.2.)
    """
    return [
        f"--proxy-server=http://127.0.0.1:{port}",
        "--proxy-bypass-list=<-loopback>",
        "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    ]


def chromium_args(hosts: Mapping[str, str] | None = None) -> list[str]:
    """Command-line flags for Chromium here; ``--no-sandbox`` only as root, where its sandbox refuses to start.

    ``hosts``: NETWORK_HOSTS, so that the browser resolves those names as the crawl's resolver does.
    """
    args = [*CHROMIUM_ARGS, f"--host-resolver-rules={host_resolver_rules(hosts)}"]
    return ["--no-sandbox", *args] if os.geteuid() == 0 else args


def _resolve_executable(candidate: str, search_path: str | None = None) -> str | None:
    """A path (with a "/" or "~") as an absolute executable path; a bare name looked up on ``search_path``.

    ``search_path`` None means this process's PATH. None when it is not an executable file.
    """
    if os.sep in candidate or candidate.startswith("~"):
        path = Path(candidate).expanduser()
        return str(path.absolute()) if path.is_file() and os.access(path, os.X_OK) else None
    found = shutil.which(candidate, path=search_path)
    return str(Path(found).absolute()) if found else None


def find_browser(
    configured: str | None = None, environ: Mapping[str, str] = os.environ, headless: bool = True
) -> str | None:
    """The browser executable to use, or None when there is none.

    Looks at ``configured`` (the NEWSARCHIVE_BROWSER setting or PLAYWRIGHT_LAUNCH_OPTIONS'
    executable_path), then the NEWSARCHIVE_BROWSER environment variable, then on ``environ``'s
    PATH :data:`HEADLESS_SHELL_CANDIDATES` (when ``headless``) and :data:`BROWSER_CANDIDATES`. A
    name that is not an executable is passed over (:meth:`RenderSettings.from_settings` reports a
    configured one that is wrong).
    """
    for candidate in (configured, environ.get(BROWSER_ENV)):
        if candidate:
            found = _resolve_executable(candidate, environ.get("PATH", ""))
            if found:
                return found
    for name in (*(HEADLESS_SHELL_CANDIDATES if headless else ()), *BROWSER_CANDIDATES):
        found = _resolve_executable(name, environ.get("PATH", ""))
        if found:
            return found
    return None


# --- checking that the browser really starts ------------------------------------------------------

# A page whose text exists only once its script ran: a browser that loads it but runs no
# JavaScript fails the check too.
CHECK_PAGE = (
    "data:text/html,<title>newsarchive check</title><p id=out>no JavaScript</p>"
    "<script>document.getElementById('out').textContent='JavaScript works'</script>"
)
CHECK_TEXT = "JavaScript works"


@dataclass(frozen=True)
class BrowserCheck:
    """Whether the browser really starts: ``detail`` says what was found or what failed, ``fix``
    (when it failed) what to do. ``str()`` joins them ("… Fix: ….") for the command line."""

    ok: bool
    detail: str
    fix: str | None = None

    def __str__(self) -> str:
        return self.detail if self.fix is None else f"{self.detail}. Fix: {self.fix}."


def _launch_and_probe(executable_path: str, timeout_ms: int) -> dict[str, Any]:
    """Launch the browser with Playwright's sync API, render :data:`CHECK_PAGE`; runs in the check's child process.

    A failed launch is told apart by Playwright's exception type (its TimeoutError, or any other
    Error); for the latter the executable is then run once on its own, so that how it ended (exit
    code or signal) comes from the process itself rather than from the wording of the error.
    """
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
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
    except PlaywrightTimeoutError as error:
        return {"ok": False, "error": _first_line(str(error)), "timed_out": True}
    except PlaywrightError as error:
        return {"ok": False, "error": _first_line(str(error)), **_run_alone(executable_path, timeout_ms / 1000)}


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else "no error message"


def _run_alone(executable_path: str, timeout: float) -> dict[str, Any]:
    """Run the executable headless on its own (dump an empty page's DOM) and report how it ended.

    ``exited_early``: it ended without producing the page (a browser prints the DOM), with its
    ``exit_code`` (negative: killed by that signal); otherwise it ran, and Playwright's error alone
    tells what went wrong.
    """
    command = [executable_path, "--headless", *chromium_args(), "--dump-dom", "about:blank"]
    try:
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError as error:
        return {"exited_early": True, "start_error": error.strerror or type(error).__name__}
    try:
        out, _ = child.communicate(timeout=min(timeout, 10.0))
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        return {"exited_early": False}
    return {"exited_early": not out.strip(), "exit_code": child.returncode}


def _how_it_ended(exit_code: int) -> str:
    if exit_code < 0:
        return f"signal {signal.Signals(-exit_code).name}"
    return f"exit code {exit_code}"


def _explain_launch_failure(executable_path: str, result: dict[str, Any]) -> BrowserCheck:
    how = ""
    if result.get("timed_out"):
        how = "it did not answer in time; "
    elif result.get("start_error"):
        how = f"it cannot be run ({result['start_error']}); "
    elif result.get("exited_early"):
        how = f"it exited at once ({_how_it_ended(result['exit_code'])}) instead of starting; "
    return BrowserCheck(
        False,
        f"{executable_path} is not a working headless Chrome/Chromium: {how}{result['error'].rstrip('.')}",
        INSTALL_HINT,
    )


def check_browser(executable_path: str, timeout: float = 30) -> BrowserCheck:
    """Really launch the browser headless and render a page with JavaScript.

    Returns ``BrowserCheck(True, "Chromium 156.0… at /usr/bin/chromium")`` or ``BrowserCheck(False,
    what failed, the fix)``. The launch happens in a child process of its own (``python -m
    crawler.browser.chromium``): Playwright's sync API refuses to run inside an event loop (Scrapy's
    reactor, say), and a hung browser is killed with its whole process group after ``timeout`` seconds.
    """
    path = _resolve_executable(executable_path)
    if path is None:
        return BrowserCheck(False, f"{executable_path} is not an executable file", INSTALL_HINT)
    project_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (project_root, env.get("PYTHONPATH"))))
    command = [sys.executable, "-m", CHECK_MODULE, "--json", "--timeout", str(timeout), path]
    child = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
    )
    try:
        out, err = child.communicate(timeout=timeout + 20)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        return BrowserCheck(
            False,
            f"{path} did not start within {timeout:g} s (killed)",
            f"check it runs headless by hand (`{path} --headless --dump-dom about:blank`), or {INSTALL_HINT}",
        )
    try:
        result = json.loads(out.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        tail = (err.strip().splitlines() or ["no output"])[-1]
        return BrowserCheck(
            False,
            f"The browser check for {path} failed before launching ({tail})",
            "make sure the `playwright` package is installed (pip install scrapy-playwright)",
        )
    if result.get("ok"):
        return BrowserCheck(True, f"Chromium {result['version']} at {path}")
    if "error" in result:
        return _explain_launch_failure(path, result)
    return BrowserCheck(
        False,
        f"{path} started (version {result.get('version')}) but did not run JavaScript: the test page "
        f"showed {result.get('text')!r}",
        f"use a full Chrome or Chromium build, or {INSTALL_HINT}",
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m crawler.browser.chromium [--json] [--timeout S] [PATH]``: does the browser work? Exit 0 if so."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m crawler.browser.chromium", description=main.__doc__)
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
        print(BrowserCheck(False, "No Chrome or Chromium browser found", INSTALL_HINT))
        return 1
    result = check_browser(path, args.timeout)
    print(result)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
