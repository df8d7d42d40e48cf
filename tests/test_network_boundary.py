"""The network boundary: a crawl reaches its source's hosts and ports and nothing else.

End to end: real servers on 127.0.0.1 (the source) and 127.0.0.2 (the "metadata service" and
"another host"), a real crawl through the CLI, asserted on what each server received and on the
archive's ``fetches`` and ``articles``. Names are mapped with ``NETWORK_HOSTS`` (the crawl's
resolver), so a subdomain of the source that resolves to 127.0.0.2 is refused by its address
class, as a public name resolving to 10.x or 169.254.169.254 would be.
"""

from __future__ import annotations

import ipaddress
import json
import socketserver
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from archive.models import ReasonKind
from crawler.cli.main import main
from crawler.demo.server import LocalSite, Reply, Request, serve
from crawler.network.boundary import Boundary, embedded_ipv4
from tests.cli_crawl import write_config
from tests.test_bad_input import PARAGRAPHS, article_page

SOURCE_NAME = "harbour.test"  # resolves to 127.0.0.1 (NETWORK_HOSTS): the source's own address
METADATA_NAME = f"metadata.{SOURCE_NAME}"  # a subdomain of the source that resolves to 127.0.0.2
OTHER_NAME = "elsewhere.test"  # another host, also on 127.0.0.1


def secret_app(request: Request) -> Reply:
    return Reply(200, b'{"AccessKeyId": "AKIA-SECRET"}', {"content-type": "text/html"})


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[LocalSite, LocalSite, LocalSite, str]]:
    """The source on 127.0.0.1:P, a secret server on 127.0.0.2:P (same port), another on 127.0.0.1:Q."""
    with serve(lambda request: Reply(404)) as placeholder:
        port = int(placeholder.base_url.rsplit(":", 1)[1])
    routes: dict[str, Reply] = {}

    def source_app(request: Request) -> Reply:
        return routes.get(request.path, Reply(404, b"<html><body>Not found</body></html>"))

    with (
        serve(source_app, "127.0.0.1", port) as source,
        serve(secret_app, "127.0.0.2", port) as metadata,
        serve(secret_app, "127.0.0.1") as other_port,
    ):
        other = other_port.base_url
        other_port_number = other.rsplit(":", 1)[1]
        base = f"http://{SOURCE_NAME}:{port}"
        links = [
            "/2025/06/03/fine/",
            "/redirect-to-metadata/",
            "/refresh-to-other-port/",
            "/redirect-to-other-host/",
            "/redirect-to-file/",
            f"{other}/linked-on-other-port/",
            f"http://{METADATA_NAME}:{port}/linked-metadata/",
        ]
        routes.update(
            {
                "/robots.txt": Reply(200, b"User-agent: *\nAllow: /\n", {"content-type": "text/plain"}),
                "/": Reply(200, "".join(f'<a href="{link}">{link}</a><br>' for link in links).encode()),
                "/2025/06/03/fine/": Reply(200, article_page("Quay repairs finished early").encode()),
                "/redirect-to-metadata/": Reply(
                    302, b"", {"location": f"http://{METADATA_NAME}:{port}/latest/meta-data/"}
                ),
                "/refresh-to-other-port/": Reply(
                    200,
                    f'<html><head><meta http-equiv="refresh" content="0; url=http://{SOURCE_NAME}:{other_port_number}/meta/"></head></html>'.encode(),
                ),
                "/redirect-to-other-host/": Reply(301, b"", {"location": f"http://{OTHER_NAME}:{port}/stolen/"}),
                "/redirect-to-file/": Reply(302, b"", {"location": "file:///etc/passwd"}),
            }
        )
        yield source, metadata, other_port, base


