"""A tiny threaded HTTP server on 127.0.0.1 for local sites.

It serves the built-in demo site (``newsarchive demo``) and the test fixture sites: the caller
supplies an *app*, a plain function from a :class:`Request` to a :class:`Reply`, and the server
records every request it answered so tests can check what a crawl fetched.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Request:
    """What the app sees of one HTTP request."""

    method: str
    path: str  # path plus query string, as sent
    headers: dict[str, str]
    base_url: str  # e.g. "http://127.0.0.1:43123", no trailing slash


@dataclass
class Reply:
    """What the app answers; ``body`` is sent as is."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Hit:
    """One answered request, as recorded by the server."""

    method: str
    path: str
    status: int
    user_agent: str


App = Callable[[Request], Reply]


class LocalSite:
    """A running server: its ``base_url`` and the ``hits`` it answered so far."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self._server = server
        self.hits: list[Hit] = []
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def record(self, hit: Hit) -> None:
        with self._lock:
            self.hits.append(hit)

    def paths(self) -> list[str]:
        """Every requested path (with query), in order, repeats included."""
        with self._lock:
            return [hit.path for hit in self.hits]


def _handler_class(app: App, site_holder: list[LocalSite]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two sends: with Nagle's algorithm the body waits for the client's
        # delayed ACK, ~40 ms per request on a kept-alive connection. TCP_NODELAY: ~0.4 ms.
        disable_nagle_algorithm = True

        def _answer(self, send_body: bool) -> None:
            site = site_holder[0]
            request = Request(
                method=self.command,
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                base_url=site.base_url,
            )
            reply = app(request)
            self.send_response(reply.status)
            headers = {k.lower(): v for k, v in reply.headers.items()}
            headers.setdefault("content-type", "text/html; charset=utf-8")
            headers["content-length"] = str(len(reply.body))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if send_body:
                self.wfile.write(reply.body)
            site.record(Hit(self.command, self.path, reply.status, self.headers.get("User-Agent", "")))

        def do_GET(self) -> None:
            self._answer(send_body=True)

        def do_HEAD(self) -> None:
            self._answer(send_body=False)

        def log_message(self, format: str, *args: object) -> None:
            # Crawls hit thousands of pages; stderr noise would drown the crawl's own output.
            return

    return Handler


@contextmanager
def serve(app: App, host: str = "127.0.0.1", port: int = 0) -> Iterator[LocalSite]:
    """Serve ``app`` on ``host`` (port 0: any free port) until the block ends."""
    holder: list[LocalSite] = []
    server = ThreadingHTTPServer((host, port), _handler_class(app, holder))
    server.daemon_threads = True
    site = LocalSite(server)
    holder.append(site)
    thread = threading.Thread(target=server.serve_forever, name="local-site", daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
