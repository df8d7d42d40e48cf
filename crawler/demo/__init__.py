"""The built-in demo news site that ``newsarchive demo`` crawls, and the server that hosts it.

:func:`serve_demo_site` starts *The Harbridge Courier* (a fictional local newspaper, see
:mod:`crawler.demo.app`) on 127.0.0.1; the archive records its pages under the source name
:data:`DEMO_SOURCE_NAME`. ``newsarchive demo`` serves it on the fixed :data:`DEMO_PORT`, so its URLs are
the same on every run and a second run is an incremental recrawl of the same site (tests use port 0:
any free port). No settings drive it: the site is fixed apart from its base URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from crawler.demo.app import demo_app
from crawler.demo.server import LocalSite, serve

DEMO_SOURCE_NAME = "demo"
DEMO_PORT = 8765  # newsarchive demo's default (--port): the same URLs on every run

__all__ = ["DEMO_PORT", "DEMO_SOURCE_NAME", "serve_demo_site"]


@contextmanager
def serve_demo_site(host: str = "127.0.0.1", port: int = 0) -> Iterator[LocalSite]:
    """Serve the demo site until the block ends; port 0 picks any free port."""
    with serve(demo_app, host=host, port=port) as site:
        yield site