@pytest.fixture(scope="module")
def crawled(servers, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    *_, base = servers
    folder = tmp_path_factory.mktemp("boundary")
    config = write_config(folder, f'start_urls = ["{base}/"]\ndownload_delay = 0\n', name="harbour")
    hosts = {SOURCE_NAME: "127.0.0.1", METADATA_NAME: "127.0.0.2", OTHER_NAME: "127.0.0.1"}
    result = CliRunner().invoke(
        main, ["crawl", "--config", str(config), "--no-progress", "-s", f"NETWORK_HOSTS={json.dumps(hosts)}"]
    )
    assert result.exit_code == 0, result.output
    return folder / "archive.db", base


def rows(db: Path, sql: str, *args: object) -> list[sqlite3.Row]:
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        return connection.execute(sql, args).fetchall()


def test_nothing_outside_the_source_is_requested(servers, crawled) -> None:
    source, metadata, other_port, _ = servers
    assert metadata.paths() == []  # not even robots.txt
    assert other_port.paths() == []
    assert "/2025/06/03/fine/" in source.paths()


def test_only_the_source_article_is_archived(crawled) -> None:
    db, base = crawled
    urls = [row["url"] for row in rows(db, "SELECT url FROM articles")]
    assert urls == [f"{base}/2025/06/03/fine/"]
    assert rows(db, "SELECT * FROM articles WHERE text LIKE '%AKIA%'") == []


@pytest.mark.parametrize(
    ("path", "kind", "words"),
    [
        ("/redirect-to-metadata/", ReasonKind.PRIVATE_ADDRESS, "a loopback address"),
        ("/refresh-to-other-port/", ReasonKind.OFF_SITE, "another port of one of the source's hosts"),
        ("/redirect-to-other-host/", ReasonKind.OFF_SITE, "not one of the source's hosts"),
    ],
)
def test_a_redirect_or_refresh_outside_is_a_skipped_fetch_with_a_reason(crawled, path, kind, words) -> None:
    db, base = crawled
    (row,) = rows(db, "SELECT * FROM fetches WHERE url = ?", base + path)
    assert (row["outcome"], row["reason_kind"]) == ("skipped", kind)
    assert words in row["reason"]
    assert row["final_url"] and not row["final_url"].startswith(base)


def test_a_redirect_to_a_file_url_is_not_followed(crawled) -> None:
    db, base = crawled
    (row,) = rows(db, "SELECT * FROM fetches WHERE url = ?", base + "/redirect-to-file/")
    assert row["outcome"] == "error" and "file: URL, not followed" in row["reason"]


def test_links_outside_are_not_followed_and_the_run_succeeds(crawled) -> None:
    db, _ = crawled
    assert rows(db, "SELECT * FROM fetches WHERE url LIKE '%linked-on-other-port%'") == []
    # A link to a subdomain is followed, and refused once its name resolves to a private address.
    (refused,) = rows(db, "SELECT * FROM fetches WHERE url LIKE '%linked-metadata%'")
    assert (refused["outcome"], refused["reason_kind"]) == ("skipped", ReasonKind.PRIVATE_ADDRESS)
    (run,) = rows(db, "SELECT status FROM crawl_runs")
    assert run["status"] == "succeeded"


# --- the rule itself ------------------------------------------------------------------------------


def test_ports_80_and_443_are_one_site_and_other_ports_are_not() -> None:
    boundary = Boundary(["https://news.example/"])
    assert boundary.url_refusal("http://www.news.example/a") is None
    assert boundary.url_refusal("https://live.news.example:443/a") is None
    assert boundary.url_refusal("https://news.example:8443/a").kind == ReasonKind.OFF_SITE
    assert boundary.url_refusal("ftp://news.example/a").kind == ReasonKind.OFF_SITE
    assert boundary.url_refusal("https://evilnews.example/a").kind == ReasonKind.OFF_SITE
    with_credentials = boundary.url_refusal("https://user:secret@news.example/a")
    assert with_credentials is not None and "secret" not in with_credentials.reason
    widened = Boundary(["https://news.example/"], ["news.example:8443", "cdn.example"])
    assert widened.url_refusal("https://news.example:8443/a") is None
    assert widened.url_refusal("https://img.cdn.example/a.jpg") is None


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.2",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "224.0.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",
        "2002:a00:1::1",
    ],
)
def test_a_public_name_resolving_to_a_private_address_is_refused(address: str) -> None:
    boundary = Boundary(["https://news.example/"])
    refusal = boundary.address_refusal("cdn.news.example", address)
    assert refusal is not None and refusal.kind == ReasonKind.PRIVATE_ADDRESS
    assert "cdn.news.example" in refusal.reason and str(ipaddress.ip_address(address)) in refusal.reason


