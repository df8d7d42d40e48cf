"""crawler.browser.proxy: the checking forward proxy the crawl's browser goes through.

Real sockets throughout: the proxy on 127.0.0.1 (an ephemeral port), the "source" on 127.0.0.1:P
and a "metadata service" on 127.0.0.2:P (the same port, so only the address tells them apart), a
client speaking raw HTTP to the proxy as Chromium does, and at the end the real Chromium launched
with the proxy's flags. Names resolve through a fixed map, as ``NETWORK_HOSTS`` makes them; a name
outside it does not resolve, so nothing here looks anything up on the network.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from archive.models import ReasonKind
from crawler.browser.chromium import chromium_args, google_service_host, proxy_args
from crawler.browser.proxy import REFUSED_HEADER, BoundaryProxy, closing_head, origin_form_head
from crawler.demo.server import LocalSite, Reply, Request, serve
from crawler.network.boundary import Boundary, Refusal, parse_address

SOURCE = "harbour.test"
SUBDOMAIN = f"metadata.{SOURCE}"  # inside the origin rule, but on 127.0.0.2: refused by its address


def source_app(request: Request) -> Reply:
    return Reply(200, f"source page {request.path}".encode(), {"content-type": "text/plain"})


def secret_app(request: Request) -> Reply:
    return Reply(200, b'{"AccessKeyId": "AKIA-SECRET"}', {"content-type": "application/json"})


@pytest.fixture(scope="module")
def sites() -> Iterator[tuple[LocalSite, LocalSite, int]]:
    """The source on 127.0.0.1:P and the secret server on 127.0.0.2:P."""
    with serve(lambda request: Reply(404)) as placeholder:
        port = int(placeholder.base_url.rsplit(":", 1)[1])
    with serve(source_app, "127.0.0.1", port) as source, serve(secret_app, "127.0.0.2", port) as metadata:
        yield source, metadata, port


def map_resolver(hosts: dict[str, list[str]]) -> Callable[[str], Awaitable[list[str]]]:
    async def resolve(host: str) -> list[str]:
        if parse_address(host) is not None:
            return [host]
        return list(hosts.get(host, []))

    return resolve


class Harness:
    """A started proxy for the source http://harbour.test:PORT/, and what it reported."""

    def __init__(self, port: int, resolve: Callable[[str], Awaitable[list[str]]] | None = None) -> None:
        self.boundary = Boundary([f"http://{SOURCE}:{port}/"])
        self.refusals: list[tuple[str, Refusal]] = []
        self.proxy = BoundaryProxy(
            lambda: self.boundary,
            resolve or map_resolver({SOURCE: ["127.0.0.1"], SUBDOMAIN: ["127.0.0.2"]}),
            lambda url, refusal: self.refusals.append((url, refusal)),
            google_service_host,
        )

    async def __aenter__(self) -> Harness:
        await self.proxy.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.proxy.close()

    async def exchange(self, data: bytes) -> bytes:
        """Send ``data`` on a new connection to the proxy; everything it answered until it closed."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.proxy.port)
        try:
            writer.write(data)
            await writer.drain()
            return await asyncio.wait_for(reader.read(), 10)
        finally:
            writer.close()


def run(scenario: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(scenario(), 60))


def head_of(answer: bytes) -> tuple[str, dict[str, str]]:
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return head[0], headers


def test_a_plain_request_for_the_source_is_sent_on_in_origin_form(sites) -> None:
    source, metadata, port = sites

    async def scenario() -> bytes:
        async with Harness(port) as harness:
            request = (
                f"GET http://{SOURCE}:{port}/2025/story?id=7 HTTP/1.1\r\nHost: {SOURCE}:{port}\r\n"
                "Proxy-Connection: keep-alive\r\nUser-Agent: probe\r\n\r\n"
            ).encode()
            answer = await harness.exchange(request)
            assert harness.refusals == []
            return answer

    answer = run(scenario)
    status, headers = head_of(answer)
    assert status.startswith("HTTP/1.1 200") and answer.endswith(b"source page /2025/story?id=7")
    # The browser is told to open a new connection for its next request, which is then checked too.
    assert headers["connection"] == "close" and headers["proxy-connection"] == "close"
    assert "/2025/story?id=7" in source.paths() and metadata.paths() == []  # harbour.test is not in any DNS


def test_a_tunnel_to_a_private_address_is_refused_and_reported(sites) -> None:
    _, metadata, port = sites

    async def scenario() -> tuple[bytes, list, Refusal | None]:
        async with Harness(port) as harness:
            answer = await harness.exchange(
                f"CONNECT 127.0.0.2:{port} HTTP/1.1\r\nHost: 127.0.0.2:{port}\r\n\r\n".encode()
            )
            return answer, harness.refusals, harness.proxy.refusal_of(f"https://127.0.0.2:{port}/latest/meta-data/")

    answer, refusals, remembered = run(scenario)
    status, headers = head_of(answer)
    assert status.startswith("HTTP/1.1 403") and headers[REFUSED_HEADER.lower()] == "1"
    assert headers["content-length"] == "0"
    ((url, refusal),) = refusals
    assert url == f"https://127.0.0.2:{port}/" and refusal.kind == ReasonKind.PRIVATE_ADDRESS
    assert "loopback" in refusal.reason and remembered == refusal
    assert metadata.paths() == []


def test_a_name_inside_the_source_that_resolves_to_another_private_address_is_refused(sites) -> None:
    _, metadata, port = sites

    async def scenario() -> tuple[bytes, list]:
        async with Harness(port) as harness:
            request = f"GET http://{SUBDOMAIN}:{port}/latest/meta-data/ HTTP/1.1\r\nHost: {SUBDOMAIN}:{port}\r\n\r\n"
            return await harness.exchange(request.encode()), harness.refusals

    answer, refusals = run(scenario)
    status, headers = head_of(answer)
    assert status.startswith("HTTP/1.1 403") and REFUSED_HEADER.lower() in headers
    assert answer.endswith(b"\r\n\r\n")  # no body: a page script copying it copies nothing
    ((url, refusal),) = refusals
    assert url == f"http://{SUBDOMAIN}:{port}/latest/meta-data/"
    assert refusal.kind == ReasonKind.PRIVATE_ADDRESS and "resolves to 127.0.0.2" in refusal.reason
    assert metadata.paths() == []


def test_a_second_request_on_one_connection_never_reaches_another_address(sites) -> None:
    _, metadata, port = sites

    async def scenario() -> bytes:
        async with Harness(port) as harness:
            first = f"GET http://{SOURCE}:{port}/first HTTP/1.1\r\nHost: {SOURCE}:{port}\r\n\r\n"
            second = f"GET http://127.0.0.2:{port}/latest/meta-data/ HTTP/1.1\r\nHost: 127.0.0.2:{port}\r\n\r\n"
            return await harness.exchange((first + second).encode())

    answer = run(scenario)
    assert b"source page /first" in answer and b"AKIA" not in answer
    assert metadata.paths() == []  # the connection was checked for, and went to, the source only


def test_every_request_is_checked_on_what_its_name_resolved_to_and_goes_there(sites) -> None:
    """DNS rebinding: a name that answers the source's address, then the metadata address."""
    source, metadata, port = sites
    answers = iter([["127.0.0.1"], ["127.0.0.2"]])

    async def rebinding(host: str) -> list[str]:
        if host == SOURCE:
            return ["127.0.0.1"]
        return next(answers) if host == f"cdn.{SOURCE}" else []

    def get(host: str, path: str) -> bytes:
        return f"GET http://{host}:{port}{path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()

    async def scenario() -> tuple[bytes, bytes, list]:
        async with Harness(port, rebinding) as harness:
            await harness.exchange(get(SOURCE, "/"))  # the crawl's first request: the source is on 127.0.0.1
            first = await harness.exchange(get(f"cdn.{SOURCE}", "/app.js"))
            second = await harness.exchange(get(f"cdn.{SOURCE}", "/app.js"))
            return first, second, harness.refusals

    first, second, refusals = run(scenario)
    assert b"source page /app.js" in first
    assert head_of(second)[0].startswith("HTTP/1.1 403")
    assert [refusal.kind for _, refusal in refusals] == [ReasonKind.PRIVATE_ADDRESS]
    assert metadata.paths() == [] and source.paths().count("/app.js") == 1


