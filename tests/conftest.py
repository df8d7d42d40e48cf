"""Shared fixtures. ``real_browser``: the system Chromium that rendering tests drive.

CI installs Debian's chromium and must run these tests, so there a missing browser fails them;
on a developer's machine without one they are skipped with the command that installs it.
"""

from __future__ import annotations

import os

import pytest

from crawler.browser.chromium import INSTALL_HINT, find_browser


@pytest.fixture(scope="session")
def real_browser() -> str:
    path = find_browser()
    if path is None:
        message = f"these tests need Chromium or Chrome: {INSTALL_HINT}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path