def test_the_source_on_a_private_address_may_reach_that_address_only() -> None:
    boundary = Boundary(["http://intranet.example/"])
    assert boundary.address_refusal("intranet.example", "10.0.0.5") is None  # the source itself is there
    assert boundary.address_refusal("wiki.intranet.example", "10.0.0.5") is None
    assert boundary.address_refusal("wiki.intranet.example", "10.0.0.6") is not None
    literal = Boundary(["http://127.0.0.1:8080/"])
    assert literal.url_refusal("http://127.0.0.1:8080/a") is None
    assert literal.url_refusal("http://127.0.0.2:8080/a") is not None
    assert literal.url_refusal("http://127.0.0.1:8081/a") is not None


def test_browser_subrequests_may_use_public_cdns_but_never_private_addresses() -> None:
    boundary = Boundary(["https://news.example/"])
    assert boundary.subrequest_refusal("https://cdn.jsdelivr.example/app.js", ["93.184.216.34"]) is None
    assert boundary.subrequest_refusal("data:text/plain,hi", []) is None
    assert boundary.subrequest_refusal("http://169.254.169.254/latest/", ["169.254.169.254"]) is not None
    assert boundary.subrequest_refusal("http://metadata.example/", ["93.184.216.34", "10.0.0.1"]) is not None
    own = Boundary(["http://127.0.0.1:8080/"])
    assert own.subrequest_refusal("http://127.0.0.1:8080/api", ["127.0.0.1"]) is None
    assert own.subrequest_refusal("http://127.0.0.1:9090/api", ["127.0.0.1"]) is not None


hosts = st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z][a-z0-9-]{0,10}){0,3}", fullmatch=True)
ports = st.one_of(st.none(), st.integers(1, 65535))


@given(
    source_host=hosts,
    source_port=ports,
    host=hosts,
    port=ports,
    scheme=st.sampled_from(["http", "https", "ftp", "file", "javascript", "HTTP"]),
)
def test_the_origin_rule_never_lets_another_host_or_port_through(source_host, source_port, host, port, scheme) -> None:
    source = f"https://{source_host}" + (f":{source_port}" if source_port else "") + "/"
    boundary = Boundary([source])
    url = f"{scheme}://{host}" + (f":{port}" if port else "") + "/page"
    refusal = boundary.url_refusal(url)
    default = {"http": 80, "https": 443}
    same_site = host.removeprefix("www.") == source_host.removeprefix("www.") or host.endswith(
        "." + source_host.removeprefix("www.")
    )
    wanted = None if port in (None, default.get(scheme.lower())) else port
    have = None if source_port in (None, 443) else source_port
    expected_inside = scheme.lower() in default and same_site and wanted == have
    assert (refusal is None) == expected_inside, (source, url, refusal)


@given(st.ip_addresses())
def test_an_address_is_refused_exactly_when_it_is_not_public(address) -> None:
    boundary = Boundary(["https://news.example/"])
    refusal = boundary.address_refusal("other.news.example", str(address))
    reached = embedded_ipv4(address)
    public = reached.is_global and not (reached.is_multicast or reached.is_reserved)
    assert (refusal is None) == public


# --- the browser ----------------------------------------------------------------------------------


ARTICLE_PATH = "/2025/06/03/tide-tables-reprinted/"


def scripted_article(script: str) -> str:
    """An article page whose text a script writes into ``#story`` (and does whatever else it says)."""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Tide tables reprinted</title>'
        '<meta property="og:type" content="article"></head><body><article><h1>Tide tables reprinted</h1>'
        f'<div id="story"></div></article><script>{script}</script></body></html>'
    )