def test_a_tunnel_to_the_source_carries_its_bytes_until_the_proxy_closes(sites) -> None:
    source, _, port = sites

    async def scenario() -> tuple[bytes, bytes, bytes]:
        async with Harness(port) as harness:
            reader, writer = await asyncio.open_connection("127.0.0.1", harness.proxy.port)
            writer.write(f"CONNECT {SOURCE}:{port} HTTP/1.1\r\nHost: {SOURCE}:{port}\r\n\r\n".encode())
            opened = await reader.readuntil(b"\r\n\r\n")
            # Inside the tunnel, what TLS would carry: here a plain request, kept alive.
            writer.write(f"GET /tunnelled HTTP/1.1\r\nHost: {SOURCE}:{port}\r\n\r\n".encode())
            answered = await reader.readuntil(b"source page /tunnelled")
            await harness.proxy.close()  # the crawl ends: open tunnels end with it
            rest = await asyncio.wait_for(reader.read(), 10)
            writer.close()
            return opened, answered, rest

    opened, answered, rest = run(scenario)
    assert opened.startswith(b"HTTP/1.1 200")
    assert answered.startswith(b"HTTP/1.1 200") and rest == b""
    assert "/tunnelled" in source.paths()


def test_hosts_that_do_not_resolve_get_a_network_error_and_no_refusal(sites) -> None:
    _, _, port = sites

    async def scenario() -> tuple[bytes, bytes, bytes, list]:
        async with Harness(port) as harness:
            nowhere = await harness.exchange(b"GET http://nowhere.test/ HTTP/1.1\r\nHost: nowhere.test\r\n\r\n")
            google = await harness.exchange(
                b"GET http://update.googleapis.com/service HTTP/1.1\r\nHost: update.googleapis.com\r\n\r\n"
            )
            tunnel = await harness.exchange(b"CONNECT nowhere.test:443 HTTP/1.1\r\nHost: nowhere.test:443\r\n\r\n")
            return nowhere, google, tunnel, harness.refusals

    nowhere, google, tunnel, refusals = run(scenario)
    assert nowhere == b"" and google == b""  # closed without an answer, as a failed lookup looks to the browser
    assert head_of(tunnel)[0].startswith("HTTP/1.1 502")
    assert refusals == []


