"""crawler.browser.chromium: finding the browser, the render settings, aborting assets, checking a browser works.

The rendering tests drive the real system Chromium through Playwright against the jssite fixture
served on 127.0.0.1.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from scrapy.settings import Settings
from scrapy.utils.misc import load_object
from scrapy_playwright.handler import Config as PlaywrightConfig
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

from crawler.browser.chromium import BROWSER_CANDIDATES, check_browser, find_browser
from crawler.browser.render_settings import (
    BrowserMissing,
    RenderSettings,
    SettingError,
    apply_render_settings,
    should_abort_request,
)
from crawler.demo.server import serve
from crawler.extraction.extract import extract_page
from crawler.run.crawl_process import build_settings
from crawler.sources.config import adhoc_source
from tests.jssite import FONT_PATH, asset_paths, expected_js_articles, js_site_app, static_article_urls


def fake_executable(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


# --- find_browser ---------------------------------------------------------------------------------


def test_configured_path_wins_over_environment_and_path(tmp_path: Path) -> None:
    configured = fake_executable(tmp_path / "configured", "my-chrome")
    from_env = fake_executable(tmp_path / "env", "env-chrome")
    fake_executable(tmp_path / "bin", "chromium")
    environ = {"PATH": str(tmp_path / "bin"), "NEWSARCHIVE_BROWSER": str(from_env)}
    assert find_browser(str(configured), environ) == str(configured)


def test_environment_variable_wins_over_path(tmp_path: Path) -> None:
    from_env = fake_executable(tmp_path / "env", "env-chrome")
    fake_executable(tmp_path / "bin", "chromium")
    assert find_browser(None, {"PATH": str(tmp_path / "bin"), "NEWSARCHIVE_BROWSER": str(from_env)}) == str(from_env)


def test_path_lookup_follows_candidate_order(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    fake_executable(bin_dir, "google-chrome")
    preferred = fake_executable(bin_dir, "chromium-browser")
    assert BROWSER_CANDIDATES.index("chromium-browser") < BROWSER_CANDIDATES.index("google-chrome")
    assert find_browser(None, {"PATH": str(bin_dir)}) == str(preferred)


def test_a_configured_name_is_looked_up_on_path(tmp_path: Path) -> None:
    named = fake_executable(tmp_path / "bin", "chrome-beta")
    assert find_browser("chrome-beta", {"PATH": str(tmp_path / "bin")}) == str(named)


def test_missing_configured_browser_falls_through_and_none_when_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    not_executable = tmp_path / "chromium"
    not_executable.write_text("not a program")
    environ = {"PATH": str(empty)}
    assert find_browser(str(tmp_path / "no-such-browser"), environ) is None
    assert find_browser(str(not_executable), environ) is None
    assert find_browser(None, {"PATH": ""}) is None
    fallback = fake_executable(tmp_path / "bin", "chromium")
    assert find_browser(str(tmp_path / "no-such-browser"), {"PATH": str(tmp_path / "bin")}) == str(fallback)


# --- RenderSettings -------------------------------------------------------------------------------


@pytest.mark.browser
def test_defaults_without_any_render_setting(real_browser: str) -> None:
    render = RenderSettings.from_settings(build_settings(), environ=os.environ)
    assert render.available()
    assert render.executable_path == real_browser
    assert render.headless is True
    assert render.navigation_timeout_ms == 30_000
    assert (render.max_open_pages, render.pages_per_context, render.wait_after_load_ms) == (4, 100, 1500)
    assert render.blocked_resource_types == ("image", "font", "media", "stylesheet", "texttrack", "manifest")


def test_values_given_as_command_line_strings(tmp_path: Path) -> None:
    browser = fake_executable(tmp_path, "chromium")
    settings = build_settings(
        {
            "RENDER_PAGE_TIMEOUT": "12.5",
            "RENDER_MAX_PAGES": "6",
            "RENDER_CONTEXT_PAGES": "50",
            "RENDER_WAIT_MS": "0",
            "NEWSARCHIVE_BROWSER": str(browser),
        }
    )
    render = RenderSettings.from_settings(settings, environ={"PATH": ""})
    assert render.executable_path == str(browser)
    assert render.navigation_timeout_ms == 12_500
    assert (render.max_open_pages, render.pages_per_context, render.wait_after_load_ms) == (6, 50, 0)


def test_executable_path_in_playwright_launch_options_is_used(tmp_path: Path) -> None:
    browser = fake_executable(tmp_path, "chrome")
    settings = build_settings({"PLAYWRIGHT_LAUNCH_OPTIONS": {"executable_path": str(browser), "headless": False}})
    render = RenderSettings.from_settings(settings, environ={"PATH": ""})
    assert (render.executable_path, render.headless) == (str(browser), False)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RENDER_PAGE_TIMEOUT", "soon"),
        ("RENDER_PAGE_TIMEOUT", "0"),
        ("RENDER_PAGE_TIMEOUT", "-5"),
        ("RENDER_PAGE_TIMEOUT", "nan"),
        ("RENDER_MAX_PAGES", "0"),
        ("RENDER_MAX_PAGES", "2.5"),
        ("RENDER_MAX_PAGES", "lots"),
        ("RENDER_CONTEXT_PAGES", "0"),
        ("RENDER_WAIT_MS", "-1"),
        ("RENDER_WAIT_MS", "600000"),
        ("RENDER_MAX_PAGES", True),
        ("RENDER_WAIT_MS", ""),
    ],
)
def test_bad_values_are_refused_naming_the_setting_and_the_fix(name: str, value: object) -> None:
    with pytest.raises(ValueError) as error:
        RenderSettings.from_settings(build_settings({name: value}), environ={"PATH": ""})
    message = str(error.value)
    assert name in message and repr(value) in message
    assert f"-s {name}=" in message
    # The parts apart, for whoever shows them (doctor prints the fix on a line of its own).
    assert isinstance(error.value, SettingError) and error.value.setting == name
    assert repr(value) in error.value.problem and f"-s {name}=" in error.value.fix


def test_settings_without_the_defaults_are_refused_not_given_a_second_default() -> None:
    # The defaults live in crawler/settings.py only; settings built without them are a mistake.
    with pytest.raises(ValueError, match=r"Setting RENDER_PAGE_TIMEOUT is not set.*build_settings"):
        RenderSettings.from_settings(Settings(), environ={"PATH": ""})


def test_a_configured_browser_that_is_not_there_is_an_error_not_a_fallback(tmp_path: Path) -> None:
    fake_executable(tmp_path / "bin", "chromium")
    environ = {"PATH": str(tmp_path / "bin")}
    with pytest.raises(
        ValueError, match=r"Setting NEWSARCHIVE_BROWSER names .*no-such-chrome.*apt-get install chromium"
    ) as error:
        RenderSettings.from_settings(build_settings({"NEWSARCHIVE_BROWSER": str(tmp_path / "no-such-chrome")}), environ)
    assert isinstance(error.value, SettingError) and error.value.setting == "NEWSARCHIVE_BROWSER"
    assert "no-such-chrome" in error.value.problem and "apt-get install chromium" in error.value.fix
    with pytest.raises(ValueError, match="Environment variable NEWSARCHIVE_BROWSER"):
        RenderSettings.from_settings(build_settings(), {**environ, "NEWSARCHIVE_BROWSER": "/nowhere/chrome"})
    with pytest.raises(ValueError, match="headless"):
        RenderSettings.from_settings(build_settings({"PLAYWRIGHT_LAUNCH_OPTIONS": {"headless": "maybe"}}), environ)


def test_no_browser_installed_means_unavailable_and_no_handler(tmp_path: Path) -> None:
    render = RenderSettings.from_settings(build_settings(), environ={"PATH": str(tmp_path)})
    assert render.executable_path is None and not render.available()
    with pytest.raises(RuntimeError, match="apt-get install chromium"):
        render.scrapy_settings()


@pytest.mark.browser
def test_scrapy_settings_are_what_scrapy_playwright_reads(real_browser: str) -> None:
    render = RenderSettings.from_settings(build_settings({"RENDER_MAX_PAGES": 6, "RENDER_PAGE_TIMEOUT": 20}))
    produced = render.scrapy_settings()
    handlers = produced["DOWNLOAD_HANDLERS"]
    assert set(handlers) == {"http", "https"} and handlers["http"] == handlers["https"]
    assert issubclass(load_object(handlers["http"]), ScrapyPlaywrightDownloadHandler)
    assert load_object(produced["PLAYWRIGHT_ABORT_REQUEST"]) is should_abort_request
    args = produced["PLAYWRIGHT_LAUNCH_OPTIONS"]["args"]
    assert ("--no-sandbox" in args) == (os.geteuid() == 0)
    assert "--disable-background-networking" in args and "--disable-component-update" in args

    parsed = PlaywrightConfig.from_settings(Settings(produced))
    assert parsed.browser_type_name == "chromium"
    assert parsed.launch_options["executable_path"] == real_browser
    assert parsed.launch_options["headless"] is True
    assert parsed.navigation_timeout_ms == 20_000
    assert parsed.max_contexts == 2
    # Two contexts at most (one in use, one being recycled) and never more pages than asked for.
    assert parsed.max_pages_per_context * parsed.max_contexts <= 6
    assert parsed.max_pages_per_context == 3

    single = RenderSettings.from_settings(build_settings({"RENDER_MAX_PAGES": 1})).scrapy_settings()
    assert single["PLAYWRIGHT_MAX_PAGES_PER_CONTEXT"] * single["PLAYWRIGHT_MAX_CONTEXTS"] == 1


# --- real Chromium: aborting assets, rendering the JavaScript text --------------------------------


@pytest.mark.browser
def test_images_and_fonts_are_aborted_and_the_javascript_text_renders(real_browser: str) -> None:
    with serve(js_site_app(n_static=1, n_json=1, n_write=1, n_dom=1)) as site, sync_playwright() as playwright:
        options = RenderSettings.from_settings(build_settings()).scrapy_settings()["PLAYWRIGHT_LAUNCH_OPTIONS"]
        browser = playwright.chromium.launch(**options)
        aborted: list[str] = []

        def route_request(route) -> None:
            if should_abort_request(route.request):
                aborted.append(route.request.resource_type)
                route.abort()
            else:
                route.continue_()

        try:
            context = browser.new_context()
            context.route("**/*", route_request)
            page = context.new_page()
            expected = expected_js_articles(site.base_url, 1, 1, 1)
            for url, paragraphs in expected.items():
                page.goto(url, wait_until="load")
                assert page.locator(".article-body p").all_text_contents() == paragraphs, url
                assert page.locator("#loading").count() == 0, f"{url} still says Loading…"
                extracted = extract_page(page.content().encode(), url)
                assert paragraphs[0] in extracted["text"] and paragraphs[-1] in extracted["text"], url
            page.goto(static_article_urls(site.base_url, 1)[0], wait_until="load")
        finally:
            browser.close()
        fetched_assets = {path for path in site.paths() if path.startswith("/assets/")}
    assert fetched_assets == set(), f"aborted requests still reached the server: {fetched_assets}"
    assert set(aborted) == {"image", "font"}
    assert aborted.count("image") == 4  # one photo per article page opened


@pytest.mark.browser
def test_without_aborting_the_same_pages_fetch_their_image_and_font(real_browser: str) -> None:
    with serve(js_site_app(n_static=1, n_json=1, n_write=0, n_dom=0)) as site, sync_playwright() as playwright:
        options = RenderSettings.from_settings(build_settings()).scrapy_settings()["PLAYWRIGHT_LAUNCH_OPTIONS"]
        browser = playwright.chromium.launch(**options)
        try:
            page = browser.new_page()
            for url in (*static_article_urls(site.base_url, 1), *expected_js_articles(site.base_url, 1, 0, 0)):
                page.goto(url, wait_until="load")
        finally:
            browser.close()
        fetched_assets = {path for path in site.paths() if path.startswith("/assets/")}
    assert fetched_assets == asset_paths(1, 1, 0, 0)
    assert FONT_PATH in fetched_assets


def test_plain_http_sees_no_text_on_javascript_pages() -> None:
    import urllib.request

    with serve(js_site_app(n_static=1, n_json=1, n_write=1, n_dom=1)) as site:
        for url, paragraphs in expected_js_articles(site.base_url, 1, 1, 1).items():
            body = urllib.request.urlopen(url, timeout=10).read()
            extracted = extract_page(body, url)
            assert paragraphs[0] not in (extracted["text"] or ""), url
            assert b"Please enable JavaScript" in body and "Loading…".encode() in body
        static_url = static_article_urls(site.base_url, 1)[0]
        assert len(extract_page(urllib.request.urlopen(static_url, timeout=10).read(), static_url)["text"]) > 1000


# --- check_browser --------------------------------------------------------------------------------


@pytest.mark.browser
def test_check_browser_launches_the_real_browser(real_browser: str) -> None:
    result = check_browser(real_browser)
    assert result.ok, result
    detail = result.detail
    assert detail.startswith("Chromium ") and detail.endswith(f" at {real_browser}") and result.fix is None
    version = detail.split()[1]
    assert version.split(".")[0].isdigit() and int(version.split(".")[0]) >= 100


def test_check_browser_explains_a_program_that_is_not_a_browser() -> None:
    result = check_browser("/bin/true", timeout=15)
    assert not result.ok
    assert "/bin/true is not a working headless Chrome/Chromium" in result.detail
    assert "exited at once (exit code 0)" in result.detail and "apt-get install chromium" in result.fix
    assert str(result) == f"{result.detail}. Fix: {result.fix}."  # one message, for the command line


def test_a_source_that_must_render_names_itself_the_problem_and_the_fix(tmp_path: Path) -> None:
    source = adhoc_source("https://app.news.example/", render_js="always")
    settings = Settings({"NEWSARCHIVE_BROWSER": str(tmp_path / "no-such-chrome")})
    with pytest.raises(BrowserMissing) as error:
        apply_render_settings(settings, source)
    missing = error.value
    assert missing.source == source.name and "no-such-chrome" in missing.problem
    assert "apt-get install chromium" in missing.fix and "Fix" not in missing.problem
    assert str(missing) == f"{missing.problem} Fix: {missing.fix}"
    # "auto" falls back to plain HTTP, with the same words as a warning for the run log.
    rendering, warning = apply_render_settings(settings, adhoc_source("https://app.news.example/"))
    assert rendering is False and warning is not None and "no-such-chrome" in warning


def test_check_browser_names_the_signal_that_killed_it(tmp_path: Path) -> None:
    crashing = tmp_path / "crashing-chrome"
    crashing.write_text("#!/bin/sh\nkill -SEGV $$\n")
    crashing.chmod(0o755)
    result = check_browser(str(crashing), timeout=15)
    assert not result.ok
    assert "exited at once (signal SIGSEGV) instead of starting" in result.detail


def test_check_browser_explains_a_missing_file(tmp_path: Path) -> None:
    result = check_browser(str(tmp_path / "chrome"))
    assert not result.ok
    assert f"{tmp_path / 'chrome'} is not an executable file" in result.detail and "NEWSARCHIVE_BROWSER" in result.fix


def test_check_browser_kills_a_browser_that_never_answers(tmp_path: Path) -> None:
    hanging = tmp_path / "hanging-chrome"
    hanging.write_text("#!/bin/sh\nexec sleep 60\n")
    hanging.chmod(0o755)
    result = check_browser(str(hanging), timeout=2)
    assert not result.ok
    detail = result.detail
    assert str(hanging) in detail and ("did not answer in time" in detail or "did not start within" in detail)


def test_the_headless_shell_comes_first_for_headless_rendering_only(tmp_path: Path) -> None:
    """Chromium's headless shell renders a page for ~2.5 times less CPU than the full browser; it
    cannot show a window, so a crawl with ``headless: false`` (watching the browser) gets the full one."""
    bin_dir = tmp_path / "bin"
    full = fake_executable(bin_dir, "chromium")
    shell = fake_executable(bin_dir, "chromium-headless-shell")
    assert find_browser(None, {"PATH": str(bin_dir)}) == str(shell)
    assert find_browser(None, {"PATH": str(bin_dir)}, headless=False) == str(full)
    assert find_browser(str(full), {"PATH": str(bin_dir)}) == str(full)  # a configured browser wins