@pytest.mark.browser
@pytest.mark.usefixtures("real_browser")
def test_a_rendered_page_cannot_navigate_or_fetch_outside(tmp_path: Path) -> None:
    """A page whose script fetch()es another port and the metadata address, then navigates away."""
    with serve(secret_app, "127.0.0.2") as metadata, serve(secret_app) as other_port:
        script = (
            f"fetch('{other_port.base_url}/api/secret').catch(() => null);"
            f"fetch('{metadata.base_url}/latest/meta-data/').catch(() => null);"
            "document.getElementById('story').innerHTML = "
            + json.dumps("".join(f"<p>{paragraph}</p>" for paragraph in PARAGRAPHS))
            + ";"
            f"setTimeout(() => {{ location.href = '{metadata.base_url}/stolen/'; }}, 50);"
        )
        page = scripted_article(script)

        def app(request: Request) -> Reply:
            if request.path == ARTICLE_PATH:
                return Reply(200, page.encode())
            return Reply(404, b"")

        with serve(app) as source:
            db = tmp_path / "archive.db"
            result = CliRunner().invoke(
                main,
                [
                    "crawl",
                    source.base_url + ARTICLE_PATH,
                    "--db",
                    str(db),
                    "--no-progress",
                    "--delay",
                    "0",
                    "--render-js",
                    "always",
                    "--max-pages",
                    "1",
                    "-s",
                    "RENDER_WAIT_MS=1500",
                ],
            )
            assert result.exit_code == 0, result.output
        assert metadata.paths() == [] and other_port.paths() == []
    refused = rows(db, "SELECT url, reason_kind FROM fetches WHERE outcome = 'skipped' AND fetch_mode = 'browser'")
    assert {row["url"] for row in refused} >= {
        f"{other_port.base_url}/api/secret",
        f"{metadata.base_url}/latest/meta-data/",
    }
    (article,) = rows(db, "SELECT url, text FROM articles")
    assert article["url"] == source.base_url + ARTICLE_PATH and PARAGRAPHS[0] in article["text"]