def test_a_request_not_meant_for_a_proxy_is_a_bad_request(sites) -> None:
    _, _, port = sites

    async def scenario() -> list[bytes]:
        async with Harness(port) as harness:
            return [
                await harness.exchange(b"GET /latest/meta-data/ HTTP/1.1\r\nHost: 127.0.0.2\r\n\r\n"),
                await harness.exchange(b"GET https://harbour.test/ HTTP/1.1\r\nHost: harbour.test\r\n\r\n"),
                await harness.exchange(b"GET file:///etc/passwd HTTP/1.1\r\n\r\n"),
                await harness.exchange(b"CONNECT harbour.test:99999 HTTP/1.1\r\n\r\n"),
            ]

    for answer in run(scenario):
        assert head_of(answer)[0].startswith("HTTP/1.1 400")


def test_early_hints_pass_and_only_the_final_head_is_told_to_close() -> None:
    """A site that sends "103 Early Hints" and then a kept-alive answer (raw, as no test server does)."""
    received: list[bytes] = []

    async def site(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </app.js>; rel=preload\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\nok"
        )
        await writer.drain()
        await reader.read()  # a kept-alive connection: the site waits for the proxy to close it
        writer.close()

    async def scenario() -> bytes:
        server = await asyncio.start_server(site, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            async with Harness(port) as harness:
                reader, writer = await asyncio.open_connection("127.0.0.1", harness.proxy.port)
                writer.write(f"GET http://{SOURCE}:{port}/ HTTP/1.1\r\nHost: {SOURCE}:{port}\r\n\r\n".encode())
                answer = await reader.readuntil(b"ok")
                writer.close()  # what Chromium does with a connection told to close: the site's is closed too
                return answer
        finally:
            server.close()

    answer = run(scenario)
    early, final = answer.split(b"\r\n\r\n", 1)
    assert early.startswith(b"HTTP/1.1 103") and b"Connection" not in early
    status, headers = head_of(final)
    assert status == "HTTP/1.1 200 OK" and headers["connection"] == "close" and "keep-alive" not in headers
    (request,) = received
    assert request.startswith(b"GET / HTTP/1.1\r\n") and b"\r\nConnection: close\r\n" in request


def test_heads_are_rewritten_for_one_request_per_connection() -> None:
    head = origin_form_head(
        "POST",
        "http://news.example:8080/api?q=1",
        "HTTP/1.1",
        b"Host: news.example:8080\r\nProxy-Connection: keep-alive\r\nConnection: keep-alive\r\nX-A: b\r\n\r\n",
    )
    assert head == b"POST /api?q=1 HTTP/1.1\r\nHost: news.example:8080\r\nX-A: b\r\nConnection: close\r\n\r\n"
    assert origin_form_head("GET", "http://news.example", "HTTP/1.1", b"\r\n").startswith(b"GET / HTTP/1.1\r\n")
    closed = closing_head(b"HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nConnection: keep-alive\r\nX: y\r\n\r\n")
    assert closed == b"HTTP/1.1 200 OK\r\nX: y\r\nConnection: close\r\nProxy-Connection: close\r\n\r\n"


# --- the real Chromium ----------------------------------------------------------------------------


@pytest.mark.browser
def test_chromium_sends_all_its_requests_through_the_proxy_loopback_included(real_browser: str, sites) -> None:
    """The source's page loads through the proxy; a navigation to the metadata address is refused by it.
    Without ``<-loopback>`` Chromium would have gone straight to both, past the proxy."""
    from playwright.async_api import async_playwright

    source, metadata, port = sites

    async def scenario() -> tuple[tuple[int, str], tuple[int, dict], int, list]:
        async with Harness(port) as harness, async_playwright() as playwright:
            args = [*chromium_args({SOURCE: "127.0.0.1"}), *proxy_args(harness.proxy.port)]
            browser = await playwright.chromium.launch(executable_path=real_browser, args=args)
            try:
                page = await browser.new_page()
                home = await page.goto(f"http://{SOURCE}:{port}/home")
                assert home is not None
                loaded = (home.status, await page.inner_text("body"))
                refused = await page.goto(f"http://127.0.0.2:{port}/latest/meta-data/")
                assert refused is not None
                return loaded, (refused.status, refused.headers), harness.proxy.requests, harness.refusals
            finally:
                await browser.close()

    loaded, refused, requests, refusals = run(scenario)
    assert loaded == (200, "source page /home") and "/home" in source.paths()
    assert refused[0] == 403 and refused[1][REFUSED_HEADER.lower()] == "1"
    assert requests >= 2 and [url for url, _ in refusals] == [f"http://127.0.0.2:{port}/latest/meta-data/"]
    assert metadata.paths() == []


@pytest.mark.browser
def test_a_page_sends_no_webrtc_packet_past_the_proxy(real_browser: str, sites) -> None:
    """WebRTC's STUN goes over UDP, past any HTTP proxy, unless Chromium is told otherwise (proxy_args)."""
    from playwright.async_api import async_playwright

    _, _, port = sites
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.2", 0))
    listener.settimeout(3)

    def first_packet() -> bytes:
        try:
            return listener.recvfrom(2048)[0]
        except TimeoutError:
            return b""

    async def scenario() -> bytes:
        async with Harness(port) as harness, async_playwright() as playwright:
            args = [*chromium_args(), *proxy_args(harness.proxy.port)]
            browser = await playwright.chromium.launch(executable_path=real_browser, args=args)
            try:
                page = await browser.new_page()
                await page.goto(f"http://{SOURCE}:{port}/home")
                waiting = asyncio.ensure_future(asyncio.to_thread(first_packet))
                await page.evaluate(
                    """stun => { const connection = new RTCPeerConnection({iceServers: [{urls: stun}]});
                    connection.createDataChannel("probe");
                    connection.createOffer().then(offer => connection.setLocalDescription(offer)); }""",
                    f"stun:127.0.0.2:{listener.getsockname()[1]}",
                )
                return await waiting
            finally:
                await browser.close()

    try:
        assert run(scenario) == b""
    finally:
        listener.close()
