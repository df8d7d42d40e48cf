"""A checking forward proxy: every connection the crawl's browser makes is held to the network boundary.

Why: the browser's request router (crawler.browser.download_handler) sees only the first request of
a redirect chain, because Chromium follows a 3xx itself, and Chromium resolves names itself. So
neither a redirect hop (a rendered article answering 302 to the metadata address, a page script's
``fetch()`` of an on-site URL that redirects there) nor the address a name resolves to when Chromium
connects (DNS rebinding) would be checked. The crawl's browser is therefore launched with all its
traffic sent here (``--proxy-server`` and ``--proxy-bypass-list=<-loopback>``, without which Chromium
goes straight to loopback addresses: crawler.browser.chromium.proxy_args), and every request,
each redirect hop being a new one, is checked before a byte of it leaves the crawl process:

- ``CONNECT host:port`` (https, WebSockets): checked, then the bytes are piped both ways;
- ``GET http://host:port/path HTTP/1.1`` (plain http, absolute form): checked, then sent on in
  origin form with ``Connection: close``, and the answer's head told ``Connection: close`` too, so
  the browser sends its next request on a new connection, checked in turn: one connection, one
  checked address.

The check: the host is resolved here (``resolve``: ``NETWORK_HOSTS`` first, then the system, pinned
for the crawl by the download handler); every address it resolves to must pass
:meth:`~crawler.network.boundary.Boundary.subrequest_refusal` (the source's hosts and ports on the
source's own addresses; anything else only on a public address); and the connection goes to one of
the addresses checked, never to the name, so what the name resolves to a second time does not
matter. The proxy cannot tell a navigation from a page's data request, so it applies this weaker
rule to both; the router keeps applying the stricter one to the main-frame navigations it sees.

A refused request is answered ``403`` with the header ``X-Newsarchive-Refused: 1`` and an empty body
(a page script that copies what it fetched into the page copies nothing), handed to ``on_refusal``
(the download handler counts it, and the spider records a skipped fetch) and remembered
(:meth:`BoundaryProxy.refusal_of`), so that a navigation ending on it is recorded as refused rather
than archived. A host that does not resolve, one of Chromium's own Google services (``unreachable``:
crawler.browser.chromium.google_service_host) or one that cannot be connected to gets no answer to
a plain request (the browser sees a network error, as it would without a proxy) and ``502`` to a
``CONNECT``.

Runs on the crawl's asyncio loop, on 127.0.0.1 and an ephemeral port; started and closed with the
browser by the download handler. No settings of its own (``NETWORK_HOSTS`` reaches it through
``resolve``); the module constants below bound what it reads and how long it waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from crawler.network.boundary import Boundary, Refusal, parse_address

logger = logging.getLogger(__name__)

REFUSED_HEADER = "X-Newsarchive-Refused"
HEAD_LIMIT = 256 * 1024  # the longest request or answer head read (Chromium refuses answer heads past 256 KiB)
HEAD_TIMEOUT = 60.0  # seconds a new connection has to send its request head (a browser sends it at once)
CONNECT_TIMEOUT = 30.0  # seconds to open the connection to a checked address
CHUNK = 64 * 1024  # bytes piped per read
REMEMBERED_REFUSALS = 1024  # refusals kept for refusal_of: a hostile page can make any number of them
# Hop-by-hop headers of the browser's request to the proxy, not for the site (Connection is set anew).
DROPPED_HEADERS = frozenset({b"connection", b"keep-alive", b"proxy-connection", b"proxy-authorization"})
REFUSED_ANSWER = (
    b"HTTP/1.1 403 Refused by the crawl's network boundary\r\n"
    + REFUSED_HEADER.encode()
    + b": 1\r\nContent-Length: 0\r\nCache-Control: no-store\r\nConnection: close\r\nProxy-Connection: close\r\n\r\n"
)
BAD_REQUEST_ANSWER = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
BAD_GATEWAY_ANSWER = b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
TUNNEL_OPEN_ANSWER = b"HTTP/1.1 200 Connection established\r\n\r\n"

Resolve = Callable[[str], Awaitable[list[str]]]


@dataclass(frozen=True)
class Target:
    """Where the browser asked to go: ``url`` is what is checked and reported."""

    host: str  # as a URL's hostname: lower case, an IPv6 address without brackets
    port: int
    url: str


def _authority(host: str, port: int, default_port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if port == default_port else f"{shown}:{port}"


def connect_target(authority: str) -> Target | None:
    """The target of ``CONNECT host:port`` (None when it is not one): checked as an https URL
    (http for port 80, where Chromium tunnels a ws:// WebSocket)."""
    parts = urlsplit(f"//{authority}")
    try:
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname or ""
    if not host or port is None or "@" in parts.netloc:
        return None
    scheme, default = ("http", 80) if port == 80 else ("https", 443)
    return Target(host, port, f"{scheme}://{_authority(host, port, default)}/")


def request_target(uri: str) -> Target | None:
    """The target of a plain request's absolute URI (``http://host:port/path``); None for anything else."""
    parts = urlsplit(uri)
    try:
        port = parts.port or 80
    except ValueError:
        return None
    if parts.scheme.lower() != "http" or not parts.hostname:
        return None
    return Target(parts.hostname, port, uri)


def url_key(url: str) -> tuple[str, int] | None:
    """(host, port) of a URL, the key refusals are remembered by; None for a URL without a host."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme.lower() in ("https", "wss") else 80)
    except ValueError:
        return None
    return (parts.hostname, port) if parts.hostname else None


def origin_form_head(method: str, uri: str, version: str, header_block: bytes) -> bytes:
    """The request head the site gets: its path (not the absolute URI), the browser's headers less the
    proxy's own, and ``Connection: close`` (one request per connection: each one is checked)."""
    parts = urlsplit(uri)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    kept = [
        line
        for line in header_block.split(b"\r\n")
        if line and line.partition(b":")[0].strip().lower() not in DROPPED_HEADERS
    ]
    return b"\r\n".join([f"{method} {target} {version}".encode("latin-1"), *kept, b"Connection: close", b"", b""])


def answer_status(head: bytes) -> int | None:
    """The status code of an answer head (``HTTP/1.1 302 Found``); None when it is not one."""
    words = head.split(b"\r\n", 1)[0].split(None, 2)
    if len(words) < 2 or not words[0].startswith(b"HTTP/") or not words[1].isdigit():
        return None
    return int(words[1])


def closing_head(head: bytes) -> bytes:
    """An answer head saying ``Connection: close`` to the browser, whatever the site said."""
    lines = [
        line
        for line in head.split(b"\r\n")
        if line and line.partition(b":")[0].strip().lower() not in (b"connection", b"keep-alive", b"proxy-connection")
    ]
    return b"\r\n".join([*lines, b"Connection: close", b"Proxy-Connection: close", b"", b""])


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy bytes until the reader's end (or an error of either side, which ends the connection)."""
    while True:
        data = await reader.read(CHUNK)
        if not data:
            return
        writer.write(data)
        await writer.drain()


async def pass_answer(upstream: asyncio.StreamReader, browser: asyncio.StreamWriter) -> None:
    """The site's answer to a plain request, its final head rewritten by :func:`closing_head`."""
    while True:
        try:
            head = await upstream.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as error:  # the site stopped inside a head
            browser.write(error.partial)
            await browser.drain()
            return
        except asyncio.LimitOverrunError:
            break  # a head no browser accepts: passed on as it is, for the browser to refuse
        status = answer_status(head)
        if status is not None and 100 <= status < 200 and status != 101:
            browser.write(head)  # "103 Early Hints" and the like: the real answer follows
            continue
        browser.write(head if status is None or status == 101 else closing_head(head))
        break
    await pipe(upstream, browser)


class BoundaryProxy:
    """The proxy (see the module docstring). ``boundary`` gives the crawl's current boundary (None: no
    boundary, everything that resolves is reached), ``resolve`` a host's addresses, ``on_refusal`` is
    told every refused URL, ``unreachable`` names hosts treated as not resolving, ``on_request`` is
    called for every request and tunnel asked for (the handler counts them in the crawl's stats)."""

    def __init__(
        self,
        boundary: Callable[[], Boundary | None],
        resolve: Resolve,
        on_refusal: Callable[[str, Refusal], None],
        unreachable: Callable[[str], bool] | None = None,
        on_request: Callable[[], None] | None = None,
    ) -> None:
        self.boundary = boundary
        self.resolve = resolve
        self.on_refusal = on_refusal
        self.unreachable = unreachable
        self.on_request = on_request
        self.server: asyncio.Server | None = None
        self.connections: set[asyncio.Task[Any]] = set()
        self.refused: OrderedDict[tuple[str, int], Refusal] = OrderedDict()
        self.requests = 0  # requests and tunnels the browser asked for, refused ones included

    async def start(self) -> int:
        """Listen on 127.0.0.1, an ephemeral port; returns the port."""
        self.server = await asyncio.start_server(self.serve, "127.0.0.1", 0, limit=HEAD_LIMIT)
        return self.port

    @property
    def port(self) -> int:
        if self.server is None:
            raise RuntimeError("the proxy is not started")
        return int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stop listening and end every open connection."""
        if self.server is not None:
            self.server.close()
        for task in list(self.connections):
            task.cancel()
        await asyncio.gather(*self.connections, return_exceptions=True)
        if self.server is not None:
            await self.server.wait_closed()
            self.server = None

    def refusal_of(self, url: str) -> Refusal | None:
        """The refusal of ``url``'s host and port, when the proxy refused a request to them lately."""
        key = url_key(url)
        return None if key is None else self.refused.get(key)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.connections.add(task)
        try:
            await self.handle(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the browser or the site went away, or the browser sent no head: the connection ends
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            if task is not None:
                self.connections.discard(task)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
        request_line, _, header_block = head.partition(b"\r\n")
        words = request_line.decode("latin-1").split()
        tunnel = len(words) == 3 and words[0].upper() == "CONNECT"
        target = None
        if len(words) == 3:
            target = connect_target(words[1]) if tunnel else request_target(words[1])
        if target is None:
            writer.write(BAD_REQUEST_ANSWER)  # not a proxy request (an origin-form request, say)
            await writer.drain()
            return
        self.requests += 1
        if self.on_request is not None:
            self.on_request()
        addresses, refusal = await self.check(target)
        if refusal is not None:
            self.remember(target, refusal)
            self.on_refusal(target.url, refusal)
            writer.write(REFUSED_ANSWER)
            await writer.drain()
            return
        upstream = await self.connect(addresses, target.port) if addresses else None
        if upstream is None:
            logger.debug("browser proxy: %s did not resolve or connect", target.url)
            if tunnel:
                writer.write(BAD_GATEWAY_ANSWER)
                await writer.drain()
            return
        up_reader, up_writer = upstream
        try:
            if tunnel:
                writer.write(TUNNEL_OPEN_ANSWER)
                answer = pipe(up_reader, writer)
            else:
                method, uri, version = words
                up_writer.write(origin_form_head(method, uri, version, header_block))
                answer = pass_answer(up_reader, writer)
            await splice(pipe(reader, up_writer), answer)
        finally:
            up_writer.close()

    async def check(self, target: Target) -> tuple[list[str], Refusal | None]:
        """The checked addresses to connect to ([] when there are none), or the refusal."""
        if self.unreachable is not None and self.unreachable(target.host):
            return [], None
        # Only addresses that parse are checked, so only those are connected to.
        addresses = [address for address in await self.resolve(target.host) if parse_address(address) is not None]
        boundary = self.boundary()
        refusal = None if boundary is None or not addresses else boundary.subrequest_refusal(target.url, addresses)
        # IPv4 first: where the machine has no IPv6 route an IPv6 address only costs a failed connect.
        addresses.sort(key=lambda address: (":" in address, address))
        return addresses, refusal

    def remember(self, target: Target, refusal: Refusal) -> None:
        key = (target.host, target.port)
        self.refused[key] = refusal
        self.refused.move_to_end(key)
        while len(self.refused) > REMEMBERED_REFUSALS:
            self.refused.popitem(last=False)

    async def connect(
        self, addresses: list[str], port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """A connection to the first checked address that answers (an IP address: no name is looked up again)."""
        for address in addresses:
            try:
                return await asyncio.wait_for(asyncio.open_connection(address, port, limit=HEAD_LIMIT), CONNECT_TIMEOUT)
            except OSError as error:  # refused, unreachable, timed out (TimeoutError is an OSError)
                logger.debug("browser proxy: connecting to %s port %d failed: %s", address, port, error)
        return None


async def splice(upward: Awaitable[None], downward: Awaitable[None]) -> None:
    """Run both directions until either ends (an end or an error): then the exchange is over, since
    neither a browser nor a site half-closes an HTTP or TLS connection and goes on."""
    tasks = [asyncio.ensure_future(upward), asyncio.ensure_future(downward)]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        # A side that went away ends the exchange; anything else is a mistake here, and is raised.
        if isinstance(result, Exception) and not isinstance(result, OSError | asyncio.IncompleteReadError):
            raise result