class ConnectionLog:
    """A "metadata service" on 127.0.0.2 that notes every connection made to it (an https client's
    too, whose TLS greeting an HTTP server would drop unrecorded) and answers with a secret."""

    def __init__(self) -> None:
        self.connections: list[bytes] = []
        log = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                self.request.settimeout(5)
                try:
                    log.connections.append(self.request.recv(4096))
                    self.request.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 30\r\n"
                        b"Connection: close\r\n\r\n" + b'{"AccessKeyId": "AKIA-SECRET"}'
                    )
                except OSError:
                    return  # the client went away: its connection is noted all the same

        self.server = socketserver.ThreadingTCPServer(("127.0.0.2", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"127.0.0.2:{self.server.server_address[1]}"

    def __enter__(self) -> ConnectionLog:
        threading.Thread(target=self.server.serve_forever, name="connection-log", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def crawl_rendered(url: str, db: Path, exit_code: int, *settings: str) -> None:
    """A rendered crawl of the one page ``url``; ``exit_code`` 1 when that page is refused (as over
    plain HTTP, a run in which no page answered has failed)."""
    args = ["crawl", url, "--db", str(db), "--no-progress", "--delay", "0", "--render-js", "always", "--max-pages", "1"]
    for setting in settings:
        args += ["-s", setting]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == exit_code, result.output


def browser_refusals(db: Path) -> dict[str, sqlite3.Row]:
    found = rows(db, "SELECT * FROM fetches WHERE outcome = 'skipped' AND fetch_mode = 'browser'")
    return {row["url"]: row for row in found}


@pytest.mark.browser
@pytest.mark.usefixtures("real_browser")
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_redirect_inside_the_browser_to_elsewhere_is_refused(tmp_path: Path, scheme: str) -> None:
    """The rendered article answers 302 to the metadata address: Chromium follows redirects itself,
    past the page's request router, and only the browser's checking proxy stands in the way (for
    https, a refused CONNECT: Chromium then fails the navigation)."""
    with ConnectionLog() as metadata:
        target = f"{scheme}://{metadata.base}/latest/meta-data/"

        def app(request: Request) -> Reply:
            if request.path == ARTICLE_PATH:
                return Reply(302, b"", {"location": target})
            return Reply(404, b"")

        with serve(app) as source:
            db = tmp_path / "archive.db"
            crawl_rendered(source.base_url + ARTICLE_PATH, db, 1)
        assert metadata.connections == []
    assert rows(db, "SELECT * FROM articles") == []
    # The article is a skipped fetch, as a redirect outside is over plain HTTP (the origin rule first).
    (row,) = rows(db, "SELECT * FROM fetches WHERE url = ?", source.base_url + ARTICLE_PATH)
    assert (row["outcome"], row["reason_kind"], row["final_url"]) == ("skipped", ReasonKind.OFF_SITE, target)
    assert "not one of the source's hosts" in row["reason"]
    # The hop the proxy refused is recorded too, with its address as the reason.
    (hop,) = [row for url, row in browser_refusals(db).items() if url.startswith(f"{scheme}://{metadata.base}/")]
    assert hop["reason_kind"] == ReasonKind.PRIVATE_ADDRESS and "a loopback address" in hop["reason"]


@pytest.mark.browser
@pytest.mark.usefixtures("real_browser")
def test_a_page_script_cannot_fetch_through_an_on_site_redirect_to_elsewhere(tmp_path: Path) -> None:
    """The page's script fetch()es URLs of its own site (its router lets them through) that redirect
    to the metadata address, and writes whatever comes back into the page."""
    with ConnectionLog() as metadata:
        redirects = {"/api/r": f"http://{metadata.base}/latest/meta-data/", "/api/rs": f"https://{metadata.base}/"}
        script = (
            "const story = document.getElementById('story');"
            "story.innerHTML = " + json.dumps("".join(f"<p>{paragraph}</p>" for paragraph in PARAGRAPHS)) + ";"
            "for (const path of ['/api/r', '/api/rs']) {"
            "  fetch(path).then(r => r.text()).then(text => {"
            "    const p = document.createElement('p'); p.textContent = 'Fetched: ' + text; story.appendChild(p);"
            "  }).catch(() => null);"
            "}"
        )
        page = scripted_article(script)

        def app(request: Request) -> Reply:
            if request.path == ARTICLE_PATH:
                return Reply(200, page.encode())
            if request.path in redirects:
                return Reply(302, b"", {"location": redirects[request.path]})
            return Reply(404, b"")

        with serve(app) as source:
            db = tmp_path / "archive.db"
            crawl_rendered(source.base_url + ARTICLE_PATH, db, 0, "RENDER_WAIT_MS=1500")
            assert {"/api/r", "/api/rs"} <= set(source.paths())  # the on-site requests were made
        assert metadata.connections == []
    (article,) = rows(db, "SELECT url, text FROM articles")
    assert article["url"] == source.base_url + ARTICLE_PATH and PARAGRAPHS[0] in article["text"]
    assert "AKIA" not in article["text"]
    refused = browser_refusals(db)
    assert f"http://{metadata.base}/latest/meta-data/" in refused and f"https://{metadata.base}/" in refused


@pytest.mark.browser
@pytest.mark.usefixtures("real_browser")
def test_a_script_navigation_redirected_elsewhere_is_refused_not_archived(tmp_path: Path) -> None:
    """The page sends itself to an on-site URL (the router lets that navigation through) that
    redirects to the metadata address over https: Chromium ends on its error page, which is not
    archived; the page is a skipped fetch, refused."""
    with ConnectionLog() as metadata:
        target = f"https://{metadata.base}/latest/meta-data/"
        page = (
            "<!DOCTYPE html><html><head><title>Moved</title></head><body><p>One moment.</p>"
            "<script>location.href = '/go';</script></body></html>"
        )

        def app(request: Request) -> Reply:
            if request.path == ARTICLE_PATH:
                return Reply(200, page.encode())
            if request.path == "/go":
                return Reply(302, b"", {"location": target})
            return Reply(404, b"")

        with serve(app) as source:
            db = tmp_path / "archive.db"
            crawl_rendered(source.base_url + ARTICLE_PATH, db, 1, "RENDER_WAIT_MS=1500")
        assert metadata.connections == []
    assert rows(db, "SELECT * FROM articles") == []
    (row,) = rows(db, "SELECT * FROM fetches WHERE url = ?", source.base_url + ARTICLE_PATH)
    assert (row["outcome"], row["reason_kind"], row["final_url"]) == ("skipped", ReasonKind.OFF_SITE, target)
